"""The direct routes (api/direct.py): the hot GET operations answered before the router.

The dispatcher must answer exactly what the router answers (status, headers, body), including on
errors, which it hands back to the router; a bug in a handler stays a logged 500. Also: the
query-string splitter, the telemetry setting, and ``essmap serve --workers``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from api import create_app
from api.direct import DirectRoutes
from api.query import query_pairs
from essmap.index import SpatialIndex
from essmap.settings import Settings
from tests.api_support import background_server, populate, wait_until_up

QUERIES = [
    "/nearest?lon=-1.47&lat=43.49",
    "/nearest?lon=-1.47&lat=43.49&k=7&category=market&category=amap_delivery_point",
    "/nearest?lon=-1.47&lat=43.49&k=2&max_distance_m=900",
    "/nearest?lon=1.4002&lat=43.5693&k=1",
    "/within?lon=-1.47&lat=43.49&radius_m=1500",
    "/within?lon=-1.47&lat=43.49&radius_m=800&category=cooperative_grocery",
    "/locate?lon=-1.4670&lat=43.4990",
    "/locate?lon=-1.47&lat=43.49&k=5",
    "/nearest?lon=-1.47%20&lat=43%2E49&k=+2",  # escaped: split by parse_qsl
    # errors: the dispatcher hands them to the router
    "/nearest?lon=-1.47&lat=95",
    "/nearest?lon=-1.47&lat=43.49&k=0",
    "/nearest?lon=-1.47&lat=43.49&colour=blue",
    "/within?lon=-1.47&lat=43.49",
    "/locate?lon=abc&lat=43.49",
    "/nearest?lon=-1.47&lat=43.49&k=2&k=3",
]


def _scope(app: FastAPI, url: str, method: str = "GET") -> dict[str, Any]:
    path, _, query = url.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "app": app,
        "state": {},
    }


async def _call(asgi: Any, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await asgi(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], list(start.get("headers", [])), body


async def _started(app: FastAPI) -> None:
    """Run the app's start-up (store, collections, spatial index) as a server would."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})
    done = asyncio.Event()

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            assert message["type"] == "lifespan.startup.complete", message
            done.set()

    asyncio.get_running_loop().create_task(app({"type": "lifespan", "state": {}}, queue.get, send))
    await done.wait()


def in_own_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main`` in a fresh event loop on its own thread (a browser test may hold this one's)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed back to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return populate(tmp_path_factory.mktemp("direct") / "data")


def test_direct_routes_answer_exactly_what_the_router_answers(settings: Settings) -> None:
    async def run() -> None:
        app = create_app(settings)
        await _started(app)
        assert app.middleware_stack is not None
        layer: Any = app.middleware_stack
        while not isinstance(layer, DirectRoutes):
            layer = layer.app
        assert set(layer.routes) == {"/nearest", "/within", "/locate"}
        statuses = []
        for url in QUERIES:
            direct = await _call(layer, _scope(app, url))
            routed = await _call(layer.app, _scope(app, url))  # the router, behind the dispatcher
            assert direct == routed, url
            statuses.append(direct[0])
            if direct[0] == 200:
                assert direct[2].startswith(b"{"), url
        assert statuses[:9] == [200] * 9
        assert set(statuses[9:]) == {400}

    in_own_loop(run)


def test_a_bug_in_a_direct_handler_is_a_500_problem(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(SpatialIndex, "nearest", broken)
    with background_server(create_app(settings)) as url:
        response = httpx.get(f"{url}/nearest?lon=-1.47&lat=43.49", timeout=30)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 500
    assert "panne simulée" not in response.text  # a bug's message is not shown to the client
    assert len(calls) == 2  # tried by the dispatcher, then answered by the router


pieces = st.text(alphabet="ab=&%+2 éx;", max_size=30)


@given(pieces)
def test_query_pairs_equal_parse_qsl(text: str) -> None:
    raw = text.encode("utf-8")
    assert query_pairs(raw) == parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8")


def test_fastapi_telemetry_is_off_unless_asked(tmp_path: Path) -> None:
    off = create_app(Settings(data_dir=tmp_path))
    on = create_app(Settings(data_dir=tmp_path, telemetry=True))
    config_off = off._native_telemetry.config
    config_on = on._native_telemetry.config
    assert not any(config_off[key] for key in ("tracing", "metrics", "logs", "operation_spans"))
    assert all(config_on[key] for key in ("tracing", "metrics", "logs", "operation_spans"))


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_two_workers(settings: Settings, free_port: int) -> None:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(settings.data_dir)}
    command = [sys.executable, "-m", "essmap", "serve", "--port", str(free_port), "--workers", "2"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{free_port}"
    try:
        wait_until_up(url, proc)
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(20):  # new connections: the kernel hands them to either worker
                with httpx.Client(base_url=url, timeout=30) as fresh:
                    answer = fresh.get("/nearest?lon=-1.47&lat=43.49&k=2")
                    assert answer.status_code == 200
                    assert len(answer.json()["features"]) == 2
            assert client.get("/nearest?lon=-1.47&lat=95").status_code == 400
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    text = out.decode()
    assert "2 processus serveurs" in text
    pids = {line.split("[")[-1].rstrip("]") for line in text.splitlines() if "Started server process" in line}
    assert len(pids) == 2, text
