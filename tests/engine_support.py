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
