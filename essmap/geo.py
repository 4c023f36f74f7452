"""Geometry helpers: territories of France, the metric CRS of a place, and polygon repair.

Distances and areas are measured in a metric CRS, never in degrees. :func:`metric_crs` is the one
rule that picks it: Lambert-93 (EPSG:2154) in mainland France and Corsica, the official local
projection in each overseas department (see :data:`TERRITORIES`), and elsewhere the world UTM
zone of the point (zones 1 to 60, north or south by latitude). Data imported with
``--allow-anywhere`` outside the territories is thus measured in its world UTM zone; features of
different zones are never compared. Which query points are answered at all (a point at sea off a
coast is, one far from every territory and from the imported data is not) is the index's rule,
built on this one: see :mod:`essmap.analysis.zones`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import overload

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike
from pyproj import CRS, Transformer

from essmap.errors import InvalidInputError
from essmap.model import LAMBERT93, WGS84


@dataclass(frozen=True)
class Territory:
    """A part of France with its extent (WGS 84) and the metric CRS used to measure in it."""

    key: str
    name_fr: str
    in_fr: str  # "en France métropolitaine", "à La Réunion": the name after a verb of place
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
    metric_crs: str


TERRITORIES: tuple[Territory, ...] = (
    Territory(
        "metropole", "France métropolitaine", "en France métropolitaine", (-5.8, 41.2, 10.0, 51.3), LAMBERT93
    ),
    Territory("guadeloupe", "Guadeloupe", "en Guadeloupe", (-61.9, 15.8, -60.9, 16.6), "EPSG:5490"),
    Territory("martinique", "Martinique", "en Martinique", (-61.3, 14.3, -60.7, 15.0), "EPSG:5490"),
    Territory("guyane", "Guyane", "en Guyane", (-54.7, 2.0, -51.5, 6.0), "EPSG:2972"),
    Territory("reunion", "La Réunion", "à La Réunion", (55.1, -21.5, 55.9, -20.8), "EPSG:2975"),
    Territory("mayotte", "Mayotte", "à Mayotte", (44.9, -13.1, 45.4, -12.5), "EPSG:4471"),
)
TERRITORY_BY_KEY = {t.key: t for t in TERRITORIES}
OUTSIDE = ""


def territory_keys(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Territory key of each lon/lat point (``""`` where a point is outside every territory)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    keys = np.full(lon.shape, OUTSIDE, dtype=object)
    for terr in TERRITORIES:
        x0, y0, x1, y1 = terr.bbox
        inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1) & (keys == OUTSIDE)
        keys[inside] = terr.key
    return keys


@overload
def metric_crs(lon: float, lat: float) -> str: ...
@overload
def metric_crs(lon: np.ndarray, lat: np.ndarray) -> np.ndarray: ...
def metric_crs(lon: float | np.ndarray, lat: float | np.ndarray) -> str | np.ndarray:
    """The metric CRS that measures around each point (``"EPSG:…"``).

    The CRS of the territory holding the point (:data:`TERRITORIES`), else the point's world UTM
    zone: zone ``floor((lon + 180) / 6) + 1`` kept within 1 to 60 (longitude 180 is in zone 60),
    EPSG:326xx north of the equator (latitude 0 included), EPSG:327xx south of it.

    Parameters
    ----------
    lon, lat
        WGS 84 coordinates: two numbers, or two arrays of the same shape.

    Returns
    -------
    str or numpy.ndarray
        The CRS of a point, or an object array of them. A point is answered in plain Python
        (about a microsecond: the index's single-point queries), arrays with numpy.
    """
    if isinstance(lon, float | int) and isinstance(lat, float | int):
        for terr in TERRITORIES:
            x0, y0, x1, y1 = terr.bbox
            if x0 <= lon <= x1 and y0 <= lat <= y1:
                return terr.metric_crs
        zone = min(max(int((lon + 180.0) // 6.0) + 1, 1), 60)
        return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    with np.errstate(invalid="ignore"):  # a NaN point gets some zone; it projects to NaN anyway
        zone = np.clip(np.floor((np.nan_to_num(lon) + 180.0) / 6.0), 0, 59).astype(np.int64) + 1
        epsg = np.where(lat >= 0, 32600, 32700) + zone
    out = np.empty(lon.shape, dtype=object)
    for code in np.unique(epsg).tolist():
        out[epsg == code] = f"EPSG:{code}"
    keys = territory_keys(lon, lat)
    for terr in TERRITORIES:
        out[keys == terr.key] = terr.metric_crs
    return out


@cache
def transformer(src: str, dst: str) -> Transformer:
    """A cached, thread-safe-to-reuse transformer with lon/lat (x, y) axis order."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def metric_crs_of(gdf: gpd.GeoDataFrame) -> str:
    """The metric CRS for a table: :func:`metric_crs` of the centre of its extent (WGS 84)."""
    geoms = gdf.to_crs(WGS84).geometry if gdf.crs and not gdf.crs.equals(WGS84) else gdf.geometry
    valid = geoms[geoms.notna() & ~geoms.is_empty]
    if valid.empty:
        return LAMBERT93
    x0, y0, x1, y1 = valid.total_bounds
    return metric_crs(float((x0 + x1) / 2), float((y0 + y1) / 2))


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
