"""Siting: where new supply points would bring the most uncovered residents within reach.

This is the maximal covering location problem (Church and ReVelle, 1974): choose up to N sites
among candidates so as to maximise the residents within ``threshold_m`` of a supply point. It is
solved with the lazy greedy algorithm (Minoux, 1978), which returns exactly the picks of the
plain greedy algorithm, whose total is at least 63 % (1 − 1/e) of the optimum.

Demand is the uncovered part of each QPV (its coverage gap, as in :mod:`.coverage`) cut into
cells of :data:`DEMAND_CELL_M` metres; each cell holds the residents of its part of the gap
(from the population grid, else from the QPV's population spread by area) at its centroid. A
candidate serves a cell when the centroid lies within ``threshold_m``: in a straight line, or, in
walk mode, on foot (gaps and walks measured on the street network, see
:func:`essmap.network.reach.served_by`, or estimated where it does not reach).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from essmap.analysis.coverage import geometry_sources
from essmap.analysis.grid import lattice
from essmap.analysis.reach import Zone, check_thresholds, prepare
from essmap.analysis.zones import (
    as_wgs84,
    check_distance,
    present_points,
    project_xy,
    to_wgs84_geoms,
)
from essmap.errors import InvalidParameterError
from essmap.geo import metric_crs
from essmap.model import WGS84
from essmap.network.graph import StreetNetwork
from essmap.network.options import Mode, WalkOptions, check_mode
from essmap.network.reach import served_by

__all__ = [
    "DEFAULT_SITE_COUNT",
    "DEMAND_CELL_M",
    "SITE_COLUMNS",
    "SiteSuggestions",
    "lazy_greedy",
    "site_suggestions",
    "suggest_sites",
]

#: Side of the demand cells, in metres (at most the candidate spacing).
DEMAND_CELL_M = 50.0
#: How many sites are proposed when no number is given (the CLI and the API alike).
DEFAULT_SITE_COUNT: Final = 5
SITE_COLUMNS = (
    "rank",
    "gain_residents",
    "cumulative_residents",
    "code",
    "geometry_source",
    "method",
    "candidate_id",
    "mode",
    "distance_method",
    "geometry",
)


@dataclass(frozen=True)
class SiteSuggestions:
    """Suggested sites and, when fewer than asked for, what is left to explain it.

    ``uncovered_residents`` are the residents beyond the threshold before any pick (of the QPVs
    whose population is known), ``remaining_residents`` those still beyond it after the picks, and
    ``reachable_residents`` the part of them within the threshold of some candidate site.
    ``unknown_population`` counts the QPVs served whose population is unknown (they weigh nothing).
    """

    sites: gpd.GeoDataFrame
    requested: int
    threshold_m: float
    min_gain_residents: float
    uncovered_residents: float
    remaining_residents: float
    reachable_residents: float
    unknown_population: int

    @property
    def shortfall(self) -> str | None:
        """Why fewer sites than requested were found: ``None`` (as many as asked), ``covered`` (no
        known resident is left beyond the threshold), ``unreachable`` (those left are beyond the
        threshold of every candidate) or ``scattered`` (no further site would bring
        ``min_gain_residents`` more within reach)."""
        if len(self.sites) >= self.requested:
            return None
        if self.remaining_residents < self.min_gain_residents:
            return "covered"
        if self.reachable_residents < self.min_gain_residents:
            return "unreachable"
        return "scattered"


def lazy_greedy(
    initial: np.ndarray,
    gain: Callable[[int], float],
    take: Callable[[int], None],
    count: int,
    *,
    min_gain: float = 0.0,
) -> list[tuple[int, float]]:
    """Pick up to ``count`` items greedily, by largest marginal gain then lowest index.

    ``initial`` holds each item's gain before any pick (an upper bound afterwards, gains only
    shrink); ``gain(i)`` recomputes an item's current gain, ``take(i)`` records a pick. Stops
    early when no item gains more than ``min_gain``. Returns ``(item, gain)`` pairs in pick order.
    """
    heap = [(-float(g), i) for i, g in enumerate(np.asarray(initial, dtype=float).tolist()) if g > min_gain]
    heapq.heapify(heap)
    picks: list[tuple[int, float]] = []
    while heap and len(picks) < count:
        _, i = heapq.heappop(heap)
        g = gain(i)
        if g <= min_gain:
            continue
        if heap and (-g, i) > heap[0]:
            heapq.heappush(heap, (-g, i))  # stale bound: someone else may now gain more
            continue
        take(i)
        picks.append((i, g))
    return picks


@dataclass
class _Demand:
    """Uncovered residents of one zone, as weighted points."""

    xy: np.ndarray
    weight: np.ndarray
    qpv: np.ndarray  # row of each point's QPV in the neighbourhood table
    tree: cKDTree
    extents: np.ndarray  # (n, 4) metric bounds of the gaps


def _demand(zone: Zone, keep: np.ndarray, threshold: float, cell_m: float) -> _Demand | None:
    """Cut the coverage gaps of the kept QPVs of a zone into weighted cells."""
    local = np.flatnonzero(keep)
    if not len(local):
        return None
    gaps = zone.gaps(threshold)[0][local]
    # cells: lattice corners over each gap's extent, as boxes, cut by the gap
    qi_parts, boxes = [], []
    for j, bounds in enumerate(shapely.bounds(gaps)):
        if not np.all(np.isfinite(bounds)):  # an empty gap: the QPV is wholly covered
            continue
        grow = np.array([-cell_m, -cell_m, 0.0, 0.0])
        corners = lattice((bounds + grow)[None, :], cell_m)
        if not len(corners):
            continue
        boxes.append(
            shapely.box(corners[:, 0], corners[:, 1], corners[:, 0] + cell_m, corners[:, 1] + cell_m)
        )
        qi_parts.append(np.full(len(corners), j))
    if not boxes:
        return None
    qi = np.concatenate(qi_parts)
    cells = np.concatenate(boxes)
    hit = shapely.intersects(cells, gaps[qi])
    qi, cells = qi[hit], cells[hit]
    pieces = shapely.intersection(cells, gaps[qi])
    area = shapely.area(pieces)
    ok = area > 0
    qi, pieces, area = qi[ok], pieces[ok], area[ok]
    method = zone.methods()[local]
    weight = np.zeros(len(pieces))
    by_area = method[qi] == "area"
    qpv_area = zone.areas[local][qi]
    weight[by_area] = zone.population[local][qi][by_area] * area[by_area] / qpv_area[by_area]
    by_grid = method[qi] == "grid"
    if by_grid.any() and zone.pieces is not None:
        gp = zone.pieces
        gi = np.flatnonzero(by_grid)
        pi, si = shapely.STRtree(gp.geoms).query(pieces[gi], predicate="intersects")
        same = gp.qpv[si] == local[qi[gi[pi]]]
        pi, si = pi[same], si[same]
        inside = gp.density[si] * shapely.area(shapely.intersection(pieces[gi[pi]], gp.geoms[si]))
        weight[gi] = np.bincount(pi, weights=inside, minlength=len(gi))
    xy = shapely.get_coordinates(shapely.centroid(pieces))
    positive = weight > 0
    if not positive.any():
        return None
    xy = xy[positive]
    extents = shapely.bounds(gaps[np.unique(qi[positive])])
    return _Demand(xy, weight[positive], zone.rows[local][qi[positive]], cKDTree(xy), extents)


def _check_count(count: object, maximum: int | None) -> int:
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise InvalidParameterError("count", f"count = « {count} » doit être un nombre entier")
    if count < 1 or (maximum is not None and count > maximum):
        upper = f", {maximum}]" if maximum is not None else ", ∞["
        raise InvalidParameterError("count", f"count = {count} hors de [1{upper}")
    return int(count)


def suggest_sites(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    count: int,
    threshold_m: float,
    supply_categories: Sequence[str] | None,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float = 100.0,
    grid: gpd.GeoDataFrame | None = None,
    generation: int | None = None,
    max_count: int | None = None,
    max_threshold_m: float | None = None,
    min_gain_residents: float = 0.5,
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
    walk: WalkOptions | None = None,
) -> gpd.GeoDataFrame:
    """Up to ``count`` new supply sites that bring the most uncovered residents within reach.

    The sites of :func:`site_suggestions` (same parameters), without the explanation of a
    shortfall.
    """
    return site_suggestions(
        neighbourhoods,
        actors,
        count=count,
        threshold_m=threshold_m,
        supply_categories=supply_categories,
        candidates=candidates,
        spacing_m=spacing_m,
        grid=grid,
        generation=generation,
        max_count=max_count,
        max_threshold_m=max_threshold_m,
        min_gain_residents=min_gain_residents,
        mode=mode,
        network=network,
        walk=walk,
    ).sites


def site_suggestions(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    count: int,
    threshold_m: float,
    supply_categories: Sequence[str] | None,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float = 100.0,
    grid: gpd.GeoDataFrame | None = None,
    generation: int | None = None,
    max_count: int | None = None,
    max_threshold_m: float | None = None,
    min_gain_residents: float = 0.5,
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
    walk: WalkOptions | None = None,
) -> SiteSuggestions:
    """Up to ``count`` new supply sites that bring the most uncovered residents within reach, and
    why there are fewer when there are.

    Parameters
    ----------
    candidates
        Candidate points (with an optional ``id`` column); by default, the points of a lattice
        of ``spacing_m`` metres inside and around the QPVs, within ``threshold_m`` of a gap.
    generation
        QPV list to serve (the most recent one present by default), so that residents of
        overlapping 2015 and 2024 QPVs are not counted twice.
    min_gain_residents
        Picks that would bring fewer residents within reach are not proposed.
    mode, network, walk
        ``walk``: ``threshold_m`` is a walk, gaps and service are measured on ``network`` (see
        :func:`essmap.analysis.coverage.coverage`).

    Returns
    -------
    SiteSuggestions
        ``sites``: WGS 84 points in pick order, columns :data:`SITE_COLUMNS`: the gain of each
        pick, the running total, the QPV whose residents gain most, where its outline comes from
        and how its residents were counted (``grid`` or ``area``), the candidate's id when given,
        the mode and how its distances were measured (``distance_method``); and the residents left
        beyond the threshold, which explain a shortfall.
    """
    n_picks = _check_count(count, max_count)
    (threshold,) = check_thresholds([threshold_m], max_threshold_m)
    spacing = check_distance(spacing_m, "spacing_m", None)
    neighbourhoods = as_wgs84(neighbourhoods, "des quartiers")
    gens = pd.to_numeric(neighbourhoods["generation"], errors="coerce")
    present = sorted(int(g) for g in gens.dropna().unique())
    if generation is None and present:
        generation = present[-1]
    elif generation is not None and generation not in present:
        raise InvalidParameterError("generation", f"aucun quartier de la génération {generation}")
    mode = check_mode(mode)
    options = walk or WalkOptions()
    zones = prepare(
        neighbourhoods,
        actors,
        supply_categories,
        grid,
        mode=mode,
        network=network,
        walk=options,
        thresholds_m=[threshold],
    )
    zone_by_crs = {zone.crs: zone for zone in zones}
    cell = min(DEMAND_CELL_M, spacing)
    demands: dict[str, _Demand] = {}
    unknown = 0
    for zone in zones:
        keep = gens.to_numpy(dtype=float, na_value=np.nan)[zone.rows] == generation
        unknown += int((zone.methods()[keep] == "none").sum())
        demand = _demand(zone, keep, threshold, cell)
        if demand is not None:
            demands[zone.crs] = demand

    # candidates, grouped by zone
    cand_xy: list[np.ndarray] = []
    cand_zone: list[str] = []
    cand_ids: list[object] = []
    if candidates is not None:
        cands = as_wgs84(candidates, "des sites candidats")
        rows, lon, lat = present_points(cands)
        crs = metric_crs(lon, lat)
        ids = cands["id"].astype("string").to_numpy() if "id" in cands else np.full(len(cands), pd.NA)
        for code in demands:
            sel = crs == code
            if sel.any():
                x, y = project_xy(lon[sel], lat[sel], code)
                cand_xy.append(np.column_stack([x, y]))
                cand_zone += [code] * int(sel.sum())
                cand_ids += ids[rows[sel]].tolist()
    else:
        for code, demand in demands.items():
            pts = _lattice_near(demand, spacing, threshold)
            cand_xy.append(pts)
            cand_zone += [code] * len(pts)
            cand_ids += [pd.NA] * len(pts)
    xy = np.vstack(cand_xy) if cand_xy else np.empty((0, 2))
    zone_of = np.asarray(cand_zone, dtype=object)

    remaining = {code: d.weight.copy() for code, d in demands.items()}
    uncovered = float(sum(float(d.weight.sum()) for d in demands.values()))
    initial = np.zeros(len(xy))
    walked: dict[int, np.ndarray] = {}  # candidate → demand points it serves on foot (network zones)
    method = np.array([zone_by_crs[z].distance_method for z in zone_of.tolist()], dtype=object)
    for code, demand in demands.items():
        sel = np.flatnonzero(zone_of == code)
        zone = zone_by_crs[code]
        if zone.walk is not None and network is not None:
            lists, on = served_by(network, options, xy[sel], demand.xy, threshold)
            walked.update(zip(sel.tolist(), lists, strict=True))
            method[sel[~on]] = "estimate"
            initial[sel] = [float(demand.weight[idx].sum()) for idx in lists]
            continue
        radius = threshold / zone.detour
        for start in range(0, len(sel), 4096):
            chunk = sel[start : start + 4096]
            lists = demand.tree.query_ball_point(xy[chunk], radius)
            initial[chunk] = [float(demand.weight[idx].sum()) if idx else 0.0 for idx in lists]

    def served(i: int) -> tuple[_Demand, np.ndarray]:
        demand = demands[zone_of[i]]
        if i in walked:
            return demand, walked[i]
        radius = threshold / zone_by_crs[zone_of[i]].detour
        return demand, np.asarray(demand.tree.query_ball_point(xy[i], radius), dtype=np.int64)

    def gain(i: int) -> float:
        _, idx = served(i)
        return float(remaining[zone_of[i]][idx].sum())

    best_code: list[object] = []
    best_row: list[int | None] = []
    best_method: list[object] = []
    method_of = {int(r): m for zone in zones for r, m in zip(zone.rows, zone.methods(), strict=True)}

    def take(i: int) -> None:
        demand, idx = served(i)
        w = remaining[zone_of[i]]
        per_qpv = pd.Series(w[idx]).groupby(demand.qpv[idx]).sum()
        best = int(per_qpv.idxmax()) if len(per_qpv) else None
        best_row.append(best)
        best_code.append(pd.NA if best is None else neighbourhoods["code"].iloc[best])
        best_method.append(pd.NA if best is None else method_of[best])
        w[idx] = 0.0

    picks = lazy_greedy(initial, gain, take, n_picks, min_gain=min_gain_residents)
    geoms = np.empty(len(picks), dtype=object)
    for code in set(zone_of[[i for i, _ in picks]].tolist()) if picks else set():
        mine = [k for k, (i, _) in enumerate(picks) if zone_of[i] == code]
        pts = shapely.points(xy[[picks[k][0] for k in mine]])
        geoms[mine] = to_wgs84_geoms(pts, code)
    gains = np.array([g for _, g in picks], dtype=float)
    outline_source = geometry_sources(neighbourhoods)
    sites = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(picks) + 1, dtype=np.int64),
            "gain_residents": gains,
            "cumulative_residents": np.cumsum(gains),
            "code": pd.array(best_code, dtype="string"),
            "geometry_source": pd.array(
                [None if r is None else outline_source[r] for r in best_row], dtype="string"
            ),
            "method": pd.array(best_method, dtype="string"),
            "candidate_id": pd.array([cand_ids[i] for i, _ in picks], dtype="string"),
            "mode": pd.array([mode] * len(picks), dtype="string"),
            "distance_method": pd.array([method[i] for i, _ in picks], dtype="string"),
        },
        geometry=gpd.GeoSeries(geoms, crs=WGS84),
        crs=WGS84,
    )
    left = float(sum(float(w.sum()) for w in remaining.values()))
    reachable = 0.0
    for code, demand in demands.items():
        sel = np.flatnonzero(zone_of == code)
        if not len(sel):
            continue
        if any(i in walked for i in sel.tolist()):
            within = np.zeros(len(demand.weight), dtype=bool)
            for i in sel.tolist():
                within[served(i)[1]] = True
        else:
            radius = threshold / zone_by_crs[code].detour * (1 + 1e-9)
            dist, _ = cKDTree(xy[sel]).query(demand.xy, k=1, distance_upper_bound=radius)
            within = np.isfinite(dist)
        reachable += float(remaining[code][within].sum())
    return SiteSuggestions(
        sites=sites,
        requested=n_picks,
        threshold_m=threshold,
        min_gain_residents=min_gain_residents,
        uncovered_residents=uncovered,
        remaining_residents=left,
        reachable_residents=reachable,
        unknown_population=unknown,
    )


def _lattice_near(demand: _Demand, spacing: float, threshold: float) -> np.ndarray:
    """Lattice points of ``spacing`` around the gaps, within ``threshold`` of a demand point."""
    pts = lattice(demand.extents + np.array([-threshold, -threshold, threshold, threshold]), spacing)
    if not len(pts):
        return pts
    dist, _ = demand.tree.query(pts, k=1, distance_upper_bound=threshold * (1 + 1e-9))
    return pts[np.isfinite(dist)]
