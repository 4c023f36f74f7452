"""Integration on the 105 real Occitanie QPVs (2015 list) with generated actors: the totals add up."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from essmap.analysis.coverage import coverage, coverage_gaps
from essmap.analysis.joins import counts_by_qpv, join_actors_qpv
from essmap.model import CATEGORIES, LAMBERT93, actor_frame
from essmap.sources import qpv_from_file
from tests.engine_support import OCCITANIE_INDICATORS, OCCITANIE_QPV

SUPPLY = ["amap_delivery_point", "cooperative_grocery", "urban_farm", "producer_shop", "market"]


@pytest.fixture(scope="module")
def qpv() -> gpd.GeoDataFrame:
    table = qpv_from_file(OCCITANIE_QPV, generation=2015).table
    pop = pd.read_csv(OCCITANIE_INDICATORS, encoding="utf-8-sig", usecols=["code_qp", "pop_mun"])
    table["population"] = table["code"].map(pop.set_index("code_qp")["pop_mun"]).astype("Int64")
    return table


@pytest.fixture(scope="module")
def actors(qpv: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(2021)
    reps = qpv.geometry.representative_point()
    n = 500
    pick = rng.integers(0, len(qpv), n)
    lon = reps.x.to_numpy()[pick] + rng.normal(0, 0.008, n)
    lat = reps.y.to_numpy()[pick] + rng.normal(0, 0.006, n)
    frame = pd.DataFrame(
        {
            "id": [f"act-{i:04d}" for i in range(n)],
            "name": [f"Acteur {i}" for i in range(n)],
            "category": rng.choice(CATEGORIES, n),
        }
    )
    return actor_frame(frame, shapely.points(lon, lat))


def test_the_real_qpvs_load_with_population(qpv: gpd.GeoDataFrame) -> None:
    assert len(qpv) == 105
    assert qpv["population"].notna().sum() == 105


def test_join_counts_agree_with_the_join(qpv: gpd.GeoDataFrame, actors: gpd.GeoDataFrame) -> None:
    join = join_actors_qpv(qpv, actors, band_m=300)
    assert set(join["id"]) == set(actors["id"])  # every located actor has at least one row
    assert set(join["relation"]) == {"inside", "band", "outside"}
    inside = join[join["relation"] == "inside"]
    assert (inside["distance_m"] == 0).all()
    assert (join.loc[join["relation"] == "band", "distance_m"].between(0, 300, inclusive="right")).all()
    assert (join.loc[join["relation"] == "outside", "distance_m"] > 300).all()
    # an actor inside a QPV really lies in it (checked in Lambert-93 with plain shapely)
    metric_qpv = qpv.to_crs(LAMBERT93).set_index("code").geometry
    metric_act = actors.to_crs(LAMBERT93).set_index("id").geometry
    for row in inside.head(30).itertuples():
        assert shapely.buffer(metric_qpv[row.code], 1e-6).contains(metric_act[row.id])
    counts = counts_by_qpv(qpv, actors, join)
    assert counts["inside"].sum() == len(inside)
    assert counts["band"].sum() == int((join["relation"] == "band").sum())


def test_coverage_and_gaps_add_up(qpv: gpd.GeoDataFrame, actors: gpd.GeoDataFrame) -> None:
    table = coverage(qpv, actors, thresholds_m=[400, 800], supply_categories=SUPPLY)
    assert len(table) == 2 * 105
    assert set(table["method"]) == {"area"}
    for threshold in (400, 800):
        rows = table[table["threshold_m"] == threshold].set_index("code")
        gaps = coverage_gaps(qpv, actors, threshold_m=threshold, supply_categories=SUPPLY).set_index("code")
        gap_area = gaps["area_m2"].reindex(rows.index).fillna(0.0)
        total = rows["covered_area_m2"] + gap_area
        assert np.all(np.abs(total - rows["area_m2"]) <= 0.001 * rows["area_m2"])
        gap_res = gaps["residents"].reindex(rows.index).fillna(0.0)
        assert np.allclose(rows["residents_covered"] + gap_res, rows["residents_total"], rtol=1e-3)
        # the QPV areas are those of the polygons measured in Lambert-93
        areas = qpv.to_crs(LAMBERT93).set_index("code").area.reindex(rows.index)
        assert np.allclose(rows["area_m2"], areas, rtol=1e-6)
    near, far = (table[table["threshold_m"] == t]["area_share"].to_numpy() for t in (400, 800))
    assert np.all(far >= near - 1e-12)
    assert 0 < near.mean() < far.mean() < 1
    assert table["low_access"].any()
    assert not table["low_access"].all()
