"""Walking on the street network: import, graph, snapping, walking distances and isochrones.

- :mod:`essmap.network.graph`: the network (compact arrays in a metric CRS), built from the
  walkable ways of an OpenStreetMap extract, snapping, and its place in the store;
- :mod:`essmap.network.local`: shortest walks on the part of the network around some points;
- :mod:`essmap.network.walking`: ``nearest`` and ``within`` in walk mode;
- :mod:`essmap.network.isochrones`: the area within a walk of a point, as polygons;
- :mod:`essmap.network.options`: speed, detour factor and the other walking settings.

Without a network (or away from it), walking figures are estimated as the straight-line
distance times a detour factor, and every result says which (``distance_method``).
"""

from essmap.network.graph import (
    NetworkInfo,
    StreetNetwork,
    network_from_store,
    network_from_ways,
    network_info,
    save_network,
)
from essmap.network.options import DistanceMethod, Mode, WalkOptions, check_mode
from essmap.network.walking import WalkAnswer, WalkHit, WalkingIndex, build_walking_index, directions_url

__all__ = [
    "DistanceMethod",
    "Mode",
    "NetworkInfo",
    "StreetNetwork",
    "WalkAnswer",
    "WalkHit",
    "WalkOptions",
    "WalkingIndex",
    "build_walking_index",
    "check_mode",
    "directions_url",
    "network_from_store",
    "network_from_ways",
    "network_info",
    "save_network",
]
