"""Actor–QPV join: inside, band, outside with boundary distances; counts per QPV and category."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from essmap.analysis.joins import JOIN_COLUMNS, counts_by_qpv, join_actors_qpv
from essmap.errors import InvalidParameterError
from essmap.model import actor_frame, empty_actors, empty_neighbourhoods
from tests.engine_support import BAYONNE_L93, ZONES, actors_at, qpvs_from_metric, squares_east_of, zone_origin

X0, Y0 = BAYONNE_L93


def two_qpvs() -> pd.DataFrame:
    west = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    east = shapely.box(X0 + 1400, Y0, X0 + 2400, Y0 + 1000)
    return qpvs_from_metric([west, east], codes=["QNW", "QNE"])


def test_inside_band_outside_with_distances() -> None:
    actors = actors_at(
        [X0 + 500, X0 + 1150, X0 - 250, X0 + 500, X0 + 5000],
        [Y0 + 500, Y0 + 500, Y0 + 500, Y0 + 1800, Y0 + 500],
        ids=["in", "between", "west-band", "north", "far"],
        categories=["market", "market", "urban_farm", "market", "association"],
    )
    join = join_actors_qpv(two_qpvs(), actors, band_m=300)
    assert list(join.columns) == list(JOIN_COLUMNS)
    rows = [(r.id, r.code, r.relation, round(r.distance_m, 3)) for r in join.itertuples()]
    assert rows == [
        ("in", "QNW", "inside", 0.0),
        ("between", "QNW", "band", 150.0),  # in the band of both QPVs: one row each, nearest first
        ("between", "QNE", "band", 250.0),
        ("west-band", "QNW", "band", 250.0),
        ("north", "QNW", "outside", 800.0),  # serves none: its nearest QPV, outside
        ("far", "QNE", "outside", 2600.0),
    ]
    assert set(join["generation"]) == {2024}


def test_counts_per_qpv_and_category() -> None:
    actors = actors_at(
        [X0 + 500, X0 + 600, X0 + 1200, X0 - 250, X0 + 5000],
        [Y0 + 500, Y0 + 500, Y0 + 500, Y0 + 500, Y0 + 500],
        categories=["market", "market", "market", "urban_farm", "association"],
    )
    counts = counts_by_qpv(two_qpvs(), actors, band_m=300)
    got = {(r.code, r.category): (r.inside, r.band, r.serving) for r in counts.itertuples()}
    assert got == {
        ("QNW", "market"): (2, 1, 3),
        ("QNW", "urban_farm"): (0, 1, 1),
        ("QNE", "market"): (0, 1, 1),
    }
    assert counts["code"].tolist()[0] == "QNW"  # in table order


def test_two_generations_each_get_a_row() -> None:
    qpv = pd.concat(
        [
            qpvs_from_metric([shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)], codes=["QN1"]),
            qpvs_from_metric(
                [shapely.box(X0 + 100, Y0, X0 + 1100, Y0 + 900)], codes=["QP1"], generation=2015
            ),
        ],
        ignore_index=True,
    )
    join = join_actors_qpv(qpv, actors_at([X0 + 50], [Y0 + 950]), band_m=300)
    assert [(r.generation, r.code, r.relation) for r in join.itertuples()] == [
        (2015, "QP1", "band"),
        (2024, "QN1", "inside"),
    ]
    assert join["distance_m"].tolist() == pytest.approx([50 * 2**0.5, 0.0], abs=1e-3)


def test_empty_and_unlocated() -> None:
    assert join_actors_qpv(two_qpvs(), empty_actors()).empty
    assert list(join_actors_qpv(empty_neighbourhoods(), actors_at([X0], [Y0])).columns) == list(JOIN_COLUMNS)
    unlocated = actor_frame(pd.DataFrame({"id": ["u"], "name": ["U"], "category": ["market"]}), [None])
    assert join_actors_qpv(two_qpvs(), unlocated).empty
    assert counts_by_qpv(two_qpvs(), unlocated).empty
    with pytest.raises(InvalidParameterError) as info:
        join_actors_qpv(two_qpvs(), unlocated, band_m=-3)
    assert info.value.parameter == "band_m"


@pytest.mark.parametrize("zone", list(ZONES))
def test_overseas_and_elsewhere_distances_are_measured_in_the_zone_crs(zone: str) -> None:
    x0, y0, crs = zone_origin(zone)
    qpv = squares_east_of(x0, y0, crs, [0, 1400], codes=["QNW", "QNE"])
    actors = actors_at(
        [x0 + 500, x0 + 1150, x0 + 500, x0 + 5000],
        [y0 + 500, y0 + 500, y0 + 1800, y0 + 500],
        ids=["in", "between", "north", "far"],
        crs=crs,
    )
    join = join_actors_qpv(qpv, actors, band_m=300)
    rows = [(r.id, r.code, r.relation) for r in join.itertuples()]
    assert rows == [
        ("in", "QNW", "inside"),
        ("between", "QNW", "band"),
        ("between", "QNE", "band"),
        ("north", "QNW", "outside"),
        ("far", "QNE", "outside"),
    ]
    assert join["distance_m"].tolist() == pytest.approx([0.0, 150.0, 250.0, 800.0, 2600.0], abs=1e-3)
    counts = counts_by_qpv(qpv, actors, band_m=300)
    assert [(r.code, r.inside, r.band) for r in counts.itertuples()] == [("QNW", 1, 1), ("QNE", 0, 1)]
