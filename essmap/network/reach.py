"""Walking reach of supply points over polygons (the QPVs of a coverage analysis).

Where the straight-line coverage unites discs around the supply points, walk-mode coverage unites
their isochrones: the part of a QPV within a walk of ``B`` of some supply point is the region
where the walking distance to the nearest supply point is at most ``B``
(:mod:`essmap.network.isochrones`). One search from all the supply points at once (Dijkstra from
a virtual node joined to each of them by its snapping distance) gives that distance everywhere
within :attr:`WalkOptions.max_distance_m`; each QPV's part is then contoured from the raster
cells over it.

A supply point *reaches* a QPV when it is within a walk of ``B`` of one of the QPV's cells: one
search from the QPV's cells (again through a virtual node, joined to the nodes around each cell)
gives the walk to every supply point. A walk is never shorter than the straight line, so only the
supply points within the largest threshold of a QPV in a straight line are looked for, and a QPV
without any is not searched from.

Supply points farther than ``max_snap_m`` from the network are estimated, as everywhere: their
reach is the disc of radius ``B`` divided by the detour factor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from scipy.spatial import cKDTree

from essmap.network.graph import StreetNetwork
from essmap.network.isochrones import Cells, CellSnaps, Contours, cell_snaps, walk_fields
from essmap.network.local import Attached, LocalGraph
from essmap.network.options import WalkOptions

__all__ = ["WalkReach"]

#: Segments per quarter circle of the estimated discs (as the straight-line discs).
_QUAD_SEGS = 8
#: Distances computed at once by a search from several origins (origins × nodes).
_SEARCH_CELLS = 5_000_000


class WalkReach:
    """The walking reach of supply points over polygons, in the network's CRS.

    A polygon is measured on the network when at least half of its cells are on it (within
    ``max_snap_m`` of a segment); otherwise (a QPV the imported extract does not cover) its
    walks are estimated: discs of the threshold divided by the detour factor around every supply
    point, as without a network (:meth:`methods`).

    Parameters
    ----------
    network
        The street network (its CRS is the polygons' and the points').
    polygons
        Metric polygons (the QPVs of a zone).
    supply_xy
        ``(n, 2)`` metric supply points.
    options
        Walking options (``max_snap_m``, ``max_distance_m``, ``cell_m``, ``detour_factor``).
    thresholds_m
        Walking distances that will be asked for (the largest bounds the per-QPV searches).
    cells
        The network's raster (shared between analyses; made here when None).
    """

    def __init__(
        self,
        network: StreetNetwork,
        polygons: np.ndarray,
        supply_xy: np.ndarray,
        options: WalkOptions,
        *,
        thresholds_m: Sequence[float],
        cells: CellSnaps | None = None,
    ) -> None:
        self.network = network
        self.polygons = polygons
        self.options = options
        self.cells = cells or cell_snaps(network, cell_m=options.cell_m, max_snap_m=options.max_snap_m)
        self.max_threshold_m = max(thresholds_m)
        # cells just beyond the largest threshold need their walk too
        self.limit_m = max(self.max_threshold_m + 3 * self.cells.cell_m, options.max_distance_m)
        xy = np.asarray(supply_xy, dtype=np.float64).reshape(-1, 2)
        self.supply_xy = xy
        self.snap = network.snap(xy)
        self.on = self.snap.distance_m <= options.max_snap_m
        self.off_xy = xy[~self.on]
        self.bounds = shapely.bounds(polygons) if len(polygons) else np.empty((0, 4))
        m = len(polygons)
        self._windows: list[Cells | None] = [None] * m
        self._fields: list[np.ndarray | None] = [None] * m
        self._contours: list[Contours | None] = [None] * m
        self._inside: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None] = [None] * m
        self._to_supply: list[np.ndarray | None] = [None] * m
        self._forward = self._search_from_supply()

    # --- one search from every supply point --------------------------------------------------------
    def _search_from_supply(self) -> tuple[LocalGraph, np.ndarray] | None:
        on = np.flatnonzero(self.on)
        if not len(on) or not len(self.polygons):
            return None
        graph = LocalGraph(
            self.network,
            None,
            self.snap.segment[on],
            self.snap.offset_m[on],
            source_of=np.zeros(len(on), dtype=np.int64),
            source_cost=self.snap.distance_m[on],
        )
        dist = graph.distances(graph.source_nodes[0], limit=self.limit_m)[0]
        return graph, dist

    def _window_field(self, i: int) -> tuple[Cells, np.ndarray]:
        """The cells over polygon ``i`` and the walk from the nearest supply point at each."""
        if self._fields[i] is None:
            self._window_fields()
        cells, values = self._windows[i], self._fields[i]
        assert cells is not None
        assert values is not None
        return cells, values

    def _window_fields(self) -> None:
        """The cells over every polygon and their walks (read from the search at once)."""
        pad = 2 * self.cells.cell_m
        boxes = self.bounds + np.array([-pad, -pad, pad, pad])
        windows = self.cells.windows([tuple(box) for box in boxes.tolist()])
        if self._forward is None:
            fields = [np.full(window.segment.shape, np.inf) for window in windows]
        else:
            fields = walk_fields(self._forward[0], self._forward[1], windows)
        self._windows[:] = windows
        self._fields[:] = fields

    def _inside_cells(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """The on-network cells inside polygon ``i`` (segment, offset, snapping distance), and
        whether the polygon is measured on the network (half of its cells or more on it)."""
        found = self._inside[i]
        if found is None:
            window, _ = self._window_field(i)
            gx, gy = np.meshgrid(window.xs, window.ys)
            inside = shapely.contains_xy(self.polygons[i], gx, gy)
            on = inside & (window.segment >= 0)
            seg, off, cost = window.segment[on], window.offset_m[on], window.snap_m[on]
            measured = bool(on.sum() * 2 >= inside.sum()) and bool(inside.any())
            if not inside.any():  # a polygon smaller than a cell: its representative point
                point = shapely.get_coordinates(shapely.point_on_surface(self.polygons[i]))
                snap = self.network.snap(point)
                measured = bool(snap.distance_m[0] <= self.options.max_snap_m)
                if measured:
                    seg, off, cost = snap.segment, snap.offset_m, snap.distance_m
            found = self._inside[i] = (seg, off, cost, measured)
        return found

    def methods(self) -> np.ndarray:
        """How each polygon is measured: ``network`` or ``estimate``."""
        return np.array(
            ["network" if self._inside_cells(i)[3] else "estimate" for i in range(len(self.polygons))],
            dtype=object,
        )

    # --- what the coverage asks ----------------------------------------------------------------------
    def reach(self, threshold_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Per polygon: the region within a walk of ``threshold_m`` of a supply point (a metric
        geometry, None when nothing reaches it) and the number of supply points that reach it."""
        m = len(self.polygons)
        regions = np.full(m, None, dtype=object)
        counts = np.zeros(m, dtype=np.int64)
        radius = threshold_m / self.options.detour_factor
        for i in range(m):
            parts = []
            discs_of = self.off_xy  # estimated: the supply points off the network…
            if self._inside_cells(i)[3]:
                window, field = self._window_field(i)
                if (field <= threshold_m).any():
                    contours = self._contours[i]
                    if contours is None:  # kept for the other thresholds
                        contours = self._contours[i] = Contours(window, field)
                    parts.append(contours.regions([threshold_m])[0])
                counts[i] = int((self._walks_to_supply(i) <= threshold_m).sum())
            else:
                discs_of = self.supply_xy  # …or all of them, for a polygon off the network
            if len(discs_of):
                near = np.flatnonzero(shapely.dwithin(self.polygons[i], shapely.points(discs_of), radius))
                counts[i] += len(near)
                if len(near):
                    parts.extend(shapely.buffer(shapely.points(discs_of[near]), radius, quad_segs=_QUAD_SEGS))
            parts = [p for p in parts if not p.is_empty]
            if parts:
                regions[i] = parts[0] if len(parts) == 1 else shapely.union_all(parts)
        return regions, counts

    def _walks_to_supply(self, i: int) -> np.ndarray:
        """Walk from polygon ``i`` (its nearest cell) to each on-network supply point (``inf``
        beyond the largest threshold, and for the points farther in a straight line). One search
        per polygon with such points, from all its cells at once, on one graph made for every
        polygon."""
        found = self._to_supply[i]
        if found is None:
            self._search_from_polygons()
            found = self._to_supply[i]
            assert found is not None
        return found

    def _search_from_polygons(self) -> None:
        on = np.flatnonzero(self.on)
        m = len(self.polygons)
        cells = [self._inside_cells(i) for i in range(m)]
        for i in range(m):
            self._to_supply[i] = np.full(len(on), np.inf)
        measured = np.array([i for i in range(m) if cells[i][3] and len(cells[i][0])], dtype=np.int64)
        if not len(measured) or not len(on):
            return
        # a walk is never shorter than the straight line: only the supply points within the
        # largest threshold of a polygon in a straight line can reach it, and only the polygons
        # with such points need a search
        tree = shapely.STRtree(shapely.points(self.supply_xy[on]))
        which, near = tree.query(self.polygons[measured], predicate="dwithin", distance=self.max_threshold_m)
        searched = measured[np.unique(which)]
        targets = np.unique(near)  # indices into the on-network supply points
        if not len(searched):
            return
        centres = (self.bounds[searched, :2] + self.bounds[searched, 2:]) / 2
        sizes = self.bounds[searched, 2:] - self.bounds[searched, :2]
        radii = np.hypot(sizes[:, 0], sizes[:, 1]) / 2 + self.max_threshold_m
        supply = on[targets]
        # the polygons' cells start the searches without being inserted (one node per polygon)
        starts = Attached(
            group=np.repeat(np.arange(len(searched)), [len(cells[i][0]) for i in searched]),
            segment=np.concatenate([cells[i][0] for i in searched]),
            offset_m=np.concatenate([cells[i][1] for i in searched]),
            cost_m=np.concatenate([cells[i][2] for i in searched]),
        )
        graph = LocalGraph(
            self.network,
            self.network.region(centres, radii),
            self.snap.segment[supply],
            self.snap.offset_m[supply],
            attached=starts,
        )
        nodes = graph.inserted
        reached = nodes >= 0
        step = max(1, _SEARCH_CELLS // max(graph.size, 1))
        for start in range(0, len(searched), step):
            rows = graph.distances(graph.source_nodes[start : start + step], limit=self.max_threshold_m)
            for row, i in zip(rows, searched[start : start + step].tolist(), strict=True):
                walks = np.full(len(on), np.inf)
                walks[targets[reached]] = row[nodes[reached]] + self.snap.distance_m[supply][reached]
                self._to_supply[i] = walks

    def nearest(self, xy: np.ndarray) -> np.ndarray:
        """Walk from each point to the nearest supply point (NaN beyond ``max_distance_m``).

        Points off the network get an estimate (straight line to the nearest supply point times
        the detour factor); so do walks to supply points off the network, when shorter.
        """
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        out = np.full(len(pts), np.nan)
        if not len(self.supply_xy) or not len(pts):
            return out
        detour = self.options.detour_factor
        snap = self.network.snap(pts)
        on = snap.distance_m <= self.options.max_snap_m
        if self._forward is not None and on.any():
            graph, dist = self._forward
            walk = graph.at(dist, snap.segment[on], snap.offset_m[on]) + snap.distance_m[on]
            out[on] = np.where(walk <= self.limit_m, walk, np.nan)
        if len(self.off_xy) and on.any():
            estimate = cKDTree(self.off_xy).query(pts[on], k=1)[0] * detour
            current = out[on]
            better = (np.isnan(current) | (estimate < current)) & (estimate <= self.limit_m)
            current[better] = estimate[better]
            out[on] = current
        if (~on).any():
            out[~on] = cKDTree(self.supply_xy).query(pts[~on], k=1)[0] * detour
        return out

    def nearest_to_polygons(self, xy: np.ndarray) -> np.ndarray:
        """:meth:`nearest` from one point of each polygon (its centroid), estimated for the
        polygons measured by estimate."""
        out = self.nearest(xy)
        estimated = self.methods() == "estimate"
        if estimated.any() and len(self.supply_xy):
            pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)[estimated]
            out[estimated] = cKDTree(self.supply_xy).query(pts, k=1)[0] * self.options.detour_factor
        return out


