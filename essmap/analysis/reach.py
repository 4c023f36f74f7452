"""What reaches each QPV: the supply points of a metric zone, and the part of each QPV within reach.

A :class:`Zone` holds the QPVs and supply points of one metric zone, projected once (see
:func:`prepare`). The part of a QPV within reach at a threshold is, in straight-line mode, its
intersection with the discs around the supply points (32-sided polygons, :data:`QUAD_SEGS`
segments per quarter, whose area is 0.64 % below the circle's); in walk mode, its intersection
with their isochrones (:class:`essmap.network.reach.WalkReach`) where the street network covers
the zone, else with discs of the threshold divided by the detour factor (an estimate).
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
)
from essmap.errors import InvalidParameterError
from essmap.geo import metric_crs
from essmap.model import DEFAULT_SUPPLY_CATEGORIES
from essmap.network.graph import StreetNetwork
from essmap.network.isochrones import cell_snaps
from essmap.network.options import Mode, WalkOptions, check_mode
from essmap.network.reach import WalkReach

__all__ = ["QUAD_SEGS", "Reach", "Zone", "check_thresholds", "prepare"]

#: Segments per quarter circle of the discs around supply points.
QUAD_SEGS = 8


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
    distance_method: str = "straight"  # "straight", "network" (walks) or "estimate" (walks estimated)
    detour: float = 1.0  # straight-line radius = threshold / detour (estimated walks)
    walk: WalkReach | None = None  # walks on the street network
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
        """The supply points within ``threshold_m`` of each QPV, and the union of their discs
        (of their isochrones, in walk mode on the network).

        Candidates come from the k-d tree (points within the threshold of the circle around
        each QPV's bounding box), then the exact distance to the polygon decides. A QPV whose
        bounding box fits in the inscribed circle of one disc is wholly covered.
        """
        if self.walk is not None:
            regions, counts = self.walk.reach(threshold_m)
            return Reach(regions, np.zeros(len(self.polys), dtype=bool), counts)
        threshold_m = threshold_m / self.detour
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
        """Per QPV, the distance to the nearest supply point (NaN when there is none): in a straight
        line from its outline (0 when one lies inside it; times the detour factor for an
        estimate), or walked on the network from its centroid, as the QPV is measured
        (:meth:`distance_methods`)."""
        m = len(self.polys)
        if self.walk is not None:
            return self.walk.nearest_to_polygons(shapely.get_coordinates(shapely.centroid(self.polys)))
        out = np.full(m, np.nan)
        if not len(self.supply_xy) or not m:
            return out
        tree = shapely.STRtree(self.points(np.arange(len(self.supply_xy))))
        index, distance = tree.query_nearest(self.polys, return_distance=True, all_matches=False)
        out[index[0]] = distance * self.detour
        return out

    def distance_methods(self) -> np.ndarray:
        """How distances are measured for each QPV: ``straight``, ``network`` or ``estimate``."""
        if self.walk is not None:
            return self.walk.methods()
        return np.full(len(self.polys), self.distance_method, dtype=object)

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
    *,
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
    walk: WalkOptions | None = None,
    thresholds_m: Sequence[float] = (),
) -> list[Zone]:
    """Project the QPVs, the supply actors and the grid into the metric CRS of each zone.

    In walk mode, the zone of the network's CRS measures walks on it (``thresholds_m`` are the
    walking distances that will be asked for); the others estimate them.
    """
    mode = check_mode(mode)
    options = walk or WalkOptions()
    cells = None
    if mode == "walk" and network is not None and len(network):
        cells = cell_snaps(network, cell_m=options.cell_m, max_snap_m=options.max_snap_m)
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
        zone = Zone(
            crs=crs,
            rows=rows,
            polys=polys,
            areas=shapely.area(polys),
            population=population[rows],
            supply_rows=arows[sel][ok],
            supply_xy=xy,
            pieces=grid_pieces(polys, grid, crs, geoms[rows]),
        )
        if mode == "walk":
            if cells is not None and network is not None and network.crs == crs:
                zone.distance_method = "network"
                zone.walk = WalkReach(
                    network, polys, xy, options, thresholds_m=list(thresholds_m) or [1.0], cells=cells
                )
            else:
                zone.distance_method = "estimate"
                zone.detour = options.detour_factor
        zones.append(zone)
    return zones
