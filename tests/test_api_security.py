"""Hosts, proxies and headers (issue 10, items 13 to 15), over HTTP from real uvicorn servers.

- Links never come from an unchecked Host header: from ESSMAP_PUBLIC_URL when set, else only the
  trusted hosts are answered; ETags vary with the base URL of the links.
- X-Forwarded-* headers are trusted only from the configured proxies (``essmap serve``).
- A 503 does not disclose the store's path (the log has it).
- Every answer has ``X-Content-Type-Options: nosniff`` (pages' CSP: tests/test_api_pages.py).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api import create_app
from essmap.settings import Settings
from tests.api_support import assert_problem, background_server, link, populate, wait_until_up

TOP = Path(__file__).resolve().parent.parent


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


# --- Host header ------------------------------------------------------------------------------------
def test_an_untrusted_host_is_refused_and_never_reflected(client: httpx.Client) -> None:
    for path in ("/", "/collections", "/collections/actors/items?limit=2", "/nearest?lon=-1.47&lat=43.49"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 400
        assert "evil.example" not in response.text
        assert "etag" not in response.headers
        assert "cache-control" not in response.headers


def test_trusted_hosts_get_links_and_etags_of_their_own(client: httpx.Client, api_url: str) -> None:
    port = _port(api_url)
    by_host = {}
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        response = client.get("/collections", headers={"Host": host})
        assert response.status_code == 200
        assert link(response.json(), "self") == f"http://{host}/collections"
        by_host[host] = response.headers["etag"]
        # the same host again: the same representation
        assert client.get("/collections", headers={"Host": host}).headers["etag"] == by_host[host]
    assert len(set(by_host.values())) == 2  # a cache never serves one host's links to the other


def test_links_come_from_the_public_url_whatever_the_host(api_settings: Settings) -> None:
    public = "https://essmap.example.org/api"
    settings = api_settings.model_copy(update={"public_url": public + "/"})
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url) as http:
        for host in ("evil.example", f"127.0.0.1:{_port(url)}"):
            landing = http.get("/", headers={"Host": host, "Accept": "application/json"})
            assert landing.status_code == 200
            hrefs = [item["href"] for item in landing.json()["links"]]
            assert all(href.startswith(public + "/") for href in hrefs), hrefs
            items = http.get("/collections/qpv/items?limit=5", headers={"Host": host}).json()
            assert link(items, "next") == f"{public}/collections/qpv/items?limit=5&offset=5"
        etags = {
            http.get("/collections", headers={"Host": h}).headers["etag"] for h in ("a.example", "b.example")
        }
        assert len(etags) == 1  # the body does not vary with the Host header, nor does its ETag


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("proxies", "scheme"), [(None, "http"), ("127.0.0.1", "https")])
def test_forwarded_headers_are_trusted_only_from_configured_proxies(
    api_settings: Settings, free_port: int, proxies: str | None, scheme: str
) -> None:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(api_settings.data_dir)}
    env.pop("ESSMAP_FORWARDED_ALLOW_IPS", None)
    env.pop("FORWARDED_ALLOW_IPS", None)
    if proxies:
        env["ESSMAP_FORWARDED_ALLOW_IPS"] = proxies
    command = [sys.executable, "-m", "essmap", "serve", "--port", str(free_port), "--no-access-log"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=TOP)
    url = f"http://127.0.0.1:{free_port}"
    try:
        wait_until_up(url, proc)
        response = httpx.get(f"{url}/collections", headers={"X-Forwarded-Proto": "https"}, timeout=30)
        assert link(response.json(), "self") == f"{scheme}://127.0.0.1:{free_port}/collections"
    finally:
        proc.terminate()
        proc.wait(timeout=60)


# --- 503 ------------------------------------------------------------------------------------------
def test_a_broken_store_is_a_503_that_does_not_disclose_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = populate(tmp_path / "data")
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/nearest?lon=-1.47&lat=43.49").status_code == 200
        settings.store_path.write_bytes(b"ceci n'est pas un GeoPackage" * 100)
        with caplog.at_level(logging.WARNING):
            body = assert_problem(http.get("/coverage?threshold_m=123"), 503)  # never built before
        assert str(tmp_path) not in str(body)
        assert "essmap.gpkg" not in str(body)
        assert body["detail"] == "les données sont momentanément indisponibles ; réessayez plus tard"
        assert str(settings.store_path) in caplog.text  # the operator finds it in the log
        # what was built before is still answered
        assert http.get("/nearest?lon=-1.47&lat=43.49").status_code == 200


# --- nosniff ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/health", 200),
        ("HEAD", "/nearest?lon=-1.47&lat=43.49", 200),
        ("GET", "/collections/actors/items?limit=2", 200),
        ("GET", "/nearest?lon=-1.47&lat=95", 400),
        ("GET", "/collections/nope", 404),
        ("PUT", "/health", 405),
        ("GET", "/maps/urlstate.js", 200),
        ("GET", "/docs/assets/swagger-ui.css", 200),
        ("POST", "/locate", 415),
    ],
)
def test_every_answer_forbids_content_sniffing(
    client: httpx.Client, method: str, url: str, status: int
) -> None:
    response = client.request(method, url)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"


def test_not_modified_and_refused_hosts_forbid_content_sniffing_too(client: httpx.Client) -> None:
    first = client.get("/collections")
    again = client.get("/collections", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["x-content-type-options"] == "nosniff"
    refused = client.get("/health", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert refused.headers["x-content-type-options"] == "nosniff"


# --- CSV formula injection (issue 10, item 11) --------------------------------------------------------
FORMULAS = ('=HYPERLINK("http://evil.example","clic")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")


def _csv_cells(text: str) -> list[str]:
    import csv
    import io

    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_csv_answers_neutralise_formulas(tmp_path: Path) -> None:
    import pandas as pd
    import shapely

    from essmap.model import actor_frame, neighbourhood_frame
    from essmap.store import open_store

    settings = populate(tmp_path / "data")
    store = open_store(settings)
    names = list(FORMULAS)
    store.upsert_actors(
        actor_frame(
            pd.DataFrame({"id": [f"f{i}" for i in range(4)], "name": names, "category": ["market"] * 4}),
            [shapely.Point(-1.47 + i * 1e-4, 43.49) for i in range(4)],
        )
    )
    square = shapely.MultiPolygon([shapely.box(-1.48, 43.48, -1.475, 43.485)])
    frame = pd.DataFrame({"code": ["QNX"], "name": [FORMULAS[1]], "generation": [2024]})
    store.upsert_neighbourhoods(neighbourhood_frame(frame, [square]))
    store.close()
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        batch = http.post(
            "/locate?f=csv&k=1",
            content="id,lon,lat\na,-1.47,43.49\nb,-1.4699,43.49\n",
            headers={"content-type": "text/csv"},
        )
        assert batch.status_code == 200
        coverage = http.get("/coverage?f=csv&threshold_m=400")
        assert coverage.status_code == 200
    for text in (batch.text, coverage.text):
        cells = _csv_cells(text)
        assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not _number(c))]
    assert "'" + FORMULAS[0] in _csv_cells(batch.text)  # the text is kept, behind a quote
    assert "'" + FORMULAS[1] in _csv_cells(coverage.text)
    assert "-1.47" in _csv_cells(batch.text)  # numbers stay numbers


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
