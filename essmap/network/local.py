"""Shortest walks on a part of the street network, between points placed on its segments.

A walk of length at most ``R`` from a point never leaves the disc of radius ``R`` around it, so a
bounded search needs only the segments near its sources: a :class:`LocalGraph` holds those
segments, with the points of interest (query points, supply points, cells) inserted as nodes
where they snapped. Distances between inserted points are then exact node-to-node distances,
including between two points of one segment, and :mod:`scipy.sparse.csgraph`'s Dijkstra (in C)
computes them, bounded by ``limit``. Positions that were not inserted (the cells of an
isochrone's raster) are measured from the two nodes around them (:meth:`LocalGraph.at`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from essmap.network.graph import StreetNetwork

__all__ = ["LocalGraph"]


@dataclass
class _Breaks:
    """The inserted nodes of the segments that have some, sorted by segment then offset."""

    key: np.ndarray  # local segment * _SCALE + offset / length (sortable float)
    segment: np.ndarray  # local segment of each break
    node: np.ndarray  # local node of each break
    offset: np.ndarray  # metres from the segment's first node


#: Sort key of a position: segment id, then its offset as a fraction of the segment's length.
_SCALE = 4.0


class LocalGraph:
    """Some segments of a network, with points inserted on them, as a sparse graph.

    Parameters
    ----------
    network
        The street network.
    segments
        Ids of the segments to keep (the region searched); None for the whole network (its matrix
        is kept with it: only the inserted positions are added).
    insert_segment, insert_offset_m
        Positions to insert as nodes (segment id, offset in metres from its first node);
        positions on segments not kept are ignored (:attr:`inserted` is -1 for them).
    sources
        Optional extra nodes (one per group) joined to inserted positions: ``source_of[i]`` is
        the group of position ``i`` (-1 for none) and ``source_cost[i]`` the cost of the arc from
        the group's node to the position (a snapping distance). Searching from a group's node
        measures from the nearest of its positions.
    """

    def __init__(
        self,
        network: StreetNetwork,
        segments: np.ndarray | None,
        insert_segment: np.ndarray,
        insert_offset_m: np.ndarray,
        *,
        source_of: np.ndarray | None = None,
        source_cost: np.ndarray | None = None,
    ) -> None:
        self.network = network
        whole = segments is None  # the whole network: its cached matrix, with the additions
        if segments is None:
            segs = np.arange(len(network), dtype=np.int64)
            self.nodes = np.arange(len(network.node_xy), dtype=np.int64)
            local_ends = network.segment_nodes.astype(np.int64)
        else:
            segs = np.asarray(segments, dtype=np.int64)
            if len(segs) > 1 and not bool(np.all(segs[1:] > segs[:-1])):
                segs = np.unique(segs)
            ends = network.segment_nodes[segs]
            self.nodes = np.unique(ends.ravel())  # global ids of the segments' end nodes, sorted
            local_ends = np.searchsorted(self.nodes, ends)
        self.segments = segs
        n_ends = len(self.nodes)
        length = network.segment_length_m[segs]

        ins_seg = np.asarray(insert_segment, dtype=np.int64)
        ins_off = np.asarray(insert_offset_m, dtype=np.float64)
        if len(segs):
            where = np.minimum(np.searchsorted(segs, ins_seg), len(segs) - 1)
            kept = segs[where] == ins_seg
        else:
            where = np.zeros(len(ins_seg), dtype=np.int64)
            kept = np.zeros(len(ins_seg), dtype=bool)
        self.inserted = np.full(len(ins_seg), -1, dtype=np.int64)
        # positions at a segment's end are its end node; the others are new nodes (one per place)
        seg_len = np.where(kept, length[where], 1.0)
        frac = np.clip(np.divide(ins_off, seg_len, out=np.zeros(len(ins_off)), where=seg_len > 0), 0.0, 1.0)
        at_u = kept & (frac <= 0.0)
        at_v = kept & (frac >= 1.0)
        self.inserted[at_u] = local_ends[where[at_u], 0]
        self.inserted[at_v] = local_ends[where[at_v], 1]
        inner = np.flatnonzero(kept & ~at_u & ~at_v)
        key = where[inner] * _SCALE + frac[inner]
        uniq, index, inverse = np.unique(key, return_index=True, return_inverse=True)
        new_nodes = n_ends + np.arange(len(uniq))
        self.inserted[inner] = new_nodes[inverse]
        self.size = n_ends + len(uniq)
        b_seg = where[inner][index]
        self._breaks = _Breaks(uniq, b_seg, new_nodes, ins_off[inner][index])

        # arcs: whole segments without inserted nodes, chains u → breaks… → v for the others (on
        # the whole network, its segments stay too: a chain is exactly as long, so it changes nothing)
        has = np.zeros(len(segs), dtype=bool)
        has[b_seg] = True
        plain = np.empty(0, dtype=np.int64) if whole else np.flatnonzero(~has)
        a_parts = [local_ends[plain, 0]]
        b_parts = [local_ends[plain, 1]]
        w_parts = [length[plain]]
        if len(uniq):
            first = np.r_[True, b_seg[1:] != b_seg[:-1]]
            last = np.r_[b_seg[1:] != b_seg[:-1], True]
            offs = self._breaks.offset
            # between consecutive breaks of one segment
            same = ~last
            a_parts += [new_nodes[:-1][same[:-1]], local_ends[b_seg[first], 0], new_nodes[last]]
            b_parts += [new_nodes[1:][same[:-1]], new_nodes[first], local_ends[b_seg[last], 1]]
            w_parts += [
                (offs[1:] - offs[:-1])[same[:-1]],
                offs[first],
                length[b_seg[last]] - offs[last],
            ]
        a = np.concatenate(a_parts)
        b = np.concatenate(b_parts)
        w = np.concatenate(w_parts)
        self.source_nodes = np.empty(0, dtype=np.int64)
        extra_a: list[np.ndarray] = []
        extra_b: list[np.ndarray] = []
        extra_w: list[np.ndarray] = []
        if source_of is not None and source_cost is not None:
            group = np.asarray(source_of, dtype=np.int64)
            ok = (group >= 0) & (self.inserted >= 0)
            groups = int(group.max(initial=-1)) + 1
            self.source_nodes = self.size + np.arange(groups)
            # one arc per (group, node): the cheapest of the positions at that node
            pair_key = group[ok] * (self.size + 1) + self.inserted[ok]
            cost = np.asarray(source_cost, dtype=np.float64)[ok]
            order = np.lexsort((cost, pair_key))
            keep = order[np.r_[True, pair_key[order][1:] != pair_key[order][:-1]]] if len(order) else order
            extra_a.append(self.size + group[ok][keep])
            extra_b.append(self.inserted[ok][keep])
            extra_w.append(cost[keep])
            self.size += groups
        n = self.size
        rows = np.concatenate([a, b, *extra_a])
        cols = np.concatenate([b, a, *extra_b])
        weights = np.concatenate([w, w, *extra_w])
        added = csr_matrix((weights, (rows, cols)), shape=(n, n))
        if whole:
            base = network.graph
            grown = csr_matrix(
                (base.data, base.indices, np.r_[base.indptr, np.full(n - n_ends, base.indptr[-1])]),
                shape=(n, n),
            )
            added = grown + added  # no arc of one is in the other: nothing is summed
        self.matrix = added

    def distances(self, origins: np.ndarray | int, *, limit: float) -> np.ndarray:
        """Shortest distances (metres) from each origin node to every node, ``inf`` beyond ``limit``.

        Returns a ``(len(origins), size)`` array (one row for a single origin).
        """
        idx = np.atleast_1d(np.asarray(origins, dtype=np.int64))
        if not len(idx) or not self.size:
            return np.full((len(idx), self.size), np.inf)
        out = dijkstra(self.matrix, directed=True, indices=idx, limit=limit)
        return np.asarray(out, dtype=np.float64).reshape(len(idx), self.size)

    def at(self, distances: np.ndarray, segment: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """Distance at network positions (segment, offset) from the node distances of one search.

        A position is reached from the nearest node on each side of it on its segment (its end
        nodes, or inserted nodes); ``inf`` for positions on segments outside the graph.
        """
        seg = np.asarray(segment, dtype=np.int64)
        off = np.asarray(offset_m, dtype=np.float64)
        out = np.full(len(seg), np.inf)
        segs = self.segments
        if not len(segs) or not len(seg):
            return out
        where = np.minimum(np.searchsorted(segs, seg), len(segs) - 1)
        ok = (segs[where] == seg) & (seg >= 0)
        rows = np.flatnonzero(ok)
        where = where[rows]
        off = off[rows]
        ends = np.searchsorted(self.nodes, self.network.segment_nodes[segs[where]])
        length = self.network.segment_length_m[segs[where]]
        left_node, right_node = ends[:, 0], ends[:, 1]
        left_off, right_off = np.zeros(len(rows)), length.copy()
        br = self._breaks
        if len(br.key):
            frac = np.clip(np.divide(off, length, out=np.zeros(len(off)), where=length > 0), 0.0, 1.0)
            key = where * _SCALE + frac
            j = np.searchsorted(br.key, key, side="right")  # first break after the position
            has_left = (j > 0) & (br.segment[np.maximum(j - 1, 0)] == where)
            has_right = (j < len(br.key)) & (br.segment[np.minimum(j, len(br.key) - 1)] == where)
            left_node = np.where(has_left, br.node[np.maximum(j - 1, 0)], left_node)
            left_off = np.where(has_left, br.offset[np.maximum(j - 1, 0)], left_off)
            right_node = np.where(has_right, br.node[np.minimum(j, len(br.key) - 1)], right_node)
            right_off = np.where(has_right, br.offset[np.minimum(j, len(br.key) - 1)], right_off)
        d = np.minimum(distances[left_node] + (off - left_off), distances[right_node] + (right_off - off))
        out[rows] = d
        return out
