"""Coverage of the QPVs by short-circuit supply points: shares, residents, gaps, catchments.

A part of a QPV is *within reach* at a threshold when it lies within that straight-line distance
of at least one supply point: the covered part is the QPV intersected with the union of the
discs around the supply points, computed in the metric CRS of the QPV's territory (discs are
32-sided polygons, :data:`QUAD_SEGS` segments per quarter, whose area is 0.64 % below the
circle's). Residents come from the population grid when present (method ``grid``), else from
the QPV's population spread by area (``area``), else are unknown (``none``).

The low-access flag follows the USDA food-access research atlas: a QPV has low access at a
threshold when at least ``low_access_share`` of its residents (of its area when residents are
unknown) or at least ``low_access_residents`` residents are beyond the threshold.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from essmap.analysis.grid import GridPieces, grid_pieces
from essmap.analysis.zones import (
    as_wgs84,
    check_categories,
    check_distance,
    polygon_zones,
    present_points,
    project_xy,
    to_metric_geoms,
    to_wgs84_geoms,
)
from essmap.errors import InvalidParameterError
from essmap.geo import metric_crs
from essmap.model import DEFAULT_SUPPLY_CATEGORIES, WGS84

__all__ = [
    "COVERAGE_COLUMNS",
    "GAP_COLUMNS",
    "QUAD_SEGS",
    "catchments",
    "check_thresholds",
    "coverage",
    "coverage_gaps",
    "geometry_sources",
]

#: Segments per quarter circle of the discs around supply points.
QUAD_SEGS = 8

COVERAGE_COLUMNS = (
    "code",
    "generation",
    "name",
    "threshold_m",
    "area_m2",
    "covered_area_m2",
    "area_share",
    "residents_total",
    "residents_covered",
    "residents_uncovered",
    "supply_points",
    "nearest_supply_m",
    "method",
    "low_access",
    "geometry_source",
)
GAP_COLUMNS = (
    "code",
    "generation",
    "name",
    "threshold_m",
    "area_m2",
    "residents",
    "method",
    "geometry_source",
    "geometry",
)


def geometry_sources(table: pd.DataFrame) -> np.ndarray:
    """Where each QPV's outline comes from (``official``, ``schematic``, ``other``; None if unknown)."""
    if "geometry_source" not in table:
        return np.full(len(table), None, dtype=object)
    values = table["geometry_source"].astype("string")
    return values.astype(object).where(values.notna(), None).to_numpy()


def check_thresholds(thresholds_m: Iterable[float] | float, maximum: float | None = None) -> list[float]:
    """Validate distance thresholds: a non-empty list of positive distances (at most ``maximum``)."""
    values = [thresholds_m] if isinstance(thresholds_m, int | float) else list(thresholds_m)
    if not values:
        raise InvalidParameterError("thresholds_m", "au moins un seuil de distance est attendu")
    return list(dict.fromkeys(check_distance(v, "thresholds_m", maximum) for v in values))


@dataclass
class Reach:
    """Which supply points reach each QPV of a zone at one threshold."""

    unions: np.ndarray  # union of the discs reaching a QPV, None when none or when ``full``
    full: np.ndarray  # the QPV lies inside a single disc: wholly covered, no union needed
    counts: np.ndarray  # supply points within the threshold of the QPV


