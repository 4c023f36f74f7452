"""In-memory spatial index answering nearest / within / locate queries in metres.

Actors are indexed with a point tree per metric zone (see :mod:`essmap.analysis.zones` and
:mod:`essmap.trees`): one over every actor, one per category, and one per category set asked for
(built on first use), on coordinates projected once at build time; QPV outlines with a
:class:`shapely.STRtree` per zone and generation. A query projects its WGS 84 point with one
cached transformer and calls one tree directly: no pandas in the hot path.

Nearest results are exact: ``k + 1`` neighbours are fetched so that a tie at the k-th distance is
detected, and then every actor at that distance is gathered, so ties are always broken by id.
They are bounded: without ``max_distance_m``, a nearest query stops at the index's
``default_max_distance_m`` (the ``nearest_max_distance_m`` setting), and
:meth:`SpatialIndex.nearest_answer` says how far the nearest actor is when none is within it.

A single query at a point that essmap does not serve (far from every territory and from the
imported data, often longitude and latitude swapped) raises
:class:`~essmap.errors.OutsideTerritoryError`; the bulk forms answer such points with nothing,
and :meth:`SpatialIndex.served_mask` tells which they are.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.analysis.zones import (
    answering_zones,
    as_wgs84,
    check_categories,
    check_distance,
    outside_territory_error,
    polygon_zones,
    present_points,
    served_mask,
    to_metric_geoms,
)
from essmap.collector import collector_paused
from essmap.errors import InvalidParameterError
from essmap.geo import metric_crs, transformer
from essmap.model import WGS84
from essmap.priority import pace
from essmap.settings import Settings
from essmap.store.base import Store
from essmap.trees import ActorZone, PointTree, QpvTree

__all__ = ["ActorHit", "NearestAnswer", "QPVRelation", "SpatialIndex", "build_index", "check_lonlat"]

_INF = math.inf
#: Trees of category sets (for example the supply categories) kept per zone.
_COMBINED_TREES = 8


class ActorHit(NamedTuple):
    """An actor found by a proximity query."""

    row: int  # position of the actor in SpatialIndex.actors
    id: str
    name: str
    category: str
    distance_m: float  # straight-line, metres, measured in a metric CRS

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class QPVRelation(NamedTuple):
    """Where a point lies with respect to the QPVs of one generation."""

    generation: int
    code: str
    name: str
    relation: str  # "inside" | "band" | "outside"
    distance_m: float  # 0.0 when inside, else distance to the QPV boundary in metres

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class NearestAnswer(NamedTuple):
    """A nearest query's actors, the bound they were searched within, and how far beyond it."""

    hits: list[ActorHit]
    max_distance_m: float  # the bound used: the query's, else the index's default
    beyond_m: float | None  # only when ``hits`` is empty: distance of the nearest actor, if any


def check_lonlat(lon: object, lat: object) -> tuple[float, float]:
    """Validate a WGS 84 longitude and latitude (finite, in range)."""
    if type(lon) is float and type(lat) is float and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0:
        return lon, lat  # the common case, checked in a few nanoseconds (NaN fails the range)
    out = []
    for name, value, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidParameterError(name, f"{name} = « {value} » n'est pas un nombre") from None
        if isinstance(value, bool) or not -limit <= v <= limit:  # also rejects NaN
            what = "longitude" if name == "lon" else "latitude"
            raise InvalidParameterError(name, f"{what} {value} hors de [-{limit:g}, {limit:g}]")
        out.append(v)
    return out[0], out[1]


def _check_lonlat_arrays(lons: object, lats: object) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name, values, limit in (("lon", lons, 180.0), ("lat", lats, 90.0)):
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise InvalidParameterError(name, f"{name} : des nombres sont attendus") from None
        if arr.ndim != 1:
            raise InvalidParameterError(name, f"{name} : une liste de nombres est attendue")
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(~((arr >= -limit) & (arr <= limit)))
        if len(bad):
            i = int(bad[0])
            what = "longitude" if name == "lon" else "latitude"
            raise InvalidParameterError(
                name,
                f"point {i} : {what} {arr[i]} hors de [-{limit:g}, {limit:g}] ({len(bad)} point(s) en cause)",
            )
        arrays.append(arr)
    if len(arrays[0]) != len(arrays[1]):
        raise InvalidParameterError("lat", "autant de latitudes que de longitudes sont attendues")
    return arrays[0], arrays[1]


