"""The street network a pedestrian walks: nodes and straight segments in a metric CRS, and snapping.

A :class:`StreetNetwork` is a few compact numpy arrays: the nodes' metric coordinates, the two
nodes of each segment and its length in metres. Segments are the straight pieces of the
OpenStreetMap ways between consecutive nodes (pedestrians ignore one-way streets, so segments
are undirected), split so that none is longer than :data:`SEGMENT_MAX_M`: that bounds the search
for the segment nearest a point (:meth:`StreetNetwork.snap`). The CRS is the one metric CRS of
the extract's place (:func:`essmap.geo.metric_crs` of the centre of its extent), as for every
other distance essmap measures.

Points are *snapped* to the nearest segment: the walking distance of a point is its straight
distance to that segment (the snapping distance) plus the distance along the network from there.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any, Final, NamedTuple

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from essmap.geo import metric_crs, transformer
from essmap.model import WGS84
from essmap.sources.osm import OsmWays
from essmap.store.base import Store, now_utc

__all__ = [
    "MIN_COMPONENT_SHARE",
    "SEGMENT_MAX_M",
    "NetworkInfo",
    "Snap",
    "StreetNetwork",
    "network_from_ways",
]

#: Longest segment kept whole, in metres; longer ones are split into equal pieces.
SEGMENT_MAX_M: Final = 50.0
#: Parts of the network holding less than this share of its length, and unconnected to the rest
#: (a footway mapped alone in a park, a piece cut at the border of the extract), are left out:
#: a point snapped there could reach nothing.
MIN_COMPONENT_SHARE: Final = 0.01
#: Candidate segments examined per point by the vectorised snapping, in rounds: the points whose
#: candidates may miss a nearer segment go on to the next round, then to the exact fallback. Eight
#: candidates settle most points of a street grid (about 94 % of the raster cells of the
#: benchmark city), at a third of the cost of a k-d tree query of sixteen.
_SNAP_CANDIDATES = (8, 32)


@dataclass(frozen=True)
class NetworkInfo:
    """What a stored network is: where it comes from and how large it is."""

    network_id: str  # changes with every import (a cache key)
    crs: str
    source: str
    imported_at: str
    ways: int
    nodes: int
    segments: int
    length_m: float
    bbox: tuple[float, float, float, float]  # WGS 84: min lon, min lat, max lon, max lat
    components_dropped: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["bbox"] = list(self.bbox)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkInfo:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        fields["bbox"] = tuple(float(v) for v in fields["bbox"])
        return cls(**fields)


class Snap(NamedTuple):
    """Points snapped to their nearest segment (arrays, one entry per point)."""

    segment: np.ndarray  # int64 segment id
    offset_m: np.ndarray  # distance along the segment from its first node, metres
    distance_m: np.ndarray  # snapping distance, metres


class StreetNetwork:
    """A walkable street network in a metric CRS (see the module).

    Parameters
    ----------
    node_xy
        ``(n, 2)`` metric coordinates of the nodes.
    segment_nodes
        ``(m, 2)`` the two nodes of each segment.
    segment_length_m
        ``(m,)`` length of each segment, metres.
    info
        Where the network comes from (its ``crs`` is the CRS of ``node_xy``).
    """

    def __init__(
        self, node_xy: np.ndarray, segment_nodes: np.ndarray, segment_length_m: np.ndarray, info: NetworkInfo
    ) -> None:
        self.node_xy = np.ascontiguousarray(node_xy, dtype=np.float64).reshape(-1, 2)
        self.segment_nodes = np.ascontiguousarray(segment_nodes, dtype=np.int32).reshape(-1, 2)
        self.segment_length_m = np.ascontiguousarray(segment_length_m, dtype=np.float64)
        self.info = info
        self.crs = info.crs
        self.midpoints = (self.node_xy[self.segment_nodes[:, 0]] + self.node_xy[self.segment_nodes[:, 1]]) / 2
        self.half_max_m = float(self.segment_length_m.max(initial=0.0)) / 2
        #: Bounds of the segments' midpoints (min x, min y, max x, max y), for :meth:`region`.
        self.midpoint_bounds = (
            (*self.midpoints.min(axis=0), *self.midpoints.max(axis=0)) if len(self.midpoints) else (0.0,) * 4
        )
        self._lock = threading.Lock()
        self._tree: cKDTree | None = None
        self._graph: csr_matrix | None = None
        #: Structures derived from the network by other modules, kept with it (the snapped raster
        #: cells of :mod:`essmap.network.isochrones`), under :attr:`lock`.
        self.derived: dict[object, object] = {}
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.segment_nodes)

    # --- lazily built structures --------------------------------------------------------------
    @property
    def midpoint_tree(self) -> cKDTree:
        """A k-d tree over the segments' midpoints (built on first use)."""
        tree = self._tree
        if tree is None:
            with self._lock:
                if self._tree is None:
                    self._tree = cKDTree(self.midpoints)
                tree = self._tree
        return tree

    @property
    def graph(self) -> csr_matrix:
        """The whole network as a symmetric sparse matrix of segment lengths (built on first use)."""
        graph = self._graph
        if graph is None:
            with self._lock:
                if self._graph is None:
                    u, v = self.segment_nodes[:, 0], self.segment_nodes[:, 1]
                    n = len(self.node_xy)
                    self._graph = csr_matrix(
                        (np.r_[self.segment_length_m, self.segment_length_m], (np.r_[u, v], np.r_[v, u])),
                        shape=(n, n),
                    )
                graph = self._graph
        return graph

    # --- geometry -----------------------------------------------------------------------------
    def project(self, segments: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offset along each segment (metres from its first node) of the point of it nearest each
        point, and the distance to it."""
        a = self.node_xy[self.segment_nodes[segments, 0]]
        ab = self.node_xy[self.segment_nodes[segments, 1]] - a
        rel = xy - a
        ab2 = np.einsum("ij,ij->i", ab, ab)
        frac = np.divide(np.einsum("ij,ij->i", rel, ab), ab2, out=np.zeros(len(segments)), where=ab2 > 0)
        frac = np.clip(frac, 0.0, 1.0)
        gap = rel - ab * frac[:, None]
        return frac * self.segment_length_m[segments], np.hypot(gap[:, 0], gap[:, 1])

    def point_at(self, segments: np.ndarray, offsets_m: np.ndarray) -> np.ndarray:
        """Metric coordinates of the points at ``offsets_m`` along ``segments``."""
        length = self.segment_length_m[segments]
        frac = np.divide(offsets_m, length, out=np.zeros(len(segments)), where=length > 0)
        a = self.node_xy[self.segment_nodes[segments, 0]]
        return a + (self.node_xy[self.segment_nodes[segments, 1]] - a) * frac[:, None]

    def snap(self, xy: np.ndarray) -> Snap:
        """The nearest segment of each point (ties: the lowest segment id), exactly.

        A segment is within ``d`` of a point only if its midpoint is within ``d`` plus half the
        longest segment: the candidates are the segments whose midpoint is that close to the
        point, ``d`` being the distance to the nearest midpoint (an upper bound of the distance
        to the nearest segment).
        """
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        n = len(xy)
        out_seg = np.full(n, -1, dtype=np.int64)
        out_off = np.full(n, np.nan)
        out_dist = np.full(n, np.inf)
        ok = np.isfinite(xy).all(axis=1)
        if not n or not len(self) or not ok.any():
            return Snap(out_seg, out_off, out_dist)
        rows = np.flatnonzero(ok)
        pts = xy[rows]
        tree = self.midpoint_tree
        seg = np.full(len(pts), -1, dtype=np.int64)
        offset = np.full(len(pts), np.nan)
        distance = np.full(len(pts), np.inf)
        todo = np.arange(len(pts))
        reach = np.zeros(len(pts))
        for candidates in _SNAP_CANDIDATES:
            k = min(candidates, len(self))
            d, i = tree.query(pts[todo], k=k)
            d = d.reshape(len(todo), k)
            i = np.sort(i.reshape(len(todo), k), axis=1)  # by segment id: the first of equal distances wins
            reach[todo] = d[:, 0] + self.half_max_m + 1e-9
            # when the k-th candidate is still within reach, farther segments may be nearer
            complete = (d[:, -1] > reach[todo]) | (k == len(self))
            done, i = todo[complete], i[complete]
            off, dist = self.project(i.ravel(), np.repeat(pts[done], k, axis=0))
            off, dist = off.reshape(len(done), k), dist.reshape(len(done), k)
            best = np.argmin(dist, axis=1)
            pick = np.arange(len(done))
            seg[done], offset[done], distance[done] = i[pick, best], off[pick, best], dist[pick, best]
            todo = todo[~complete]
            if not len(todo):
                break
        for j in todo.tolist():  # exact fallback
            cand = np.asarray(sorted(tree.query_ball_point(pts[j], reach[j])), dtype=np.int64)
            o, dd = self.project(cand, np.broadcast_to(pts[j], (len(cand), 2)))
            m = int(np.argmin(dd))
            seg[j], offset[j], distance[j] = cand[m], o[m], dd[m]
        out_seg[rows], out_off[rows], out_dist[rows] = seg, offset, distance
        return Snap(out_seg, out_off, out_dist)

    def region(self, xy: np.ndarray, radius_m: float | np.ndarray) -> np.ndarray | None:
        """:meth:`segments_near`, or None when that would be most of the network (a search on the
        whole network, whose matrix is kept, then costs less than making a smaller one)."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if len(pts):
            reach = float(np.max(radius_m)) + self.half_max_m
            lo, hi = pts.min(axis=0) - reach, pts.max(axis=0) + reach
            x0, y0, x1, y1 = self.midpoint_bounds
            overlap = max(0.0, min(hi[0], x1) - max(lo[0], x0)) * max(0.0, min(hi[1], y1) - max(lo[1], y0))
            if overlap >= 0.5 * max((x1 - x0) * (y1 - y0), 1e-9):
                return None
        return self.segments_near(pts, radius_m)

    def segments_near(self, xy: np.ndarray, radius_m: float | np.ndarray) -> np.ndarray:
        """Ids of the segments that may hold a point within ``radius_m`` of one of the points
        (those whose midpoint is within ``radius_m`` plus half the longest segment), sorted."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if not len(pts) or not len(self):
            return np.empty(0, dtype=np.int64)
        radii = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (len(pts),)) + self.half_max_m + 1e-9
        if len(pts) == 1:
            return np.asarray(sorted(self.midpoint_tree.query_ball_point(pts[0], radii[0])), dtype=np.int64)
        # many points: each midpoint against its nearest point, within the largest radius (a
        # superset where the radii differ: the searches stay exact, on a few more segments)
        reach = float(radii.max())
        lo, hi = pts.min(axis=0) - reach, pts.max(axis=0) + reach
        mid = self.midpoints
        box = np.flatnonzero(
            (mid[:, 0] >= lo[0]) & (mid[:, 0] <= hi[0]) & (mid[:, 1] >= lo[1]) & (mid[:, 1] <= hi[1])
        )
        dist, _ = cKDTree(pts).query(mid[box], k=1, distance_upper_bound=reach)
        return box[np.isfinite(dist)]


# --- building from OpenStreetMap ways -----------------------------------------------------------


def _segments_of_ways(ways: OsmWays, node_index: np.ndarray) -> np.ndarray:
    """The (u, v) node pairs of consecutive way nodes, deduplicated, without loops."""
    total = len(node_index)
    last = np.zeros(total, dtype=bool)
    last[ways.offsets[1:] - 1] = True
    first = np.flatnonzero(~last[:-1]) if total > 1 else np.empty(0, dtype=np.int64)
    u = node_index[first]
    v = node_index[first + 1]
    keep = u != v
    pairs = np.sort(np.column_stack([u[keep], v[keep]]), axis=1)
    return np.unique(pairs, axis=0)


def _densify(xy: np.ndarray, pairs: np.ndarray, max_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Split segments longer than ``max_m`` into equal pieces (new nodes appended to ``xy``)."""
    a, b = xy[pairs[:, 0]], xy[pairs[:, 1]]
    pieces = np.maximum(np.ceil(np.hypot(*(b - a).T) / max_m - 1e-6).astype(np.int64), 1)
    long = np.flatnonzero(pieces > 1)
    if not len(long):
        return xy, pairs
    p = pieces[long]
    # each long segment becomes the node sequence u, new nodes…, v (p + 1 nodes, p pieces)
    owner = np.repeat(long, p - 1)
    step = np.arange(int((p - 1).sum())) - np.repeat(np.cumsum(p - 1) - (p - 1), p - 1) + 1
    new_xy = a[owner] + (b[owner] - a[owner]) * (step / pieces[owner])[:, None]
    start = np.cumsum(p + 1) - (p + 1)
    seq = np.empty(int((p + 1).sum()), dtype=np.int64)
    inner = np.ones(len(seq), dtype=bool)
    inner[start] = False
    inner[start + p] = False
    seq[start] = pairs[long, 0]
    seq[start + p] = pairs[long, 1]
    seq[inner] = len(xy) + np.arange(len(new_xy))
    last = np.zeros(len(seq), dtype=bool)
    last[start + p] = True
    arcs = np.column_stack([seq[:-1][~last[:-1]], seq[1:][~last[:-1]]])
    return np.vstack([xy, new_xy]), np.vstack([pairs[pieces == 1], arcs])


def _main_components(n: int, pairs: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, int]:
    """Which nodes belong to a connected part holding at least :data:`MIN_COMPONENT_SHARE` of the
    length (the largest part always), and how many parts are left out."""
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    per = np.bincount(label[pairs[:, 0]], weights=length, minlength=count)
    keep = (per >= MIN_COMPONENT_SHARE * per.sum()) | (per == per.max())
    has_segment = np.bincount(label[pairs[:, 0]], minlength=count) > 0
    return keep[label], int((~keep & has_segment).sum())


def network_from_ways(
    ways: OsmWays, *, crs: str | None = None, segment_max_m: float = SEGMENT_MAX_M
) -> StreetNetwork:
    """The street network of walkable ways, projected to the metric CRS of their place.

    Parameters
    ----------
    ways
        Walkable ways read from an OpenStreetMap extract (:func:`essmap.sources.osm.walkable_ways_from_osm`).
    crs
        The metric CRS; by default :func:`essmap.geo.metric_crs` of the centre of the ways' extent.
    segment_max_m
        Longer segments are split into equal pieces.

    Returns
    -------
    StreetNetwork
        Nodes shared by several ways are joined (by OpenStreetMap node id); repeated pairs of nodes
        make one segment; small unconnected parts are left out (:data:`MIN_COMPONENT_SHARE`).
    """
    ids, first = np.unique(ways.node_ids, return_index=True)
    node_index = np.searchsorted(ids, ways.node_ids)
    lon, lat = ways.lon[first], ways.lat[first]
    code = crs or metric_crs(float(lon.min() + lon.max()) / 2, float(lat.min() + lat.max()) / 2)
    x, y = transformer(WGS84, code).transform(lon, lat)
    xy = np.column_stack([x, y])
    pairs = _segments_of_ways(ways, node_index)
    xy, pairs = _densify(xy, pairs, segment_max_m)
    length = np.hypot(*(xy[pairs[:, 1]] - xy[pairs[:, 0]]).T)
    kept, dropped = _main_components(len(xy), pairs, length)
    used = np.zeros(len(xy), dtype=bool)
    used[pairs.ravel()] = True
    used &= kept
    seg_keep = used[pairs[:, 0]]
    remap = np.cumsum(used) - 1
    pairs = remap[pairs[seg_keep]]
    length = length[seg_keep]
    xy = xy[used]
    original = used[: len(lon)]  # the bounds of the kept ways are those of their OpenStreetMap nodes
    bbox = (
        float(lon[original].min()),
        float(lat[original].min()),
        float(lon[original].max()),
        float(lat[original].max()),
    )
    info = NetworkInfo(
        network_id=uuid.uuid4().hex,
        crs=code,
        source=PurePosixPath(ways.file).name or ways.file,
        imported_at=now_utc(),
        ways=ways.ways,
        nodes=len(xy),
        segments=len(pairs),
        length_m=float(length.sum()),
        bbox=bbox,
        components_dropped=dropped,
    )
    return StreetNetwork(xy, pairs, length, info)


def network_arrays(network: StreetNetwork) -> dict[str, np.ndarray]:
    """The arrays that make a network (what a store keeps)."""
    return {
        "node_xy": network.node_xy,
        "segment_nodes": network.segment_nodes,
        "segment_length_m": network.segment_length_m,
    }


def network_of_arrays(arrays: dict[str, np.ndarray], info: NetworkInfo) -> StreetNetwork:
    """A network from the arrays of :func:`network_arrays` (as a store gives them back)."""
    return StreetNetwork(arrays["node_xy"], arrays["segment_nodes"], arrays["segment_length_m"], info)


def save_network(store: Store, network: StreetNetwork) -> None:
    """Replace the store's street network with this one (one transaction; the revision changes)."""
    store.replace_street_network(network_arrays(network), network.info.as_dict())


def network_from_store(store: Store) -> StreetNetwork | None:
    """The store's street network (None when none was imported)."""
    loaded = store.load_street_network()
    if loaded is None:
        return None
    arrays, meta = loaded
    return network_of_arrays(arrays, NetworkInfo.from_dict(meta))


def network_info(store: Store) -> NetworkInfo | None:
    """The description of the store's street network, without loading it (None when none)."""
    meta = store.street_network_meta()
    return None if meta is None else NetworkInfo.from_dict(meta)
