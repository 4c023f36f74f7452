"""Metric zones: which metric CRS answers each point, and reprojection of geometry arrays.

Every distance and area in :mod:`essmap.index` and :mod:`essmap.analysis` is measured in the
metric CRS that :func:`essmap.geo.metric_crs` picks for a feature (from its point, or the centre
of its extent): Lambert-93 in mainland France and Corsica, the official local projection
overseas, the world UTM zone elsewhere. Features of different zones are never compared: the
territories are thousands of kilometres apart.

A *query* point (nearest, within, locate) is answered in the zone of the data it is compared
with (:func:`answering_zones`). A point that is neither in nor near a territory (within
:data:`NEAR_TERRITORY_DEG` degrees of its extent), nor in a UTM zone that holds data, is outside
what essmap serves (:func:`served_mask`): single queries refuse it with
:class:`~essmap.errors.OutsideTerritoryError` (:func:`outside_territory_error`).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from essmap.errors import InvalidInputError, InvalidParameterError, OutsideTerritoryError
from essmap.geo import (
    OUTSIDE,
    TERRITORIES,
    TERRITORY_BY_KEY,
    metric_crs,
    polygonal_part,
    territory_keys,
    transformer,
)
from essmap.model import CATEGORIES, WGS84

_CATEGORY_SET = frozenset(CATEGORIES)
_BBOXES = np.array([t.bbox for t in TERRITORIES], dtype=float)  # (territories, 4)
_TERRITORY_CRS = np.array([t.metric_crs for t in TERRITORIES], dtype=object)
#: How far (in degrees) outside a territory's extent a query is still answered in its CRS.
NEAR_TERRITORY_DEG = 2.0


def _gap_deg2(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Squared distance in degrees from each point to each territory's extent (0 inside)."""
    x, y = lon[:, None], lat[:, None]
    dx = np.maximum(np.maximum(_BBOXES[:, 0] - x, x - _BBOXES[:, 2]), 0.0)
    dy = np.maximum(np.maximum(_BBOXES[:, 1] - y, y - _BBOXES[:, 3]), 0.0)
    return dx * dx + dy * dy


def answering_zones(lon: np.ndarray, lat: np.ndarray, available: Collection[str]) -> np.ndarray:
    """The zone that answers each query point, among the zones that hold data.

    The point's :func:`~essmap.geo.metric_crs` when that zone holds data; else, for a point
    outside every territory, the zone of the nearest territory holding data whose extent is at
    most :data:`NEAR_TERRITORY_DEG` degrees away (a point at sea off Brittany is answered in
    Lambert-93). ``""`` otherwise: a point in a territory without data gets no answer from
    another one, and a projection is not used far outside its area.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    crs = metric_crs(lon, lat)
    out = np.where(np.isin(crs, list(available)), crs, OUTSIDE).astype(object)
    rest = np.flatnonzero((out == OUTSIDE) & (territory_keys(lon, lat) == OUTSIDE))
    if len(rest):
        gap = _gap_deg2(lon[rest], lat[rest])
        gap[:, ~np.isin(_TERRITORY_CRS, list(available))] = np.inf
        best = np.argmin(gap, axis=1)
        near = gap[np.arange(len(rest)), best] <= NEAR_TERRITORY_DEG**2
        out[rest[near]] = _TERRITORY_CRS[best[near]]
    return out


def served_mask(lon: np.ndarray, lat: np.ndarray, data_zones: Collection[str]) -> np.ndarray:
    """Whether essmap serves each query point: in or near a territory, or in a zone with data.

    ``data_zones`` are the zones that hold data (actors or QPVs); a point of a UTM zone among
    them is served (data imported with ``--allow-anywhere``).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if not lon.size:
        return np.zeros(lon.shape, dtype=bool)
    near = _gap_deg2(lon.ravel(), lat.ravel()).min(axis=1).reshape(lon.shape) <= NEAR_TERRITORY_DEG**2
    return near | np.isin(metric_crs(lon, lat), list(data_zones))


def outside_territory_error(lon: float, lat: float) -> OutsideTerritoryError:
    """The error for a query point outside what essmap serves, suggesting a swap when it helps.

    When swapping longitude and latitude puts the point in a territory (``lon=43.49&lat=-1.47``
    for Bayonne), the message says so.
    """
    names = ", ".join(t.name_fr for t in TERRITORIES)
    message = f"le point (lon {lon:g}, lat {lat:g}) est hors des territoires servis par essmap ({names})"
    if -90.0 <= lon <= 90.0:
        key = territory_keys(np.array([lat]), np.array([lon]))[0]
        if key != OUTSIDE:
            message += (
                f" ; longitude et latitude inversées ? ({lat:g}, {lon:g}) est {TERRITORY_BY_KEY[key].in_fr}"
            )
    return OutsideTerritoryError("lon", message)


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
    return rows, metric_crs((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)


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
