"""Server processes and one store (issue 11), on both stores: acknowledged writes survive a SIGKILL
of the server mid-stream, and a change written through one process is answered by another within
a second. The servers are real processes (tests/api_support.py: start_server_process)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from essmap.settings import Settings
from essmap.store import open_store
from tests.api_support import server_process, start_server_process, wait_until_up
from tests.test_api_edits import ITEMS, seed

#: Writers sending at once, and the acknowledged writes after which the server is killed.
WRITERS = 3
KILL_AFTER = 24


def _feature(actor_id: str) -> dict[str, Any]:
    n = int(actor_id.rsplit("-", 1)[1])
    return {
        "type": "Feature",
        "id": actor_id,
        "geometry": {"type": "Point", "coordinates": [-1.47 + n * 1e-4, 43.49]},
        "properties": {
            "name": f"Acteur {actor_id}",
            "category": "association",
            # a long field, so that a write is not one small row
            "description": (f"{actor_id} " + "circuit court solidaire " * 200).strip(),
        },
    }


@pytest.fixture
def settings(any_settings: Settings) -> Settings:
    return any_settings.model_copy(update={"tile_url": None, "writes_per_minute": 100_000})


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    return seed(settings)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_every_acknowledged_write_survives_a_sigkill_and_none_is_partial(
    settings: Settings, keys: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {keys['editor']}"}
    proc, url = start_server_process(settings)
    acknowledged: list[str] = []
    unanswered: list[str] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for n in range(10_000):
                actor_id = f"crash-{w}-{n}"
                try:
                    response = http.post(ITEMS, json=_feature(actor_id), headers=auth)
                except httpx.TransportError:
                    with lock:
                        unanswered.append(actor_id)
                    return
                assert response.status_code == 201, response.text
                with lock:
                    acknowledged.append(actor_id)

    try:
        wait_until_up(url, proc)
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.005)
        _kill(proc)  # mid-stream: the writers are sending
        for thread in threads:
            thread.join(timeout=60)
    finally:
        _kill(proc)
    assert len(acknowledged) >= KILL_AFTER
    assert unanswered, "every writer should have lost its connection to the killed server"

    with server_process(settings) as again, httpx.Client(base_url=again, timeout=30) as http:
        for actor_id in acknowledged:
            response = http.get(f"{ITEMS}/{actor_id}")
            assert response.status_code == 200, f"acknowledged write {actor_id} is lost"
            sent = _feature(actor_id)
            assert response.json()["properties"]["description"] == sent["properties"]["description"]
            assert response.json()["geometry"]["coordinates"] == sent["geometry"]["coordinates"]
        served = {f["id"] for f in http.get(ITEMS, params={"limit": 1000}).json()["features"]}
        assert set(acknowledged) <= served
    # no partial write: each actor is there with its history entry, or neither is
    store = open_store(settings)
    try:
        actors = store.load_actors()
        present = {i for i in actors["id"] if str(i).startswith("crash-")}
        for actor_id in [*acknowledged, *unanswered]:
            history = store.actor_history(actor_id)
            if actor_id in present:
                assert [c.action for c in history] == ["create"]
                record = store.get_actor(actor_id)
                assert record.fields["description"] == _feature(actor_id)["properties"]["description"]
            else:
                assert history == [], f"{actor_id}: a history entry without its actor"
        assert present <= set(acknowledged) | set(unanswered)
    finally:
        store.close()


@pytest.fixture
def two_servers(settings: Settings, keys: dict[str, str]) -> Iterator[tuple[str, str]]:
    with server_process(settings) as first, server_process(settings) as second:
        yield first, second


def _answered_within(check: Any, timeout_s: float) -> float:
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            return float("inf")
        time.sleep(0.02)


def test_a_change_through_one_process_is_answered_by_the_other_within_1s(
    two_servers: tuple[str, str], keys: dict[str, str]
) -> None:
    writer_url, reader_url = two_servers
    auth = {"Authorization": f"Bearer {keys['editor']}"}
    with (
        httpx.Client(base_url=writer_url, timeout=30) as writer,
        httpx.Client(base_url=reader_url, timeout=30) as reader,
    ):
        # the reader has built its index and collections already
        assert reader.get("/nearest", params={"lon": -1.3, "lat": 43.6, "k": 1}).status_code == 200
        before = {f["id"] for f in reader.get(ITEMS, params={"limit": 1000}).json()["features"]}
        place = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-1.3, 43.6]},
            "properties": {"name": "Ferme du bout du monde", "category": "urban_farm"},
        }
        assert writer.post(ITEMS, json=place, headers=auth).status_code == 201
        assert "ferme-du-bout-du-monde" not in before

        def reader_answers_it() -> bool:
            feature = reader.get(f"{ITEMS}/ferme-du-bout-du-monde")
            items = {f["id"] for f in reader.get(ITEMS, params={"limit": 1000}).json()["features"]}
            nearest = reader.get("/nearest", params={"lon": -1.3, "lat": 43.6, "k": 1}).json()
            return (
                feature.status_code == 200
                and "ferme-du-bout-du-monde" in items
                and nearest["features"][0]["id"] == "ferme-du-bout-du-monde"
            )

        assert _answered_within(reader_answers_it, 5) <= 1.0

        etag = writer.get(f"{ITEMS}/ferme-du-bout-du-monde").headers["etag"]
        renamed = writer.patch(
            f"{ITEMS}/ferme-du-bout-du-monde",
            json={"properties": {"name": "Ferme du Bout du Monde"}},
            headers={**auth, "If-Match": etag},
        )
        assert renamed.status_code == 200

        def reader_answers_the_change() -> bool:
            found = reader.get("/nearest", params={"lon": -1.3, "lat": 43.6, "k": 1}).json()["features"][0]
            return bool(found["properties"]["name"] == "Ferme du Bout du Monde")

        assert _answered_within(reader_answers_the_change, 5) <= 1.0
