"""The spatial index: exact nearest / within / locate in metres, bulk forms, bad input, caching."""

from __future__ import annotations

import math
import os
import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from essmap.errors import InvalidParameterError, OutsideTerritoryError
from essmap.geo import transformer
from essmap.index import ActorHit, NearestAnswer, QPVRelation, SpatialIndex, build_index
from essmap.model import LAMBERT93, WGS84, actor_frame, empty_actors, empty_neighbourhoods
from essmap.settings import Settings
from essmap.sources import qpv_from_file
from essmap.store import GeoPackageStore
from essmap.trees import PointTree
from tests.engine_support import (
    BAYONNE_L93,
    OCCITANIE_QPV,
    ZONES,
    actors_at,
    qpvs_from_metric,
    to_wgs,
    zone_origin,
)

X0, Y0 = BAYONNE_L93
CATS = ("market", "urban_farm", "association")
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(actors: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame | None = None, **kw: float) -> SpatialIndex:
    return SpatialIndex.build(qpv if qpv is not None else empty_neighbourhoods(), actors, **kw)  # type: ignore[arg-type]


def brute_nearest(
    actors: gpd.GeoDataFrame, lon: float, lat: float, k: int, cats: tuple[str, ...] | None, maxd: float | None
) -> list[tuple[str, float]]:
    """Brute force: every distance in Lambert-93, sorted by (distance, id)."""
    tr = transformer(WGS84, LAMBERT93)
    qx, qy = tr.transform(lon, lat)
    ax, ay = tr.transform(actors.geometry.x.to_numpy(), actors.geometry.y.to_numpy())
    d = np.sqrt((np.asarray(ax) - qx) ** 2 + (np.asarray(ay) - qy) ** 2)
    rows = [
        (float(d[i]), str(actors["id"].iloc[i]))
        for i in range(len(actors))
        if (cats is None or actors["category"].iloc[i] in cats) and (maxd is None or d[i] <= maxd)
    ]
    rows.sort()
    return [(i, dd) for dd, i in rows[:k]]


lattice = st.integers(min_value=-40, max_value=40).map(lambda v: v * 50.0)
actor_sets = st.lists(st.tuples(lattice, lattice, st.sampled_from(CATS)), min_size=0, max_size=40)
offsets = st.floats(min_value=-2500, max_value=2500, allow_nan=False)


@FAST
@given(
    points=actor_sets,
    qx=offsets,
    qy=offsets,
    k=st.integers(min_value=1, max_value=8),
    cats=st.none() | st.lists(st.sampled_from(CATS), min_size=1, max_size=2).map(tuple),
    maxd=st.none() | st.floats(min_value=1, max_value=3000),
)
def test_nearest_equals_brute_force(
    points: list[tuple[float, float, str]],
    qx: float,
    qy: float,
    k: int,
    cats: tuple[str, ...] | None,
    maxd: float | None,
) -> None:
    # lattice positions repeat, so ties at equal distances happen and must be broken by id
    ids = [f"id{(i * 7919) % 1000:03d}-{i}" for i in range(len(points))]
    actors = actors_at(
        [X0 + p[0] for p in points], [Y0 + p[1] for p in points], categories=[p[2] for p in points], ids=ids
    )
    index = build(actors)
    lon, lat = to_wgs([X0 + qx], [Y0 + qy])
    hits = index.nearest(float(lon[0]), float(lat[0]), k=k, categories=cats, max_distance_m=maxd)
    expected = brute_nearest(actors, float(lon[0]), float(lat[0]), k, cats, maxd)
    assert [h.id for h in hits] == [e[0] for e in expected]
    assert [h.distance_m for h in hits] == pytest.approx([e[1] for e in expected], abs=1e-6)
    for h in hits:
        assert actors["id"].iloc[h.row] == h.id
        assert actors["category"].iloc[h.row] == h.category
    bulk = index.nearest_bulk(lon, lat, k=k, categories=cats, max_distance_m=maxd)
    assert bulk == [hits]