class SpatialIndex:
    """Proximity queries over actors and QPVs, answered in metres from WGS 84 lon/lat.

    Build it with :meth:`build`, or from a store with :func:`build_index`.
    """

    actors: gpd.GeoDataFrame
    neighbourhoods: gpd.GeoDataFrame

    def __init__(self) -> None:  # use build()
        self.band_m = 300.0
        self.max_k = 100
        self.max_radius_m = 50_000.0
        self.default_max_distance_m = 30_000.0
        self.generations: tuple[int, ...] = ()
        self._actor_zones: dict[str, ActorZone] = {}
        self._actor_crs: frozenset[str] = frozenset()
        self._qpv_zones: dict[str, dict[int, QpvTree]] = {}
        self._qpv_crs: frozenset[str] = frozenset()
        self._data_crs: frozenset[str] = frozenset()  # zones holding actors or QPVs
        self._ids: list[str] = []
        self._names: list[str] = []
        self._cats: list[str] = []
        self._id_array = self._name_array = self._category_array = np.empty(0, dtype=object)
        self._rank = np.empty(0, dtype=np.int64)
        self._lock = threading.Lock()  # guards the trees of category sets built on demand

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        neighbourhoods: gpd.GeoDataFrame,
        actors: gpd.GeoDataFrame,
        *,
        band_m: float = 300.0,
        max_k: int = 100,
        max_radius_m: float = 50_000.0,
        default_max_distance_m: float = 30_000.0,
    ) -> SpatialIndex:
        """Index located actors and QPV outlines (tables as in :mod:`essmap.model`).

        Parameters
        ----------
        band_m
            Width of the band around a QPV (the "quartier vécu"), in metres.
        max_k, max_radius_m
            Largest ``k`` and radius / ``max_distance_m`` a query may ask for.
        default_max_distance_m
            How far a nearest query looks when it gives no ``max_distance_m``, in metres.
        """
        self = cls()
        self.band_m = check_distance(band_m, "band_m", None)
        self.max_k = int(max_k)
        self.max_radius_m = check_distance(max_radius_m, "max_radius_m", None)
        self.default_max_distance_m = check_distance(default_max_distance_m, "default_max_distance_m", None)
        self.actors = actors
        self.neighbourhoods = neighbourhoods
        self._build_actors(as_wgs84(actors, "des acteurs"))
        pace()
        self._build_qpv(as_wgs84(neighbourhoods, "des quartiers"))
        self._data_crs = self._actor_crs | self._qpv_crs
        return self

    def _build_actors(self, actors: gpd.GeoDataFrame) -> None:
        n = len(actors)
        self._ids = actors["id"].astype(object).where(actors["id"].notna(), "").astype(str).tolist()
        self._names = actors["name"].astype(object).where(actors["name"].notna(), "").astype(str).tolist()
        self._cats = (
            actors["category"].astype(object).where(actors["category"].notna(), "").astype(str).tolist()
        )
        # as object arrays too, for each tree's fields in its own order
        self._id_array = np.asarray(self._ids, dtype=object)
        self._name_array = np.asarray(self._names, dtype=object)
        self._category_array = np.asarray(self._cats, dtype=object)
        order = np.argsort(self._id_array, kind="stable")
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        self._rank = rank
        rows, lon, lat = present_points(actors)
        pace()
        crs = metric_crs(lon, lat)
        cats = self._category_array
        for code in dict.fromkeys(crs.tolist()):
            sel = crs == code
            zone = ActorZone(code)
            zrows = rows[sel]
            x, y = zone.forward.transform(lon[sel], lat[sel])
            xy = np.column_stack([x, y])
            ok = np.isfinite(xy).all(axis=1)
            xy, zrows = xy[ok], zrows[ok]
            if not len(zrows):
                continue
            zone.all = self._tree(xy, zrows)
            zone.categories = cats[zone.all.rows]
            zcats = cats[zrows]
            for cat in sorted(set(zcats.tolist())):
                pace()
                csel = zcats == cat
                zone.by_category[cat] = self._tree(xy[csel], zrows[csel])
            self._actor_zones[code] = zone
        self._actor_crs = frozenset(self._actor_zones)

    def _tree(self, xy: np.ndarray, rows: np.ndarray) -> PointTree:
        tree = PointTree(xy, rows.astype(np.int64))
        tree.rank_list = self._rank[tree.rows].tolist()
        tree.ids = self._id_array[tree.rows].tolist()
        tree.names = self._name_array[tree.rows].tolist()
        tree.categories = self._category_array[tree.rows].tolist()
        return tree

    def _build_qpv(self, qpv: gpd.GeoDataFrame) -> None:
        rows, crs = polygon_zones(qpv)
        gens = pd.to_numeric(qpv["generation"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        self.generations = tuple(sorted({int(g) for g in gens[rows] if np.isfinite(g)}))
        codes = qpv["code"].astype(object).where(qpv["code"].notna(), "").astype(str).to_numpy()
        names = qpv["name"].astype(object).where(qpv["name"].notna(), "").astype(str).to_numpy()
        geoms = qpv.geometry.to_numpy()
        for code in dict.fromkeys(crs.tolist()):
            zrows = rows[crs == code]
            metric = to_metric_geoms(geoms[zrows], code, polygons=True)
            trees: dict[int, QpvTree] = {}
            for gen in self.generations:
                sel = np.asarray(gens[zrows] == gen, dtype=bool)
                if sel.any():
                    grows = zrows[sel]
                    trees[gen] = QpvTree(metric[sel], grows, codes[grows].tolist(), names[grows].tolist())
            self._qpv_zones[code] = trees
        self._qpv_crs = frozenset(self._qpv_zones)

    # --- validation -------------------------------------------------------------------------
    def check_k(self, k: object) -> int:
        """Validate a number of neighbours: an integer in [1, :attr:`max_k`]."""
        if type(k) is int and 1 <= k <= self.max_k:
            return k
        if isinstance(k, float) and k.is_integer():
            k = int(k)
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise InvalidParameterError("k", f"k = « {k} » doit être un nombre entier")
        value = int(k)
        if not 1 <= value <= self.max_k:
            raise InvalidParameterError("k", f"k = {k} hors de [1, {self.max_k}]")
        return value

    def _bound(self, max_distance_m: object) -> float:
        if max_distance_m is None:
            return self.default_max_distance_m
        return check_distance(max_distance_m, "max_distance_m", self.max_radius_m)

    # --- zones --------------------------------------------------------------------------------
    def _zone_code(self, lon: float, lat: float, available: dict[str, Any]) -> str | None:
        """The zone of ``available`` that answers a query at a point (see
        :func:`~essmap.analysis.zones.answering_zones`); ``None`` when the point is served but no
        zone of ``available`` answers it.

        Raises
        ------
        OutsideTerritoryError
            If essmap does not serve the point.
        """
        code = metric_crs(lon, lat)
        if code in available:  # the common case, in plain Python
            return code
        lons, lats = np.array([lon]), np.array([lat])
        code = answering_zones(lons, lats, available)[0]
        if code:
            return str(code)
        if not served_mask(lons, lats, self._data_crs)[0]:
            raise outside_territory_error(lon, lat)
        return None

    def served_mask(
        self, lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray
    ) -> np.ndarray:
        """Which points essmap serves: in or near a territory, or in a UTM zone holding data.

        The bulk queries answer the other points with nothing (a single query refuses them with
        :class:`~essmap.errors.OutsideTerritoryError`). Returns a boolean array.
        """
        lon, lat = _check_lonlat_arrays(lons, lats)
        return served_mask(lon, lat, self._data_crs)

    # --- nearest ----------------------------------------------------------------------------
    def nearest(
        self,
        lon: float,
        lat: float,
        *,
        k: int = 3,
        categories: Iterable[str] | None = None,
        max_distance_m: float | None = None,
    ) -> list[ActorHit]:
        """The ``k`` actors nearest to a point, sorted by distance then id.

        ``categories`` restricts the search; actors farther than ``max_distance_m`` (by default
        :attr:`default_max_distance_m`) are left out. Only actors of the point's zone are
        considered (see :mod:`essmap.analysis.zones`).

        Raises
        ------
        OutsideTerritoryError
            If essmap does not serve the point (see :meth:`served_mask`).
        InvalidParameterError
            If a parameter is out of range.
        """
        lon, lat = check_lonlat(lon, lat)
        k = self.check_k(k)
        bound = self._bound(max_distance_m)
        found = self._locate_tree(lon, lat, categories)
        if found is None:
            return []
        t, x, y = found
        if t.n > k:
            # hot path, kept lean: enough actors, and no tie among the k + 1 nearest
            dl, il = t.query_one(x, y, k + 1, bound)
            if dl[k] != dl[k - 1] and len(set(dl[:k])) == k:
                rows, ids, names, cats = t.rows_list, t.ids, t.names, t.categories
                hits = []
                for dd, ii in zip(dl, il[:k]):  # noqa: B905 (dl is one longer on purpose)
                    if dd > bound:  # also stops at a missing neighbour (infinite distance)
                        break
                    hits.append(ActorHit(rows[ii], ids[ii], names[ii], cats[ii], dd))
                return hits
        return self._hits(self._nearest_xy(t, x, y, k, bound))

    def nearest_answer(
        self,
        lon: float,
        lat: float,
        *,
        k: int = 3,
        categories: Iterable[str] | None = None,
        max_distance_m: float | None = None,
    ) -> NearestAnswer:
        """:meth:`nearest`, with the bound used and, when nothing is within it, how far beyond.

        Returns
        -------
        NearestAnswer
            ``hits`` as :meth:`nearest` gives them; ``max_distance_m``, the bound searched
            within; ``beyond_m``, when ``hits`` is empty, the distance in metres of the nearest
            actor of ``categories`` in the point's zone whatever the bound (``None`` when there
            is none, or when ``hits`` is not empty).
        """
        hits = self.nearest(lon, lat, k=k, categories=categories, max_distance_m=max_distance_m)
        bound = self._bound(max_distance_m)
        if hits:
            return NearestAnswer(hits, bound, None)
        found = self._locate_tree(*check_lonlat(lon, lat), categories)
        if found is None:
            return NearestAnswer(hits, bound, None)
        t, x, y = found
        (dist,), _ = t.query_one(x, y, 1, _INF)
        return NearestAnswer(hits, bound, dist if math.isfinite(dist) else None)

    def _locate_tree(
        self, lon: float, lat: float, categories: Iterable[str] | None
    ) -> tuple[PointTree, float, float] | None:
        """The tree that answers a query at a point, and the point in that tree's metric CRS.

        ``None`` when no actor of the categories is in the point's zone, or the point does not
        project there; :class:`~essmap.errors.OutsideTerritoryError` when essmap does not serve
        the point.
        """
        cats = None if categories is None else check_categories(categories)
        code = self._zone_code(lon, lat, self._actor_zones)
        if code is None:
            return None
        zone = self._actor_zones[code]
        t = self._tree_for(zone, cats)
        if t is None:
            return None
        x, y = zone.forward.transform(lon, lat)
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        return t, x, y

    def _tree_for(self, zone: ActorZone, cats: tuple[str, ...] | None) -> PointTree | None:
        """The tree answering a category filter: one per category set, built on first use."""
        if cats is None:
            return zone.all
        present = frozenset(c for c in cats if c in zone.by_category)
        if not present:
            return None
        if len(present) == 1:
            return zone.by_category[next(iter(present))]
        if len(present) == len(zone.by_category):
            return zone.all
        tree = zone.combined.get(present)
        if tree is None and zone.all is not None:
            with self._lock:
                tree = zone.combined.get(present)
                if tree is None:
                    sel = np.isin(zone.categories, list(present))
                    tree = self._tree(zone.all.xy[sel], zone.all.rows[sel])
                    if len(zone.combined) >= _COMBINED_TREES:  # keep the most recent sets only
                        zone.combined.pop(next(iter(zone.combined)))
                    zone.combined[present] = tree
        return tree

    def _nearest_xy(
        self, t: PointTree, x: float, y: float, k: int, bound: float
    ) -> list[tuple[float, int, int]]:
        """The k nearest of a tree as sorted (distance, id rank, row); exact, ties by id."""
        kk = min(k + 1, t.n)
        d, i = t.tree.query((x, y), k=[*range(1, kk + 1)], distance_upper_bound=math.nextafter(bound, _INF))
        dl, il = d.tolist(), i.tolist()
        if kk > k and dl[k] == dl[k - 1] and dl[k] <= bound:
            return self._gather(t, x, y, dl[k - 1])[:k]
        ranks, rows = t.rank_list, t.rows_list
        cand = [(dd, ranks[ii], rows[ii]) for dd, ii in zip(dl[:k], il[:k], strict=True) if dd <= bound]
        cand.sort()
        return cand

    def _gather(self, t: PointTree, x: float, y: float, radius: float) -> list[tuple[float, int, int]]:
        """Every actor of a tree within ``radius`` (inclusive), as sorted (distance, rank, row)."""
        m = len(t.tree.query_ball_point((x, y), radius * (1 + 1e-12) + 1e-9))
        if not m:
            return []
        d, i = t.tree.query((x, y), k=[*range(1, m + 1)])
        ranks, rows = t.rank_list, t.rows_list
        cand = [
            (dd, ranks[ii], rows[ii]) for dd, ii in zip(d.tolist(), i.tolist(), strict=True) if dd <= radius
        ]
        cand.sort()
        return cand

    def _hits(self, cand: list[tuple[float, int, int]]) -> list[ActorHit]:
        ids, names, cats = self._ids, self._names, self._cats
        return [ActorHit(r, ids[r], names[r], cats[r], d) for d, _, r in cand]

    def within(
        self, lon: float, lat: float, *, radius_m: float, categories: Iterable[str] | None = None
    ) -> list[ActorHit]:
        """Every actor within ``radius_m`` metres of a point, sorted by distance then id.

        Raises
        ------
        OutsideTerritoryError
            If essmap does not serve the point (see :meth:`served_mask`).
        """
        lon, lat = check_lonlat(lon, lat)
        radius = check_distance(radius_m, "radius_m", self.max_radius_m)
        found = self._locate_tree(lon, lat, categories)
        if found is None:
            return []
        t, x, y = found
        return self._hits(self._gather(t, x, y, radius))

    def nearest_bulk(
        self,
        lons: Sequence[float] | np.ndarray,
        lats: Sequence[float] | np.ndarray,
        *,
        k: int = 3,
        categories: Iterable[str] | None = None,
        max_distance_m: float | None = None,
    ) -> list[list[ActorHit]]:
        """:meth:`nearest` for many points at once (vectorised), one list per point.

        A point that essmap does not serve gets an empty list (see :meth:`served_mask`).
        """
        lon, lat = _check_lonlat_arrays(lons, lats)
        k = self.check_k(k)
        bound = self._bound(max_distance_m)
        cats = None if categories is None else check_categories(categories)
        with collector_paused():
            out: list[list[ActorHit]] = [[] for _ in range(len(lon))]
            for code, idx in self._groups(lon, lat, self._actor_crs):
                zone = self._actor_zones[code]
                t = self._tree_for(zone, cats)
                if t is None:
                    continue
                x, y = zone.forward.transform(lon[idx], lat[idx])
                ok = np.isfinite(x) & np.isfinite(y)  # a pole does not project to Lambert-93
                self._bulk_one_tree(t, np.column_stack([x[ok], y[ok]]), idx[ok], k, bound, out)
        return out

    def _bulk_one_tree(
        self, t: PointTree, xy: np.ndarray, idx: np.ndarray, k: int, bound: float, out: list[list[ActorHit]]
    ) -> None:
        """Bulk nearest: cKDTree sorts by distance, so only equal distances need the id order;
        the (rare) points with any are answered one by one."""
        kk = min(k + 1, t.n)
        d, i = t.tree.query(xy, k=[*range(1, kk + 1)], distance_upper_bound=math.nextafter(bound, _INF))
        d[d > bound] = _INF
        finite = np.isfinite(d)
        ties = np.any((d[:, 1:] == d[:, :-1]) & finite[:, 1:], axis=1)
        rows, ids, names, cats = t.rows_list, t.ids, t.names, t.categories
        drow: list[float]
        irow: list[int]
        for j, drow, irow in zip(idx.tolist(), d[:, :k].tolist(), i[:, :k].tolist(), strict=True):
            hits = []
            for dd, ii in zip(drow, irow, strict=True):
                if dd == _INF:
                    break
                hits.append(ActorHit(rows[ii], ids[ii], names[ii], cats[ii], dd))
            out[j] = hits
        for j in np.flatnonzero(ties).tolist():
            x, y = float(xy[j, 0]), float(xy[j, 1])
            out[int(idx[j])] = self._hits(self._nearest_xy(t, x, y, k, bound))

    @staticmethod
    def _groups(lon: np.ndarray, lat: np.ndarray, available: frozenset[str]) -> list[tuple[str, np.ndarray]]:
        """Query points grouped by the zone that answers them (points no zone answers are left out)."""
        if not available or not len(lon):
            return []
        crs = answering_zones(lon, lat, available)
        return [(c, np.flatnonzero(crs == c)) for c in sorted(available) if (crs == c).any()]

    # --- locate -----------------------------------------------------------------------------
    def locate(self, lon: float, lat: float) -> dict[int, QPVRelation | None]:
        """For each generation, the QPV containing the point, else the nearest with its distance.

        ``relation`` is ``inside``, ``band`` (within :attr:`band_m` of the boundary) or
        ``outside``; ``None`` when the point's zone has no QPV of that generation.

        Raises
        ------
        OutsideTerritoryError
            If essmap does not serve the point (see :meth:`served_mask`).
        """
        lon, lat = check_lonlat(lon, lat)
        out: dict[int, QPVRelation | None] = dict.fromkeys(self.generations)
        code = self._zone_code(lon, lat, self._qpv_zones)
        if code is None:
            return out
        x, y = transformer(WGS84, code).transform(lon, lat)
        if not (math.isfinite(x) and math.isfinite(y)):
            return out
        point = shapely.Point(x, y)
        for gen, qt in self._qpv_zones[code].items():
            hits = qt.tree.query(point, predicate="intersects")
            if len(hits):
                j = int(hits[np.argmin(qt.rank[hits])])
                out[gen] = QPVRelation(gen, qt.codes[j], qt.names[j], "inside", 0.0)
                continue
            near, dist = qt.tree.query_nearest(point, return_distance=True, all_matches=True)
            pick = int(np.argmin(qt.rank[near]))
            out[gen] = self._relation(gen, qt, int(near[pick]), float(dist[pick]))
        return out

    def _relation(self, gen: int, qt: QpvTree, j: int, dist: float) -> QPVRelation:
        if dist <= 0.0:
            return QPVRelation(gen, qt.codes[j], qt.names[j], "inside", 0.0)
        relation = "band" if dist <= self.band_m else "outside"
        return QPVRelation(gen, qt.codes[j], qt.names[j], relation, dist)

    def locate_bulk(
        self, lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray
    ) -> list[dict[int, QPVRelation | None]]:
        """:meth:`locate` for many points at once (vectorised), one dict per point.

        A point that essmap does not serve gets ``None`` for every generation (see
        :meth:`served_mask`).
        """
        lon, lat = _check_lonlat_arrays(lons, lats)
        with collector_paused():
            out: list[dict[int, QPVRelation | None]] = [dict.fromkeys(self.generations) for _ in lon]
            self._locate_groups(lon, lat, out)
        return out

    def _locate_groups(
        self, lon: np.ndarray, lat: np.ndarray, out: list[dict[int, QPVRelation | None]]
    ) -> None:
        for code, idx in self._groups(lon, lat, self._qpv_crs):
            x, y = transformer(WGS84, code).transform(lon[idx], lat[idx])
            ok = np.isfinite(x) & np.isfinite(y)
            idx, x, y = idx[ok], x[ok], y[ok]
            points = shapely.points(x, y)
            for gen, qt in self._qpv_zones[code].items():
                p, t = qt.tree.query(points, predicate="intersects")
                first = _first_per_point(p, qt.rank[t])
                done = np.zeros(len(idx), dtype=bool)
                for pi, j in zip(p[first].tolist(), t[first].tolist(), strict=True):
                    out[int(idx[pi])][gen] = QPVRelation(gen, qt.codes[j], qt.names[j], "inside", 0.0)
                    done[pi] = True
                rest = np.flatnonzero(~done)
                if not len(rest):
                    continue
                (p, t), dist = qt.tree.query_nearest(points[rest], return_distance=True, all_matches=True)
                first = _first_per_point(p, qt.rank[t])
                for pi, j, d in zip(p[first].tolist(), t[first].tolist(), dist[first].tolist(), strict=True):
                    out[int(idx[rest[pi]])][gen] = self._relation(gen, qt, j, d)


def _first_per_point(points: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Positions of the lowest-ranked pair of each point in (point, tree) pairs."""
    if not len(points):
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((ranks, points))
    sp = points[order]
    keep = np.r_[True, sp[1:] != sp[:-1]]
    return order[keep]


# --- building from a store ------------------------------------------------------------------


def build_index(store: Store, settings: Settings, *, actors: gpd.GeoDataFrame | None = None) -> SpatialIndex:
    """The spatial index of a store's current content, with the limits of ``settings``.

    Nothing is cached here: a long-lived process (the API) keeps the index of each store revision
    in its own cache, and may pass the ``actors`` it has already read from the store (by default
    they are read here); a command builds it once.
    """
    return SpatialIndex.build(
        store.load_neighbourhoods(),
        store.load_actors() if actors is None else actors,
        band_m=settings.band_m,
        max_k=settings.max_k,
        max_radius_m=settings.max_radius_m,
        default_max_distance_m=settings.nearest_max_distance_m,
    )