def served_by(
    network: StreetNetwork,
    options: WalkOptions,
    origins_xy: np.ndarray,
    targets_xy: np.ndarray,
    distance_m: float,
) -> tuple[list[np.ndarray], np.ndarray]:
    """For each origin, the targets within a walk of ``distance_m`` (sorted target indices), and
    which origins are on the network.

    Walks between points on the network are measured on it (one bounded search per origin, in
    chunks); a walk with an end off the network is estimated (straight line times the detour
    factor), as everywhere.
    """
    origins = np.asarray(origins_xy, dtype=np.float64).reshape(-1, 2)
    targets = np.asarray(targets_xy, dtype=np.float64).reshape(-1, 2)
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64) for _ in range(len(origins))]
    so = network.snap(origins)
    origin_on = so.distance_m <= options.max_snap_m
    if not len(origins) or not len(targets):
        return out, origin_on
    st = network.snap(targets)
    o_on = np.flatnonzero(so.distance_m <= options.max_snap_m)
    t_on = np.flatnonzero(st.distance_m <= options.max_snap_m)
    t_off = np.flatnonzero(st.distance_m > options.max_snap_m)
    radius = distance_m / options.detour_factor
    tree = cKDTree(targets)
    estimated = [np.asarray(x, dtype=np.int64) for x in tree.query_ball_point(origins, radius)]
    if len(o_on) and len(t_on):
        graph = LocalGraph(
            network,
            network.region(targets[t_on], distance_m),
            np.r_[so.segment[o_on], st.segment[t_on]],
            np.r_[so.offset_m[o_on], st.offset_m[t_on]],
            source_of=np.r_[np.arange(len(o_on)), np.full(len(t_on), -1)],
            source_cost=np.r_[so.distance_m[o_on], np.zeros(len(t_on))],
        )
        nodes = graph.inserted[len(o_on) :]
        reached = nodes >= 0
        step = max(1, _SEARCH_CELLS // max(graph.size, 1))
        for start in range(0, len(o_on), step):
            chunk = np.arange(start, min(start + step, len(o_on)))
            dist = graph.distances(graph.source_nodes[chunk], limit=distance_m)
            walks = np.full((len(chunk), len(t_on)), np.inf)
            walks[:, reached] = dist[:, nodes[reached]] + st.distance_m[t_on][reached]
            for row, origin in zip(walks, o_on[chunk].tolist(), strict=True):
                out[origin] = t_on[row <= distance_m]
    # walks with an estimated end: from off-network origins to every target, and to targets off the network
    off_origin = np.ones(len(origins), dtype=bool)
    off_origin[o_on] = False
    off_target = np.zeros(len(targets), dtype=bool)
    off_target[t_off] = True
    for i in range(len(origins)):
        near = estimated[i] if off_origin[i] else estimated[i][off_target[estimated[i]]]
        if len(near):
            out[i] = np.union1d(out[i], near)
    return out, origin_on
