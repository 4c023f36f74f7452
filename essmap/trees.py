"""The trees behind :class:`essmap.index.SpatialIndex`: actor points and QPV outlines of one zone.

A :class:`PointTree` holds a :class:`scipy.spatial.cKDTree` for the vectorised and radius queries,
and, built on first use, a :mod:`pykdtree` tree for the nearest neighbours of one point: the API's
hot path. A single query costs about 4 µs there against about 15 µs in cKDTree, whose per-call
set-up (array conversions, argument checks, output allocation) outweighs the search itself on a
few thousand points. Both compute the same Euclidean distances in float64.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import shapely
from pykdtree.kdtree import KDTree
from pyproj import Transformer
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from essmap.geo import transformer
from essmap.model import WGS84

_THREAD = threading.local()


def _one_openmp_thread() -> None:
    """Limit the calling thread's OpenMP parallel regions to one thread, once per thread.

    pykdtree runs each query in an OpenMP parallel region, and idle OpenMP threads spin for a
    while after it: a server answering one point at a time would keep a second core busy for
    nothing. The limit is an OpenMP setting of the thread that sets it (a server's worker threads
    each need their own), so it is set on a thread's first query: about 0.3 ms once, then a
    thread-local flag read (tens of nanoseconds), where a limit around every query would cost
    more than the query itself.
    """
    if not getattr(_THREAD, "openmp_limited", False):
        threadpool_limits(limits=1, user_api="openmp")
        _THREAD.openmp_limited = True


class PointTree:
    """Some actors of one zone, with tree position → actor row, id rank, id, name and category.

    The points are stored in the tree's own leaf order, so that the neighbours of a query sit
    side by side in memory, and so do their result fields: on a large index this saves a cache
    miss per field and per neighbour, a large share of a single query's cost. The fields are
    one list each, not a tuple per actor: a tree of 100,000 actors adds four objects, not 100,000,
    for the garbage collector to walk after a rebuild (a pause for the requests).
    """

    __slots__ = ("_single", "categories", "ids", "n", "names", "rank_list", "rows", "rows_list", "tree", "xy")

    def __init__(self, xy: np.ndarray, rows: np.ndarray) -> None:
        order = cKDTree(xy).indices
        self.xy = np.ascontiguousarray(xy[order], dtype=np.float64)
        self.tree = cKDTree(self.xy)
        self.n = len(rows)
        self.rows = rows[order]
        self.rows_list: list[int] = self.rows.tolist()
        self.rank_list: list[int] = []
        self.ids: list[str] = []
        self.names: list[str] = []
        self.categories: list[str] = []
        # pykdtree's tree for one point at a time, made here with the rest (in a server, by the
        # builder), not by the first request after a rebuild: ~12 ms for 120,000 actors
        self._single: Any = KDTree(self.xy) if self.n else None

    def query_one(self, x: float, y: float, k: int, bound: float) -> tuple[list[float], list[int]]:
        """The ``k`` nearest tree positions of one point, sorted by distance, as lists.

        Neighbours farther than ``bound`` (and missing ones, when the tree holds fewer than ``k``)
        come as an infinite distance and position ``n``, as in cKDTree; ``bound`` is widened by a
        hair so that a neighbour exactly at it is kept: the caller compares distances itself.
        """
        single = self._single
        if single is None:
            single = self._single = KDTree(self.xy)
        _one_openmp_thread()
        limit = None if bound == math.inf else bound * (1 + 1e-9) + 1e-9
        d, i = single.query(np.array(((x, y),)), k=k, distance_upper_bound=limit)
        return d.ravel().tolist(), i.ravel().tolist()


class ActorZone:
    """The actor trees of one zone: all actors, each category, and category sets on demand."""

    __slots__ = ("all", "by_category", "categories", "combined", "crs", "forward")

    def __init__(self, crs: str) -> None:
        self.crs = crs
        self.forward: Transformer = transformer(WGS84, crs)
        self.all: PointTree | None = None
        self.categories = np.empty(0, dtype=object)  # category of each point of ``all``
        self.by_category: dict[str, PointTree] = {}
        self.combined: dict[frozenset[str], PointTree] = {}


class QpvTree:
    """The QPV outlines of one zone and generation, in the zone's metric CRS."""

    __slots__ = ("codes", "names", "rank", "rows", "tree")

    def __init__(self, geoms: np.ndarray, rows: np.ndarray, codes: list[str], names: list[str]) -> None:
        self.tree = shapely.STRtree(geoms)
        self.rows = rows
        self.codes = codes
        self.names = names
        order = np.argsort(np.asarray(codes, dtype=object), kind="stable")
        self.rank = np.empty(len(codes), dtype=np.int64)
        self.rank[order] = np.arange(len(codes))