@FAST
@given(points=actor_sets, qx=offsets, qy=offsets, radius=st.floats(min_value=1, max_value=3000))
def test_within_equals_brute_force(
    points: list[tuple[float, float, str]], qx: float, qy: float, radius: float
) -> None:
    actors = actors_at([X0 + p[0] for p in points], [Y0 + p[1] for p in points])
    index = build(actors)
    lon, lat = to_wgs([X0 + qx], [Y0 + qy])
    hits = index.within(float(lon[0]), float(lat[0]), radius_m=radius)
    expected = brute_nearest(actors, float(lon[0]), float(lat[0]), len(points), None, radius)
    assert [h.id for h in hits] == [e[0] for e in expected]
    assert [h.distance_m for h in hits] == pytest.approx([e[1] for e in expected], abs=1e-6)


def test_exact_distances_and_ties_broken_by_id() -> None:
    # three actors share one place 300 m east (a tie), one is 200 m north, one 500 m west
    actors = actors_at(
        [X0 + 300, X0 + 300, X0 + 300, X0, X0 - 500],
        [Y0, Y0, Y0, Y0 + 200, Y0],
        ids=["d", "b", "c", "z", "a"],
    )
    index = build(actors)
    lon, lat = (float(v[0]) for v in to_wgs([X0], [Y0]))
    hits = index.nearest(lon, lat, k=2)
    assert [h.id for h in hits] == ["z", "b"]
    assert [h.distance_m for h in hits] == pytest.approx([200, 300], abs=1e-3)
    assert [h.id for h in index.nearest(lon, lat, k=3)] == ["z", "b", "c"]
    assert [h.id for h in index.nearest(lon, lat, k=5)] == ["z", "b", "c", "d", "a"]
    assert [h.id for h in index.nearest(lon, lat, k=5, max_distance_m=400)] == ["z", "b", "c", "d"]
    assert [h.id for h in index.nearest(lon, lat, k=2, categories=["market"])] == ["z", "b"]
    assert index.nearest(lon, lat, k=2, categories=["urban_farm"]) == []
    near = index.within(lon, lat, radius_m=300.01)
    assert [h.id for h in near] == ["z", "b", "c", "d"]
    assert isinstance(near[0], ActorHit)
    assert near[1].as_dict() == {
        "row": 1,
        "id": "b",
        "name": "Acteur 1",
        "category": "market",
        "distance_m": near[1].distance_m,
    }
    assert index.nearest_bulk([lon, lon], [lat, lat], k=3) == [index.nearest(lon, lat, k=3)] * 2


@FAST
@given(
    azimuth=st.floats(min_value=0, max_value=360),
    distance=st.floats(min_value=10, max_value=50_000),
)
def test_distances_agree_with_geodesic_at_bayonne(azimuth: float, distance: float) -> None:
    geod = Geod(ellps="GRS80")
    lon0, lat0 = -1.4748, 43.4929  # Bayonne town hall
    lon1, lat1, _ = geod.fwd(lon0, lat0, azimuth, distance)
    actors = actor_frame(
        pd.DataFrame({"id": ["x"], "name": ["X"], "category": ["market"]}), [shapely.Point(lon1, lat1)]
    )
    (hit,) = build(actors, max_radius_m=60_000).nearest(lon0, lat0, k=1, max_distance_m=60_000)
    assert hit.distance_m == pytest.approx(distance, rel=0.002)


def test_overseas_points_are_measured_in_their_own_zone() -> None:
    geod = Geod(ellps="GRS80")
    lon0, lat0 = 55.45, -20.88  # Saint-Denis de La Réunion
    lon1, lat1, _ = geod.fwd(lon0, lat0, 60.0, 1000.0)
    frame = pd.DataFrame({"id": ["run", "bay"], "name": ["R", "B"], "category": ["market", "market"]})
    actors = actor_frame(frame, [shapely.Point(lon1, lat1), shapely.Point(-1.47, 43.49)])
    index = build(actors)
    hits = index.nearest(lon0, lat0, k=5)
    assert [h.id for h in hits] == ["run"]  # the mainland actor is not in the same zone
    assert hits[0].distance_m == pytest.approx(1000.0, rel=0.002)
    assert [h.id for h in index.nearest(-1.46, 43.5, k=5)] == ["bay"]
    # a point at sea off Brittany, outside every territory, is answered in mainland France (the
    # actor in Bayonne is beyond the default bound: the answer says how far)
    answer = index.nearest_answer(-6.0, 47.0, k=5)
    assert answer.hits == []
    assert answer.beyond_m == pytest.approx(geod.inv(-6.0, 47.0, -1.47, 43.49)[2], rel=0.005)


