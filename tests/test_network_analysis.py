"""Coverage, gaps, catchments and siting in walk mode, on the river (see test_network_walking.py).

A QPV lies on the south bank, from x = 0 to 1000 and y = -400 to -100 (300,000 m², 3,000
residents); the only supply point S = (100, 110) is on the north bank, 10 m from its street. On
foot, S is 10 + 400 + 200 = 610 m from the bridge's south foot (500, -100); a place of the QPV
(x, y) is then 610 + |x - 500| + (-100 - y) from S, its nearest street being the south one. So:

- within 400 m on foot, nothing of the QPV is reached (in a straight line, the QPV's edge is 210 m away);
- within 800 m, the triangle |x - 500| + (-100 - y) <= 190: 190² = 36,100 m²;
- from the QPV's centroid (500, -250), S is 150 + 610 = 760 m away on foot.

Cells are 40 m wide, so that the south street runs along a row of cell centres and x = 500
along a column: the walking distance is linear between cell centres and the figures are exact,
but for the rounding of OpenStreetMap coordinates to 1e-7 degree (about 1 cm): along the 920 m
of the triangle's edges, some 10 m².
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from essmap.analysis.catchments import ISOCHRONE_COLUMNS, catchments, supply_isochrones
from essmap.analysis.coverage import COVERAGE_COLUMNS, GAP_COLUMNS, QUAD_SEGS, coverage, coverage_gaps
from essmap.analysis.siting import SITE_COLUMNS, suggest_sites
from essmap.analysis.views import planner_view
from essmap.errors import InvalidParameterError
from essmap.network import StreetNetwork, WalkOptions, network_from_ways
from essmap.settings import Settings
from essmap.sources.osm import walkable_ways_from_osm
from tests.engine_support import actors_at, qpvs_from_metric
from tests.network_support import X0, Y0, river_osm

WALK = WalkOptions(cell_m=40)
SUPPLY = ["market"]
QPV_BOX = shapely.box(X0, Y0 - 400, X0 + 1000, Y0 - 100)
#: Tolerance of an area bounded by walks, for the centimetre of the OpenStreetMap coordinates.
AREA_CM = 10.0


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> StreetNetwork:
    path = river_osm(tmp_path_factory.mktemp("river") / "river.osm")
    return network_from_ways(walkable_ways_from_osm(path))


@pytest.fixture
def south_qpv() -> gpd.GeoDataFrame:
    far = shapely.box(X0 + 5000, Y0 + 5000, X0 + 6000, Y0 + 6000)  # a QPV the extract does not cover
    return qpvs_from_metric([QPV_BOX, far], codes=["QN_SUD", "QN_LOIN"], populations=[3000, 1000])


def supply_at(*points: tuple[float, float]) -> gpd.GeoDataFrame:
    return actors_at([X0 + x for x, _ in points], [Y0 + y for _, y in points], categories="market")


def test_walk_coverage_matches_the_hand_computation(
    network: StreetNetwork, south_qpv: gpd.GeoDataFrame
) -> None:
    table = coverage(
        south_qpv,
        supply_at((100, 110)),
        thresholds_m=[400, 800],
        supply_categories=SUPPLY,
        mode="walk",
        network=network,
        walk=WALK,
    )
    assert list(table.columns) == list(COVERAGE_COLUMNS)
    south = table[table["code"] == "QN_SUD"].set_index("threshold_m")
    assert set(south["mode"]) == {"walk"}
    assert set(south["distance_method"]) == {"network"}
    assert south.loc[400, "covered_area_m2"] == 0
    assert south.loc[400, "supply_points"] == 0
    assert bool(south.loc[400, "low_access"])
    assert south.loc[800, "covered_area_m2"] == pytest.approx(190**2, abs=AREA_CM)
    assert south.loc[800, "supply_points"] == 1
    assert south.loc[800, "residents_covered"] == pytest.approx(3000 * 190**2 / 300_000, abs=0.1)
    assert south.loc[800, "nearest_supply_m"] == pytest.approx(150 + 610, abs=0.1)
    # the far QPV is not covered by the extract: its walks are estimated
    far = table[table["code"] == "QN_LOIN"]
    assert set(far["distance_method"]) == {"estimate"}
    centre = shapely.Point(X0 + 5500, Y0 + 5500)
    expected = centre.distance(shapely.Point(X0 + 100, Y0 + 110)) * WALK.detour_factor
    assert far["nearest_supply_m"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_in_a_straight_line_the_river_is_no_obstacle(south_qpv: gpd.GeoDataFrame) -> None:
    table = coverage(south_qpv, supply_at((100, 110)), thresholds_m=[400], supply_categories=SUPPLY)
    south = table[table["code"] == "QN_SUD"].iloc[0]
    assert south["distance_method"] == "straight"
    assert south["mode"] == "straight"
    assert south["supply_points"] == 1
    assert south["covered_area_m2"] > 50_000


def test_without_a_network_walks_are_estimated_with_the_detour_factor(south_qpv: gpd.GeoDataFrame) -> None:
    table = coverage(
        south_qpv, supply_at((100, 110)), thresholds_m=[400], supply_categories=SUPPLY, mode="walk", walk=WALK
    )
    south = table[table["code"] == "QN_SUD"].iloc[0]
    assert south["distance_method"] == "estimate"
    disc = shapely.buffer(shapely.Point(X0 + 100, Y0 + 110), 400 / 1.3, quad_segs=QUAD_SEGS)
    assert south["covered_area_m2"] == pytest.approx(QPV_BOX.intersection(disc).area, rel=1e-6)
    # estimated like the coverage: the straight line from the QPV's outline, times the detour factor
    outline_m = QPV_BOX.distance(shapely.Point(X0 + 100, Y0 + 110))
    assert outline_m == pytest.approx(210, abs=1e-6)
    assert south["nearest_supply_m"] == pytest.approx(outline_m * 1.3, rel=1e-6)


def test_walk_gaps(network: StreetNetwork, south_qpv: gpd.GeoDataFrame) -> None:
    gaps = coverage_gaps(
        south_qpv,
        supply_at((100, 110)),
        threshold_m=800,
        supply_categories=SUPPLY,
        mode="walk",
        network=network,
        walk=WALK,
    )
    assert list(gaps.columns) == list(GAP_COLUMNS)
    south = gaps[gaps["code"] == "QN_SUD"].iloc[0]
    assert south["area_m2"] == pytest.approx(300_000 - 190**2, abs=AREA_CM)
    assert south["distance_method"] == "network"
    assert south["mode"] == "walk"


def test_mode_is_checked(south_qpv: gpd.GeoDataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="mode"):
        coverage(south_qpv, supply_at((0, 0)), thresholds_m=[400], supply_categories=SUPPLY, mode="bike")  # type: ignore[arg-type]


def test_walk_catchments_are_isochrones(network: StreetNetwork) -> None:
    actors = supply_at((100, 110), (5000, 5000))  # the second one is far from every street
    rings = catchments(
        actors, threshold_m=800, supply_categories=SUPPLY, mode="walk", network=network, walk=WALK
    )
    assert rings["distance_method"].tolist() == ["network", "estimate"]
    metric = rings.to_crs("EPSG:2154")
    near, far = metric.geometry.iloc[0], metric.geometry.iloc[1]
    assert near.contains(shapely.Point(X0 + 500, Y0 - 150))  # 660 m on foot
    assert not near.contains(shapely.Point(X0 + 100, Y0 - 150))  # 1060 m on foot, 260 m in a straight line
    n = 4 * QUAD_SEGS
    estimated = 0.5 * n * (800 / 1.3) ** 2 * math.sin(2 * math.pi / n)
    assert far.area == pytest.approx(estimated, rel=1e-3)


def test_supply_isochrones_at_5_10_15_minutes(network: StreetNetwork) -> None:
    actors = supply_at((100, 110), (700, -110))
    table = supply_isochrones(actors, network=network, walk=WALK, supply_categories=SUPPLY)
    assert list(table.columns) == list(ISOCHRONE_COLUMNS)
    assert table["minutes"].tolist() == [5, 10, 15, 5, 10, 15]
    assert table["distance_m"].tolist() == [400, 800, 1200, 400, 800, 1200]
    assert set(table["distance_method"]) == {"network"}
    metric = table.to_crs("EPSG:2154").geometry.to_numpy()
    for first in (0, 3):
        five, ten, fifteen = metric[first : first + 3]
        assert five.area < ten.area < fifteen.area
        assert ten.buffer(1e-6).contains(five)
        assert fifteen.buffer(1e-6).contains(ten)
    other = supply_isochrones(actors, network=network, walk=WALK, supply_categories=SUPPLY, minutes=[12])
    assert other["distance_m"].tolist() == [960, 960]
    with pytest.raises(InvalidParameterError, match="minutes"):
        supply_isochrones(actors, network=network, walk=WALK, supply_categories=SUPPLY, minutes=[0])


def test_walk_siting_puts_the_site_on_the_bank_of_the_residents(network: StreetNetwork) -> None:
    """A QPV on the south bank (x 0 to 400, y -300 to -100), no supply point yet, two candidates:
    N = (200, 100) right across the river, S = (650, -100) on the south street, 250 m east of it.
    In a straight line N reaches most of the QPV; on foot it reaches none of it (500 m to the bridge's
    far end), while S reaches the corner x - 250 >= (-100 - y): 150²/2 = 11,250 m² of 80,000 m²."""
    qpv = qpvs_from_metric(
        [shapely.box(X0, Y0 - 300, X0 + 400, Y0 - 100)], codes=["QN_SUD"], populations=[1000]
    )
    nobody = actors_at([X0 + 5000], [Y0 + 5000], categories="association")
    candidates = actors_at([X0 + 200, X0 + 650], [Y0 + 100, Y0 - 100], ids=["N", "S"])
    common = {"count": 2, "threshold_m": 400, "supply_categories": SUPPLY, "candidates": candidates}
    straight = suggest_sites(qpv, nobody, **common)  # type: ignore[arg-type]
    assert straight["candidate_id"].iloc[0] == "N"
    assert set(straight["distance_method"]) == {"straight"}
    walk = suggest_sites(qpv, nobody, mode="walk", network=network, walk=WALK, **common)  # type: ignore[arg-type]
    assert list(walk.columns) == list(SITE_COLUMNS)
    assert walk["candidate_id"].tolist() == ["S"]  # N brings nobody within a 400 m walk
    assert walk["distance_method"].tolist() == ["network"]
    assert walk["mode"].tolist() == ["walk"]
    assert walk["gain_residents"].iloc[0] == pytest.approx(1000 * 150**2 / 2 / 80_000, rel=0.25)
    assert np.isfinite(walk["gain_residents"]).all()


def test_planner_view_in_walk_mode(
    network: StreetNetwork, south_qpv: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, supply_categories=SUPPLY, isochrone_cell_m=40, isochrone_minutes=[5, 10]
    )
    view = planner_view(
        south_qpv,
        supply_at((100, 110)),
        settings=settings,
        threshold_m=800,
        sites=1,
        mode="walk",
        network=network,
    )
    assert view.coverage.mode == "walk"
    south = view.coverage.table[view.coverage.table["code"] == "QN_SUD"].iloc[0]
    assert south["covered_area_m2"] == pytest.approx(190**2, abs=AREA_CM)
    assert view.coverage.catchments["distance_method"].tolist() == ["network"]
    assert view.isochrones is not None
    assert view.isochrones["minutes"].tolist() == [5, 10]
    assert view.sites is not None
    assert set(view.sites["mode"]) == {"walk"}
    straight = planner_view(south_qpv, supply_at((100, 110)), settings=settings, threshold_m=800, sites=0)
    assert straight.isochrones is None
    assert straight.coverage.mode == "straight"
