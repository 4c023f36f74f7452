"""Shortest walks on a part of the street network, between points placed on its segments.

A walk of length at most ``R`` from a point never leaves the disc of radius ``R`` around it, so a
bounded search needs only the segments near its sources: a :class:`LocalGraph` holds those
segments, with the points of interest (query points, supply points, cells) inserted as nodes
where they snapped. Distances between inserted points are then exact node-to-node distances,
including between two points of one segment, and :mod:`scipy.sparse.csgraph`'s Dijkstra (in C)
computes them, bounded by ``limit``. Positions that were not inserted (the cells of an
isochrone's raster) are measured from the two nodes around them (:meth:`LocalGraph.at`); a
search can also start from such positions (:class:`Attached`): joined to the two nodes around
them, they measure the same walks as if they were inserted, without adding a node each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from essmap.network.graph import StreetNetwork

__all__ = ["Attached", "LocalGraph"]


class Attached(NamedTuple):
    """Positions a search starts from without inserting them: ``group[i]`` is the source node
    position ``i`` belongs to, and ``cost_m[i]`` the cost of reaching it from there (a snapping
    distance). Each position is joined to its group's node through the two nodes around it on
    its segment, at ``cost_m`` plus the metres to each: as no walk leaves a position except
    through those two nodes, the walks from the group's node are those from its positions."""

    group: np.ndarray
    segment: np.ndarray
    offset_m: np.ndarray
    cost_m: np.ndarray


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
    attached
        More positions joined to group nodes, without being inserted (:class:`Attached`); their
        groups are numbered with those of ``source_of``.
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
        attached: Attached | None = None,
    ) -> None:
        self.network = network
        #: The whole network: its cached matrix, with the additions; its local segment and node
        #: ids are the network's.
        self.whole = whole = segments is None
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
        where, kept = self._local_segments(ins_seg)
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
        # arcs from the source nodes: (group, node, cost) of each position joined to a group
        joins: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        groups = 0  # every group has its node, even when none of its positions is in the graph
        if source_of is not None and source_cost is not None:
            group = np.asarray(source_of, dtype=np.int64)
            groups = int(group.max(initial=-1)) + 1
            ok = (group >= 0) & (self.inserted >= 0)
            joins.append((group[ok], self.inserted[ok], np.asarray(source_cost, dtype=np.float64)[ok]))
        if attached is not None:
            on_graph, left, left_m, right, right_m = self.around(attached.segment, attached.offset_m)
            group = np.asarray(attached.group, dtype=np.int64)
            groups = max(groups, int(group.max(initial=-1)) + 1)
            group = group[on_graph]
            cost = np.asarray(attached.cost_m, dtype=np.float64)[on_graph]
            joins.append((np.r_[group, group], np.r_[left, right], np.r_[cost + left_m, cost + right_m]))
        extra_a: list[np.ndarray] = []
        extra_b: list[np.ndarray] = []
        extra_w: list[np.ndarray] = []
        if joins:
            group = np.concatenate([j[0] for j in joins])
            node = np.concatenate([j[1] for j in joins])
            cost = np.concatenate([j[2] for j in joins])
            self.source_nodes = self.size + np.arange(groups)
            # one arc per (group, node): the cheapest of the positions at that node
            pair_key = group * (self.size + 1) + node
            order = np.argsort(pair_key)
            sorted_key = pair_key[order]
            first = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if len(order) else order
            extra_a.append(self.size + group[order[first]])
            extra_b.append(node[order[first]])
            extra_w.append(np.minimum.reduceat(cost[order], first) if len(order) else cost)
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
        out = np.full(len(np.asarray(segment)), np.inf)
        rows, left, left_m, right, right_m = self.around(segment, offset_m)
        out[rows] = np.minimum(distances[left] + left_m, distances[right] + right_m)
        return out

    def _local_segments(self, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local ids of network segments, and which are in the graph (the others' ids are 0)."""
        segs = self.segments
        if self.whole:
            kept = (segment >= 0) & (segment < len(segs))
            return np.where(kept, segment, 0), kept
        if not len(segs):
            return np.zeros(len(segment), dtype=np.int64), np.zeros(len(segment), dtype=bool)
        where = np.minimum(np.searchsorted(segs, segment), len(segs) - 1)
        kept = (segs[where] == segment) & (segment >= 0)
        return np.where(kept, where, 0), kept

    def around(
        self, segment: np.ndarray, offset_m: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The nodes on each side of network positions (segment, offset) on their segment.

        Returns
        -------
        rows, left, left_m, right, right_m
            The positions on segments of the graph (indices into the arguments), the node before
            each (its segment's first node or an inserted node) and the metres to it, the node
            after it and the metres to it.
        """
        seg = np.asarray(segment, dtype=np.int64)
        off = np.asarray(offset_m, dtype=np.float64)
        where, ok = self._local_segments(seg)
        rows = np.flatnonzero(ok)
        where = where[rows]
        off = off[rows]
        ends = self.network.segment_nodes[self.segments[where]].astype(np.int64)
        if not self.whole:
            ends = np.searchsorted(self.nodes, ends)
        length = self.network.segment_length_m[self.segments[where]]
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
        return rows, left_node, off - left_off, right_node, right_off - off
