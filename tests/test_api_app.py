"""The API as FastAPI intends it: routers included, query parameter models, one answer per error,
HEAD wherever GET, ``essmap serve`` starting uvicorn from an import string.

Everything is read over HTTP from real uvicorn servers.
"""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api import create_app
from api.factory import EssmapRoute
from essmap.errors import InvalidParameterError
from essmap.index import SpatialIndex
from essmap.settings import Settings
from tests.api_support import assert_problem, background_server, wait_until_up

TOP = Path(__file__).resolve().parent.parent


# --- the app's structure -------------------------------------------------------------------------
def test_routers_are_included_with_the_head_aware_route_class(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    top = [type(route).__name__ for route in app.router.routes]
    assert "_IncludedRouter" in top  # include_router keeps each router, nothing copied by hand
    assert "APIRoute" not in top
    from api.openapi import api_routes

    routes = list(api_routes(app.routes))
    assert {r.path for r in routes} >= {"/nearest", "/within", "/locate", "/collections/actors/items"}
    assert all(isinstance(r, EssmapRoute) for r in routes)
    middleware = {m.cls.__name__ for m in app.user_middleware}  # type: ignore[attr-defined]
    assert middleware == {
        "CORSMiddleware",
        "TrustedHostMiddleware",
        "NoSniff",
        "UniqueVary",
    }  # no router bypass


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_library_never_imports_the_api_or_fastapi() -> None:
    found = {
        str(path.relative_to(TOP)): name
        for path in (TOP / "essmap").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in {"api", "fastapi", "starlette"}
    }
    assert found == {}


def test_fastapi_telemetry_is_off_unless_asked(tmp_path: Path) -> None:
    off = create_app(Settings(data_dir=tmp_path))
    on = create_app(Settings(data_dir=tmp_path, telemetry=True))
    config_off = off._native_telemetry.config
    config_on = on._native_telemetry.config
    assert not any(config_off[key] for key in ("tracing", "metrics", "logs", "operation_spans"))
    assert all(config_on[key] for key in ("tracing", "metrics", "logs", "operation_spans"))


# --- parameters ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/nearest?lon=-1.47&lat=43.49&colour=red", "colour"),
        ("/within?lon=-1.47&lat=43.49&radius_m=500&page=2", "page"),
        ("/locate?lon=-1.47&lat=43.49&radius_m=5", "radius_m"),
        ("/collections/actors/items?generation=2015", "generation"),
        ("/coverage?thresholds=400", "thresholds"),
        ("/map/planner.png?zoom=3", "zoom"),  # the HTML pages ignore unknown parameters (test_api_pages)
        ("/?colour=red", "colour"),
    ],
)
def test_an_unknown_parameter_is_a_400_problem_naming_it(client: httpx.Client, url: str, name: str) -> None:
    body = assert_problem(client.get(url), 400)
    assert [item["field"] for item in body["errors"]] == [name]
    assert "paramètre inconnu" in body["detail"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/nearest?lon=-1.47&lat=43.49&k=1&k=2", "k"),
        ("/nearest?lon=-1.47&lon=-1.48&lat=43.49", "lon"),
        ("/within?lon=-1.47&lat=43.49&radius_m=500&radius_m=600", "radius_m"),
        ("/within?lon=-1.47&lat=43.49&radius_m=500&limit=1&limit=5", "limit"),
        ("/locate?lon=-1.47&lat=43.49&lat=43.5", "lat"),
        ("/collections/actors/items?limit=1&limit=5", "limit"),
        ("/collections/qpv/items?offset=0&offset=10", "offset"),
        ("/coverage?f=json&f=csv", "f"),
        ("/suggestions?count=1&count=2", "count"),
        ("/map/planner?sites=1&sites=2", "sites"),
    ],
)
def test_a_single_valued_parameter_given_twice_is_a_400_problem(
    client: httpx.Client, url: str, name: str
) -> None:
    body = assert_problem(client.get(url), 400)
    assert [item["field"] for item in body["errors"]] == [name]
    assert "plusieurs fois" in body["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/nearest?lon=-1.47&lat=43.49&category=market&category=amap_delivery_point",
        "/within?lon=-1.47&lat=43.49&radius_m=900&category=market&category=urban_farm",
        "/coverage?threshold_m=400&threshold_m=800",
        "/embed?category=market&category=urban_farm",
    ],
)
def test_list_parameters_may_be_repeated(client: httpx.Client, url: str) -> None:
    assert client.get(url).status_code == 200


