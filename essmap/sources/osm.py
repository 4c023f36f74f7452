"""OpenStreetMap extracts (``.osm`` XML, ``.osm.pbf``): the ways a pedestrian may use.

Read with pyosmium (libosmium): the file is streamed, node locations are kept in libosmium's
compact index (not in Python objects) and only the ways tagged ``highway`` reach Python, so that
an extract of the size of a département (9 million nodes, 1.9 million ways) imports whole, graph
and store included, in about 30 s with 1.1 GB of memory at peak (``bench/bench_network.py``).
libosmium reads both formats (and ``.osm.gz`` / ``.osm.bz2``), from a path or from bytes taken
out of a zip archive.

Which ways a pedestrian may use (:func:`is_walkable`): every ``highway`` except motorways, ways
being built or planned, and ways closed to pedestrians (``foot=no``, ``foot=use_sidepath``, or
``access=no`` / ``private`` without a ``foot`` permission). Cycleways and trunk roads, where
French law keeps pedestrians off unless signed otherwise, count only with a ``foot`` permission
or a sidewalk. Ferries and other non-``highway`` ways are left out.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Final

import numpy as np
import osmium

from essmap.errors import InvalidInputError, Problem
from essmap.sources.common import Progress, no_progress
from essmap.sources.inputs import InputData, Source, open_input

__all__ = ["OSM_SUFFIXES", "OsmWays", "is_walkable", "walkable_ways_from_osm"]

#: File names read as OpenStreetMap extracts, and the libosmium format of each.
OSM_SUFFIXES: Final = {
    ".osm": "osm",
    ".pbf": "pbf",
    ".osm.pbf": "pbf",
    ".osm.gz": "osm.gz",
    ".osm.bz2": "osm.bz2",
}
#: Last suffixes of the files of a zip archive taken as the extract.
_ARCHIVE_SUFFIXES: Final = (".osm", ".pbf", ".gz", ".bz2")

#: ``highway`` values a pedestrian may never use.
_NEVER: Final = frozenset(
    {
        "motorway",
        "motorway_link",
        "construction",
        "proposed",
        "planned",
        "abandoned",
        "disused",
        "razed",
        "raceway",
        "bus_guideway",
        "busway",
        "escape",
        "emergency_bay",
        "rest_area",
        "services",
    }
)
#: ``highway`` values a pedestrian may use only with a ``foot`` permission or a sidewalk.
_SIGNED_ONLY: Final = frozenset({"cycleway", "trunk", "trunk_link"})
_FOOT_ALLOWED: Final = frozenset({"yes", "designated", "permissive", "official"})
_FOOT_REFUSED: Final = frozenset({"no", "use_sidepath", "private"})
_ACCESS_REFUSED: Final = frozenset({"no", "private"})
_SIDEWALK: Final = frozenset({"both", "left", "right", "yes", "separate"})


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these OpenStreetMap tags may be walked (see the module's rule)."""
    highway = tags.get("highway")
    if not highway or highway in _NEVER:
        return False
    foot = tags.get("foot", "")
    if foot in _FOOT_REFUSED:
        return False
    if foot in _FOOT_ALLOWED:
        return True
    if tags.get("access", "") in _ACCESS_REFUSED:
        return False
    if highway in _SIGNED_ONLY:
        return tags.get("sidewalk", "") in _SIDEWALK
    return True


@dataclass
class OsmWays:
    """The walkable ways of an extract, as flat arrays (one entry per way node).

    Way ``i`` holds the nodes ``offsets[i]:offsets[i + 1]``; a way that referenced nodes missing
    from the extract (cut at its border) is split there, so every node has a location.
    """

    file: str
    node_ids: np.ndarray  # int64 OpenStreetMap node ids
    lon: np.ndarray  # float64, WGS 84
    lat: np.ndarray
    offsets: np.ndarray  # int64, len(ways) + 1
    highway_ways: int = 0  # ways tagged highway read from the file
    walkable_ways: int = 0  # of which a pedestrian may use
    missing_nodes: int = 0  # way nodes without a location in the extract
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ways(self) -> int:
        """Number of way pieces (a way cut by missing nodes counts once per piece)."""
        return len(self.offsets) - 1