@dataclass
class Zone:
    """The QPVs and supply points of one metric zone, projected once."""

    crs: str
    rows: np.ndarray  # rows of the QPVs in the neighbourhood table
    polys: np.ndarray  # metric, valid, prepared
    areas: np.ndarray
    population: np.ndarray  # float, NaN when unknown
    supply_rows: np.ndarray  # rows of the supply points in the actor table
    supply_xy: np.ndarray  # (n, 2) metric
    pieces: GridPieces | None
    _kd: cKDTree | None = None
    _points: np.ndarray | None = None  # shapely points, made only for the supply points used

    @property
    def kd(self) -> cKDTree:
        if self._kd is None:
            self._kd = cKDTree(self.supply_xy)
        return self._kd

    def points(self, which: np.ndarray) -> np.ndarray:
        """Shapely points of some supply points (made once, on first use)."""
        if self._points is None:
            self._points = np.full(len(self.supply_xy), None, dtype=object)
        missing = which[shapely.is_missing(self._points[which])]
        if len(missing):
            self._points[missing] = shapely.points(self.supply_xy[missing])
        return self._points[which]

    def reach(self, threshold_m: float) -> Reach:
        """The supply points within ``threshold_m`` of each QPV, and the union of their discs.

        Candidates come from the k-d tree (points within the threshold of the circle around
        each QPV's bounding box), then the exact distance to the polygon decides. A QPV whose
        bounding box fits in the inscribed circle of one disc is wholly covered.
        """
        m = len(self.polys)
        unions = np.full(m, None, dtype=object)
        full = np.zeros(m, dtype=bool)
        if not len(self.supply_xy) or not m:
            return Reach(unions, full, np.zeros(m, dtype=np.int64))
        bounds = shapely.bounds(self.polys)
        centres = (bounds[:, :2] + bounds[:, 2:]) / 2
        radii = np.hypot(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) / 2
        lists = self.kd.query_ball_point(centres, radii + threshold_m * (1 + 1e-9), return_sorted=True)
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=m)
        pi = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
        qi = np.repeat(np.arange(m), lengths)
        if len(qi):
            near = shapely.dwithin(self.polys[qi], self.points(pi), threshold_m)
            qi, pi = qi[near], pi[near]
        counts = np.bincount(qi, minlength=m)
        if not len(qi):
            return Reach(unions, full, counts)
        xy = self.supply_xy[pi]
        b = bounds[qi]
        far_x = np.maximum(np.abs(xy[:, 0] - b[:, 0]), np.abs(xy[:, 0] - b[:, 2]))
        far_y = np.maximum(np.abs(xy[:, 1] - b[:, 1]), np.abs(xy[:, 1] - b[:, 3]))
        inscribed = threshold_m * math.cos(math.pi / (4 * QUAD_SEGS)) * (1 - 1e-9)
        full[qi[far_x * far_x + far_y * far_y <= inscribed * inscribed]] = True
        partial = ~full[qi]
        qi, pi = qi[partial], pi[partial]
        if not len(qi):
            return Reach(unions, full, counts)
        used, inverse = np.unique(pi, return_inverse=True)
        member = shapely.buffer(self.points(used), threshold_m, quad_segs=QUAD_SEGS)[inverse]
        starts = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        stops = np.r_[starts[1:], len(qi)]
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            unions[qi[start]] = member[start] if stop - start == 1 else shapely.union_all(member[start:stop])
        return Reach(unions, full, counts)

    def covered(self, threshold_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Per QPV: the covered part (metric; None when nothing reaches it) and the supply count."""
        reach = self.reach(threshold_m)
        out = np.full(len(self.polys), None, dtype=object)
        out[reach.full] = self.polys[reach.full]
        has = ~shapely.is_missing(reach.unions)
        if has.any():
            out[has] = shapely.intersection(self.polys[has], reach.unions[has])
        return out, reach.counts

    def gaps(self, threshold_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Per QPV: the part beyond the threshold (metric, possibly empty), and the covered part."""
        reach = self.reach(threshold_m)
        gaps = self.polys.copy()
        covered = np.full(len(self.polys), None, dtype=object)
        gaps[reach.full] = shapely.Polygon()
        covered[reach.full] = self.polys[reach.full]
        has = ~shapely.is_missing(reach.unions)
        if has.any():
            gaps[has] = shapely.difference(self.polys[has], reach.unions[has])
            covered[has] = shapely.intersection(self.polys[has], reach.unions[has])
        return gaps, covered

    def nearest_supply(self) -> np.ndarray:
        """Per QPV: the distance from its outline to the nearest supply point (0 for a point inside;
        NaN when the zone has none)."""
        m = len(self.polys)
        out = np.full(m, np.nan)
        if not len(self.supply_xy) or not m:
            return out
        tree = shapely.STRtree(self.points(np.arange(len(self.supply_xy))))
        index, distance = tree.query_nearest(self.polys, return_distance=True, all_matches=False)
        out[index[0]] = distance
        return out

    def methods(self) -> np.ndarray:
        method = np.where(np.isfinite(self.population), "area", "none").astype(object)
        if self.pieces is not None:
            method[self.pieces.has_grid] = "grid"
        return method

    def residents(self, parts: np.ndarray | None) -> np.ndarray:
        """Residents per QPV living in ``parts`` (metric geometry per QPV, None = nothing), or the
        whole QPV when ``parts`` is None. NaN where residents are unknown."""
        m = len(self.polys)
        method = self.methods()
        out = np.full(m, np.nan)
        if parts is None:
            area_share = np.ones(m)
        else:
            part_area = np.zeros(m)
            has = ~shapely.is_missing(parts)
            part_area[has] = shapely.area(parts[has])
            area_share = np.divide(part_area, self.areas, out=np.zeros(m), where=self.areas > 0)
        by_area = method == "area"
        out[by_area] = self.population[by_area] * area_share[by_area]
        if self.pieces is not None and (method == "grid").any():
            p = self.pieces
            if parts is None:
                inside = p.residents
            else:
                inside = np.zeros(len(p.qpv))
                target = parts[p.qpv]
                has = ~shapely.is_missing(target)
                if has.any():
                    inside[has] = p.density[has] * shapely.area(
                        shapely.intersection(p.geoms[has], target[has])
                    )
            per = p.per_qpv(inside, m)
            out[method == "grid"] = per[method == "grid"]
        return out


def prepare(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    supply_categories: Sequence[str] | None,
    grid: gpd.GeoDataFrame | None = None,
) -> list[Zone]:
    """Project the QPVs, the supply actors and the grid into the metric CRS of each zone."""
    neighbourhoods = as_wgs84(neighbourhoods, "des quartiers")
    actors = as_wgs84(actors, "des acteurs")
    cats = check_categories(
        DEFAULT_SUPPLY_CATEGORIES if supply_categories is None else supply_categories, "supply_categories"
    )
    qrows, qcrs = polygon_zones(neighbourhoods)
    arows, lon, lat = present_points(actors)
    is_supply = actors["category"].isin(list(cats or ())).to_numpy(dtype=bool)[arows]
    arows, lon, lat = arows[is_supply], lon[is_supply], lat[is_supply]
    acrs = metric_crs(lon, lat)
    population = pd.to_numeric(neighbourhoods["population"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    geoms = neighbourhoods.geometry.to_numpy()
    zones = []
    for crs in dict.fromkeys(qcrs.tolist()):
        rows = qrows[qcrs == crs]
        polys = to_metric_geoms(geoms[rows], crs, polygons=True)
        shapely.prepare(polys)
        sel = acrs == crs
        x, y = project_xy(lon[sel], lat[sel], crs)
        ok = np.isfinite(x) & np.isfinite(y)
        xy = np.column_stack([x[ok], y[ok]])
        zones.append(
            Zone(
                crs=crs,
                rows=rows,
                polys=polys,
                areas=shapely.area(polys),
                population=population[rows],
                supply_rows=arows[sel][ok],
                supply_xy=xy,
                pieces=grid_pieces(polys, grid, crs, geoms[rows]),
            )
        )
    return zones


def _low_access(
    method: np.ndarray,
    area_share: np.ndarray,
    total: np.ndarray,
    uncovered: np.ndarray,
    share_limit: float,
    residents_limit: float,
) -> np.ndarray:
    known = np.isfinite(total) & (total > 0)
    uncovered_share = np.where(
        known, np.divide(uncovered, total, out=np.zeros_like(total), where=known), 1 - area_share
    )
    by_residents = np.isfinite(uncovered) & (uncovered >= residents_limit) & (method != "none")
    return (uncovered_share >= share_limit - 1e-12) | by_residents


def coverage(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    thresholds_m: Iterable[float],
    supply_categories: Sequence[str] | None,
    grid: gpd.GeoDataFrame | None = None,
    low_access_share: float = 0.33,
    low_access_residents: int = 500,
    max_threshold_m: float | None = None,
) -> pd.DataFrame:
    """Coverage of each QPV by supply points at each threshold.

    Parameters
    ----------
    neighbourhoods, actors
        Tables as in :mod:`essmap.model` (WGS 84); unlocated actors are ignored.
    thresholds_m
        Straight-line distances in metres (each positive, at most ``max_threshold_m``).
    supply_categories
        Actor categories that count as supply (``None``: the default list).
    grid
        Population grid squares (``id``, ``population``, polygons), or None.

    Returns
    -------
    pandas.DataFrame
        One row per QPV and threshold, columns :data:`COVERAGE_COLUMNS`; ``method`` says how
        residents were counted (``grid``, ``area`` or ``none``, then residents are NaN);
        ``nearest_supply_m`` is the distance from the QPV's outline to the nearest supply point
        (0 when one lies inside it); ``geometry_source`` says where the outline comes from.
    """
    thresholds = check_thresholds(thresholds_m, max_threshold_m)
    zones = prepare(neighbourhoods, actors, supply_categories, grid)
    frames = []
    for zone in zones:
        m = len(zone.rows)
        method = zone.methods()
        total = zone.residents(None)
        nearest = zone.nearest_supply()
        for threshold in thresholds:
            covered, counts = zone.covered(threshold)
            covered_area = np.zeros(m)
            has = ~shapely.is_missing(covered)
            covered_area[has] = shapely.area(covered[has])
            share = np.clip(np.divide(covered_area, zone.areas, out=np.zeros(m), where=zone.areas > 0), 0, 1)
            residents_covered = zone.residents(covered)
            residents_covered = np.where(np.isfinite(total), np.minimum(residents_covered, total), np.nan)
            uncovered = np.maximum(total - residents_covered, 0)
            table = neighbourhoods.iloc[zone.rows]
            frames.append(
                pd.DataFrame(
                    {
                        "_row": zone.rows,
                        "code": table["code"].to_numpy(),
                        "generation": table["generation"].to_numpy(),
                        "name": table["name"].to_numpy(),
                        "threshold_m": threshold,
                        "area_m2": zone.areas,
                        "covered_area_m2": covered_area,
                        "area_share": share,
                        "residents_total": total,
                        "residents_covered": residents_covered,
                        "residents_uncovered": uncovered,
                        "supply_points": counts,
                        "nearest_supply_m": nearest,
                        "method": method,
                        "low_access": _low_access(
                            method, share, total, uncovered, low_access_share, low_access_residents
                        ),
                        "geometry_source": geometry_sources(table),
                    }
                )
            )
    if not frames:
        return _empty_coverage()
    out = pd.concat(frames, ignore_index=True).sort_values(["_row", "threshold_m"], kind="stable")
    out = out.drop(columns="_row").reset_index(drop=True)
    out["generation"] = out["generation"].astype("Int64")
    out["code"] = out["code"].astype("string")
    out["name"] = out["name"].astype("string")
    out["method"] = out["method"].astype("string")
    out["geometry_source"] = out["geometry_source"].astype("string")
    out["supply_points"] = out["supply_points"].astype("int64")
    out["low_access"] = out["low_access"].astype(bool)
    return out


def _empty_coverage() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype="float64") for c in COVERAGE_COLUMNS})
    for col in ("code", "name", "method", "geometry_source"):
        frame[col] = frame[col].astype("string")
    frame["generation"] = frame["generation"].astype("Int64")
    frame["supply_points"] = frame["supply_points"].astype("int64")
    frame["low_access"] = frame["low_access"].astype(bool)
    return frame


