"""The app's one cache (issue 10, item 2): after a data change, the spatial index is rebuilt once,
by one thread, while every request keeps being answered from the previous revision.

A real uvicorn server on a data directory of the test's own; the data change is an upsert into
the same store, as an import by the CLI would do. ``build_index`` is wrapped to count its calls
and, when the test closes a gate, to wait before building.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pytest
import shapely

import api.layers
from api import create_app
from essmap.index import SpatialIndex
from essmap.model import actor_frame
from essmap.settings import Settings
from essmap.store import Store, open_store
from tests.api_support import background_server, populate

NEW = (-1.4601, 43.4952)  # where the new actor is added: nothing else is this close
NEAREST_NEW = f"/nearest?lon={NEW[0]}&lat={NEW[1]}&k=1"


@dataclass
class CountedBuilds:
    """Calls of build_index; while ``gate`` is clear, a build waits for it."""

    calls: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> CountedBuilds:
    counted = CountedBuilds()
    counted.gate.set()
    real = api.layers.build_index

    def build_index(
        store: Store, settings: Settings, *, actors: gpd.GeoDataFrame | None = None
    ) -> SpatialIndex:
        counted.calls += 1
        counted.started.set()
        assert counted.gate.wait(60), "the test never opened the gate"
        return real(store, settings, actors=actors)

    monkeypatch.setattr(api.layers, "build_index", build_index)
    return counted


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Settings, object]]:
    settings = populate(tmp_path / "data")
    app = create_app(settings)
    with background_server(app) as url:
        yield url, settings, app


def add_actor(settings: Settings) -> None:
    store = open_store(settings)
    frame = pd.DataFrame({"id": ["nouveau-marche"], "name": ["Nouveau marché"], "category": ["market"]})
    store.upsert_actors(actor_frame(frame, [shapely.Point(*NEW)]))
    store.close()


def nearest_id(url: str) -> str:
    response = httpx.get(url + NEAREST_NEW, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["features"][0]["id"])


def test_requests_after_a_change_are_answered_from_the_old_index_while_one_build_runs(
    builds: CountedBuilds, served: tuple[str, Settings, object]
) -> None:
    url, settings, app = served
    assert builds.calls == 1  # at start-up
    before = nearest_id(url)
    assert before != "nouveau-marche"
    builds.gate.clear()
    builds.started.clear()
    add_actor(settings)
    with ThreadPoolExecutor(12) as pool:
        # 12 requests at once, then 48 more, all while the new index cannot be finished: each is
        # answered at once (timeout 10 s) from the previous revision
        answers = list(pool.map(lambda _: nearest_id(url), range(60)))
    assert builds.started.wait(10)
    assert set(answers) == {before}
    assert builds.calls == 2  # one rebuild for all of them
    builds.gate.set()
    deadline = time.monotonic() + 60
    while nearest_id(url) != "nouveau-marche":
        assert time.monotonic() < deadline, "the new index was never used"
        time.sleep(0.05)
    assert builds.calls == 2
    assert app.state.cache.builds[("proximity",)] == 2  # type: ignore[attr-defined]


def test_requests_for_a_value_never_built_wait_for_one_build(
    served: tuple[str, Settings, object],
) -> None:
    url, _, app = served
    query = "/coverage?threshold_m=321&f=csv"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: httpx.get(url + query, timeout=60), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert len({a.headers["etag"] for a in answers}) == 1
    keys = [key for key in app.state.cache.builds if key[0] == "coverage"]  # type: ignore[attr-defined]
    assert keys == [("coverage", "straight", (321.0,), keys[0][3], True)]
    assert app.state.cache.builds[keys[0]] == 1  # type: ignore[attr-defined]
