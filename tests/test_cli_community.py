"""Keys, proposals and history from the command line, on the demo store."""

from __future__ import annotations

import json

import pytest
import shapely

from essmap.keys import key_for_secret
from essmap.store import GeoPackageStore
from essmap.store.base import actor_rows
from tests.cli_support import run


def test_keys_are_shown_once_and_stored_as_a_hash(
    demo_store: GeoPackageStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "keys", "create", "--name", "AMAP Breuer", "--role", "editor")
    assert code == 0, err
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("essmap_")
    assert len(secret) > 40
    key = key_for_secret(GeoPackageStore(demo_store.path), secret)
    assert key is not None
    assert (key.name, key.role) == ("AMAP Breuer", "editor")
    assert secret.encode() not in demo_store.path.read_bytes()  # only the hash is kept
    code, out, _ = run(capsys, "keys", "create", "--name", "AMAP Breuer", "--role", "admin")
    assert code == 1
    code, out, _ = run(capsys, "keys", "create", "--name", "x", "--role", "root")
    assert code == 2
    code, out, _ = run(capsys, "keys", "list", "--json")
    assert [k["name"] for k in json.loads(out)] == ["AMAP Breuer"]
    assert secret not in out
    code, out, _ = run(capsys, "keys", "revoke", "AMAP Breuer")
    assert code == 0
    assert key_for_secret(GeoPackageStore(demo_store.path), secret) is None


def test_history_and_restore(demo_store: GeoPackageStore, capsys: pytest.CaptureFixture[str]) -> None:
    demo_store.patch_actor("otsokop", {"name": "Otsokop renommée"}, expected_version=1, author="alice")
    code, out, err = run(capsys, "history", "otsokop", "--json")
    assert code == 0, err
    changes = json.loads(out)
    assert [(c["version"], c["action"], c["author"]) for c in changes] == [
        (1, "create", "import"),
        (2, "update", "alice"),
    ]
    assert changes[1]["differences"] == [
        {"field": "name", "label": "nom", "before": "Otsokop", "after": "Otsokop renommée"}
    ]
    code, out, _ = run(capsys, "history", "otsokop", "--restore", "1")
    assert code == 0
    record = GeoPackageStore(demo_store.path).get_actor("otsokop")
    assert (record.fields["name"], record.version) == ("Otsokop", 3)
    code, _, err = run(capsys, "history", "otsokop", "--restore", "9")
    assert code == 1
    assert "version 9" in err
    code, out, _ = run(capsys, "history", "otsokop")
    assert "par alice" in out
    assert "nom : Otsokop → Otsokop renommée" in out


def test_proposals_listed_with_their_differences_then_decided(
    demo_store: GeoPackageStore, capsys: pytest.CaptureFixture[str]
) -> None:
    current = demo_store.get_actor("otsokop").frame()
    row = actor_rows(current)[0] | {"schedule": "mar 17:00-19:00"}
    change = demo_store.add_proposal(kind="change", client="c", actor_id="otsokop", row=row, base_version=1)
    report = demo_store.add_proposal(kind="report", client="c", actor_id="otsokop", message="Fermé")
    code, out, err = run(capsys, "proposals", "list", "--json")
    assert code == 0, err
    views = {v["id"]: v for v in json.loads(out)}
    assert views[change.id]["differences"] == [
        {
            "field": "schedule",
            "label": "horaires (quand)",
            "before": None,
            "after": "mar 17:00-19:00",
            "before_text": "—",
            "after_text": "mar 17:00-19:00",
        }
    ]
    assert views[report.id]["message"] == "Fermé"
    assert run(capsys, "proposals", "accept", change.id)[0] == 0
    assert run(capsys, "proposals", "refuse", report.id, "--note", "déjà corrigé")[0] == 0
    store = GeoPackageStore(demo_store.path)
    assert store.get_actor("otsokop").fields["schedule"] == "mar 17:00-19:00"
    assert store.actor_history("otsokop")[-1].author == "proposition publique"
    code, out, _ = run(capsys, "proposals", "list")
    assert "Aucune proposition" in out
    code, out, _ = run(capsys, "proposals", "list", "--status", "refused", "--json")
    assert [v["note"] for v in json.loads(out)] == ["déjà corrigé"]


def test_proposals_are_listed_with_french_labels_and_plain_values(
    demo_store: GeoPackageStore, capsys: pytest.CaptureFixture[str]
) -> None:
    row = actor_rows(demo_store.get_actor("otsokop").frame())[0]
    row |= {"category": "market", "location_approximate": True, "website": None}
    row["geometry"] = shapely.Point(-1.47, 43.495)
    demo_store.add_proposal(kind="change", client="c", actor_id="otsokop", row=row, base_version=1)
    code, out, err = run(capsys, "proposals", "list")
    assert code == 0, err
    text = " ".join(out.split())
    assert "correction de « otsokop » — en attente —" in text
    assert "catégorie : Épicerie coopérative → Marché" in text
    assert "position : -1.4" in text
    assert "→ -1.47000 ; 43.49500" in text
    for python in ("pending", "None", "True", "'", "{", "cooperative_grocery"):
        assert python not in out
