"""Support for the API tests: real uvicorn servers (in a thread or a process) on a temporary data
directory, and assertions on RFC 9457 problems and GeoJSON collections.

The usual fixtures (``api_options``, ``api_settings``, ``api_url``, ``client``) are in
tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import shapely
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from essmap.importing import import_qpv, open_seeded_store
from essmap.model import actor_frame
from essmap.settings import Settings
from tests.conftest import OCCITANIE_QPV

#: Actors added to the demo set: two on each side of the antimeridian (Fiji) and one unlocated,
#: verified on different days (the demo actors have no verification date).
EXTRA_ACTORS = pd.DataFrame(
    {
        "id": ["fiji-east", "fiji-west", "unlocated-extra"],
        "name": ["Marché de Taveuni (est)", "Marché de Rabi (ouest)", "Association sans adresse"],
        "category": ["market", "market", "association"],
        "location_precision": ["exact", "exact", "none"],
        "last_verified": ["2019-06-30", "2021-03-15", "2020-01-01"],
    }
)
EXTRA_POINTS = [shapely.Point(179.9, -16.8), shapely.Point(-179.95, -16.5), None]


#: Schedules given to demo actors in the residents' tests (the demo set gives none that can be read).
RESIDENT_SCHEDULES = {
    "amap-patxoki": "mar 18:30-19:30 (au local du Patxoki)",
    "amap-mvc-balichon": "jeu 18h-19h30",
}


def add_resident_data(settings: Settings, folder: Path) -> Path:
    """Import the BAN-format test addresses (tests/ban_support.SMALL_SET) and give two demo
    actors a weekly schedule; returns the address file written."""
    from essmap.importing import import_addresses
    from tests.ban_support import SMALL_SET, ban_rows, write_ban

    folder.mkdir(parents=True, exist_ok=True)
    path = write_ban(folder / "adresses-64.csv", ban_rows(SMALL_SET))
    store = open_seeded_store(settings)
    try:
        import_addresses(store, path)
        actors = store.load_actors()
        chosen = actors[actors["id"].isin(list(RESIDENT_SCHEDULES))].copy()
        chosen["schedule"] = chosen["id"].map(RESIDENT_SCHEDULES)
        fields = pd.DataFrame(chosen.drop(columns="geometry"))
        store.upsert_actors(actor_frame(fields, chosen.geometry.values))
    finally:
        store.close()
    return path


def populate(data_dir: Path, **options: object) -> Settings:
    """Demo set (2 QPVs 2024, 15 actors) + the 105 real Occitanie QPVs of 2015 + 3 extra actors."""
    settings = Settings(data_dir=data_dir, **options)
    store = open_seeded_store(settings)
    import_qpv(store, OCCITANIE_QPV, generation=2015)
    store.upsert_actors(actor_frame(EXTRA_ACTORS, EXTRA_POINTS))
    store.close()
    return settings


@contextlib.contextmanager
def background_server(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run a real uvicorn server in a thread; yields its base URL (``http://host:port``).

    With ``port=0`` the system picks a free port: the socket is bound here and handed to uvicorn,
    so no other process can take the port in between. The server is stopped on exit.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    # as `essmap serve` does without ESSMAP_FORWARDED_ALLOW_IPS: no X-Forwarded-* header is trusted
    config = uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the API server stopped while starting (see the log above)")
        if time.monotonic() > deadline:
            raise TimeoutError("the API server did not start within 60 s")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


_LAUNCHER = """
import socket, sys
import uvicorn
from api.main import app
sock = socket.socket(fileno=int(sys.argv[1]))
uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False)).run(sockets=[sock])
"""


@contextlib.contextmanager
def server_process(settings: Settings, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``api.main:app`` with uvicorn in a separate process on a free port; yields its base URL.

    Needed for clients that block the interpreter while they wait for the server (GDAL's HTTP
    reads through pyogrio hold the GIL, which would freeze a server running in a thread), and for
    several server processes on one store. Settings reach the process as ESSMAP_* environment
    variables.
    """
    proc, url = start_server_process(settings, host=host)
    try:
        wait_until_up(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_server_process(
    settings: Settings, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``api.main:app`` in a new process listening on ``port`` (a free one for 0); the caller
    waits for it (:func:`wait_until_up`) and stops it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    env = {**os.environ, **settings_env(settings)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(sock.fileno())],
        pass_fds=(sock.fileno(),),
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    sock.close()
    return proc, f"http://{host}:{bound}"


def settings_env(settings: Settings) -> dict[str, str]:
    """ESSMAP_* variables that reproduce the fields of ``settings`` that differ from the defaults."""
    defaults = Settings(data_dir=settings.data_dir)
    env = {"ESSMAP_DATA_DIR": str(settings.data_dir)}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value != getattr(defaults, name):
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"ESSMAP_{name.upper()}"] = (
                ",".join(map(str, value)) if isinstance(value, list) else str(value)
            )
    return env


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API server exited with status {proc.returncode} while starting")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the API server at {url} did not answer within {timeout_s} s")


# --- assertions ---------------------------------------------------------------------------------
def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The body of an RFC 9457 problem answered with ``status`` (checked)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def assert_feature_collection(response: httpx.Response) -> dict[str, Any]:
    """The body of a GeoJSON FeatureCollection answered with 200 (checked)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "FeatureCollection"
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["id"], str)
        assert isinstance(feature["properties"], dict)
        assert feature["geometry"] is None or feature["geometry"]["type"] in {
            "Point",
            "Polygon",
            "MultiPolygon",
        }
    return body


def link(body: dict[str, Any], rel: str) -> str | None:
    """The href of the first link of relation ``rel``, or None."""
    hrefs = [item["href"] for item in body["links"] if item["rel"] == rel]
    return hrefs[0] if hrefs else None