def square(x: float, y: float, side: float) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def qpv_pair() -> gpd.GeoDataFrame:
    a = qpvs_from_metric([square(X0, Y0, 1000), square(X0 + 500, Y0 + 500, 1000)], codes=["QN2", "QN1"])
    b = qpvs_from_metric([square(X0 + 5000, Y0, 1000)], codes=["QP1"], generation=2015)
    return pd.concat([a, b], ignore_index=True)


def test_locate_inside_band_outside() -> None:
    index = build(empty_actors(), qpv_pair(), band_m=300)
    lon, lat = to_wgs([X0 + 100, X0 + 1600, X0 - 400, X0 + 750], [Y0 + 100, Y0 + 1400, Y0 + 100, Y0 + 750])
    inside = index.locate(float(lon[0]), float(lat[0]))
    assert inside[2024] == QPVRelation(2024, "QN2", "Quartier 0", "inside", 0.0)
    assert inside[2015] is not None
    assert inside[2015].relation == "outside"
    assert inside[2015].distance_m == pytest.approx(4900, abs=0.01)
    band = index.locate(float(lon[1]), float(lat[1]))[2024]
    assert band is not None
    assert (band.code, band.relation) == ("QN1", "band")
    assert band.distance_m == pytest.approx(100, abs=0.01)
    out = index.locate(float(lon[2]), float(lat[2]))[2024]
    assert out is not None
    assert (out.code, out.relation) == ("QN2", "outside")
    assert out.distance_m == pytest.approx(400, abs=0.01)
    # in both overlapping QPVs: the lowest code wins
    both = index.locate(float(lon[3]), float(lat[3]))[2024]
    assert both is not None
    assert (both.code, both.relation) == ("QN1", "inside")
    assert index.locate_bulk(lon, lat) == [
        index.locate(float(a), float(b)) for a, b in zip(lon, lat, strict=True)
    ]


def test_locate_without_qpv_in_the_territory() -> None:
    index = build(empty_actors(), qpv_pair())
    assert index.locate(55.45, -20.88) == {2015: None, 2024: None}
    assert build(empty_actors()).locate(-1.47, 43.49) == {}


@pytest.fixture(scope="module")
def occitanie() -> gpd.GeoDataFrame:
    return qpv_from_file(OCCITANIE_QPV, generation=2015).table


