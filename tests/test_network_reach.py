"""Walk-mode reach of supply points over QPVs, on a generated city, against plain searches.

:class:`essmap.network.reach.WalkReach` searches only from the QPVs that have a supply point
within the largest threshold in a straight line, starts each search from the QPV's cells without
inserting them into the graph (:class:`essmap.network.local.Attached`), and reads the walks to the
supply points from one search per QPV. The reference here is the plain computation: one search
from each supply point over the whole network, read at every cell of every QPV.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from essmap.network import StreetNetwork, WalkOptions, network_from_ways
from essmap.network.graph import NetworkInfo
from essmap.network.isochrones import cell_snaps
from essmap.network.local import Attached, LocalGraph
from essmap.network.reach import WalkReach
from essmap.sources.osm import walkable_ways_from_osm
from tests.network_support import X0, Y0, Way, write_osm

WALK = WalkOptions(cell_m=25)
SIDE = 14
BLOCK_M = 70.0
RIVER_ROW = 6  # the river runs between this row of streets and the next


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> StreetNetwork:
    """A grid of streets (some pieces missing), cut by a river 150 m wide with two bridges."""
    rng = np.random.default_rng(7)
    nodes: dict[int, tuple[float, float]] = {}
    for i in range(SIDE):
        for j in range(SIDE):
            x = i * BLOCK_M + rng.uniform(-8, 8)
            y = j * BLOCK_M + rng.uniform(-8, 8) + (150.0 if j > RIVER_ROW else 0.0)
            nodes[1 + i * SIDE + j] = (x, y)
    ways: list[Way] = []
    for i in range(SIDE):
        row = [1 + k * SIDE + i for k in range(SIDE)]  # west-east along row i
        ways.append((row, {"highway": "residential"}))
        column = [1 + i * SIDE + j for j in range(SIDE)]  # south-north along column i
        bridge = i in (3, 10)
        pieces = [column] if bridge else [column[: RIVER_ROW + 1], column[RIVER_ROW + 1 :]]
        for piece in pieces:
            cut = int(rng.integers(1, len(piece)))  # a missing piece of street in some columns
            if rng.uniform() < 0.3 and 1 < cut < len(piece) - 1:
                ways += [(piece[:cut], {"highway": "residential"}), (piece[cut:], {"highway": "residential"})]
            else:
                ways.append((piece, {"highway": "residential"}))
    path = write_osm(tmp_path_factory.mktemp("city") / "city.osm", nodes, ways)
    return network_from_ways(walkable_ways_from_osm(path))


def qpvs_and_supply(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Metric QPVs (boxes and a triangle) and supply points scattered over the city, none of them
    within 200 m of the QPV in its south-west corner."""
    rng = np.random.default_rng(seed)
    extent = SIDE * BLOCK_M
    polygons = []
    for _ in range(8):
        cx, cy = rng.uniform(100, extent - 100, 2)
        w, h = rng.uniform(60, 300, 2)
        polygons.append(shapely.box(X0 + cx - w / 2, Y0 + cy - h / 2, X0 + cx + w / 2, Y0 + cy + h / 2))
    polygons.append(shapely.Polygon([(X0 + 50, Y0 + 600), (X0 + 400, Y0 + 600), (X0 + 50, Y0 + 900)]))
    corner = shapely.box(X0, Y0, X0 + 120, Y0 + 120)  # no supply point within 200 m of it
    polygons.append(corner)
    supply = np.column_stack([X0 + rng.uniform(0, extent, 30), Y0 + rng.uniform(0, extent + 150, 30)])
    supply = supply[shapely.distance(corner, shapely.points(supply)) > 200][:25]
    return np.array(polygons, dtype=object), supply


def plain_walks(network: StreetNetwork, polygons: np.ndarray, supply_xy: np.ndarray) -> np.ndarray:
    """``(polygons, supply points)`` walk from each supply point to the nearest cell inside each
    polygon: one search per supply point over the whole network, read at every cell."""
    raster = cell_snaps(network, cell_m=WALK.cell_m, max_snap_m=WALK.max_snap_m)
    snap = network.snap(supply_xy)
    walks = np.full((len(polygons), len(supply_xy)), np.inf)
    for s in range(len(supply_xy)):
        graph = LocalGraph(
            network,
            None,
            snap.segment[s : s + 1],
            snap.offset_m[s : s + 1],
            source_of=np.zeros(1, dtype=np.int64),
            source_cost=snap.distance_m[s : s + 1],
        )
        dist = graph.distances(graph.source_nodes[0], limit=np.inf)[0]
        for i, polygon in enumerate(polygons):
            cells = raster.window(*shapely.bounds(polygon))
            gx, gy = np.meshgrid(cells.xs, cells.ys)
            inside = shapely.contains_xy(polygon, gx, gy) & (cells.segment >= 0)
            at = graph.at(dist, cells.segment[inside], cells.offset_m[inside]) + cells.snap_m[inside]
            walks[i, s] = at.min(initial=np.inf)
    return walks