def coverage_gaps(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    threshold_m: float,
    supply_categories: Sequence[str] | None,
    grid: gpd.GeoDataFrame | None = None,
    max_threshold_m: float | None = None,
) -> gpd.GeoDataFrame:
    """The parts of each QPV beyond ``threshold_m`` of every supply point (WGS 84).

    One row per QPV with a gap (fully covered QPVs have none), columns :data:`GAP_COLUMNS`:
    ``area_m2`` is measured in the metric CRS, ``residents`` counted by ``method``,
    ``geometry_source`` says where the QPV's outline comes from.
    """
    (threshold,) = check_thresholds([threshold_m], max_threshold_m)
    zones = prepare(neighbourhoods, actors, supply_categories, grid)
    parts = []
    for zone in zones:
        gaps, covered = zone.gaps(threshold)
        area = shapely.area(gaps)
        total = zone.residents(None)
        residents = np.maximum(total - np.minimum(zone.residents(covered), total), 0)
        keep = area > 0
        table = neighbourhoods.iloc[zone.rows[keep]]
        parts.append(
            pd.DataFrame(
                {
                    "_row": zone.rows[keep],
                    "code": table["code"].to_numpy(),
                    "generation": table["generation"].to_numpy(),
                    "name": table["name"].to_numpy(),
                    "threshold_m": threshold,
                    "area_m2": area[keep],
                    "residents": residents[keep],
                    "method": zone.methods()[keep],
                    "geometry_source": geometry_sources(table),
                    "geometry": to_wgs84_geoms(gaps[keep], zone.crs),
                }
            )
        )
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: [] for c in ("_row", *GAP_COLUMNS)})
    )
    frame = frame.sort_values("_row", kind="stable").drop(columns="_row")
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84).reset_index(drop=True)
    out["generation"] = out["generation"].astype("Int64")
    for col in ("code", "name", "method", "geometry_source"):
        out[col] = out[col].astype("string")
    for col in ("threshold_m", "area_m2", "residents"):
        out[col] = out[col].astype("float64")
    return out


