"""Walking distances and isochrones on the river: two banks, one bridge, every figure by hand.

The place (metres from a point of Bayonne, Lambert-93): a street on the north bank along y = 100,
one on the south bank along y = -100, both from x = 0 to x = 1000, and a footbridge at x = 500.
From O = (100, 110), 10 m from the north street:

- A = (800, 120), on the north bank: 700 m away in a straight line, and on foot
  10 + 700 + 20 = 730 m (snapping, along the street, snapping);
- B = (100, -105), across the river: 215 m away in a straight line, and on foot
  10 + 400 + 200 + 400 + 5 = 1015 m (to the bridge, over it, back along the south street).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from essmap.errors import InvalidParameterError, OutsideTerritoryError
from essmap.index import SpatialIndex
from essmap.model import empty_neighbourhoods
from essmap.network import StreetNetwork, WalkingIndex, WalkOptions, directions_url, network_from_ways
from essmap.network.isochrones import point_isochrones
from essmap.sources.osm import walkable_ways_from_osm
from tests.engine_support import actors_at
from tests.network_support import X0, Y0, lonlat, river_osm

OPTIONS = WalkOptions(speed_kmh=4.8, detour_factor=1.3, max_snap_m=250, max_distance_m=5000, cell_m=40)
# every test point is given to 1e-7 degree, as OpenStreetMap nodes are: about 1 cm
CM = 0.05


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> StreetNetwork:
    path = river_osm(tmp_path_factory.mktemp("river") / "river.osm")
    return network_from_ways(walkable_ways_from_osm(path))


def walking(network: StreetNetwork | None, points: dict[str, tuple[float, float]]) -> WalkingIndex:
    ids = list(points)
    actors = actors_at(
        [X0 + points[i][0] for i in ids], [Y0 + points[i][1] for i in ids], ids=ids, categories="market"
    )
    index = SpatialIndex.build(empty_neighbourhoods(), actors)
    return WalkingIndex(index, network, OPTIONS)


def test_across_the_river_is_farther_on_foot_though_nearer_in_a_straight_line(network: StreetNetwork) -> None:
    idx = walking(network, {"A": (800, 120), "B": (100, -105)})
    lon, lat = lonlat(100, 110)
    straight = idx.index.nearest(lon, lat, k=2)
    assert [h.id for h in straight] == ["B", "A"]  # B is nearer in a straight line
    assert straight[0].distance_m == pytest.approx(215, abs=CM)
    assert straight[1].distance_m == pytest.approx(math.hypot(700, 10), abs=CM)
    answer = idx.nearest_answer(lon, lat, k=2)
    assert answer.distance_method == "network"
    assert answer.snap_m == pytest.approx(10, abs=CM)
    a, b = answer.hits
    assert (a.id, b.id) == ("A", "B")  # on foot, A comes first
    assert a.distance_m == pytest.approx(10 + 700 + 20, abs=CM)
    assert b.distance_m == pytest.approx(10 + 400 + 200 + 400 + 5, abs=CM)
    assert a.walk_minutes == pytest.approx(730 / 80, abs=1e-3)  # 4.8 km/h is 80 m a minute
    assert b.walk_minutes == pytest.approx(1015 / 80, abs=1e-3)
    assert a.straight_m == pytest.approx(math.hypot(700, 10), abs=CM)
    assert {a.distance_method, b.distance_method, a.mode} == {"network", "walk"}
    assert idx.nearest(lon, lat, k=1)[0].id == "A"


def test_within_a_walk(network: StreetNetwork) -> None:
    idx = walking(network, {"A": (800, 120), "B": (100, -105)})
    lon, lat = lonlat(100, 110)
    assert [h.id for h in idx.within(lon, lat, radius_m=800)] == ["A"]
    assert [h.id for h in idx.within(lon, lat, radius_m=1100)] == ["A", "B"]
    assert idx.within(lon, lat, radius_m=700) == []
    # in a straight line, B is within 300 m
    assert [h.id for h in idx.index.within(lon, lat, radius_m=300)] == ["B"]


def test_two_points_of_one_segment_walk_straight_along_it(network: StreetNetwork) -> None:
    idx = walking(network, {"C": (130, 95)})  # 5 m south of the north street, 30 m east of O's foot
    (hit,) = idx.nearest(*lonlat(100, 110), k=1)
    assert hit.distance_m == pytest.approx(10 + 30 + 5, abs=CM)


def test_without_a_network_walks_are_estimated(network: StreetNetwork) -> None:
    lon, lat = lonlat(100, 110)
    idx = walking(None, {"A": (800, 120), "B": (100, -105)})
    assert not idx.has_network
    answer = idx.nearest_answer(lon, lat, k=2)
    assert answer.distance_method == "estimate"
    assert answer.snap_m is None
    assert [h.id for h in answer.hits] == ["B", "A"]
    assert answer.hits[0].distance_m == pytest.approx(215 * 1.3, abs=CM)
    assert {h.distance_method for h in answer.hits} == {"estimate"}
    # within 300 m on foot: B is estimated at 279.5 m
    assert [h.id for h in idx.within(lon, lat, radius_m=300)] == ["B"]
    # with a network, a point far from every street is estimated too
    far = walking(network, {"A": (800, 120)})
    answer = far.nearest_answer(*lonlat(100, 700), k=1)  # 600 m north of the north street
    assert answer.distance_method == "estimate"
    assert answer.hits[0].distance_m == pytest.approx(math.hypot(700, 580) * 1.3, abs=CM)
    # and so is an actor far from every street
    off = walking(network, {"F": (300, 600)})
    (hit,) = off.nearest(lon, lat, k=1)
    assert hit.distance_method == "estimate"
    assert hit.distance_m == pytest.approx(math.hypot(200, 490) * 1.3, abs=CM)


def test_nothing_within_the_bound_says_how_far_in_a_straight_line(network: StreetNetwork) -> None:
    idx = walking(network, {"B": (100, -105)})
    answer = idx.nearest_answer(*lonlat(100, 110), k=1, max_distance_m=1000)
    assert answer.hits == []  # 1015 m on foot
    assert answer.max_distance_m == 1000
    assert answer.beyond_m == pytest.approx(215, abs=CM)
    assert idx.nearest(*lonlat(100, 110), k=1, max_distance_m=1020)[0].id == "B"


def test_bad_walk_queries_are_refused(network: StreetNetwork) -> None:
    idx = walking(network, {"A": (800, 120)})
    lon, lat = lonlat(100, 110)
    with pytest.raises(InvalidParameterError, match="max_distance_m"):
        idx.nearest(lon, lat, max_distance_m=OPTIONS.max_distance_m + 1)
    with pytest.raises(InvalidParameterError, match="radius_m"):
        idx.within(lon, lat, radius_m=-3)
    with pytest.raises(InvalidParameterError, match="k = 0"):
        idx.nearest(lon, lat, k=0)
    with pytest.raises(OutsideTerritoryError, match="inversées"):
        idx.nearest(lat, lon)
    with pytest.raises(InvalidParameterError):
        WalkOptions(detour_factor=0.5)


def test_directions_link() -> None:
    url = directions_url(
        "https://example.org/route?from={from_lat},{from_lon}&to={to_lat},{to_lon}",
        from_lon=-1.5,
        from_lat=43.49,
        to_lon=-1.47,
        to_lat=43.5,
    )
    assert url == "https://example.org/route?from=43.490000,-1.500000&to=43.500000,-1.470000"


# --- isochrones -----------------------------------------------------------------------------------


def local(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.affinity.translate(geom, -X0, -Y0)


@pytest.fixture(scope="module")
def from_o(network: StreetNetwork) -> dict[float, shapely.Geometry]:
    """Isochrones of 400 m and 800 m from O' = (100, 100), on the north street.

    Cells are 40 m wide, so the two streets run along rows of cell centres and the bridge along a
    column: the walking distance is linear between cell centres along them, and the contours are
    exact there. Places up to 1 km from a street count (the default, 250 m, would cut the
    isochrone 250 m beyond the ends of the streets).
    """
    options = WalkOptions(max_snap_m=1000, cell_m=40)
    found, on = point_isochrones(
        network, np.array([[X0 + 100, Y0 + 100]]), distances_m=[800, 400], options=options
    )
    assert on.tolist() == [True]
    return {800: local(found[0, 0]), 400: local(found[0, 1])}


def extent_along(geom: shapely.Geometry, y: float) -> tuple[float, float]:
    x0, _, x1, _ = geom.intersection(shapely.LineString([(-2000, y), (3000, y)])).bounds
    return x0, x1


def test_isochrones_match_a_hand_computation(from_o: dict[float, shapely.Geometry]) -> None:
    for geom in from_o.values():
        assert geom.is_valid
    # along the north street: 400 m east to the bridge's foot, 100 m west to the street's end,
    # then off the end of the street (the walk goes on from its last node)
    assert extent_along(from_o[400], 100) == pytest.approx((-300, 500), abs=0.1)
    assert extent_along(from_o[800], 100) == pytest.approx((-700, 900), abs=0.1)
    # across the bridge (600 m), 200 m left each way along the south street
    assert extent_along(from_o[800], -100) == pytest.approx((300, 700), abs=0.1)
    assert from_o[800].contains(shapely.Point(500, -100))
    assert from_o[400].contains(shapely.Point(100, 180))  # 80 m from the street: walked 80 m


def test_the_isochrone_crosses_the_river_only_by_the_bridge(from_o: dict[float, shapely.Geometry]) -> None:
    south = shapely.box(-5000, -5000, 5000, -50)  # the south bank (the river runs from y = -50 to 50)
    # the 400 m isochrone does not reach the bridge's far end: nothing on the south bank, and in
    # the river nothing beyond its middle (the places nearer the south street), but for one cell
    # of the raster where the walk jumps (the boundary is drawn between the cells on either side)
    assert from_o[400].intersection(south).area == 0
    assert from_o[400].intersection(shapely.box(-5000, -5000, 5000, -40)).area == 0
    # the 800 m one does, only around the bridge (x from 300 to 700), though a 800 m disc around O'
    # would hold the whole south bank from x = 0 to x = 900
    crossing = from_o[800].intersection(south)
    assert crossing.area > 0
    x0, _, x1, _ = crossing.bounds
    assert x0 >= 300 - 0.1
    assert x1 <= 700 + 0.1
    assert not from_o[800].contains(shapely.Point(100, -100))
    assert shapely.Point(100, 100).buffer(800).contains(shapely.Point(100, -100))


def test_an_isochrone_holds_the_places_within_that_walk(network: StreetNetwork) -> None:
    """The isochrone agrees with the walking distances of ``nearest`` wherever a raster of 40 m
    can tell: at places whose neighbours one cell away are on the same side of 800 m."""
    found, _ = point_isochrones(network, np.array([[X0 + 100, Y0 + 110]]), distances_m=[800], options=OPTIONS)
    area = found[0, 0]
    rng = np.random.default_rng(11)
    probes = rng.uniform([-300, -300], [1300, 300], size=(120, 2))
    step = OPTIONS.cell_m
    offsets = np.array([[0, 0], [step, 0], [-step, 0], [0, step], [0, -step]])
    names = [f"P{i}" for i in range(len(probes) * len(offsets))]
    places = (probes[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    idx = walking(network, dict(zip(names, map(tuple, places), strict=True)))
    hits = {h.id: h for h in idx.within(*lonlat(100, 110), radius_m=5000)}
    checked = inside = 0
    for i, (x, y) in enumerate(probes):
        around = [hits.get(names[i * len(offsets) + j]) for j in range(len(offsets))]
        if any(h is None or h.distance_method != "network" for h in around):
            continue  # off the network (more than 250 m from a street): outside every isochrone
        within = {h.distance_m <= 800 for h in around if h is not None}
        if len(within) > 1:
            continue  # within a cell of the boundary
        checked += 1
        inside += within == {True}
        assert area.contains(shapely.Point(X0 + x, Y0 + y)) == (within == {True}), (x, y)
    assert checked > 60
    assert 0 < inside < checked


def test_walking_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from essmap.settings import Settings

    monkeypatch.setenv("ESSMAP_ISOCHRONE_MINUTES", "15,5,10")
    monkeypatch.setenv("ESSMAP_WALK_SPEED_KMH", "4.2")
    cfg = Settings()
    options = WalkOptions.from_settings(cfg)
    assert options.minutes == (5, 10, 15)
    assert options.metres_per_minute == pytest.approx(70)
    assert options.detour_factor == 1.3
    monkeypatch.setenv("ESSMAP_ISOCHRONE_MINUTES", "0")
    with pytest.raises(ValidationError, match="isochrone"):
        Settings()