@pytest.mark.parametrize("thresholds", [[150.0, 300.0, 500.0], [60.0, 120.0]])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_walk_reach_counts_the_supply_points_a_plain_search_finds(
    city: StreetNetwork, seed: int, thresholds: list[float]
) -> None:
    polygons, supply = qpvs_and_supply(seed)
    reach = WalkReach(city, polygons, supply, WALK, thresholds_m=thresholds)
    assert set(reach.methods()) == {"network"}
    walks = plain_walks(city, polygons, supply)
    for threshold in thresholds:
        _, counts = reach.reach(threshold)
        np.testing.assert_array_equal(counts, (walks <= threshold).sum(axis=1))
    # the prefilter's premise: no walk is shorter than the straight line
    straight = shapely.distance(polygons[:, None], shapely.points(supply)[None, :])
    assert (walks >= straight - 1e-6).all()
    # and the generated case has supply points near in a straight line but beyond reach on foot,
    # and, at the shorter thresholds, QPVs without any supply point near enough to search from
    largest = max(thresholds)
    assert ((straight <= largest) & (walks > largest)).any()
    if largest < 200:
        assert (straight > largest).all(axis=1).any()


def test_a_search_from_attached_positions_equals_one_from_inserted_positions(city: StreetNetwork) -> None:
    rng = np.random.default_rng(11)
    xy = np.column_stack([X0 + rng.uniform(0, 900, 40), Y0 + rng.uniform(0, 1000, 40)])
    snap = city.snap(xy)
    group = np.repeat([0, 1], 20)
    targets = city.snap(np.column_stack([X0 + rng.uniform(0, 900, 30), Y0 + rng.uniform(0, 1000, 30)]))
    inserted = LocalGraph(
        city,
        None,
        np.r_[snap.segment, targets.segment],
        np.r_[snap.offset_m, targets.offset_m],
        source_of=np.r_[group, np.full(30, -1)],
        source_cost=np.r_[snap.distance_m, np.zeros(30)],
    )
    attached = LocalGraph(
        city,
        city.segments_near(xy, 2000.0),
        targets.segment,
        targets.offset_m,
        attached=Attached(group, snap.segment, snap.offset_m, snap.distance_m),
    )
    assert attached.size < inserted.size
    by_insertion = inserted.distances(inserted.source_nodes, limit=800)[:, inserted.inserted[40:]]
    by_attachment = attached.distances(attached.source_nodes, limit=800)[:, attached.inserted]
    assert np.isfinite(by_insertion).sum() > 10
    np.testing.assert_allclose(by_attachment, by_insertion, rtol=0, atol=1e-9)


def test_snapping_in_rounds_finds_the_nearest_segment_exactly(city: StreetNetwork) -> None:
    rng = np.random.default_rng(5)
    pts = np.column_stack([X0 + rng.uniform(-300, 1300, 3000), Y0 + rng.uniform(-300, 1400, 3000)])
    pts = np.vstack([pts, city.node_xy[:200], city.midpoints[:200]])  # ties at the nodes
    snap = city.snap(pts)
    lines = shapely.linestrings(city.node_xy[city.segment_nodes])
    brute = shapely.distance(shapely.points(pts)[:, None], lines[None, :])
    nearest = brute.min(axis=1)
    np.testing.assert_allclose(snap.distance_m, nearest, rtol=0, atol=1e-9)
    # ties go to the lowest segment id
    lowest = np.argmax(brute <= nearest[:, None] + 1e-9, axis=1)
    np.testing.assert_array_equal(snap.segment, lowest)
    # some points need more than the first round's eight candidates
    d, _ = city.midpoint_tree.query(pts, k=8)
    assert (d[:, -1] <= d[:, 0] + city.half_max_m).any()


def test_snapping_looks_past_the_first_round_when_a_long_segment_may_be_nearer() -> None:
    # a segment 50 m long passes 1 m from the point, its midpoint 20 m away; ten segments of
    # 20 cm have their midpoints 10 m from the point: the eight nearest midpoints are theirs
    angles = np.linspace(0, np.pi, 10)
    centres = np.column_stack([10 * np.cos(angles), 10 * np.sin(angles)])
    half = np.array([0.1, 0.0])
    short = np.stack([centres - half, centres + half], axis=1).reshape(-1, 2)
    xy = np.vstack([[(-5.0, -1.0), (45.0, -1.0)], short])
    pairs = np.arange(len(xy)).reshape(-1, 2)
    length = np.hypot(*(xy[pairs[:, 1]] - xy[pairs[:, 0]]).T)
    info = NetworkInfo("test", "EPSG:2154", "test", "", 1, len(xy), len(pairs), float(length.sum()), (0,) * 4)
    network = StreetNetwork(xy, pairs, length, info)
    snap = network.snap(np.array([[0.0, 0.0]]))
    assert snap.segment[0] == 0
    assert snap.distance_m[0] == pytest.approx(1.0)