# --- errors are answered once ------------------------------------------------------------------
@pytest.fixture
def counted_nearest(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Calls of SpatialIndex.nearest, which raises what the test puts in ``raises``."""
    calls: list[str] = []
    original = SpatialIndex.nearest

    def nearest(self: SpatialIndex, lon: float, lat: float, **options: object) -> object:
        calls.append(f"{lon},{lat}")
        if lat == 43.0:
            raise RuntimeError("panne simulée")
        if lat == 44.0:
            raise InvalidParameterError("lat", "refusé par l'index")
        return original(self, lon, lat, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(SpatialIndex, "nearest", nearest)
    return calls


def test_every_error_is_answered_once(api_settings: Settings, counted_nearest: list[str]) -> None:
    with background_server(create_app(api_settings)) as url:
        # a fresh connection per request: the server closes one after answering a bug's 500
        http = httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0))
        bug = http.get("/nearest?lon=-1.47&lat=43.0")
        assert counted_nearest == ["-1.47,43.0"]  # the handler ran once
        body = assert_problem(bug, 500)
        assert "panne simulée" not in body["detail"]  # a bug's message is not shown to the client
        refused = http.get("/nearest?lon=-1.47&lat=44.0")
        assert counted_nearest == ["-1.47,43.0", "-1.47,44.0"]
        assert assert_problem(refused, 400)["errors"][0]["field"] == "lat"
        # a bad parameter never reaches the handler
        assert_problem(http.get("/nearest?lon=-1.47&lat=95"), 400)
        assert_problem(http.get("/nearest?lon=-1.47&lat=43.49&k=1&k=2"), 400)
        assert len(counted_nearest) == 2
        assert http.get("/nearest?lon=-1.47&lat=43.49").status_code == 200
        assert len(counted_nearest) == 3
        http.close()


# --- HEAD ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/nearest?lon=-1.47&lat=43.49&k=2",
        "/within?lon=-1.47&lat=43.49&radius_m=900",
        "/locate?lon=-1.47&lat=43.49",
        "/health",
        "/",
        "/conformance",
        "/collections",
        "/collections/actors/items?limit=3",
        "/collections/qpv/items/2024-QN06401I",
        "/coverage?f=csv",
        "/openapi.json",
        "/map",
    ],
)
def test_head_answers_wherever_get_does_with_the_same_headers_and_no_body(
    client: httpx.Client, url: str
) -> None:
    got = client.get(url)
    head = client.head(url)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "cache-control", "x-content-type-options"):
        assert head.headers.get(name) == got.headers.get(name), name


def test_head_errors_like_get_and_stays_out_of_the_openapi_document(client: httpx.Client) -> None:
    assert client.head("/nearest?lon=-1.47&lat=95").status_code == 400
    assert client.head("/collections/nope").status_code == 404
    doc = client.get("/openapi.json").json()
    assert not [path for path, operations in doc["paths"].items() if "head" in operations]
    refused = client.put("/nearest")
    assert_problem(refused, 405)
    assert refused.headers["allow"] == "GET, HEAD"
    assert client.request("PATCH", "/locate").headers["allow"] == "GET, HEAD, POST"


# --- essmap serve ----------------------------------------------------------------------------------
@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_two_workers(api_settings: Settings, free_port: int) -> None:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(api_settings.data_dir)}
    command = [sys.executable, "-m", "essmap", "serve", "--port", str(free_port), "--workers", "2"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=TOP)
    url = f"http://127.0.0.1:{free_port}"
    try:
        wait_until_up(url, proc)
        for _ in range(20):  # new connections: the kernel hands them to either worker
            with httpx.Client(base_url=url, timeout=30) as fresh:
                answer = fresh.get("/nearest?lon=-1.47&lat=43.49&k=2")
                assert answer.status_code == 200
                assert len(answer.json()["features"]) == 2
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/nearest?lon=-1.47&lat=95").status_code == 400
            head = client.head("/nearest?lon=-1.47&lat=43.49")
            assert head.status_code == 200
            assert head.content == b""
            assert int(head.headers["content-length"]) > 0
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    text = out.decode()
    assert "2 processus serveurs" in text
    assert "Noms d'hôte acceptés : localhost, 127.0.0.1" in text
    pids = {line.split("[")[-1].rstrip("]") for line in text.splitlines() if "Started server process" in line}
    assert len(pids) == 2, text
    # essmap's own log goes where uvicorn's does: each process says what it built and how long it took
    assert re.search(r"INFO: +built .* for store revision \S+ in \d+\.\d\d s", text), text
