"""Geometry helpers: territories of France, metric projections and polygon repair.

Distances and areas are measured in a metric CRS: Lambert-93 (EPSG:2154) in mainland France and
Corsica, the official local UTM projection in each overseas department. Never in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from essmap.errors import InvalidInputError
from essmap.model import LAMBERT93, WGS84


@dataclass(frozen=True)
class Territory:
    """A part of France with its extent (WGS 84) and the metric CRS used to measure in it."""

    key: str
    name_fr: str
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
    metric_crs: str


TERRITORIES: tuple[Territory, ...] = (
    Territory("metropole", "France métropolitaine", (-5.8, 41.2, 10.0, 51.3), LAMBERT93),
    Territory("guadeloupe", "Guadeloupe", (-61.9, 15.8, -60.9, 16.6), "EPSG:5490"),
    Territory("martinique", "Martinique", (-61.3, 14.3, -60.7, 15.0), "EPSG:5490"),
    Territory("guyane", "Guyane", (-54.7, 2.0, -51.5, 6.0), "EPSG:2972"),
    Territory("reunion", "La Réunion", (55.1, -21.5, 55.9, -20.8), "EPSG:2975"),
    Territory("mayotte", "Mayotte", (44.9, -13.1, 45.4, -12.5), "EPSG:4471"),
)
TERRITORY_BY_KEY = {t.key: t for t in TERRITORIES}
OUTSIDE = ""


def territory_keys(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Territory key of each lon/lat point (``""`` where a point is outside every territory)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    keys = np.full(lon.shape, OUTSIDE, dtype=object)
    for terr in TERRITORIES:
        x0, y0, x1, y1 = terr.bbox
        inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1) & (keys == OUTSIDE)
        keys[inside] = terr.key
    return keys


def metric_crs_for(lon: float, lat: float) -> str:
    """The metric CRS to measure around a point: Lambert-93, an overseas UTM, or a world UTM."""
    key = territory_keys(np.array([lon]), np.array([lat]))[0]
    if key:
        return TERRITORY_BY_KEY[key].metric_crs
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@cache
def transformer(src: str, dst: str) -> Transformer:
    """A cached, thread-safe-to-reuse transformer with lon/lat (x, y) axis order."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def metric_crs_of(gdf: gpd.GeoDataFrame) -> str:
    """The metric CRS for a table, chosen from the centre of its extent."""
    geoms = gdf.to_crs(WGS84).geometry if gdf.crs and not gdf.crs.equals(WGS84) else gdf.geometry
    valid = geoms[geoms.notna() & ~geoms.is_empty]
    if valid.empty:
        return LAMBERT93
    x0, y0, x1, y1 = valid.total_bounds
    return metric_crs_for((x0 + x1) / 2, (y0 + y1) / 2)


def to_metric(gdf: gpd.GeoDataFrame, crs: str | None = None) -> gpd.GeoDataFrame:
    """Reproject to a metric CRS: ``crs`` if given, else the one that fits the table's extent.

    Raises
    ------
    InvalidInputError
        If the table has no CRS (it is never guessed).
    """
    if gdf.crs is None:
        raise InvalidInputError("la table n'a pas de système de coordonnées (CRS)")
    return gdf.to_crs(crs or metric_crs_of(gdf))


def repair_polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make polygons valid, keeping only their polygonal parts.

    Returns the repaired geometries and a boolean mask of those that were invalid.
    """
    geoms = np.asarray(geoms, dtype=object)
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    out = geoms.copy()
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        out[invalid] = [polygonal_part(g) for g in fixed]
    return out, invalid


def polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry, as a Polygon or MultiPolygon (empty if there are none)."""
    if geom is None:
        return shapely.MultiPolygon()
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = shapely.get_parts(geom)
    polys: list[shapely.Polygon] = []
    for part in parts:
        if isinstance(part, shapely.Polygon):
            polys.append(part)
        elif isinstance(part, shapely.MultiPolygon):
            polys.extend(part.geoms)
        elif isinstance(part, shapely.GeometryCollection):
            sub = polygonal_part(part)
            polys.extend(sub.geoms if isinstance(sub, shapely.MultiPolygon) else [sub])
    polys = [p for p in polys if not p.is_empty]
    if len(polys) == 1:
        return polys[0]
    return shapely.MultiPolygon(polys)
