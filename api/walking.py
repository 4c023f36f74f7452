"""Walk mode of ``/nearest`` and ``/within`` (``mode=walk``): walking distances on the street network.

The walking index (:class:`essmap.network.WalkingIndex`: the spatial index of the revision and the
street network, with the actors snapped to it) is built once per store revision in the app's cache.
The network itself is loaded again only when another one was imported (its ``network_id``): an
edit of an actor reuses it. Without a network, walks are estimated (straight line times the detour
factor) and every answer says so (``distance_method``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request

from api.deps import PROXIMITY_KEY, build_proximity, cached
from api.geojson import dumps, with_members
from api.layers import Proximity
from essmap.cache import RevisionCache
from essmap.network import (
    Mode,
    StreetNetwork,
    WalkHit,
    WalkingIndex,
    WalkOptions,
    directions_url,
    network_from_store,
    network_info,
)
from essmap.schedules import OpenAround
from essmap.settings import Settings
from essmap.store import Store

NETWORK_KEY = ("network",)
WALKING_KEY = ("walking",)


def load_network(store: Store, cache: RevisionCache) -> StreetNetwork | None:
    """The store's street network; the one already loaded when it is still the same import."""
    info = network_info(store)
    if info is None:
        return None
    loaded = cache.last(NETWORK_KEY)
    if isinstance(loaded, StreetNetwork) and loaded.info.network_id == info.network_id:
        return loaded
    network = network_from_store(store)
    if network is not None:  # built here, in the cache's builder thread, not by the first walk
        network.graph, network.midpoint_tree  # noqa: B018
    return network


def store_network(store: Store, cache: RevisionCache) -> StreetNetwork | None:
    """The street network of the store's revision, from the app's cache (for use inside a build:
    loaded there if needed, once per import, whatever route asks for it)."""
    return cache.fresh(NETWORK_KEY, lambda: load_network(store, cache)).value


def walk_arguments(store: Store, settings: Settings, cache: RevisionCache, mode: Mode) -> dict[str, Any]:
    """The mode arguments of an analysis (coverage, gaps, siting, the planner's view), for use
    inside a build: in walk mode, the store's street network (None: walks are estimated) and the
    walking options of the settings."""
    if mode == "straight":
        return {"mode": "straight"}
    return {
        "mode": "walk",
        "network": store_network(store, cache),
        "walk": WalkOptions.from_settings(settings),
    }


async def get_walking(request: Request) -> WalkingIndex:
    """The walking index of the store's revision (of the previous one while it is rebuilt)."""
    state = request.app.state
    cache: RevisionCache = state.cache
    store: Store = state.store
    settings: Settings = state.settings

    def build() -> WalkingIndex:
        # inside a build: the index and the network of the same revision, built here if needed
        proximity = cache.fresh(PROXIMITY_KEY, lambda: build_proximity(store, settings, cache)).value
        return WalkingIndex(proximity.index, store_network(store, cache), WalkOptions.from_settings(settings))

    found = await cached(request, WALKING_KEY, build)
    return found.value


def walk_open_nearest(
    walking: WalkingIndex,
    proximity: Proximity,
    lon: float,
    lat: float,
    *,
    k: int,
    categories: list[str] | None,
    max_distance_m: float | None,
    open_filter: OpenAround,
) -> list[WalkHit]:
    """The k actors nearest on foot that are open on the filter's day around its time."""
    radius = max_distance_m if max_distance_m is not None else walking.options.max_distance_m
    is_open = proximity.open_mask(open_filter)
    hits = walking.within(lon, lat, radius_m=radius, categories=categories)
    return [h for h in hits if is_open[h.row]][:k]


def walk_features(
    proximity: Proximity,
    walking: WalkingIndex,
    hits: Sequence[WalkHit],
    *,
    now: datetime,
    settings: Settings,
    origin: tuple[float, float],
) -> list[str]:
    """Actors found on foot, as GeoJSON Features: the walking distance as ``distance_m``, with
    ``mode``, ``walk_minutes``, ``distance_method``, ``straight_m`` and a directions link."""
    rows = [h.row for h in hits]
    out = []
    for hit, prefix, fragment in zip(
        hits, proximity.prefixes(rows), proximity.pickups.at(rows, now), strict=True
    ):
        to_lon, to_lat = walking.actor_lonlat(hit.row)
        link = directions_url(
            settings.directions_url, from_lon=origin[0], from_lat=origin[1], to_lon=to_lon, to_lat=to_lat
        )
        walk = (
            f'"distance_m":{hit.distance_m:.1f},"mode":"walk","walk_minutes":{hit.walk_minutes:.1f},'
            f'"distance_method":{dumps(hit.distance_method)},"straight_m":{hit.straight_m:.1f},'
            f'"directions_url":{dumps(link)}'
        )
        out.append(f"{prefix}{fragment},{walk}}}}}")
    return out


def walk_collection(features: Sequence[str], members: dict[str, Any]) -> bytes:
    """A FeatureCollection of actors found on foot, with top-level members."""
    return with_members(
        '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}", members
    ).encode()