def test_bulk_equals_single_on_real_qpvs(occitanie: gpd.GeoDataFrame) -> None:
    rng = np.random.default_rng(3)
    reps = occitanie.geometry.representative_point()
    pick = rng.integers(0, len(occitanie), 300)
    lon = reps.x.to_numpy()[pick] + rng.normal(0, 0.01, 300)
    lat = reps.y.to_numpy()[pick] + rng.normal(0, 0.01, 300)
    actors = actor_frame(
        pd.DataFrame(
            {"id": [f"a{i}" for i in range(400)], "name": ["n"] * 400, "category": ["market"] * 400}
        ),
        shapely.points(rng.uniform(1.2, 1.6, 400), rng.uniform(43.5, 43.7, 400)),
    )
    index = build(actors, occitanie)
    bulk = index.locate_bulk(lon, lat)
    assert bulk == [index.locate(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]
    relations = {r[2015].relation for r in bulk if r[2015] is not None}
    assert relations == {"inside", "band", "outside"}
    near = index.nearest_bulk(lon, lat, k=4, max_distance_m=20_000)
    assert near == [
        index.nearest(float(a), float(b), k=4, max_distance_m=20_000) for a, b in zip(lon, lat, strict=True)
    ]
    assert any(len(h) == 4 for h in near)
    assert any(len(h) == 0 for h in near)


def test_empty_actor_set_gives_empty_results() -> None:
    index = build(empty_actors())
    assert index.nearest(-1.47, 43.49, k=3) == []
    assert index.within(-1.47, 43.49, radius_m=1000) == []
    assert index.nearest_bulk([-1.47, 2.35], [43.49, 48.85]) == [[], []]
    assert index.nearest_bulk([], []) == []
    assert index.locate_bulk([], []) == []
    unlocated = actor_frame(pd.DataFrame({"id": ["u"], "name": ["U"], "category": ["market"]}), [None])
    assert build(unlocated).nearest(-1.47, 43.49) == []


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda i: i.nearest(181, 43), "lon"),
        (lambda i: i.nearest(-1.4, 91), "lat"),
        (lambda i: i.nearest(math.nan, 43), "lon"),
        (lambda i: i.nearest(-1.4, math.nan), "lat"),
        (lambda i: i.nearest("abc", 43), "lon"),
        (lambda i: i.nearest(-1.4, 43.5, k=0), "k"),
        (lambda i: i.nearest(-1.4, 43.5, k=11), "k"),
        (lambda i: i.nearest(-1.4, 43.5, k=2.5), "k"),
        (lambda i: i.nearest(-1.4, 43.5, max_distance_m=0), "max_distance_m"),
        (lambda i: i.nearest(-1.4, 43.5, max_distance_m=2001), "max_distance_m"),
        (lambda i: i.nearest(-1.4, 43.5, max_distance_m=math.inf), "max_distance_m"),
        (lambda i: i.nearest(-1.4, 43.5, categories=["bakery"]), "categories"),
        (lambda i: i.within(-1.4, 43.5, radius_m=-5), "radius_m"),
        (lambda i: i.within(-1.4, 43.5, radius_m=math.nan), "radius_m"),
        (lambda i: i.within(-1.4, 43.5, radius_m=5000), "radius_m"),
        (lambda i: i.locate(-200, 43.5), "lon"),
        (lambda i: i.nearest_bulk([-1.4, 500], [43.5, 43.5]), "lon"),
        (lambda i: i.nearest_bulk([-1.4], [43.5, 43.6]), "lat"),
        (lambda i: i.nearest_bulk([-1.4], [43.5], k=0), "k"),
        (lambda i: i.locate_bulk([-1.4, 1.0], [43.5, math.nan]), "lat"),
    ],
)
def test_bad_parameters_name_the_parameter(call, parameter: str) -> None:  # type: ignore[no-untyped-def]
    index = build(actors_at([X0], [Y0]), max_k=10, max_radius_m=2000)
    with pytest.raises(InvalidParameterError) as info:
        call(index)
    assert info.value.parameter == parameter
    assert parameter in str(info.value) or "longitude" in str(info.value) or "latitude" in str(info.value)


def test_build_index_follows_the_store_and_settings(demo_store: GeoPackageStore, settings: Settings) -> None:
    first = build_index(demo_store, settings)
    assert len(first.actors) == 15
    extra = actor_frame(
        pd.DataFrame({"id": ["nouveau"], "name": ["Nouveau marché"], "category": ["market"]}),
        [shapely.Point(-1.4701, 43.4901)],
    )
    demo_store.upsert_actors(extra)
    second = build_index(demo_store, settings)
    assert len(second.actors) == 16
    assert second.nearest(-1.4701, 43.4901, k=1)[0].id == "nouveau"
    wider = settings.model_copy(update={"band_m": 500.0})
    assert build_index(demo_store, wider).band_m == 500.0


#: The single-point queries, with their options.
POINT_QUERIES = (
    ("nearest", {"k": 3}),
    ("nearest_answer", {"k": 3}),
    ("within", {"radius_m": 1000}),
    ("locate", {}),
)


