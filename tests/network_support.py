"""Helpers of the street network tests: OpenStreetMap XML files written from metric coordinates.

The reference place is a river in Bayonne (Lambert-93): a street on each bank, 200 m apart, and
one bridge between them, so that every walking distance can be computed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import shapely

from essmap.geo import transformer
from essmap.importing import import_network
from essmap.model import LAMBERT93, WGS84, actor_frame
from essmap.settings import Settings
from essmap.store import open_store
from tests.engine_support import BAYONNE_L93, qpvs_from_metric

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


#: The QPV of the south bank (x from 0 to 1000, y from -400 to -100: 300,000 m²), in Lambert-93.
SOUTH_QPV = shapely.box(X0, Y0 - 400, X0 + 1000, Y0 - 100)
#: The one supply point S, on the north bank, 10 m from its street.
SUPPLY_XY = (100.0, 110.0)
#: Days since each actor of :func:`fill_river_store` was last verified (None: never).
VERIFIED_DAYS_AGO: Mapping[str, int | None] = {"s": 10, "vieux": 400, "jamais": None, "recent": 30}


def fill_river_store(settings: Settings, folder: Path, *, network: bool = True, today: date) -> None:
    """A store on the river: the south bank's QPV (3,000 residents), the supply point S (a market)
    and three other actors verified long ago, never and lately (:data:`VERIFIED_DAYS_AGO`), and,
    with ``network``, the street network of :func:`river_osm`."""
    store = open_store(settings)
    try:
        store.upsert_neighbourhoods(qpvs_from_metric([SOUTH_QPV], codes=["QN_SUD"], populations=[3000]))
        places = {"s": SUPPLY_XY, "vieux": (800.0, 150.0), "jamais": (300.0, 150.0), "recent": (600.0, 150.0)}
        frame = pd.DataFrame(
            {
                "id": list(places),
                "name": ["Marché S", "Association ancienne", "Jardin jamais vérifié", "Atelier récent"],
                "category": ["market", "association", "community_garden", "other"],
                "last_verified": [
                    None if days is None else (today - timedelta(days=days)).isoformat()
                    for days in VERIFIED_DAYS_AGO.values()
                ],
            }
        )
        store.upsert_actors(actor_frame(frame, [shapely.Point(*lonlat(*xy)) for xy in places.values()]))
        if network:
            import_network(store, river_osm(folder / "river.osm"))
    finally:
        store.close()
