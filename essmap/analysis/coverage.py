"""Coverage of the QPVs by short-circuit supply points: shares, residents, gaps, catchments.

A part of a QPV is *within reach* at a threshold when it lies within that distance of at least
one supply point: the covered part is the QPV intersected with the union of the discs around the
supply points (straight-line mode), or of their isochrones (walk mode), computed in the metric
CRS of the QPV's territory (see :mod:`essmap.analysis.reach`). Every row says how distances were
measured (``distance_method``: ``straight``, ``network``, or ``estimate`` where walks are
estimated without a network). Residents come from the population grid when present (method
``grid``), else from the QPV's population spread by area (``area``), else are unknown (``none``).

The low-access flag follows the USDA food-access research atlas: a QPV has low access at a
threshold when at least ``low_access_share`` of its residents (of its area when residents are
unknown) or at least ``low_access_residents`` residents are beyond the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.analysis.catchments import catchments, supply_isochrones
from essmap.analysis.reach import QUAD_SEGS, Zone, check_thresholds, prepare
from essmap.analysis.zones import to_wgs84_geoms
from essmap.model import WGS84
from essmap.network.graph import StreetNetwork
from essmap.network.options import Mode, WalkOptions, check_mode

__all__ = [
    "COVERAGE_COLUMNS",
    "GAP_COLUMNS",
    "QUAD_SEGS",
    "Zone",
    "catchments",
    "check_thresholds",
    "coverage",
    "coverage_gaps",
    "geometry_sources",
    "supply_isochrones",
]

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
    "mode",
    "distance_method",
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
    "mode",
    "distance_method",
    "geometry_source",
    "geometry",
)


def geometry_sources(table: pd.DataFrame) -> np.ndarray:
    """Where each QPV's outline comes from (``official``, ``schematic``, ``other``; None if unknown)."""
    if "geometry_source" not in table:
        return np.full(len(table), None, dtype=object)
    values = table["geometry_source"].astype("string")
    return values.astype(object).where(values.notna(), None).to_numpy()


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
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
    walk: WalkOptions | None = None,
) -> pd.DataFrame:
    """Coverage of each QPV by supply points at each threshold.

    Parameters
    ----------
    neighbourhoods, actors
        Tables as in :mod:`essmap.model` (WGS 84); unlocated actors are ignored.
    thresholds_m
        Distances in metres (each positive, at most ``max_threshold_m``): in a straight line,
        or walked in walk mode.
    supply_categories
        Actor categories that count as supply (``None``: the default list).
    grid
        Population grid squares (``id``, ``population``, polygons), or None.
    mode
        ``straight``: discs around the supply points; ``walk``: their isochrones on ``network``
        (walking options ``walk``), or, where the network does not cover a zone, discs of the
        threshold divided by the detour factor (an estimate).

    Returns
    -------
    pandas.DataFrame
        One row per QPV and threshold, columns :data:`COVERAGE_COLUMNS`; ``method`` says how
        residents were counted (``grid``, ``area`` or ``none``, then residents are NaN),
        ``distance_method`` how distances were measured (``straight``, ``network`` or
        ``estimate``); ``nearest_supply_m`` is measured the same way, from the QPV's outline in a
        straight line (0 when a supply point lies inside it) or from its centroid on foot;
        ``geometry_source`` says where the QPV's outline comes from.
    """
    thresholds = check_thresholds(thresholds_m, max_threshold_m)
    mode = check_mode(mode)
    zones = prepare(
        neighbourhoods,
        actors,
        supply_categories,
        grid,
        mode=mode,
        network=network,
        walk=walk,
        thresholds_m=thresholds,
    )
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
                        "mode": mode,
                        "distance_method": zone.distance_methods(),
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
    for col in ("method", "mode", "distance_method", "geometry_source"):
        out[col] = out[col].astype("string")
    out["supply_points"] = out["supply_points"].astype("int64")
    out["low_access"] = out["low_access"].astype(bool)
    return out


def _empty_coverage() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype="float64") for c in COVERAGE_COLUMNS})
    for col in ("code", "name", "method", "mode", "distance_method", "geometry_source"):
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
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
    walk: WalkOptions | None = None,
) -> gpd.GeoDataFrame:
    """The parts of each QPV beyond ``threshold_m`` of every supply point (WGS 84).

    One row per QPV with a gap (fully covered QPVs have none), columns :data:`GAP_COLUMNS`:
    ``area_m2`` is measured in the metric CRS, ``residents`` counted by ``method``. In walk
    mode, ``threshold_m`` is walked (see :func:`coverage`).
    """
    (threshold,) = check_thresholds([threshold_m], max_threshold_m)
    mode = check_mode(mode)
    zones = prepare(
        neighbourhoods,
        actors,
        supply_categories,
        grid,
        mode=mode,
        network=network,
        walk=walk,
        thresholds_m=[threshold],
    )
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
                    "mode": mode,
                    "distance_method": zone.distance_methods()[keep],
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
    for col in ("code", "name", "method", "mode", "distance_method", "geometry_source"):
        out[col] = out[col].astype("string")
    for col in ("threshold_m", "area_m2", "residents"):
        out[col] = out[col].astype("float64")
    return out
