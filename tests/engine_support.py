"""Helpers shared by the engine tests (index, joins, coverage, siting): build tables in metres."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.geo import transformer
from essmap.model import LAMBERT93, WGS84, actor_frame, neighbourhood_frame

OCCITANIE_QPV = Path(__file__).parent / "data" / "qpv2015_occitanie_hackaviz2021.geojson"
OCCITANIE_INDICATORS = Path(__file__).parent / "data" / "qpv2015_occitanie_indicateurs_insee_hackaviz2021.csv"

#: A point in Bayonne, in Lambert-93 (metres).
BAYONNE_L93 = (342_000.0, 6_278_000.0)


def to_wgs(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = transformer(LAMBERT93, WGS84).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def actors_at(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    categories: Sequence[str] | str = "market",
    ids: Sequence[str] | None = None,
    crs: str = LAMBERT93,
) -> gpd.GeoDataFrame:
    """Actors at metric coordinates (in ``crs``), stored in WGS 84 like the store does."""
    n = len(x)
    lon, lat = transformer(crs, WGS84).transform(np.asarray(x, float), np.asarray(y, float))
    cats = [categories] * n if isinstance(categories, str) else list(categories)
    frame = pd.DataFrame(
        {
            "id": list(ids) if ids is not None else [f"a{i:05d}" for i in range(n)],
            "name": [f"Acteur {i}" for i in range(n)],
            "category": cats,
        }
    )
    return actor_frame(frame, shapely.points(lon, lat))


def qpvs_from_metric(
    polygons: Sequence[shapely.Geometry],
    *,
    codes: Sequence[str] | None = None,
    populations: Sequence[int | None] | None = None,
    generation: int = 2024,
    crs: str = LAMBERT93,
) -> gpd.GeoDataFrame:
    """QPVs from metric polygons (in ``crs``), stored in WGS 84."""
    n = len(polygons)
    geoms = gpd.GeoSeries(list(polygons), crs=crs).to_crs(WGS84).to_numpy()
    frame = pd.DataFrame(
        {
            "code": list(codes) if codes is not None else [f"QN{i:06d}" for i in range(n)],
            "name": [f"Quartier {i}" for i in range(n)],
            "generation": [generation] * n,
            "population": list(populations) if populations is not None else [None] * n,
        }
    )
    return neighbourhood_frame(frame, geoms)


#: A point in each kind of zone, with the metric CRS essmap must measure it in: overseas
#: departments in their official projection, elsewhere (data imported with --allow-anywhere) the
#: world UTM zone, up to longitude 180.
ZONES = {
    "reunion": ((55.45, -20.88), "EPSG:2975"),
    "mayotte": ((45.23, -12.78), "EPSG:4471"),
    "guyane": ((-52.33, 4.93), "EPSG:2972"),
    "martinique": ((-61.07, 14.6), "EPSG:5490"),
    "montreal": ((-73.57, 45.5), "EPSG:32618"),
    "fiji": ((179.95, -16.5), "EPSG:32760"),
}


def zone_origin(zone: str) -> tuple[float, float, str]:
    """The metric coordinates of a zone's point, and the zone's CRS."""
    (lon, lat), crs = ZONES[zone]
    x, y = transformer(WGS84, crs).transform(lon, lat)
    return float(x), float(y), crs


def squares_east_of(
    x0: float, y0: float, crs: str, west_edges_m: Sequence[float], **kw: object
) -> gpd.GeoDataFrame:
    """Square QPVs of 1 km (in ``crs``) whose west edges are ``west_edges_m`` east of (x0, y0)."""
    squares = [shapely.box(x0 + w, y0, x0 + w + 1000, y0 + 1000) for w in west_edges_m]
    return qpvs_from_metric(squares, crs=crs, **kw)  # type: ignore[arg-type]