def _osm_format(data: InputData) -> str:
    """The libosmium format of an input, from its name (``.osm``, ``.osm.pbf``…)."""
    name = PurePosixPath(data.name).name.lower()
    for suffix in sorted(OSM_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return OSM_SUFFIXES[suffix]
    head = data.head(64)
    if head.lstrip().startswith(b"<?xml") or head.lstrip().startswith(b"<osm"):
        return "osm"
    raise InvalidInputError(
        Problem(
            "format non pris en charge : un extrait OpenStreetMap est attendu (.osm, .osm.pbf, .osm.gz, "
            ".osm.bz2, ou une archive .zip qui en contient un)",
            file=data.name,
        )
    )


class _WayCollector:
    """Collects the nodes of walkable ways into flat arrays, splitting ways at missing nodes."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.x = array("i")  # libosmium's fixed-point coordinates: 1e-7 degree
        self.y = array("i")
        self.offsets = array("q", [0])
        self.highway_ways = 0
        self.walkable_ways = 0
        self.missing = 0

    def add(self, way: Any) -> None:
        self.highway_ways += 1
        if not is_walkable(way.tags):
            return
        self.walkable_ways += 1
        ids, xs, ys, offsets = self.ids, self.x, self.y, self.offsets
        start = len(ids)
        for node in way.nodes:
            loc = node.location
            if loc.valid():
                ids.append(node.ref)
                xs.append(loc.x)
                ys.append(loc.y)
            else:  # outside the extract: the way stops here and starts again after it
                self.missing += 1
                if len(ids) - start >= 2:
                    offsets.append(len(ids))
                else:
                    del ids[start:], xs[start:], ys[start:]
                start = len(ids)
        if len(ids) - start >= 2:
            offsets.append(len(ids))
        else:
            del ids[start:], xs[start:], ys[start:]


def walkable_ways_from_osm(source: Source | InputData, *, progress: Progress = no_progress) -> OsmWays:
    """Read the ways a pedestrian may use from an OpenStreetMap extract.

    Parameters
    ----------
    source
        A path or a binary file-like object: ``.osm`` (XML), ``.osm.pbf``, ``.osm.gz``,
        ``.osm.bz2``, or a zip archive holding one of them.

    Returns
    -------
    OsmWays
        The walkable ways, node by node, in WGS 84.

    Raises
    ------
    InvalidInputError
        For a missing, empty or unreadable file, another format, or an extract without any way a
        pedestrian may use (naming the file).
    """
    data = open_input(source, data_suffixes=_ARCHIVE_SUFFIXES)
    fmt = _osm_format(data)
    progress("lecture des voies")
    target: Any
    if data.content is not None:
        target = osmium.io.FileBuffer(data.content, fmt)
    else:
        target = osmium.io.File(str(data.path), fmt)
    collector = _WayCollector()
    processor = (
        osmium.FileProcessor(target, osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        for way in processor:
            collector.add(way)
    except RuntimeError as exc:  # libosmium reports every unreadable input this way
        raise InvalidInputError(Problem(f"extrait OpenStreetMap illisible : {exc}", file=data.name)) from exc
    if collector.walkable_ways == 0 or len(collector.offsets) < 2:
        raise InvalidInputError(
            Problem(
                f"aucune voie praticable à pied dans l'extrait ({collector.highway_ways} voie(s) "
                "« highway » lue(s)) : un extrait OpenStreetMap avec des rues et chemins est attendu",
                file=data.name,
            )
        )
    warnings = []
    if collector.missing:
        warnings.append(
            Problem(
                f"{collector.missing} nœud(s) de voies absents de l'extrait (voies coupées à sa limite) : "
                "ces voies s'arrêtent à la limite",
                file=data.name,
            )
        )
    scale = 1e-7
    return OsmWays(
        file=data.name,
        node_ids=np.frombuffer(collector.ids, dtype=np.int64).copy(),
        lon=np.frombuffer(collector.x, dtype=np.int32).astype(np.float64) * scale,
        lat=np.frombuffer(collector.y, dtype=np.int32).astype(np.float64) * scale,
        offsets=np.frombuffer(collector.offsets, dtype=np.int64).copy(),
        highway_ways=collector.highway_ways,
        walkable_ways=collector.walkable_ways,
        missing_nodes=collector.missing,
        warnings=warnings,
    )