def test_points_far_from_every_territory_are_refused_one_by_one_and_empty_in_bulk() -> None:
    qpv = qpv_pair()
    index = build(actors_at([X0], [Y0]), qpv)
    for lon, lat in [(-180.0, -90.0), (180.0, 90.0), (-74.0, 40.7), (0.0, 0.0)]:
        for method, options in POINT_QUERIES:
            with pytest.raises(OutsideTerritoryError) as info:
                getattr(index, method)(lon, lat, **options)
            assert info.value.parameter == "lon"
            assert "hors des territoires servis par essmap" in str(info.value)
            assert "La Réunion" in str(info.value)
            assert "inversées" not in str(info.value)
    # one bad point among others does not fail a batch: it gets an empty answer, and is flagged
    lons, lats = [-180.0, -1.47, 180.0, -6.0], [-90.0, 43.49, 90.0, 47.0]
    assert index.served_mask(lons, lats).tolist() == [False, True, False, True]
    near = index.nearest_bulk(lons, lats, k=1)
    assert [len(h) for h in near] == [0, 1, 0, 0]  # at sea off Brittany: served, nothing within 30 km
    located = index.locate_bulk(lons, lats)
    assert located[0] == located[2] == {2015: None, 2024: None}
    assert located[1][2024] is not None
    assert located[3][2024] is not None  # the nearest QPV of mainland France, far away
    assert located[3][2024].relation == "outside"


@pytest.mark.parametrize(
    ("lon", "lat", "suggestion"),
    [
        (43.49, -1.47, "(-1.47, 43.49) est en France métropolitaine"),
        (-20.88, 55.45, "(55.45, -20.88) est à La Réunion"),
        (14.6, -61.0, "(-61, 14.6) est en Martinique"),
    ],
)
def test_swapped_coordinates_are_refused_with_the_swap_suggested(
    lon: float, lat: float, suggestion: str
) -> None:
    index = build(actors_at([X0], [Y0]), qpv_pair())
    for method, options in POINT_QUERIES:
        with pytest.raises(OutsideTerritoryError) as info:
            getattr(index, method)(lon, lat, **options)
        assert info.value.parameter == "lon"
        assert f"longitude et latitude inversées ? {suggestion}" in str(info.value)
    assert isinstance(info.value, InvalidParameterError)
    assert index.served_mask([lon], [lat]).tolist() == [False]


def test_data_imported_anywhere_is_served_in_its_utm_zone() -> None:
    # two actors in Montréal (UTM zone 18 north), measured there: 40 m apart east-west
    x, y = transformer(WGS84, "EPSG:32618").transform(-73.5673, 45.5017)
    actors = actors_at([x, x + 40.0], [y, y], crs="EPSG:32618", ids=["mtl1", "mtl2"])
    index = build(actors)
    lon, lat = transformer("EPSG:32618", WGS84).transform(x + 10.0, y)
    hits = index.nearest(lon, lat, k=2)
    assert [h.id for h in hits] == ["mtl1", "mtl2"]
    assert [h.distance_m for h in hits] == pytest.approx([10.0, 30.0], abs=1e-6)
    # New York is in the same zone: served, but nothing within the default 30 km
    answer = index.nearest_answer(-74.006, 40.7128, k=2)
    assert answer.hits == []
    assert answer.beyond_m is not None
    assert 500_000 < answer.beyond_m < 560_000  # Montréal is about 530 km north
    # a zone without data is not served
    with pytest.raises(OutsideTerritoryError):
        index.nearest(-122.42, 37.77)


def test_nearest_is_bounded_by_default_and_says_how_far_beyond() -> None:
    # actors 10 km, 40 km and 45 km east; the default bound is 30 km
    actors = actors_at(
        [X0 + 10_000, X0 + 40_000, X0 + 45_000],
        [Y0] * 3,
        categories=["market", "amap_delivery_point", "market"],
    )
    index = build(actors)
    assert index.default_max_distance_m == 30_000
    lon, lat = (float(v[0]) for v in to_wgs([X0], [Y0]))
    assert [h.distance_m for h in index.nearest(lon, lat, k=3)] == pytest.approx([10_000])
    assert [h.distance_m for h in index.nearest(lon, lat, k=3, max_distance_m=50_000)] == pytest.approx(
        [10_000, 40_000, 45_000]
    )
    assert [len(h) for h in index.nearest_bulk([lon], [lat], k=3)] == [1]
    answer = index.nearest_answer(lon, lat, k=3)
    assert isinstance(answer, NearestAnswer)
    assert [h.id for h in answer.hits] == ["a00000"]
    assert (answer.max_distance_m, answer.beyond_m) == (30_000, None)
    far = index.nearest_answer(lon, lat, k=3, categories=["amap_delivery_point"])
    assert far.hits == []
    assert far.max_distance_m == 30_000
    assert far.beyond_m == pytest.approx(40_000, abs=1e-6)
    tight = index.nearest_answer(lon, lat, k=1, max_distance_m=5_000)
    assert (tight.hits, tight.max_distance_m) == ([], 5_000)
    assert tight.beyond_m == pytest.approx(10_000, abs=1e-6)
    assert index.nearest_answer(lon, lat, k=1, categories=["urban_farm"]) == NearestAnswer([], 30_000, None)
    wider = build(actors, default_max_distance_m=42_000)
    assert len(wider.nearest(lon, lat, k=3)) == 2
    with pytest.raises(InvalidParameterError) as info:
        build(actors, default_max_distance_m=0)
    assert info.value.parameter == "default_max_distance_m"


