"""Edits through the API, public proposals and their moderation (issue 12), on both stores.

Each test runs a real uvicorn server on a store of each kind (the demo set, GeoPackage then
PostGIS: tests/store_support.py) with keys made as ``essmap keys create`` makes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api import create_app
from essmap.importing import open_seeded_store
from essmap.keys import create_key
from essmap.settings import Settings
from essmap.store import open_store
from tests.api_support import assert_problem, background_server

ITEMS = "/collections/actors/items"
NEW_PLACE: dict[str, Any] = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [-1.4702, 43.4951]},
    "properties": {"name": "Épicerie solidaire du Polo", "category": "cooperative_grocery"},
}


@dataclass
class Server:
    """A running API server, a client of it and the secrets of its keys, by role."""

    http: httpx.Client
    keys: dict[str, str]
    settings: Settings

    def auth(self, role: str = "editor", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **headers}

    def ids(self) -> set[str]:
        body = self.http.get(ITEMS, params={"limit": 1000}).json()
        return {f["id"] for f in body["features"]}

    def history(self, actor_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{ITEMS}/{actor_id}/history")
        return list(response.json()["changes"]) if response.status_code == 200 else []


def seed(settings: Settings) -> dict[str, str]:
    """The demo set in the store, and one key of each role (plus a revoked one)."""
    store = open_seeded_store(settings)
    try:
        keys = {role: create_key(store, name=f"{role}-key", role=role)[1] for role in ("editor", "moderator")}
        keys["revoked"] = create_key(store, name="old-key", role="admin")[1]
        store.revoke_key("old-key")
    finally:
        store.close()
    return keys


@pytest.fixture
def server(any_settings: Settings) -> Iterator[Server]:
    """A server on a store of each kind in turn."""
    settings = any_settings.model_copy(update={"tile_url": None})
    keys = seed(settings)
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield Server(http, keys, settings)


# --- both stores: what issue 12 must show --------------------------------------------------------
def test_a_write_without_a_key_gets_401_with_an_editor_key_201(server: Server) -> None:
    http = server.http
    refused = http.post(ITEMS, json=NEW_PLACE)
    assert_problem(refused, 401)
    assert refused.headers["www-authenticate"].startswith("Bearer")
    for secret in ("essmap_not-a-key", server.keys["revoked"]):
        assert_problem(http.post(ITEMS, json=NEW_PLACE, headers={"Authorization": f"Bearer {secret}"}), 401)
    assert "epicerie-solidaire-du-polo" not in server.ids()

    before = http.get("/map", headers={"Accept": "text/html"})  # the page, cached before the write
    assert "Épicerie solidaire du Polo" not in before.text
    created = http.post(ITEMS, json=NEW_PLACE, headers=server.auth())
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/geo+json"
    location = created.headers["location"]
    assert location.endswith(f"{ITEMS}/epicerie-solidaire-du-polo")
    feature = created.json()
    assert feature["properties"]["name"] == "Épicerie solidaire du Polo"
    assert feature["geometry"]["coordinates"] == [-1.4702, 43.4951]
    # the writing process answers its own write at once: the feature, the items, /nearest
    read = http.get(location)
    assert read.status_code == 200
    assert read.headers["etag"] == created.headers["etag"]
    assert "epicerie-solidaire-du-polo" in server.ids()
    nearest = http.get("/nearest", params={"lon": -1.4702, "lat": 43.4951, "k": 1}).json()
    assert nearest["features"][0]["id"] == "epicerie-solidaire-du-polo"
    page = http.get("/map", headers={"Accept": "text/html"})  # never the page cached before
    assert page.status_code == 200
    assert "Épicerie solidaire du Polo" in page.text
    [change] = server.history("epicerie-solidaire-du-polo")
    assert (change["action"], change["author"], change["version"]) == ("create", "editor-key", 1)
    # the same id again is a conflict, and reads need no key
    assert_problem(http.post(ITEMS, json=NEW_PLACE, headers=server.auth()), 409)
    # a key too weak for an operation: an editor cannot moderate
    assert_problem(http.get("/proposals", headers=server.auth("editor")), 403)


def test_two_writers_with_the_same_etag_one_wins_the_other_gets_412_nothing_lost(server: Server) -> None:
    http = server.http
    etag = http.get(f"{ITEMS}/otsokop").headers["etag"]
    patches = {"alice": {"schedule": "mar 17h-19h"}, "bob": {"phone": "05 59 00 00 00"}}
    answers: dict[str, httpx.Response] = {}
    start = threading.Barrier(len(patches))

    def write(who: str) -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=60) as own:
            start.wait()
            answers[who] = own.patch(
                f"{ITEMS}/otsokop",
                json={"properties": patches[who]},
                headers=server.auth(**{"If-Match": etag, "Content-Type": "application/merge-patch+json"}),
            )

    threads = [threading.Thread(target=write, args=(who,)) for who in patches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [200, 412], {w: r.text for w, r in answers.items()}
    winner = next(w for w, r in answers.items() if r.status_code == 200)
    loser = next(w for w in patches if w != winner)
    assert_problem(answers[loser], 412)
    now = http.get(f"{ITEMS}/otsokop")
    assert now.headers["etag"] == answers[winner].headers["etag"]
    props = now.json()["properties"]
    field, value = next(iter(patches[winner].items()))
    assert props[field] == value
    lost_field = next(iter(patches[loser]))
    assert props[lost_field] is None
    # the loser reads again and makes its change on the current version: both are kept
    again = http.patch(
        f"{ITEMS}/otsokop",
        json={"properties": patches[loser]},
        headers=server.auth(**{"If-Match": now.headers["etag"]}),
    )
    assert again.status_code == 200, again.text
    final = http.get(f"{ITEMS}/otsokop").json()["properties"]
    for patch in patches.values():
        for name, wanted in patch.items():
            assert final[name] == wanted
    versions = [c["version"] for c in server.history("otsokop")]
    assert versions == [1, 2, 3]


def test_a_bad_write_gets_400_and_changes_nothing(server: Server) -> None:
    http = server.http
    before = http.get(f"{ITEMS}/otsokop")
    items_etag = http.get(ITEMS, params={"limit": 1000}).headers["etag"]
    bad = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.47, 95.0]},
        "properties": {"name": "Nulle part", "category": "bakery"},
    }
    for response in (
        http.post(ITEMS, json=bad, headers=server.auth()),
        http.put(f"{ITEMS}/otsokop", json=bad, headers=server.auth(**{"If-Match": before.headers["etag"]})),
    ):
        body = assert_problem(response, 400)
        fields = {e["field"] for e in body["errors"]}
        assert {"category", "geometry"} <= fields, body
        messages = " ".join(e["message"] for e in body["errors"])
        assert "bakery" in messages
        assert "95" in messages
    assert "nulle-part" not in server.ids()
    after = http.get(f"{ITEMS}/otsokop")
    assert after.headers["etag"] == before.headers["etag"]
    assert after.json() == before.json()
    assert len(server.history("otsokop")) == 1
    assert http.get(ITEMS, params={"limit": 1000}).headers["etag"] == items_etag


def test_a_proposal_is_invisible_until_accepted_then_visible_with_its_history(server: Server) -> None:
    http = server.http
    sent = http.post("/proposals", json={"kind": "new", "feature": NEW_PLACE, "contact": "moi@example.org"})
    assert sent.status_code == 201, sent.text
    proposal = sent.json()
    assert proposal["status"] == "pending"
    assert "epicerie-solidaire-du-polo" not in server.ids()
    assert_problem(http.get(f"{ITEMS}/epicerie-solidaire-du-polo"), 404)
    assert "Épicerie solidaire du Polo" not in http.get("/map").text

    listed = http.get("/proposals", headers=server.auth("moderator")).json()["proposals"]
    [view] = [p for p in listed if p["id"] == proposal["id"]]
    assert view["contact"] == "moi@example.org"
    assert {d["field"] for d in view["differences"]} >= {"name", "category", "geometry"}

    accepted = http.post(f"/proposals/{proposal['id']}/accept", headers=server.auth("moderator"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert "epicerie-solidaire-du-polo" in server.ids()
    feature = http.get(f"{ITEMS}/epicerie-solidaire-du-polo").json()
    assert feature["properties"]["source"] == "proposition publique"
    [change] = server.history("epicerie-solidaire-du-polo")
    assert (change["action"], change["author"]) == ("create", "proposition publique")
    assert change["after"]["name"] == "Épicerie solidaire du Polo"
    # decided once only
    assert_problem(http.post(f"/proposals/{proposal['id']}/refuse", headers=server.auth("moderator")), 409)


def test_a_refused_proposal_changes_nothing(server: Server) -> None:
    http = server.http
    before = http.get(f"{ITEMS}/otsokop")
    sent = http.post(
        "/proposals",
        json={
            "kind": "change",
            "actor_id": "otsokop",
            "feature": {"properties": {"name": "Otsokop (fermé)", "schedule": "lun 9h-10h"}},
            "message": "Le magasin a fermé",
        },
    )
    assert sent.status_code == 201, sent.text
    view = http.get(f"/proposals/{sent.json()['id']}", headers=server.auth("moderator")).json()
    assert {d["field"]: d["after"] for d in view["differences"]} == {
        "name": "Otsokop (fermé)",
        "schedule": "lun 9h-10h",
    }
    assert view["current"]["name"] == before.json()["properties"]["name"]
    refused = http.post(
        f"/proposals/{sent.json()['id']}/refuse", json={"note": "source ?"}, headers=server.auth("moderator")
    )
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["note"]) == ("refused", "source ?")
    after = http.get(f"{ITEMS}/otsokop")
    assert after.headers["etag"] == before.headers["etag"]
    assert after.json() == before.json()
    assert len(server.history("otsokop")) == 1
    pending = http.get("/proposals", headers=server.auth("moderator")).json()["proposals"]
    assert pending == []


def test_the_eleventh_proposal_in_a_minute_from_one_address_gets_429(server: Server) -> None:
    http = server.http
    for n in range(10):
        report = {"kind": "report", "actor_id": "otsokop", "message": f"signalement {n}"}
        assert http.post("/proposals", json=report).status_code == 201
    refused = http.post("/proposals", json={"kind": "report", "actor_id": "otsokop", "message": "encore"})
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) > 0
    listed = http.get("/proposals", headers=server.auth("moderator")).json()["proposals"]
    assert len(listed) == 10
    # only a keyed hash of the address is kept
    store = open_store(server.settings)
    try:
        clients = {p.client for p in store.list_proposals(limit=100)}
    finally:
        store.close()
    [client] = clients
    assert "127.0.0.1" not in client
    assert len(client) == 32
