"""Helpers of the street network tests: OpenStreetMap XML files written from metric coordinates.

The reference place is a river in Bayonne (Lambert-93): a street on each bank, 200 m apart, and
one bridge between them, so that every walking distance can be computed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from essmap.geo import transformer
from essmap.model import LAMBERT93, WGS84
from tests.engine_support import BAYONNE_L93

X0, Y0 = BAYONNE_L93

Way = tuple[Sequence[int], Mapping[str, str]]


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS 84 of a point given in metres from the reference point (Lambert-93)."""
    lon, lat = transformer(LAMBERT93, WGS84).transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def write_osm(path: Path, nodes: Mapping[int, tuple[float, float]], ways: Sequence[Way]) -> Path:
    """Write an OpenStreetMap XML file: nodes at metric (x, y) from the reference point, ways of
    node ids with their tags (ids of ways from 1)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="essmap tests">']
    for node_id, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        lines.append(f'  <node id="{node_id}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for way_id, (refs, tags) in enumerate(ways, start=1):
        lines.append(f'  <way id="{way_id}" version="1">')
        lines += [f'    <nd ref="{ref}"/>' for ref in refs]
        lines += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def river_osm(path: Path) -> Path:
    """Two banks of a river, one bridge (distances in metres from the reference point):

    - north bank: a residential street along y = 100, from x = 0 to x = 1000 (a node every 100 m);
    - south bank: a residential street along y = -100, from x = 0 to x = 1000;
    - the bridge: a footway from (500, 100) to (500, -100), 200 m long;
    - the river itself (a waterway between them, not walkable), and a motorway along y = 0 (a
      pedestrian may not use it) that would otherwise join the banks at x = 0.
    """
    nodes: dict[int, tuple[float, float]] = {}
    for i in range(11):
        nodes[100 + i] = (100.0 * i, 100.0)
        nodes[200 + i] = (100.0 * i, -100.0)
        nodes[300 + i] = (100.0 * i, 0.0)
    ways: list[Way] = [
        ([100 + i for i in range(11)], {"highway": "residential", "name": "Quai nord"}),
        ([200 + i for i in range(11)], {"highway": "residential", "name": "Quai sud"}),
        ([105, 205], {"highway": "footway", "bridge": "yes", "name": "Passerelle"}),
        ([300 + i for i in range(11)], {"waterway": "river", "name": "Adour"}),
        ([100, 300, 200], {"highway": "motorway"}),
    ]
    return write_osm(path, nodes, ways)


def grid_points(x0: float, x1: float, y0: float, y1: float, step: float) -> np.ndarray:
    """Points of a regular grid, as (n, 2) metric coordinates from the reference point."""
    xs = np.arange(x0, x1 + step / 2, step)
    ys = np.arange(y0, y1 + step / 2, step)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])
