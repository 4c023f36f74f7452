"""Coverage, gaps and suggestions of the API in walk mode (``mode=walk``), over HTTP, on the river
of tests/network_support.py.

A QPV lies on the south bank (x from 0 to 1000, y from -400 to -100: 300,000 m², 3,000
residents); the only supply point S = (100, 110) is on the north bank. In a straight line the
QPV's edge is 210 m from S; on foot the bridge is at x = 500, and S is 760 m from the QPV's
centroid (see tests/test_network_analysis.py, which checks the library's figures by hand). Here
the API must answer what the library computes for the same inputs, and the river must matter.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import shapely
from fastapi import FastAPI

from api import create_app
from api.walking import NETWORK_KEY
from essmap.analysis.coverage import coverage, coverage_gaps
from essmap.analysis.siting import site_suggestions
from essmap.network import WalkOptions, network_from_store
from essmap.settings import Settings
from essmap.store import open_store
from tests.api_support import assert_feature_collection, assert_problem, background_server
from tests.network_support import SOUTH_QPV, SUPPLY_XY, X0, Y0, fill_river_store

QPV_BOX = SOUTH_QPV
SUPPLY = SUPPLY_XY


def _settings(folder: Path) -> Settings:
    # cells of 40 m, so that the walks are exact at cell centres (see test_network_analysis.py)
    return Settings(
        data_dir=folder / "data",
        init_from_demo=False,
        tile_url=None,
        supply_categories=["market"],
        isochrone_cell_m=40,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FastAPI, Settings]]:
    folder = tmp_path_factory.mktemp("coverage-walk")
    settings = _settings(folder)
    fill_river_store(settings, folder, today=date.today())
    app = create_app(settings)
    with background_server(app) as url:
        yield url, app, settings


def _library(settings: Settings, mode: str) -> dict[str, Any]:
    """The mode arguments of the library's analyses, from the store, as the API should use them."""
    if mode == "straight":
        return {"mode": "straight"}
    store = open_store(settings)
    try:
        network = network_from_store(store)
    finally:
        store.close()
    return {"mode": "walk", "network": network, "walk": WalkOptions.from_settings(settings)}


def _inputs(settings: Settings) -> dict[str, Any]:
    store = open_store(settings)
    try:
        return {
            "neighbourhoods": store.load_neighbourhoods(),
            "actors": store.load_actors(),
            "grid": store.load_population_grid(),
        }
    finally:
        store.close()


def _same_rows(answer: list[dict[str, Any]], table: pd.DataFrame) -> None:
    assert len(answer) == len(table)
    for got, (_, want) in zip(answer, table.iterrows(), strict=True):
        for column, value in want.items():
            if column == "geometry":
                continue
            if isinstance(value, float):
                assert got[column] == pytest.approx(value, abs=1e-6), column
            else:
                assert got[column] == (None if pd.isna(value) else value), column


def test_walk_coverage_differs_across_the_river_and_matches_the_library(
    served: tuple[str, FastAPI, Settings],
) -> None:
    url, _app, settings = served
    with httpx.Client(base_url=url, timeout=120) as http:
        straight = http.get("/coverage?threshold_m=400&threshold_m=800")
        walk = http.get("/coverage?threshold_m=400&threshold_m=800&mode=walk")
    assert straight.status_code == walk.status_code == 200, walk.text
    straight_body, walk_body = straight.json(), walk.json()
    assert (straight_body["mode"], straight_body["distance_method"]) == ("straight", "straight")
    assert (walk_body["mode"], walk_body["distance_method"]) == ("walk", "network")
    across = {r["threshold_m"]: r for r in straight_body["rows"]}
    on_foot = {r["threshold_m"]: r for r in walk_body["rows"]}
    # in a straight line the river is no obstacle: S reaches the QPV at 400 m; on foot it does not
    assert across[400]["supply_points"] == 1
    assert across[400]["covered_area_m2"] > 50_000
    assert on_foot[400]["supply_points"] == 0
    assert on_foot[400]["covered_area_m2"] == 0
    assert on_foot[800]["covered_area_m2"] == pytest.approx(190**2, abs=10)  # the bridge's triangle
    assert on_foot[800]["nearest_supply_m"] == pytest.approx(760, abs=0.1)
    assert {r["distance_method"] for r in walk_body["rows"]} == {"network"}
    inputs = _inputs(settings)
    for body, mode in ((straight_body, "straight"), (walk_body, "walk")):
        table = coverage(
            inputs["neighbourhoods"],
            inputs["actors"],
            thresholds_m=[400, 800],
            supply_categories=["market"],
            grid=inputs["grid"],
            low_access_share=settings.low_access_share,
            low_access_residents=settings.low_access_residents,
            max_threshold_m=settings.max_threshold_m,
            **_library(settings, mode),
        )
        _same_rows(body["rows"], table)


