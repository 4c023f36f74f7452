"""Availability (issue 10, item 1): every answer is bounded, heavy work runs off the event loop in a
bounded number of slots, and a hostile body is a 400, not a 500.

Read over HTTP from a real uvicorn server. Speed targets are not asserted here (they live in
bench/bench_abuse.py); what is asserted is the bounds, the streaming, and that heavy requests
queue for their slots while the server keeps answering others.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from essmap.index import SpatialIndex
from tests.api_support import assert_problem

BAYONNE = (-1.47, 43.49)
MAX_POINTS = 500
MAX_RESULTS = 1200  # points x k


@pytest.fixture(scope="module")
def api_options() -> dict[str, object]:
    return {"max_batch_points": MAX_POINTS, "max_batch_results": MAX_RESULTS, "heavy_concurrency": 1}


def points(n: int, *, start: tuple[float, float] = BAYONNE) -> bytes:
    features = [
        {
            "type": "Feature",
            "id": f"p{i}",
            "geometry": {"type": "Point", "coordinates": [start[0] + i * 1e-4, start[1]]},
        }
        for i in range(n)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def post_points(client: httpx.Client, body: bytes, query: str = "") -> httpx.Response:
    return client.post(f"/locate{query}", content=body, headers={"Content-Type": "application/geo+json"})


# --- bounded answers -------------------------------------------------------------------------------
def test_batch_answers_are_bounded_by_points_times_k(client: httpx.Client) -> None:
    at_limit = post_points(client, points(MAX_RESULTS // 3), "?k=3")
    assert at_limit.status_code == 200, at_limit.text
    assert at_limit.json()["count"] == MAX_RESULTS // 3
    too_many = assert_problem(post_points(client, points(MAX_RESULTS // 3 + 1), "?k=3"), 413)
    assert "max_batch_results" in too_many["detail"]
    assert str(MAX_RESULTS) in too_many["detail"]
    over_points = assert_problem(post_points(client, points(MAX_POINTS + 1)), 413)
    assert "max_batch_points" in over_points["detail"]


def test_batch_answers_are_streamed_in_order(client: httpx.Client) -> None:
    n = MAX_RESULTS // 4  # several chunks at k = 4
    with client.stream(
        "POST", "/locate?k=4", content=points(n), headers={"Content-Type": "application/geo+json"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in r.headers
        body = json.loads(r.read())
    assert body["count"] == n
    assert [item["index"] for item in body["results"]] == list(range(n))
    assert [item["ref"] for item in body["results"]] == [f"p{i}" for i in range(n)]
    assert all(len(item["nearest_supply"]) == 4 for item in body["results"])
    # the same answers as one point at a time
    one = client.get(f"/locate?lon={BAYONNE[0] + 7e-4}&lat={BAYONNE[1]}&k=4").json()
    assert body["results"][7]["nearest_supply"] == one["nearest_supply"]
    as_csv = post_points(client, points(n), "?k=4&f=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert len(lines) == n + 1
    assert lines[0].startswith("index,ref,lon,lat,")


def test_within_answers_one_page_whatever_the_radius(client: httpx.Client) -> None:
    response = client.get(f"/within?lon={BAYONNE[0]}&lat={BAYONNE[1]}&radius_m=50000&limit=100000")
    body = response.json()
    assert response.status_code == 200
    assert body["numberReturned"] == len(body["features"]) <= 1000  # items_max_limit
    assert body["numberMatched"] >= body["numberReturned"]


# --- hostile bodies --------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_a_deeply_nested_json_body_is_a_400_problem(client: httpx.Client, depth: int) -> None:
    body = ("[" * depth + "]" * depth).encode()
    problem = assert_problem(post_points(client, body), 400)
    assert "JSON" in problem["detail"]
    nested = ('{"type":"FeatureCollection","features":' + "[" * depth + "]" * depth + "}").encode()
    assert_problem(post_points(client, nested), 400)


def test_every_bad_point_of_a_geojson_batch_is_named(client: httpx.Client) -> None:
    features: list[Any] = json.loads(points(5))["features"]
    features[1]["geometry"]["coordinates"] = [-1.47, 95.0]
    features[3]["geometry"]["coordinates"] = [200.0, 43.0]
    features[4]["geometry"] = None
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    problem = assert_problem(post_points(client, body), 400)
    # feature numbers from 1, as imports name them
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [(2, "lat"), (4, "lon"), (5, "geometry")]


# --- heavy work queues for its slots; the server keeps answering -----------------------------------
@pytest.fixture
def overlap(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The most calls of SpatialIndex.nearest_bulk running at once (each made to last 20 ms)."""
    seen = {"now": 0, "most": 0, "calls": 0}
    lock = threading.Lock()
    real = SpatialIndex.nearest_bulk

    def nearest_bulk(self: SpatialIndex, *args: Any, **kwargs: Any) -> Any:
        with lock:
            seen["now"] += 1
            seen["calls"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            time.sleep(0.02)  # releases the interpreter, as numpy and the trees do
            return real(self, *args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(SpatialIndex, "nearest_bulk", nearest_bulk)
    return seen


def test_heavy_requests_wait_for_a_slot_while_others_are_answered(
    client: httpx.Client, api_url: str, overlap: dict[str, int]
) -> None:
    body = points(MAX_RESULTS // 100)  # 12 points at k = 100: 6 chunks of 2000 answers at most
    quick: list[float] = []

    def heavy(_: int) -> int:
        with httpx.Client(base_url=api_url, timeout=120) as own:
            return post_points(own, body, "?k=100").status_code

    with ThreadPoolExecutor(8) as pool:
        batches = [pool.submit(heavy, i) for i in range(8)]
        while not all(b.done() for b in batches):
            started = time.perf_counter()
            assert client.get("/health").status_code == 200
            assert client.get(f"/nearest?lon={BAYONNE[0]}&lat={BAYONNE[1]}").status_code == 200
            quick.append(time.perf_counter() - started)
        assert [b.result() for b in batches] == [200] * 8
    assert overlap["calls"] >= 8
    assert overlap["most"] == 1  # heavy_concurrency = 1: one chunk computing at a time
    assert len(quick) >= 2  # answered while the batches were queued and computed