def catchments(
    actors: gpd.GeoDataFrame,
    *,
    threshold_m: float,
    supply_categories: Sequence[str] | None,
    max_threshold_m: float | None = None,
) -> gpd.GeoDataFrame:
    """A disc of radius ``threshold_m`` around each located supply point (WGS 84 polygons)."""
    (threshold,) = check_thresholds([threshold_m], max_threshold_m)
    actors = as_wgs84(actors, "des acteurs")
    cats = check_categories(
        DEFAULT_SUPPLY_CATEGORIES if supply_categories is None else supply_categories, "supply_categories"
    )
    rows, lon, lat = present_points(actors)
    keep = actors["category"].isin(list(cats or ())).to_numpy(dtype=bool)[rows]
    rows, lon, lat = rows[keep], lon[keep], lat[keep]
    geoms = np.empty(len(rows), dtype=object)
    crs = metric_crs(lon, lat)
    for code in dict.fromkeys(crs.tolist()):
        sel = crs == code
        x, y = project_xy(lon[sel], lat[sel], code)
        discs = shapely.buffer(shapely.points(x, y), threshold, quad_segs=QUAD_SEGS)
        geoms[sel] = to_wgs84_geoms(discs, code)
    table = actors.iloc[rows]
    return gpd.GeoDataFrame(
        {
            "id": pd.array(table["id"].to_numpy(), dtype="string"),
            "name": pd.array(table["name"].to_numpy(), dtype="string"),
            "category": pd.array(table["category"].to_numpy(), dtype="string"),
            "threshold_m": np.full(len(rows), threshold, dtype=float),
        },
        geometry=gpd.GeoSeries(geoms, crs=WGS84),
        crs=WGS84,
    )