def test_walk_coverage_as_csv_says_its_method(served: tuple[str, FastAPI, Settings]) -> None:
    url = served[0]
    with httpx.Client(base_url=url, timeout=120) as http:
        text = http.get("/coverage?threshold_m=400&mode=walk&f=csv").text
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["mode"], row["distance_method"]) == ("walk", "network")
    assert float(row["covered_area_m2"]) == 0


def test_walk_gaps_and_suggestions_match_the_library(served: tuple[str, FastAPI, Settings]) -> None:
    url, _app, settings = served
    with httpx.Client(base_url=url, timeout=120) as http:
        gaps = {
            m: assert_feature_collection(http.get(f"/coverage/gaps?threshold_m=400&mode={m}"))
            for m in ("straight", "walk")
        }
        sites = {
            m: assert_feature_collection(http.get(f"/suggestions?threshold_m=400&count=2&mode={m}"))
            for m in ("straight", "walk")
        }
    inputs = _inputs(settings)
    for mode in ("straight", "walk"):
        table = coverage_gaps(
            inputs["neighbourhoods"],
            inputs["actors"],
            threshold_m=400,
            supply_categories=["market"],
            grid=inputs["grid"],
            max_threshold_m=settings.max_threshold_m,
            **_library(settings, mode),
        )
        (feature,) = gaps[mode]["features"]
        assert feature["properties"]["area_m2"] == pytest.approx(float(table["area_m2"].iloc[0]), abs=1e-6)
        assert feature["properties"]["distance_method"] == ("network" if mode == "walk" else "straight")
        assert gaps[mode]["mode"] == mode
        answer = site_suggestions(
            inputs["neighbourhoods"],
            inputs["actors"],
            count=2,
            threshold_m=400,
            supply_categories=["market"],
            spacing_m=settings.siting_spacing_m,
            grid=inputs["grid"],
            max_count=settings.max_suggestions,
            max_threshold_m=settings.max_threshold_m,
            **_library(settings, mode),
        )
        got = sites[mode]["features"]
        assert len(got) == len(answer.sites)
        for feature, want in zip(got, answer.sites.itertuples(index=False), strict=True):
            assert feature["properties"]["gain_residents"] == pytest.approx(want.gain_residents, abs=1e-6)
            assert feature["geometry"]["coordinates"] == pytest.approx(
                [want.geometry.x, want.geometry.y], abs=1e-6
            )
            assert feature["properties"]["distance_method"] == want.distance_method
        assert sites[mode]["mode"] == mode
    # on foot the whole QPV is beyond 400 m; in a straight line only a part of it
    assert gaps["walk"]["features"][0]["properties"]["area_m2"] == pytest.approx(300_000, rel=1e-6)
    assert gaps["straight"]["features"][0]["properties"]["area_m2"] < 300_000 - 50_000


def test_the_network_is_loaded_once_for_every_route(served: tuple[str, FastAPI, Settings]) -> None:
    url, app, _settings = served
    with httpx.Client(base_url=url, timeout=120) as http:
        assert http.get("/coverage?threshold_m=500&mode=walk").status_code == 200
        assert http.get("/suggestions?threshold_m=500&count=1&mode=walk").status_code == 200
        near = http.get("/nearest?lon=-1.47&lat=43.49&mode=walk")
    assert near.status_code == 200, near.text
    assert near.json()["mode"] == "walk"
    assert app.state.cache.builds[NETWORK_KEY] == 1


def test_an_unknown_mode_is_a_bad_request_naming_the_parameter(served: tuple[str, FastAPI, Settings]) -> None:
    url = served[0]
    with httpx.Client(base_url=url, timeout=60) as http:
        for path in ("/coverage", "/coverage/gaps", "/suggestions"):
            body = assert_problem(http.get(f"{path}?mode=bogus"), 400)
            assert "mode" in body["detail"]
            assert [e["field"] for e in body["errors"]] == ["mode"]


def test_without_a_network_walks_are_estimates(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    fill_river_store(settings, tmp_path, network=False, today=date.today())
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=120) as http:
        body = http.get("/coverage?threshold_m=400&mode=walk").json()
        gaps = assert_feature_collection(http.get("/coverage/gaps?threshold_m=400&mode=walk"))
    assert (body["mode"], body["distance_method"]) == ("walk", "estimate")
    (row,) = body["rows"]
    assert row["distance_method"] == "estimate"
    disc = shapely.buffer(shapely.Point(X0 + SUPPLY[0], Y0 + SUPPLY[1]), 400 / settings.walk_detour_factor)
    assert row["covered_area_m2"] == pytest.approx(QPV_BOX.intersection(disc).area, rel=0.01)
    assert gaps["distance_method"] == "estimate"
