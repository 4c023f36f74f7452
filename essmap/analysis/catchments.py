"""Catchments of supply points: discs (straight-line mode) or isochrones (walk mode), as polygons.

In walk mode, a supply point's catchment at a walking distance is its isochrone on the street
network (:mod:`essmap.network.isochrones`); a supply point off the network, or in a place the
network does not cover, gets the disc of that distance divided by the detour factor, and its row
says ``estimate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.analysis.reach import QUAD_SEGS, check_thresholds
from essmap.analysis.zones import as_wgs84, check_categories, present_points, project_xy, to_wgs84_geoms
from essmap.geo import metric_crs
from essmap.model import DEFAULT_SUPPLY_CATEGORIES, WGS84
from essmap.network.graph import StreetNetwork
from essmap.network.isochrones import point_isochrones
from essmap.network.options import Mode, WalkOptions, check_minutes, check_mode

__all__ = ["ISOCHRONE_COLUMNS", "catchments", "supply_isochrones"]

#: Columns of :func:`supply_isochrones` (and the geometry).
ISOCHRONE_COLUMNS = ("id", "name", "category", "minutes", "distance_m", "mode", "distance_method", "geometry")


def _supply_points(
    actors: gpd.GeoDataFrame, supply_categories: Sequence[str] | None
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The located supply actors: their table, rows, lon and lat."""
    actors = as_wgs84(actors, "des acteurs")
    cats = check_categories(
        DEFAULT_SUPPLY_CATEGORIES if supply_categories is None else supply_categories, "supply_categories"
    )
    rows, lon, lat = present_points(actors)
    keep = actors["category"].isin(list(cats or ())).to_numpy(dtype=bool)[rows]
    return actors, rows[keep], lon[keep], lat[keep]


def _regions(
    lon: np.ndarray,
    lat: np.ndarray,
    distances_m: Sequence[float],
    *,
    mode: Mode,
    network: StreetNetwork | None,
    walk: WalkOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Per point and distance, its catchment (WGS 84), and per point how it was measured."""
    geoms = np.full((len(lon), len(distances_m)), None, dtype=object)
    methods = np.full(len(lon), "straight" if mode == "straight" else "estimate", dtype=object)
    crs = metric_crs(lon, lat)
    for code in dict.fromkeys(crs.tolist()):
        sel = np.flatnonzero(crs == code)
        x, y = project_xy(lon[sel], lat[sel], code)
        points = shapely.points(x, y)
        todo = np.ones(len(sel), dtype=bool)
        if mode == "walk" and network is not None and len(network) and network.crs == code:
            found, on = point_isochrones(
                network, np.column_stack([x, y]), distances_m=distances_m, options=walk
            )
            for j in range(len(distances_m)):
                geoms[sel[on], j] = to_wgs84_geoms(found[on, j], code)
            methods[sel[on]] = "network"
            todo = ~on
        factor = walk.detour_factor if mode == "walk" else 1.0
        for j, distance in enumerate(distances_m):
            discs = shapely.buffer(points[todo], distance / factor, quad_segs=QUAD_SEGS)
            geoms[sel[todo], j] = to_wgs84_geoms(discs, code)
    return geoms, methods


def catchments(
    actors: gpd.GeoDataFrame,
    *,
    threshold_m: float,
    supply_categories: Sequence[str] | None,
    max_threshold_m: float | None = None,
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
    walk: WalkOptions | None = None,
) -> gpd.GeoDataFrame:
    """The catchment of each located supply point at ``threshold_m`` (WGS 84 polygons).

    A disc of radius ``threshold_m`` in straight-line mode; in walk mode, the isochrone of that
    walking distance on ``network``, or a disc of ``threshold_m`` divided by the detour factor
    where walks are estimated. Columns ``id``, ``name``, ``category``, ``threshold_m``, ``mode``,
    ``distance_method`` and the geometry.
    """
    (threshold,) = check_thresholds([threshold_m], max_threshold_m)
    mode = check_mode(mode)
    actors, rows, lon, lat = _supply_points(actors, supply_categories)
    geoms, methods = _regions(lon, lat, [threshold], mode=mode, network=network, walk=walk or WalkOptions())
    table = actors.iloc[rows]
    return gpd.GeoDataFrame(
        {
            "id": pd.array(table["id"].to_numpy(), dtype="string"),
            "name": pd.array(table["name"].to_numpy(), dtype="string"),
            "category": pd.array(table["category"].to_numpy(), dtype="string"),
            "threshold_m": np.full(len(rows), threshold, dtype=float),
            "mode": pd.array([mode] * len(rows), dtype="string"),
            "distance_method": pd.array(methods.tolist(), dtype="string"),
        },
        geometry=gpd.GeoSeries(geoms[:, 0] if len(rows) else [], crs=WGS84),
        crs=WGS84,
    )


def supply_isochrones(
    actors: gpd.GeoDataFrame,
    *,
    network: StreetNetwork | None,
    walk: WalkOptions,
    supply_categories: Sequence[str] | None,
    minutes: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """The walking isochrones of each located supply point (WGS 84 polygons).

    Parameters
    ----------
    network
        The street network (None: every isochrone is an estimated disc).
    walk
        Walking options: speed, detour factor, cell size; ``walk.minutes`` by default.
    minutes
        Walking times of the isochrones (5, 10 and 15 minutes by default, a setting).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per supply point and time, by point then time (the largest area last): columns
        :data:`ISOCHRONE_COLUMNS`; ``distance_m`` is the walking distance of ``minutes`` at the
        walking speed, ``distance_method`` ``network`` or ``estimate``.
    """
    times = check_minutes(walk.minutes if minutes is None else minutes)
    actors, rows, lon, lat = _supply_points(actors, supply_categories)
    distances = [walk.metres_of(t) for t in times]
    geoms, methods = _regions(lon, lat, distances, mode="walk", network=network, walk=walk)
    table = actors.iloc[np.repeat(rows, len(times))]
    n = len(rows) * len(times)
    return gpd.GeoDataFrame(
        {
            "id": pd.array(table["id"].to_numpy(), dtype="string"),
            "name": pd.array(table["name"].to_numpy(), dtype="string"),
            "category": pd.array(table["category"].to_numpy(), dtype="string"),
            "minutes": np.tile(np.asarray(times, dtype=float), len(rows)),
            "distance_m": np.tile(np.asarray(distances, dtype=float), len(rows)),
            "mode": pd.array(["walk"] * n, dtype="string"),
            "distance_method": pd.array(np.repeat(methods, len(times)).tolist(), dtype="string"),
        },
        geometry=gpd.GeoSeries(geoms.reshape(-1) if n else [], crs=WGS84),
        crs=WGS84,
    )
