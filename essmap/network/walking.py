"""Walking distances to actors: ``nearest`` and ``within`` in walk mode.

:class:`WalkingIndex` adds walking to a :class:`~essmap.index.SpatialIndex` (which keeps its
straight-line hot path as it is). A walk is measured on the street network when one is loaded
for the point's place: the query point and each actor snap to their nearest walkable segment,
and the walking distance is the query's snapping distance, plus the shortest path along the
network, plus the actor's snapping distance (``distance_method = "network"``). A point farther
than ``max_snap_m`` from every segment, or in a place without network, gets an estimate: the
straight-line distance times the detour factor (``distance_method = "estimate"``).

A walk is never shorter than the straight line, so the actors within a walk of ``R`` are among
those within ``R`` in a straight line: a query takes those from the spatial index, then measures
them on the part of the network within ``R`` of the point (:class:`~essmap.network.local.LocalGraph`),
doubling ``R`` until ``k`` actors are found or the bound is reached.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from essmap.analysis.zones import as_wgs84, check_distance, present_points
from essmap.geo import metric_crs, transformer
from essmap.index import ActorHit, SpatialIndex, build_index, check_lonlat
from essmap.model import WGS84
from essmap.network.graph import StreetNetwork, network_from_store
from essmap.network.local import LocalGraph
from essmap.network.options import WalkOptions
from essmap.settings import Settings
from essmap.store.base import Store

__all__ = ["WalkAnswer", "WalkHit", "WalkingIndex", "build_walking_index", "directions_url"]

#: Radius of the first search of a walk-mode nearest query, at least (metres).
_FIRST_RADIUS_M = 300.0


class WalkHit(NamedTuple):
    """An actor found by a walk-mode query."""

    row: int  # position of the actor in SpatialIndex.actors
    id: str
    name: str
    category: str
    distance_m: float  # walking distance, metres (on the network, or estimated)
    walk_minutes: float  # at the walking speed of the options
    distance_method: str  # "network" | "estimate"
    straight_m: float  # straight-line distance, metres
    mode: str = "walk"

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class WalkAnswer(NamedTuple):
    """A walk-mode nearest query's actors, its bound, and where nothing is within it, how far.

    ``distance_method`` says how the query point was measured (``network`` when it snapped to
    the network, else ``estimate``); ``beyond_m`` is, when ``hits`` is empty, the straight-line
    distance of the nearest actor whatever the bound (None when there is none).
    """

    hits: list[WalkHit]
    max_distance_m: float
    beyond_m: float | None
    distance_method: str
    snap_m: float | None  # the query point's snapping distance (None for an estimate)


def directions_url(template: str, *, from_lon: float, from_lat: float, to_lon: float, to_lat: float) -> str:
    """A walking directions link from a template with ``{from_lon}``, ``{from_lat}``, ``{to_lon}``
    and ``{to_lat}`` (the ``directions_url`` setting), coordinates written with 6 decimals."""
    return template.format(
        from_lon=f"{from_lon:.6f}", from_lat=f"{from_lat:.6f}", to_lon=f"{to_lon:.6f}", to_lat=f"{to_lat:.6f}"
    )


class WalkingIndex:
    """Walk-mode proximity queries over the actors of a spatial index (see the module).

    Parameters
    ----------
    index
        The spatial index of the actors (its limits apply: ``max_k``, ``max_radius_m``).
    network
        The street network, or None (every walk is then estimated).
    options
        Speed, detour factor, snapping and search limits.
    """

    def __init__(self, index: SpatialIndex, network: StreetNetwork | None, options: WalkOptions) -> None:
        self.index = index
        self.network = network
        self.options = options
        self.max_distance_m = min(options.max_distance_m, index.max_radius_m)
        n = len(index.actors)
        self._segment = np.full(n, -1, dtype=np.int64)  # -1: estimated (off the network)
        self._offset = np.zeros(n)
        self._snap = np.full(n, np.inf)
        self._lonlat = np.full((n, 2), np.nan)
        if not n:
            return
        rows, lon, lat = present_points(as_wgs84(index.actors, "des acteurs"))
        self._lonlat[rows] = np.column_stack([lon, lat])
        if network is None or not len(network) or not len(rows):
            return
        mine = metric_crs(lon, lat) == network.crs
        rows, lon, lat = rows[mine], lon[mine], lat[mine]
        x, y = transformer(WGS84, network.crs).transform(lon, lat)
        snap = network.snap(np.column_stack([x, y]))
        on = snap.distance_m <= options.max_snap_m
        self._segment[rows[on]] = snap.segment[on]
        self._offset[rows[on]] = snap.offset_m[on]
        self._snap[rows[on]] = snap.distance_m[on]

    @property
    def has_network(self) -> bool:
        """Whether a street network is loaded."""
        return self.network is not None and len(self.network) > 0

    def actor_method(self, row: int) -> str:
        """How walks to an actor are measured: ``network`` or ``estimate``."""
        return "network" if self._segment[row] >= 0 else "estimate"

    def actor_lonlat(self, row: int) -> tuple[float, float]:
        """An actor's WGS 84 point (NaN for an unlocated actor)."""
        lon, lat = self._lonlat[row]
        return float(lon), float(lat)

    # --- the query point ------------------------------------------------------------------------
    def _query_point(self, lon: float, lat: float) -> tuple[np.ndarray, int, float, float] | None:
        """The query point on the network: metric point, segment, offset, snapping distance;
        None when it is off the network (its walks are estimated)."""
        net = self.network
        if net is None or not len(net) or metric_crs(lon, lat) != net.crs:
            return None
        x, y = transformer(WGS84, net.crs).transform(lon, lat)
        xy = np.array([[x, y]], dtype=np.float64)
        snap = net.snap(xy)
        if not snap.distance_m[0] <= self.options.max_snap_m:
            return None
        return xy[0], int(snap.segment[0]), float(snap.offset_m[0]), float(snap.distance_m[0])

    def _walks(
        self, point: tuple[np.ndarray, int, float, float], cands: list[ActorHit], radius: float
    ) -> np.ndarray:
        """Walking distance from a query point on the network to each candidate (``inf`` beyond
        ``radius`` on the network; an estimate for candidates off the network)."""
        xy, seg, off, snap = point
        rows = np.fromiter((h.row for h in cands), dtype=np.int64, count=len(cands))
        straight = np.fromiter((h.distance_m for h in cands), dtype=np.float64, count=len(cands))
        out = straight * self.options.detour_factor
        on = self._segment[rows] >= 0
        if not on.any() or self.network is None:
            return out
        net = self.network
        lg = LocalGraph(
            net,
            net.segments_near(xy[None, :], radius),
            np.r_[seg, self._segment[rows[on]]],
            np.r_[off, self._offset[rows[on]]],
        )
        start = lg.inserted[0]
        if start < 0:  # the query's own segment is farther than the radius: nothing is within it
            out[on] = np.inf
            return out
        dist = lg.distances(start, limit=max(radius - snap, 0.0))[0]
        nodes = lg.inserted[1:]
        walk = np.where(nodes >= 0, dist[np.maximum(nodes, 0)], np.inf)
        out[on] = snap + walk + self._snap[rows[on]]
        return out

    def _hits(
        self, cands: list[ActorHit], walks: np.ndarray, bound: float, method: str | None
    ) -> list[WalkHit]:
        """Candidates within ``bound`` as hits, sorted by walking distance then id."""
        per_minute = self.options.metres_per_minute
        hits = [
            WalkHit(
                h.row,
                h.id,
                h.name,
                h.category,
                w,
                w / per_minute,
                method or self.actor_method(h.row),
                h.distance_m,
            )
            for h, w in zip(cands, walks.tolist(), strict=True)
            if w <= bound
        ]
        hits.sort(key=lambda hit: (hit.distance_m, hit.id))
        return hits

    def _check_bound(self, max_distance_m: object) -> float:
        if max_distance_m is None:
            return self.max_distance_m
        return check_distance(max_distance_m, "max_distance_m", self.max_distance_m)

    # --- queries --------------------------------------------------------------------------------
    def nearest(
        self,
        lon: float,
        lat: float,
        *,
        k: int = 3,
        categories: Iterable[str] | None = None,
        max_distance_m: float | None = None,
    ) -> list[WalkHit]:
        """The ``k`` actors nearest on foot to a point, sorted by walking distance then id.

        Actors farther than ``max_distance_m`` on foot (by default the ``max_distance_m`` of
        the options) are left out.

        Raises
        ------
        OutsideTerritoryError
            If essmap does not serve the point.
        InvalidParameterError
            If a parameter is out of range (``max_distance_m`` at most the options' maximum).
        """
        return self.nearest_answer(lon, lat, k=k, categories=categories, max_distance_m=max_distance_m).hits

    def nearest_answer(
        self,
        lon: float,
        lat: float,
        *,
        k: int = 3,
        categories: Iterable[str] | None = None,
        max_distance_m: float | None = None,
    ) -> WalkAnswer:
        """:meth:`nearest`, with the bound used, how the point was measured, and, when nothing
        is within the bound, the straight-line distance of the nearest actor."""
        lon, lat = check_lonlat(lon, lat)
        k = self.index.check_k(k)
        bound = self._check_bound(max_distance_m)
        cats = None if categories is None else list(categories)
        detour = self.options.detour_factor
        point = self._query_point(lon, lat)
        if point is None:
            straight = self.index.nearest(lon, lat, k=k, categories=cats, max_distance_m=bound / detour)
            hits = self._hits(
                straight, np.array([h.distance_m * detour for h in straight]), bound, "estimate"
            )
            return WalkAnswer(hits, bound, self._beyond(lon, lat, cats, hits), "estimate", None)
        first = self.index.nearest(lon, lat, k=k, categories=cats, max_distance_m=bound)
        radius = bound
        if len(first) >= k:
            radius = min(bound, max(first[-1].distance_m * detour, _FIRST_RADIUS_M))
        while True:
            cands = self.index.within(lon, lat, radius_m=radius, categories=cats)
            hits = self._hits(cands, self._walks(point, cands, radius), radius, None)
            if len(hits) >= k or radius >= bound:
                break
            radius = min(bound, radius * 2)
        hits = hits[:k]
        return WalkAnswer(hits, bound, self._beyond(lon, lat, cats, hits), "network", point[3])

    def _beyond(self, lon: float, lat: float, cats: list[str] | None, hits: list[WalkHit]) -> float | None:
        if hits:
            return None
        answer = self.index.nearest_answer(
            lon, lat, k=1, categories=cats, max_distance_m=self.index.max_radius_m
        )
        if answer.hits:
            return answer.hits[0].distance_m
        return answer.beyond_m

    def within(
        self, lon: float, lat: float, *, radius_m: float, categories: Iterable[str] | None = None
    ) -> list[WalkHit]:
        """Every actor within a walk of ``radius_m`` metres of a point, by walking distance then id.

        Raises
        ------
        OutsideTerritoryError
            If essmap does not serve the point.
        InvalidParameterError
            If ``radius_m`` is not positive or exceeds the options' ``max_distance_m``.
        """
        lon, lat = check_lonlat(lon, lat)
        radius = check_distance(radius_m, "radius_m", self.max_distance_m)
        cats = None if categories is None else list(categories)
        point = self._query_point(lon, lat)
        if point is None:
            detour = self.options.detour_factor
            cands = self.index.within(lon, lat, radius_m=radius / detour, categories=cats)
            return self._hits(cands, np.array([h.distance_m * detour for h in cands]), radius, "estimate")
        cands = self.index.within(lon, lat, radius_m=radius, categories=cats)
        return self._hits(cands, self._walks(point, cands, radius), radius, None)

    def point_method(self, lon: float, lat: float) -> str:
        """How walks from a point are measured: ``network`` or ``estimate``."""
        lon, lat = check_lonlat(lon, lat)
        return "estimate" if self._query_point(lon, lat) is None else "network"


def build_walking_index(
    store: Store,
    settings: Settings,
    *,
    index: SpatialIndex | None = None,
    network: StreetNetwork | None = None,
) -> WalkingIndex:
    """The walking index of a store: its spatial index (given, or built) and its street network
    (given, or loaded; None when none was imported), with the walking settings."""
    if index is None:
        index = build_index(store, settings)
    if network is None:
        network = network_from_store(store)
    return WalkingIndex(index, network, WalkOptions.from_settings(settings))


def minutes_text(minutes: float) -> str:
    """Walking minutes for people: "4 min", "1 h 05"."""
    whole = max(1, math.ceil(minutes - 1e-9))
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} h {whole % 60:02d}"
