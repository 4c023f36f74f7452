"""The rules of edits and proposals in detail (replace, merge patch, delete and restore, verify,
If-Match, rate limits, client addresses behind proxies, honeypot, the moderation and contribution
pages), on the embedded store; tests/test_api_edits.py runs the main cases on both stores."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api import create_app
from essmap.settings import Settings
from essmap.store import open_store
from tests.api_support import assert_problem, background_server
from tests.test_api_edits import ITEMS, NEW_PLACE, Server, seed


def _server(settings: Settings) -> Iterator[Server]:
    keys = seed(settings)
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield Server(http, keys, settings)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: each test edits actors of its own."""
    yield from _server(Settings(data_dir=tmp_path_factory.mktemp("edits") / "data", tile_url=None))


def _etag(server: Server, actor_id: str) -> str:
    return server.http.get(f"{ITEMS}/{actor_id}").headers["etag"]


def test_changes_need_if_match_and_refuse_a_stale_one(server: Server) -> None:
    http = server.http
    url = f"{ITEMS}/amap-saint-esprit"
    for method in ("PUT", "PATCH", "DELETE"):
        body = NEW_PLACE if method == "PUT" else ({"properties": {}} if method == "PATCH" else None)
        response = http.request(method, url, json=body, headers=server.auth())
        assert_problem(response, 428)
        assert "If-Match" in response.json()["detail"]
        stale = http.request(method, url, json=body, headers=server.auth(**{"If-Match": '"999-00000000"'}))
        assert_problem(stale, 412)
    assert_problem(
        http.patch(f"{ITEMS}/no-such-actor", json={}, headers=server.auth(**{"If-Match": "*"})), 404
    )
    assert http.get(url).status_code == 200


