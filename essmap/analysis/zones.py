"""Metric zones: which metric CRS measures each point, and reprojection of geometry arrays.

Every distance and area in :mod:`essmap.index` and :mod:`essmap.analysis` is measured in the
metric CRS of the territory a feature lies in (Lambert-93 in mainland France and Corsica, the
official UTM projection overseas, see :data:`essmap.geo.TERRITORIES`). Features outside every
territory (imported with ``--allow-anywhere``) are measured in their world UTM zone. Features of
different zones are never compared: the territories are thousands of kilometres apart.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from essmap.errors import InvalidInputError, InvalidParameterError
from essmap.geo import TERRITORIES, polygonal_part, territory_keys, transformer
from essmap.model import CATEGORIES, WGS84

_TERRITORY_CRS = {t.key: t.metric_crs for t in TERRITORIES}
_BBOXES = tuple((t.bbox, t.metric_crs) for t in TERRITORIES)
_CATEGORY_SET = frozenset(CATEGORIES)
#: How far (in degrees) outside a territory's extent a query is still answered in its CRS.
NEAR_TERRITORY_DEG = 2.0


def utm_crs(lon: float, lat: float) -> str:
    """The world UTM zone of a point, as ``EPSG:326xx`` (north) or ``EPSG:327xx`` (south)."""
    zone = min(max(int((lon + 180.0) // 6.0) + 1, 1), 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def zone_crs(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Metric CRS of each point: its territory's, else its world UTM zone's (object array)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    keys = territory_keys(lon, lat)
    out = np.empty(lon.shape, dtype=object)
    for key, crs in _TERRITORY_CRS.items():
        out[keys == key] = crs
    for i in np.flatnonzero(keys == ""):
        out[i] = utm_crs(float(lon[i]), float(lat[i]))
    return out


def query_crs(lon: float, lat: float, available: frozenset[str] | set[str]) -> str | None:
    """The zone a query point is answered in, among the zones that hold data.

    The territory that contains the point; else the point's UTM zone when it holds data; else the
    territory whose extent is nearest, when it is at most :data:`NEAR_TERRITORY_DEG` degrees away
    (a point at sea off Brittany is answered in Lambert-93). ``None`` otherwise: a projection
    is not used far outside its area.
    """
    for (x0, y0, x1, y1), crs in _BBOXES:
        if x0 <= lon <= x1 and y0 <= lat <= y1:
            return crs if crs in available else None
    utm = utm_crs(lon, lat)
    if utm in available:
        return utm
    best: str | None = None
    best_d = math.inf
    for (x0, y0, x1, y1), crs in _BBOXES:
        if crs not in available:
            continue
        dx = max(x0 - lon, 0.0, lon - x1)
        dy = max(y0 - lat, 0.0, lat - y1)
        d = dx * dx + dy * dy
        if d < best_d and d <= NEAR_TERRITORY_DEG * NEAR_TERRITORY_DEG:
            best, best_d = crs, d
    return best


def project_xy(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 lon/lat to metric x/y in ``crs`` (cached transformer)."""
    x, y = transformer(WGS84, crs).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _reproject(geoms: np.ndarray, src: str, dst: str) -> np.ndarray:
    tr = transformer(src, dst)

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), move), dtype=object)


def to_metric_geoms(geoms: np.ndarray, crs: str, *, polygons: bool = False) -> np.ndarray:
    """WGS 84 geometries to ``crs``; polygons made valid after projection when asked."""
    out = _reproject(geoms, WGS84, crs)
    if polygons and len(out):
        bad = ~shapely.is_valid(out) & ~shapely.is_missing(out)
        if bad.any():
            out[bad] = [polygonal_part(g) for g in shapely.make_valid(out[bad])]
    return out


def to_wgs84_geoms(geoms: np.ndarray, crs: str) -> np.ndarray:
    """Metric geometries in ``crs`` back to WGS 84 lon/lat."""
    return _reproject(geoms, crs, WGS84)


def as_wgs84(table: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """The table in WGS 84; a table without CRS is refused (never guessed)."""
    if table.crs is None:
        raise InvalidInputError(f"la table {what} n'a pas de système de coordonnées (CRS)")
    if CRS.from_user_input(table.crs).equals(CRS.from_user_input(WGS84)):
        return table
    return table.to_crs(WGS84)


def present_points(table: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``table`` with a non-empty point, and their lon and lat."""
    geoms = table.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    rows = np.flatnonzero(ok)
    if not len(rows):
        return rows, np.empty(0), np.empty(0)
    pts = geoms[rows]
    if not np.all(shapely.get_type_id(pts) == 0):
        pts = shapely.centroid(pts)
    return rows, shapely.get_x(pts), shapely.get_y(pts)


def polygon_zones(table: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``table`` with a non-empty geometry, and the zone CRS of each (from its extent)."""
    geoms = table.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    rows = np.flatnonzero(ok)
    if not len(rows):
        return rows, np.empty(0, dtype=object)
    b = shapely.bounds(geoms[rows])
    return rows, zone_crs((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)


def check_categories(categories: object, parameter: str = "categories") -> tuple[str, ...] | None:
    """Validate a category filter; ``None`` means every category."""
    if categories is None:
        return None
    values = (categories,) if isinstance(categories, str) else tuple(categories)  # type: ignore[arg-type]
    unknown = [c for c in values if c not in _CATEGORY_SET]
    if unknown:
        raise InvalidParameterError(
            parameter,
            f"catégorie(s) inconnue(s) : {', '.join(map(str, unknown))} ; "
            f"valeurs admises : {', '.join(CATEGORIES)}",
        )
    return tuple(dict.fromkeys(values))


def check_distance(value: object, parameter: str, maximum: float | None) -> float:
    """A positive, finite distance in metres, at most ``maximum``."""
    try:
        dist = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(parameter, f"{parameter} = « {value} » n'est pas un nombre") from None
    if isinstance(value, bool) or not math.isfinite(dist) or dist <= 0:
        raise InvalidParameterError(
            parameter, f"{parameter} doit être un nombre de mètres positif (reçu {value})"
        )
    if maximum is not None and dist > maximum:
        raise InvalidParameterError(parameter, f"{parameter} = {value} dépasse le maximum de {maximum:g} m")
    return dist