def test_single_point_tree_agrees_with_ckdtree_and_spins_no_thread() -> None:
    """The pykdtree of one-point queries gives cKDTree's distances, keeps a neighbour exactly at the
    bound, and runs in the calling thread (an idle OpenMP thread would spin on a second core)."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 20_000, (3000, 2)).round()  # whole metres: equal distances happen
    tree = PointTree(xy, np.arange(3000, dtype=np.int64))
    queries = rng.uniform(-1000, 21_000, (3000, 2)).round()
    result: dict[str, float] = {}

    def queries_in_a_new_thread() -> None:  # as a server's worker thread would
        threads = len(os.listdir("/proc/self/task"))
        cpu, wall = time.process_time(), time.perf_counter()
        check_queries(tree, queries)
        result["cpu"], result["wall"] = time.process_time() - cpu, time.perf_counter() - wall
        result["new_threads"] = len(os.listdir("/proc/self/task")) - threads

    worker = threading.Thread(target=queries_in_a_new_thread)
    worker.start()
    worker.join()
    assert result["new_threads"] == 0
    cpu, wall = result["cpu"], result["wall"]
    assert cpu < 1.3 * wall + 0.05, f"{cpu:.3f} s of CPU for {wall:.3f} s: a thread is spinning"


def check_queries(tree: PointTree, queries: np.ndarray) -> None:
    for x, y in queries.tolist():
        d, i = tree.query_one(x, y, 6, math.inf)
        expected_d, expected_i = tree.tree.query((x, y), k=6)
        assert d == expected_d.tolist()
        unique = [j for j in range(6) if d.count(d[j]) == 1]
        assert [i[j] for j in unique] == [expected_i.tolist()[j] for j in unique]
        bounded, positions = tree.query_one(x, y, 6, d[2])
        assert bounded[:3] == d[:3]
        assert all(v == math.inf for v in bounded[3:] if v > d[2])
        assert all(p == tree.n for v, p in zip(bounded, positions, strict=True) if v == math.inf)


@pytest.mark.parametrize("zone", list(ZONES))
def test_overseas_and_elsewhere_queries_are_measured_in_the_zone_crs(zone: str) -> None:
    x0, y0, crs = zone_origin(zone)
    actors = actors_at([x0 + 300, x0, x0 - 2000], [y0, y0 + 400, y0], ids=["e", "n", "w"], crs=crs)
    qpv = qpvs_from_metric([square(x0 + 1000, y0 - 500, 1000)], codes=["QZ1"], crs=crs)
    index = build(actors, qpv)
    lon, lat = transformer(crs, WGS84).transform(x0, y0)
    hits = index.nearest(lon, lat, k=3)
    assert [h.id for h in hits] == ["e", "n", "w"]
    assert [h.distance_m for h in hits] == pytest.approx([300.0, 400.0, 2000.0], abs=1e-6)
    assert [h.id for h in index.within(lon, lat, radius_m=500)] == ["e", "n"]
    assert index.locate(lon, lat)[2024] == pytest.approx(
        QPVRelation(2024, "QZ1", "Quartier 0", "outside", 1000.0)
    )
    assert index.served_mask([lon], [lat]).tolist() == [True]
