"""Isochrones: the area within a walk of one or several points, as polygons.

The walking distance of any place ``q`` is measured as for a query point
(:mod:`essmap.network.walking`): its snapping distance to its nearest segment plus the walk along
the network from there. That distance is computed at the centres of the cells of a raster (of
side ``cell_m``, aligned on multiples of it in the network's CRS, the nearest segment of each
cell computed once per tile and kept: :class:`CellSnaps`), and the isochrone at a distance
``B`` is the region where it is at most ``B``: the filled contour of that field drawn by
contourpy (matplotlib's contouring library, in C++), with the field interpolated linearly
between cell centres. A place whose nearest segment is on the other bank of a river is measured
from that bank: an isochrone crosses a river only where a bridge does. Places farther than
``max_snap_m`` from every segment are outside every isochrone.

The boundary is exact where the walking distance is linear between cell centres (along a street,
across it), and cuts the corners of the field by up to a cell elsewhere. Where the walking
distance jumps (in the middle of a river, between two banks not joined nearby), the boundary is
drawn next to the last cell within reach, up to a cell short of the jump: an isochrone never
claims a place that is not within its walk by more than the raster can tell.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

import contourpy
import numpy as np
import shapely

from essmap.network.graph import StreetNetwork
from essmap.network.local import LocalGraph
from essmap.network.options import WalkOptions

if TYPE_CHECKING:
    from contourpy._contourpy import FillReturn_ChunkCombinedOffsetOffset

__all__ = [
    "CellSnaps",
    "Cells",
    "Contours",
    "cell_snaps",
    "contour_regions",
    "point_isochrones",
    "walk_field",
    "walk_fields",
]

#: Cells per side of a tile of :class:`CellSnaps` (320 m with the default 20 m cells: the tiles
#: over a QPV's window hold about 1.5 times its cells).
TILE_CELLS: Final = 16
#: Tiles a :class:`CellSnaps` keeps (12 bytes a cell: about 150 MB); the oldest go first.
MAX_TILES: Final = 48_000
#: Stand-in for an infinite walking distance in a contoured field (contourpy needs finite values).
_FAR: Final = 1e12


@dataclass(frozen=True)
class Cells:
    """A window of the raster: cell centres and the nearest segment of each (``segment`` is -1
    for cells farther than ``max_snap_m`` from every segment). Arrays are ``(ny, nx)``."""

    xs: np.ndarray  # (nx,) centres, metres
    ys: np.ndarray  # (ny,)
    segment: np.ndarray
    offset_m: np.ndarray
    snap_m: np.ndarray


#: A tile of :class:`CellSnaps`: nearest segment (int32, -1 off the network), offset along it
#: and snapping distance (float32) of its cells, ``(TILE_CELLS, TILE_CELLS)`` arrays.
_Tile = tuple[np.ndarray, np.ndarray, np.ndarray]


class CellSnaps:
    """The nearest segment of the centre of every raster cell of a network, by tiles, on first use.

    Parameters
    ----------
    network
        The street network.
    cell_m
        Side of a cell, metres; cell ``(i, j)`` has its centre at ``((i + ½) cell_m, (j + ½) cell_m)``.
    max_snap_m
        Cells farther than this from every segment are off the network.
    """

    def __init__(self, network: StreetNetwork, *, cell_m: float, max_snap_m: float) -> None:
        self.network = network
        self.cell_m = float(cell_m)
        self.max_snap_m = float(max_snap_m)
        self._tiles: dict[tuple[int, int], _Tile] = {}
        self._lock = threading.Lock()
        self.max_tiles = MAX_TILES

    def _tiles_at(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], _Tile]:
        """The tiles at these keys; the missing ones are snapped together (one snap of all their
        cells: the fixed cost of a snap is paid once)."""
        found = {key: self._tiles.get(key) for key in keys}
        missing = [key for key, tile in found.items() if tile is None]
        if missing:
            c, t, m = self.cell_m, TILE_CELLS, len(missing)
            first = np.array(missing, dtype=np.int64) * t  # first cell column and row of each tile
            xs = (first[:, :1] + np.arange(t) + 0.5) * c  # (m, t) centres of each tile's columns
            ys = (first[:, 1:] + np.arange(t) + 0.5) * c  # and rows
            gx = np.broadcast_to(xs[:, None, :], (m, t, t))
            gy = np.broadcast_to(ys[:, :, None], (m, t, t))
            snap = self.network.snap(np.column_stack([gx.ravel(), gy.ravel()]))
            on = snap.distance_m <= self.max_snap_m
            seg = np.where(on, snap.segment, -1).astype(np.int32).reshape(m, t, t)
            off = snap.offset_m.astype(np.float32).reshape(m, t, t)
            dist = snap.distance_m.astype(np.float32).reshape(m, t, t)
            with self._lock:
                if len(self._tiles) + m > self.max_tiles:  # forget the oldest half
                    for key in list(self._tiles)[: self.max_tiles // 2]:
                        del self._tiles[key]
                for n, key in enumerate(missing):
                    found[key] = self._tiles.setdefault(key, (seg[n], off[n], dist[n]))
        return {key: tile for key, tile in found.items() if tile is not None}

    def window(self, x0: float, y0: float, x1: float, y1: float) -> Cells:
        """The cells whose centres cover the box (at least two per side)."""
        return self.windows([(x0, y0, x1, y1)])[0]

    def windows(self, boxes: Sequence[tuple[float, float, float, float]]) -> list[Cells]:
        """:meth:`window` of each box, the missing tiles of all of them snapped at once."""
        c, t = self.cell_m, TILE_CELLS
        spans = []
        for x0, y0, x1, y1 in boxes:
            i0, i1 = math.floor(x0 / c - 0.5), math.ceil(x1 / c - 0.5)
            j0, j1 = math.floor(y0 / c - 0.5), math.ceil(y1 / c - 0.5)
            spans.append((i0, max(i1, i0 + 1), j0, max(j1, j0 + 1)))
        keys = {
            (ti, tj): None
            for i0, i1, j0, j1 in spans
            for tj in range(j0 // t, j1 // t + 1)
            for ti in range(i0 // t, i1 // t + 1)
        }
        tiles = self._tiles_at(list(keys))
        out = []
        for i0, i1, j0, j1 in spans:
            nx, ny = i1 - i0 + 1, j1 - j0 + 1
            seg = np.empty((ny, nx), dtype=np.int64)
            off = np.empty((ny, nx))
            snap = np.empty((ny, nx))
            for tj in range(j0 // t, j1 // t + 1):
                for ti in range(i0 // t, i1 // t + 1):
                    tseg, toff, tsnap = tiles[ti, tj]
                    a0, a1 = max(i0, ti * t), min(i1, ti * t + t - 1)
                    b0, b1 = max(j0, tj * t), min(j1, tj * t + t - 1)
                    dst = (slice(b0 - j0, b1 - j0 + 1), slice(a0 - i0, a1 - i0 + 1))
                    src = (slice(b0 - tj * t, b1 - tj * t + 1), slice(a0 - ti * t, a1 - ti * t + 1))
                    seg[dst], off[dst], snap[dst] = tseg[src], toff[src], tsnap[src]
            xs = (np.arange(i0, i1 + 1) + 0.5) * c
            ys = (np.arange(j0, j1 + 1) + 0.5) * c
            out.append(Cells(xs, ys, seg, off, snap))
        return out


def cell_snaps(network: StreetNetwork, *, cell_m: float, max_snap_m: float) -> CellSnaps:
    """The raster of a network for these options, made once and kept with the network, so that
    every analysis and isochrone on it (in a long-lived process: every request) shares its cells."""
    key = ("cells", float(cell_m), float(max_snap_m))
    with network.lock:
        found = network.derived.get(key)
        if not isinstance(found, CellSnaps):
            found = network.derived[key] = CellSnaps(network, cell_m=cell_m, max_snap_m=max_snap_m)
    return found


def walk_field(graph: LocalGraph, distances: np.ndarray, cells: Cells) -> np.ndarray:
    """Walking distance at each cell centre: its snapping distance plus the network distance of
    its snapped position (``inf`` for cells off the network or out of reach)."""
    return walk_fields(graph, distances, [cells])[0]


def walk_fields(graph: LocalGraph, distances: np.ndarray, windows: Sequence[Cells]) -> list[np.ndarray]:
    """:func:`walk_field` of several windows of cells, read from the search at once."""
    seg = np.concatenate([cells.segment.ravel() for cells in windows]) if windows else np.empty(0, np.int64)
    off = np.concatenate([cells.offset_m.ravel() for cells in windows]) if windows else np.empty(0)
    snap = np.concatenate([cells.snap_m.ravel() for cells in windows]) if windows else np.empty(0)
    on = np.flatnonzero(seg >= 0)
    out = np.full(seg.shape, np.inf)
    out[on] = graph.at(distances, seg[on], off[on]) + snap[on]
    sizes = [cells.segment.size for cells in windows]
    parts = np.split(out, np.cumsum(sizes)[:-1]) if windows else []
    return [part.reshape(cells.segment.shape) for part, cells in zip(parts, windows, strict=True)]


class Contours:
    """The regions of a walking field within given levels, from one contour generator (made on
    first use and kept: the regions of several levels, asked for one at a time, share it)."""

    def __init__(self, cells: Cells, field: np.ndarray) -> None:
        self.cells = cells
        self.z = np.where(np.isfinite(field), field, _FAR)
        self._generator: contourpy.ContourGenerator | None = None

    def regions(self, levels_m: Sequence[float]) -> list[shapely.Geometry]:
        """The regions where the field is at most each level, as (Multi)Polygons (empty when none)."""
        out = []
        for level in levels_m:
            if not (self.z <= level).any():
                out.append(shapely.MultiPolygon())
                continue
            if self._generator is None:
                self._generator = contourpy.contour_generator(
                    self.cells.xs,
                    self.cells.ys,
                    self.z,
                    fill_type=contourpy.FillType.ChunkCombinedOffsetOffset,
                )
            # one chunk: all the rings' points, where each ring starts, where each polygon's rings
            # start: the layout of a ragged array of polygons, made into polygons at once
            filled = cast("FillReturn_ChunkCombinedOffsetOffset", self._generator.filled(-1.0, float(level)))
            (points,), (ring_starts,), (polygon_starts,) = filled
            if points is None or ring_starts is None or polygon_starts is None:
                out.append(shapely.MultiPolygon())
                continue
            offsets = (ring_starts.astype(np.int64), polygon_starts.astype(np.int64))
            polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, points, offsets)
            geom = shapely.multipolygons(polys) if len(polys) != 1 else polys[0]
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            out.append(geom)
        return out


def contour_regions(cells: Cells, field: np.ndarray, levels_m: Sequence[float]) -> list[shapely.Geometry]:
    """The regions where ``field`` is at most each level, as (Multi)Polygons (empty when none)."""
    return Contours(cells, field).regions(levels_m)


def point_isochrones(
    network: StreetNetwork,
    xy: np.ndarray,
    *,
    distances_m: Sequence[float],
    options: WalkOptions,
    cells: CellSnaps | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The isochrones of each point at each walking distance.

    Parameters
    ----------
    network
        The street network.
    xy
        ``(n, 2)`` points in the network's CRS.
    distances_m
        Walking distances of the isochrones, metres.
    options
        ``cell_m`` and ``max_snap_m`` are used.
    cells
        The raster of the network (shared between calls; made here when None).

    Returns
    -------
    geometries, on_network
        ``(n, len(distances_m))`` metric (Multi)Polygons (None for points off the network, whose
        isochrones are estimated by the caller), and which points are on the network.
    """
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    levels = sorted(float(d) for d in distances_m)
    order = np.argsort(np.asarray(distances_m, dtype=float), kind="stable")
    out = np.full((len(pts), len(levels)), None, dtype=object)
    if cells is None:
        cells = cell_snaps(network, cell_m=options.cell_m, max_snap_m=options.max_snap_m)
    snap = network.snap(pts)
    on = snap.distance_m <= options.max_snap_m
    pad = 2 * cells.cell_m
    reach = levels[-1] + pad  # cells just beyond the largest level need their walk too
    for i in np.flatnonzero(on).tolist():
        p = pts[i]
        graph = LocalGraph(
            network,
            network.segments_near(p[None, :], reach),
            snap.segment[i : i + 1],
            snap.offset_m[i : i + 1],
            source_of=np.zeros(1, dtype=np.int64),
            source_cost=snap.distance_m[i : i + 1],
        )
        dist = graph.distances(graph.source_nodes[0], limit=reach)[0]
        window = cells.window(p[0] - reach, p[1] - reach, p[0] + reach, p[1] + reach)
        regions = np.empty(len(levels), dtype=object)
        regions[:] = contour_regions(window, walk_field(graph, dist, window), levels)
        out[i, order] = regions
    return out, on