def test_put_replaces_patch_merges_and_unknown_fields_are_refused(server: Server) -> None:
    http = server.http
    created = http.post(
        ITEMS,
        json={
            **NEW_PLACE,
            "properties": {
                **NEW_PLACE["properties"],
                "name": "Marché du Petit Bayonne",
                "category": "market",
                "phone": "05 59 11 22 33",
            },
        },
        headers=server.auth(),
    )
    assert created.status_code == 201, created.text
    url = f"{ITEMS}/marche-du-petit-bayonne"
    patched = http.patch(
        url,
        json={"properties": {"schedule": "sam 8h-13h", "phone": None}, "geometry": None},
        headers=server.auth(
            **{"If-Match": created.headers["etag"], "Content-Type": "application/merge-patch+json"}
        ),
    )
    assert patched.status_code == 200, patched.text
    props = patched.json()["properties"]
    assert (props["schedule"], props["phone"], props["name"]) == (
        "sam 8h-13h",
        None,
        "Marché du Petit Bayonne",
    )
    assert patched.json()["geometry"] is None
    assert props["location_precision"] == "none"
    assert patched.headers["etag"] != created.headers["etag"]
    # a replacement keeps only what it gives; category_label (served, not stored) may come back
    feature = patched.json()
    replaced = http.put(
        url,
        json={
            "type": "Feature",
            "geometry": feature["geometry"],
            "properties": {
                "name": "Marché du Petit Bayonne",
                "category": "market",
                "category_label": "Marché",
            },
        },
        headers=server.auth(**{"If-Match": patched.headers["etag"]}),
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["properties"]["schedule"] is None
    # an unknown field, an id that is not the URL's, another member: each named
    for body in (
        {"properties": {"catgory": "market"}},
        {"properties": {"id": "autre-id"}},
        {"properties": {}, "colour": "red"},
    ):
        problem = assert_problem(http.patch(url, json=body, headers=server.auth(**{"If-Match": "*"})), 400)
        assert problem["errors"][0]["field"] in {"catgory", "id", "colour"}
    bad_schedule = http.patch(
        url, json={"properties": {"schedule": "quand il fait beau"}}, headers=server.auth(**{"If-Match": "*"})
    )
    assert assert_problem(bad_schedule, 400)["errors"][0]["field"] == "schedule"
    assert_problem(http.patch(url, content=b"{not json", headers=server.auth(**{"If-Match": "*"})), 400)
    assert_problem(
        http.patch(url, content=b"a,b", headers=server.auth(**{"If-Match": "*", "Content-Type": "text/csv"})),
        415,
    )


def test_delete_then_restore_from_the_history(server: Server) -> None:
    http = server.http
    created = http.post(
        ITEMS,
        json={**NEW_PLACE, "properties": {"name": "Jardin des Arènes", "category": "community_garden"}},
        headers=server.auth(),
    )
    url = f"{ITEMS}/jardin-des-arenes"
    deleted = http.delete(url, headers=server.auth(**{"If-Match": created.headers["etag"]}))
    assert deleted.status_code == 204
    assert_problem(http.get(url), 404)
    assert "jardin-des-arenes" not in server.ids()
    history = server.history("jardin-des-arenes")
    assert [c["action"] for c in history] == ["create", "delete"]
    assert history[1]["after"] is None
    assert history[1]["differences"][0]["label"]
    assert_problem(http.post(f"{url}/history/1/restore"), 401)
    assert_problem(http.post(f"{url}/history/7/restore", headers=server.auth()), 404)
    restored = http.post(f"{url}/history/1/restore", headers=server.auth())
    assert restored.status_code == 200, restored.text
    assert restored.json()["properties"]["name"] == "Jardin des Arènes"
    assert "jardin-des-arenes" in server.ids()
    assert [c["author"] for c in server.history("jardin-des-arenes")] == ["editor-key"] * 3
    assert_problem(http.get(f"{ITEMS}/never-existed/history"), 404)


def test_verify_sets_last_verified_to_today(server: Server) -> None:
    http = server.http
    actor = sorted(server.ids())[-1]
    url = f"{ITEMS}/{actor}"
    assert_problem(http.post(f"{url}/verify", headers=server.auth()), 428)
    verified = http.post(f"{url}/verify", headers=server.auth(**{"If-Match": _etag(server, actor)}))
    assert verified.status_code == 200, verified.text
    assert verified.json()["properties"]["last_verified"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert server.history(actor)[-1]["differences"][0]["field"] == "last_verified"


def test_honeypot_and_malformed_proposals_are_refused_and_nothing_is_stored(server: Server) -> None:
    http = server.http
    robot = http.post("/proposals", json={"kind": "new", "feature": NEW_PLACE, "honeypot": "http://spam"})
    assert assert_problem(robot, 400)["errors"][0]["field"] == "honeypot"
    for body, field in (
        ({"kind": "gift"}, "kind"),
        ({"kind": "new"}, "feature"),
        ({"kind": "report", "actor_id": "otsokop"}, "message"),
        ({"kind": "new", "feature": {**NEW_PLACE, "id": "mon-id"}}, "id"),
        ({"kind": "report", "actor_id": "otsokop", "message": "x", "extra": 1}, "extra"),
    ):
        problem = assert_problem(http.post("/proposals", json=body), 400)
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert_problem(
        http.post("/proposals", json={"kind": "report", "actor_id": "nobody", "message": "x"}), 404
    )
    assert http.get("/proposals", headers=server.auth("moderator")).json()["proposals"] == []


def test_a_change_proposal_that_changes_nothing_is_a_report(server: Server) -> None:
    http = server.http
    name = http.get(f"{ITEMS}/otsokop").json()["properties"]["name"]
    sent = http.post(
        "/proposals",
        json={
            "kind": "change",
            "actor_id": "otsokop",
            "feature": {"properties": {"name": name}},
            "message": "ok ?",
        },
    )
    assert sent.json()["kind"] == "report"
    assert_problem(
        http.post(
            "/proposals",
            json={"kind": "change", "actor_id": "otsokop", "feature": {"properties": {"name": name}}},
        ),
        400,
    )
    decided = http.post(f"/proposals/{sent.json()['id']}/refuse", headers=server.auth("moderator"))
    assert decided.status_code == 200


def test_writes_are_rate_limited_per_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", tile_url=None, writes_per_minute=3)
    for server in _server(settings):
        for n in range(3):
            body = {**NEW_PLACE, "properties": {"name": f"Lieu {n}", "category": "other"}}
            assert server.http.post(ITEMS, json=body, headers=server.auth()).status_code == 201
        refused = server.http.post(
            ITEMS,
            json={**NEW_PLACE, "properties": {"name": "Lieu 3", "category": "other"}},
            headers=server.auth(),
        )
        assert_problem(refused, 429)
        assert refused.headers["retry-after"] == "60"
        assert "lieu-3" not in server.ids()
        # another key has its own count
        other = server.http.post(
            ITEMS,
            json={**NEW_PLACE, "properties": {"name": "Lieu 4", "category": "other"}},
            headers=server.auth("moderator"),
        )
        assert other.status_code == 201


def test_client_addresses_come_from_forwarded_headers_only_behind_a_configured_proxy(tmp_path: Path) -> None:
    report = {"kind": "report", "actor_id": "otsokop", "message": "x"}
    trusted = Settings(
        data_dir=tmp_path / "trusted",
        tile_url=None,
        proposals_per_minute=1,
        forwarded_allow_ips=["127.0.0.1"],
    )
    for server in _server(trusted):
        for address in ("203.0.113.7", "198.51.100.9"):
            sent = server.http.post(
                "/proposals", json=report, headers={"X-Forwarded-For": f"10.9.9.9, {address}"}
            )
            assert sent.status_code == 201, sent.text
        again = server.http.post("/proposals", json=report, headers={"X-Forwarded-For": "198.51.100.9"})
        assert_problem(again, 429)
    untrusted = Settings(data_dir=tmp_path / "direct", tile_url=None, proposals_per_minute=1)
    for server in _server(untrusted):
        assert (
            server.http.post(
                "/proposals", json=report, headers={"X-Forwarded-For": "203.0.113.7"}
            ).status_code
            == 201
        )
        # the header is ignored: the same peer, the same count
        assert_problem(
            server.http.post("/proposals", json=report, headers={"X-Forwarded-For": "198.51.100.9"}), 429
        )
        store = open_store(server.settings)
        try:
            [client] = {p.client for p in store.list_proposals()}
        finally:
            store.close()
        assert re.fullmatch(r"[0-9a-f]{32}", client)


def test_moderation_page_and_contribution_forms_are_served_under_the_csp(server: Server) -> None:
    http = server.http
    page = http.get("/moderation")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert policy.startswith("script-src 'self';")  # no inline script is allowed, none is needed
    assert re.search(r"<script>", page.text) is None
    for asset, kind in (
        ("/moderation/moderation.js", "text/javascript"),
        ("/moderation/moderation.css", "text/css"),
    ):
        response = http.get(asset)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
    assert_problem(http.get("/moderation/../api/app.py"), 404)
    resident = http.get("/map").text
    assert 'id="essmap-contribute-config"' in resident
    assert "/maps/assets/static/contribute.js" in resident
    assert http.get("/maps/assets/static/contribute.css").status_code == 200
