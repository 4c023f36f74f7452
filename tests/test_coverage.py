"""Coverage, gaps and catchments: exact shares in metres, residents by grid or by area, low access."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essmap.analysis.coverage import (
    COVERAGE_COLUMNS,
    GAP_COLUMNS,
    QUAD_SEGS,
    catchments,
    coverage,
    coverage_gaps,
)
from essmap.errors import InvalidParameterError
from essmap.model import LAMBERT93, empty_actors, empty_neighbourhoods
from essmap.sources import grid_from_csv
from tests.engine_support import BAYONNE_L93, ZONES, actors_at, qpvs_from_metric, squares_east_of, zone_origin

X0, Y0 = BAYONNE_L93
SUPPLY = ["market"]
N_SIDES = 4 * QUAD_SEGS
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def disc_area(r: float) -> float:
    """Area of the regular polygon the discs are drawn with."""
    return 0.5 * N_SIDES * r * r * math.sin(2 * math.pi / N_SIDES)


def one_square_qpv(population: int | None = 1000) -> gpd.GeoDataFrame:
    return qpvs_from_metric(
        [shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)], codes=["QN1"], populations=[population]
    )


def test_disc_at_the_centre_of_a_square_qpv() -> None:
    qpv = one_square_qpv()
    actors = actors_at([X0 + 500, X0 + 5000], [Y0 + 500, Y0], categories=["market", "association"])
    table = coverage(qpv, actors, thresholds_m=[400, 800], supply_categories=SUPPLY)
    assert list(table.columns) == list(COVERAGE_COLUMNS)
    assert len(table) == 2
    near, far = table.iloc[0], table.iloc[1]
    assert near["threshold_m"] == 400
    assert near["area_m2"] == pytest.approx(1e6, rel=1e-6)
    assert near["covered_area_m2"] == pytest.approx(disc_area(400), rel=1e-6)
    assert near["area_share"] == pytest.approx(disc_area(400) / 1e6, rel=1e-6)
    assert near["residents_total"] == pytest.approx(1000)
    assert near["residents_covered"] == pytest.approx(1000 * disc_area(400) / 1e6, rel=1e-6)
    assert near["residents_uncovered"] == pytest.approx(1000 - near["residents_covered"])
    assert near["supply_points"] == 1  # the association does not count as supply
    assert near["nearest_supply_m"] == pytest.approx(0, abs=1e-3)
    assert near["method"] == "area"
    assert bool(near["low_access"])  # half of the area is beyond 400 m
    # the 800 m disc (inradius 796 m) holds the whole square (half-diagonal 707 m)
    assert far["area_share"] == pytest.approx(1.0)
    assert far["residents_uncovered"] == pytest.approx(0, abs=1e-6)
    assert not bool(far["low_access"])


def test_low_access_by_residents_or_by_share() -> None:
    # a point 50 m beyond the east edge: at 1000 m most of the square is covered
    qpv = qpvs_from_metric(
        [shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)] * 2, codes=["QN1", "QN2"], populations=[20_000, 600]
    )
    actors = actors_at([X0 + 1050], [Y0 + 500])
    table = coverage(
        qpv,
        actors,
        thresholds_m=[1000],
        supply_categories=SUPPLY,
        low_access_share=0.33,
        low_access_residents=500,
    )
    share = table["area_share"].to_numpy()
    assert share[0] == pytest.approx(share[1])
    assert 1 - share[0] < 0.33
    assert table["residents_uncovered"].iloc[0] >= 500
    assert table["residents_uncovered"].iloc[1] < 500
    assert table["low_access"].tolist() == [True, False]
    relaxed = coverage(
        qpv, actors, thresholds_m=[800], supply_categories=SUPPLY, low_access_residents=100_000
    )
    assert relaxed["low_access"].tolist() == [False, False]


polygon_sets = st.lists(
    st.tuples(
        st.floats(min_value=-3000, max_value=3000),
        st.floats(min_value=-3000, max_value=3000),
        st.floats(min_value=50, max_value=1500),
        st.floats(min_value=50, max_value=1500),
    ),
    min_size=1,
    max_size=5,
)
point_sets = st.lists(
    st.tuples(st.floats(min_value=-4000, max_value=4000), st.floats(min_value=-4000, max_value=4000)),
    min_size=0,
    max_size=25,
)


@FAST
@given(boxes=polygon_sets, points=point_sets, threshold=st.floats(min_value=50, max_value=1500))
def test_area_shares_equal_an_independent_union_and_intersection(
    boxes: list[tuple[float, float, float, float]], points: list[tuple[float, float]], threshold: float
) -> None:
    # triangles and rectangles, so that edges are not all parallel to the axes
    polys = [
        shapely.Polygon([(X0 + x, Y0 + y), (X0 + x + w, Y0 + y), (X0 + x + w / 3, Y0 + y + h)])
        if i % 2
        else shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)
        for i, (x, y, w, h) in enumerate(boxes)
    ]
    qpv = qpvs_from_metric(polys)
    actors = actors_at([X0 + p[0] for p in points], [Y0 + p[1] for p in points])
    table = coverage(qpv, actors, thresholds_m=[threshold], supply_categories=SUPPLY)
    # independent computation: every disc, one union, one intersection per QPV
    metric_qpv = qpv.to_crs(LAMBERT93).geometry.to_numpy()
    metric_pts = actors.to_crs(LAMBERT93).geometry.to_numpy()
    union = shapely.union_all(shapely.buffer(metric_pts, threshold, quad_segs=QUAD_SEGS))
    expected = shapely.area(shapely.intersection(metric_qpv, union)) / shapely.area(metric_qpv)
    assert table["area_share"].to_numpy() == pytest.approx(expected, abs=1e-6)
    counts = [int(np.sum(shapely.distance(metric_pts, q) <= threshold)) for q in metric_qpv]
    assert table["supply_points"].tolist() == counts


def write_grid(path: Path, squares: dict[tuple[int, int], float]) -> Path:
    """A Filosofi-style CSV: squares given by (north, east) lower-left corners in EPSG:3035."""
    lines = ["Idcar_200m;I_est_200;Ind;Men"]
    for (n, e), pop in squares.items():
        lines.append(f"CRS3035RES200mN{n}E{e};0;{str(pop).replace('.', ',')};3")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# a 200 m square of the INSEE grid in Bayonne (EPSG:3035, lower-left corner)
N0, E0 = 2_338_600, 3_411_800


def test_residents_from_the_population_grid(tmp_path: Path) -> None:
    grid = grid_from_csv(
        write_grid(tmp_path / "grid.csv", {(N0, E0): 120.0, (N0, E0 + 200): 80.0, (N0 + 200, E0): 40.0})
    )
    # QPV: exactly the first square and the west half of the second (areal weighting: 120 + 40)
    qpv_3035 = gpd.GeoSeries([shapely.box(E0, N0, E0 + 300, N0 + 200)], crs="EPSG:3035")
    qpv = qpvs_from_metric(qpv_3035.to_crs(LAMBERT93).to_list(), populations=[9999])
    supply_3035 = gpd.GeoSeries([shapely.Point(E0 + 100, N0 + 100)], crs="EPSG:3035").to_crs(LAMBERT93)
    actors = actors_at([supply_3035.x.iloc[0]], [supply_3035.y.iloc[0]])
    table = coverage(qpv, actors, thresholds_m=[50, 5000], supply_categories=SUPPLY, grid=grid)
    assert table["method"].tolist() == ["grid", "grid"]
    assert table["residents_total"].iloc[0] == pytest.approx(160, rel=1e-3)
    # the 50 m disc lies inside the first square: its share of that square's 120 residents
    assert table["residents_covered"].iloc[0] == pytest.approx(120 * disc_area(50) / 40_000, rel=2e-3)
    assert table["residents_covered"].iloc[1] == pytest.approx(160, rel=1e-3)
    gaps = coverage_gaps(qpv, actors, threshold_m=50, supply_categories=SUPPLY, grid=grid)
    assert gaps["residents"].iloc[0] + table["residents_covered"].iloc[0] == pytest.approx(160, rel=1e-3)
    assert gaps["method"].tolist() == ["grid"]


def test_method_falls_back_to_area_then_none(tmp_path: Path) -> None:
    grid = grid_from_csv(write_grid(tmp_path / "grid.csv", {(N0, E0): 120.0}))
    far = [
        shapely.box(X0 + 20_000, Y0, X0 + 21_000, Y0 + 1000),
        shapely.box(X0 + 30_000, Y0, X0 + 31_000, Y0 + 1000),
    ]
    qpv = qpvs_from_metric(far, populations=[500, None])
    table = coverage(qpv, empty_actors(), thresholds_m=[400], supply_categories=SUPPLY, grid=grid)
    assert table["method"].tolist() == ["area", "none"]
    assert table["residents_total"].iloc[0] == 500
    assert math.isnan(table["residents_total"].iloc[1])
    assert table["low_access"].tolist() == [True, True]


def test_empty_inputs_give_empty_or_uncovered_results() -> None:
    table = coverage(one_square_qpv(), empty_actors(), thresholds_m=[400], supply_categories=SUPPLY)
    assert table["supply_points"].tolist() == [0]
    assert table["covered_area_m2"].tolist() == [0.0]
    assert math.isnan(table["nearest_supply_m"].iloc[0])
    gaps = coverage_gaps(one_square_qpv(), empty_actors(), threshold_m=400, supply_categories=SUPPLY)
    assert gaps["area_m2"].iloc[0] == pytest.approx(1e6, rel=1e-6)
    none = coverage(
        empty_neighbourhoods(), actors_at([X0], [Y0]), thresholds_m=[400], supply_categories=SUPPLY
    )
    assert none.empty
    assert list(none.columns) == list(COVERAGE_COLUMNS)
    no_gaps = coverage_gaps(empty_neighbourhoods(), empty_actors(), threshold_m=400, supply_categories=SUPPLY)
    assert no_gaps.empty
    assert list(no_gaps.columns) == list(GAP_COLUMNS)
    assert catchments(empty_actors(), threshold_m=400, supply_categories=SUPPLY).empty
    nothing_counts = coverage(
        one_square_qpv(), actors_at([X0], [Y0]), thresholds_m=[400], supply_categories=[]
    )
    assert nothing_counts["supply_points"].tolist() == [0]


def test_gaps_add_up_with_the_covered_area() -> None:
    qpv = qpvs_from_metric(
        [shapely.box(X0, Y0, X0 + 1000, Y0 + 1000), shapely.box(X0 + 3000, Y0, X0 + 3100, Y0 + 100)],
        populations=[1000, 50],
    )
    actors = actors_at([X0, X0 + 3050], [Y0, Y0 + 50])
    table = coverage(qpv, actors, thresholds_m=[600], supply_categories=SUPPLY)
    gaps = coverage_gaps(qpv, actors, threshold_m=600, supply_categories=SUPPLY)
    assert gaps["code"].tolist() == ["QN000000"]  # the small QPV is fully covered: no gap row
    assert list(gaps.columns) == list(GAP_COLUMNS)
    assert gaps.crs == "EPSG:4326"
    first = table.iloc[0]
    assert gaps["area_m2"].iloc[0] + first["covered_area_m2"] == pytest.approx(first["area_m2"], rel=1e-9)
    assert gaps["residents"].iloc[0] == pytest.approx(first["residents_uncovered"], rel=1e-9)
    assert gaps.to_crs(LAMBERT93).area.iloc[0] == pytest.approx(gaps["area_m2"].iloc[0], rel=1e-4)


def test_catchments_are_discs_around_supply_points() -> None:
    actors = actors_at(
        [X0, X0 + 1000, X0 + 2000], [Y0, Y0, Y0], categories=["market", "association", "urban_farm"]
    )
    discs = catchments(actors, threshold_m=400, supply_categories=["market", "urban_farm"])
    assert discs["id"].tolist() == ["a00000", "a00002"]
    assert list(discs.columns) == [
        "id",
        "name",
        "category",
        "threshold_m",
        "mode",
        "distance_method",
        "geometry",
    ]
    assert set(discs["distance_method"]) == {"straight"}
    assert discs.to_crs(LAMBERT93).area.to_numpy() == pytest.approx(disc_area(400), rel=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"thresholds_m": [0]}, "thresholds_m"),
        ({"thresholds_m": [-400]}, "thresholds_m"),
        ({"thresholds_m": [math.nan]}, "thresholds_m"),
        ({"thresholds_m": []}, "thresholds_m"),
        ({"thresholds_m": [6000], "max_threshold_m": 5000}, "thresholds_m"),
        ({"thresholds_m": [400], "supply_categories": ["bakery"]}, "supply_categories"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], parameter: str) -> None:
    args: dict[str, object] = {"supply_categories": SUPPLY, **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        coverage(one_square_qpv(), empty_actors(), **args)  # type: ignore[arg-type]
    assert info.value.parameter == parameter
    with pytest.raises(InvalidParameterError):
        coverage_gaps(one_square_qpv(), empty_actors(), threshold_m=0, supply_categories=SUPPLY)
    with pytest.raises(InvalidParameterError):
        catchments(empty_actors(), threshold_m=-1, supply_categories=SUPPLY)


@pytest.mark.parametrize("zone", list(ZONES))
def test_overseas_and_elsewhere_coverage_is_measured_in_the_zone_crs(zone: str) -> None:
    x0, y0, crs = zone_origin(zone)
    qpv = squares_east_of(x0, y0, crs, [0, 3000], codes=["QN1", "QN2"], populations=[1000, 500])
    # a market at the centre of QN1, one 1,050 m east of QN2's east edge, and a non-supply actor
    actors = actors_at(
        [x0 + 500, x0 + 5050, x0 + 3500],
        [y0 + 500, y0 + 500, y0 + 500],
        categories=["market", "market", "association"],
        crs=crs,
    )
    table = coverage(qpv, actors, thresholds_m=[400], supply_categories=SUPPLY)
    first, second = table.iloc[0], table.iloc[1]
    assert (first["code"], second["code"]) == ("QN1", "QN2")
    assert table["area_m2"].tolist() == pytest.approx([1e6, 1e6], rel=1e-6)
    assert first["covered_area_m2"] == pytest.approx(disc_area(400), rel=1e-6)
    assert first["residents_covered"] == pytest.approx(1000 * disc_area(400) / 1e6, rel=1e-6)
    assert first["nearest_supply_m"] == pytest.approx(0, abs=1e-3)
    assert second["covered_area_m2"] == pytest.approx(0, abs=1e-6)
    assert second["nearest_supply_m"] == pytest.approx(1050, abs=1e-3)  # from QN2's east edge
    assert second["supply_points"] == 0
    assert bool(second["low_access"])
    gaps = coverage_gaps(qpv, actors, threshold_m=400, supply_categories=SUPPLY)
    gap_area = gaps.to_crs(crs).set_index("code").area
    assert gap_area["QN1"] == pytest.approx(1e6 - disc_area(400), rel=1e-5)
    assert gap_area["QN2"] == pytest.approx(1e6, rel=1e-6)


def test_nearest_supply_is_measured_from_the_outline_and_is_zero_inside() -> None:
    # a 2 km long QPV with a market inside it, 900 m from its centre, and another 300 m north of it
    qpv = qpvs_from_metric([shapely.box(X0, Y0, X0 + 2000, Y0 + 200)], codes=["QN1"], populations=[100])
    qpv["geometry_source"] = "schematic"
    inside = actors_at([X0 + 1900], [Y0 + 100], categories=["market"])
    table = coverage(qpv, inside, thresholds_m=[400], supply_categories=SUPPLY)
    assert table["nearest_supply_m"].iloc[0] == 0.0
    assert table["geometry_source"].tolist() == ["schematic"]
    north = actors_at([X0 + 1000], [Y0 + 500], categories=["market"])
    table = coverage(qpv, north, thresholds_m=[400], supply_categories=SUPPLY)
    assert table["nearest_supply_m"].iloc[0] == pytest.approx(300, abs=1e-3)
    gaps = coverage_gaps(qpv, north, threshold_m=400, supply_categories=SUPPLY)
    assert gaps["geometry_source"].tolist() == ["schematic"]
