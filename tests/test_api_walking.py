"""Walk mode of the API (``mode=walk``) over HTTP, on the river of tests/network_support.py.

From O = (100, 110) (metres from the reference point), A = (800, 120) on the same bank is 730 m on
foot and B = (100, -105) across the river 1015 m, though B is nearer in a straight line (215 m).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from api import create_app
from essmap.importing import import_network
from essmap.model import actor_frame
from essmap.settings import Settings
from essmap.store import open_store
from tests.api_support import assert_feature_collection, assert_problem, background_server
from tests.network_support import lonlat, river_osm

ORIGIN = lonlat(100, 110)  # O of the docstring
HERE = f"lon={ORIGIN[0]}&lat={ORIGIN[1]}"
CM = 0.05


def _actors(settings: Settings) -> None:
    import shapely

    store = open_store(settings)
    points = {"a": lonlat(800, 120), "b": lonlat(100, -105)}
    frame = pd.DataFrame({"id": list(points), "name": ["Marché A", "Marché B"], "category": ["market"] * 2})
    store.upsert_actors(actor_frame(frame, [shapely.Point(*p) for p in points.values()]))
    store.close()


@pytest.fixture(scope="module")
def walk_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("walk")
    settings = Settings(data_dir=folder / "data", init_from_demo=False, tile_url=None)
    _actors(settings)
    store = open_store(settings)
    import_network(store, river_osm(folder / "river.osm"))
    store.close()
    with background_server(create_app(settings)) as url:
        yield url


def test_nearest_on_foot_puts_the_same_bank_first(walk_url: str) -> None:
    with httpx.Client(base_url=walk_url, timeout=60) as http:
        straight = assert_feature_collection(http.get(f"/nearest?{HERE}&k=2"))
        assert [f["id"] for f in straight["features"]] == ["b", "a"]
        walk = assert_feature_collection(http.get(f"/nearest?{HERE}&k=2&mode=walk"))
    assert walk["mode"] == "walk"
    assert walk["distance_method"] == "network"
    assert walk["snap_m"] == pytest.approx(10, abs=CM)
    a, b = walk["features"]
    assert (a["id"], b["id"]) == ("a", "b")
    assert a["properties"]["distance_m"] == pytest.approx(730, abs=0.1)
    assert b["properties"]["distance_m"] == pytest.approx(1015, abs=0.1)
    assert b["properties"]["straight_m"] == pytest.approx(215, abs=0.1)
    assert a["properties"]["walk_minutes"] == pytest.approx(730 / 80, abs=0.05)  # 4.8 km/h
    assert a["properties"]["distance_method"] == "network"
    assert a["properties"]["directions_url"].startswith("https://")


def test_within_on_foot_leaves_out_the_other_bank(walk_url: str) -> None:
    with httpx.Client(base_url=walk_url, timeout=60) as http:
        straight = assert_feature_collection(http.get(f"/within?{HERE}&radius_m=800"))
        walk = assert_feature_collection(http.get(f"/within?{HERE}&radius_m=800&mode=walk"))
    assert {f["id"] for f in straight["features"]} == {"a", "b"}
    assert [f["id"] for f in walk["features"]] == ["a"]
    assert walk["numberMatched"] == 1


def test_walk_mode_refuses_bad_values(walk_url: str) -> None:
    with httpx.Client(base_url=walk_url, timeout=60) as http:
        assert_problem(http.get(f"/nearest?{HERE}&mode=bike"), 400)
        body = assert_problem(http.get(f"/within?{HERE}&radius_m=20000&mode=walk"), 400)
    assert "radius_m" in body["detail"] or "max" in body["detail"]


def test_without_a_network_walks_are_estimates(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", init_from_demo=False, tile_url=None)
    _actors(settings)
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        walk = assert_feature_collection(http.get(f"/nearest?{HERE}&k=2&mode=walk"))
    assert walk["distance_method"] == "estimate"
    b = walk["features"][0]
    assert b["id"] == "b"  # straight line × 1.3: the order of straight lines
    assert b["properties"]["distance_m"] == pytest.approx(215 * 1.3, abs=0.2)
    assert b["properties"]["distance_method"] == "estimate"
