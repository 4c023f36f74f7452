"""One contract, two stores: every test here runs on the GeoPackage store and on the PostGIS store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pandas as pd
import pytest
import shapely

from essmap.errors import AlreadyExistsError, NotFoundError, StoreError, VersionConflictError
from essmap.importing import open_seeded_store
from essmap.model import actor_frame, neighbourhood_frame
from essmap.settings import Settings
from essmap.store import Store, open_store

pytestmark = pytest.mark.postgis


def one_actor(actor_id: str, name: str, lon: float | None = -1.47, lat: float = 43.49, **fields: object):
    row = {"id": actor_id, "name": name, "category": "market", **fields}
    point = None if lon is None else shapely.Point(lon, lat)
    return actor_frame(pd.DataFrame([row]), [point])


def test_a_new_store_is_empty_until_written(any_store: Store) -> None:
    assert not any_store.exists()
    assert any_store.load_actors().empty
    assert any_store.load_neighbourhoods().empty
    assert any_store.load_population_grid().empty
    before = any_store.revision()
    any_store.create_actor(one_actor("a", "A"), author="test")
    assert any_store.exists()
    assert any_store.revision() != before


def test_seeded_store_round_trip(any_settings: Settings) -> None:
    store = open_seeded_store(any_settings)
    try:
        actors = store.load_actors()
        assert len(actors) == 15
        assert actors.loc[0, "name"] == "Otsokop"
        assert actors.geometry.isna().sum() == 4
        assert actors["location_approximate"].dropna().map(type).eq(bool).all()
        assert actors.crs.to_epsg() == 4326
        qpv = store.load_neighbourhoods()
        assert list(qpv["population"]) == [1649, 3803]
        assert all(isinstance(g, shapely.MultiPolygon) for g in qpv.geometry)
        # seeding again does nothing
        revision = store.revision()
        open_seeded_store(any_settings).close()
        assert store.revision() == revision
    finally:
        store.close()


def test_upserts_count_created_updated_unchanged(any_store: Store) -> None:
    table = pd.concat([one_actor("a", "A"), one_actor("b", "B", lon=None)], ignore_index=True)
    counts = any_store.upsert_actors(actor_frame(table, table.geometry.to_numpy()))
    assert (counts.created, counts.updated, counts.unchanged) == (2, 0, 0)
    revision = any_store.revision()
    again = any_store.upsert_actors(actor_frame(table, table.geometry.to_numpy()))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert any_store.revision() == revision  # nothing written
    moved = one_actor("a", "A", lon=-1.46)
    third = any_store.upsert_actors(moved)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 0)
    record = any_store.get_actor("a")
    assert record.version == 2
    assert record.geometry is not None
    assert record.geometry.x == pytest.approx(-1.46)
    assert any_store.get_actor("b").geometry is None
    history = any_store.actor_history("a")
    assert [(c.action, c.version, c.author) for c in history] == [
        ("create", 1, "import"),
        ("update", 2, "import"),
    ]
    assert history[1].before is not None
    assert history[1].before["geometry"]["coordinates"] == pytest.approx([-1.47, 43.49])
    assert history[1].after is not None
    assert history[1].after["geometry"]["coordinates"] == pytest.approx([-1.46, 43.49])


def test_one_actor_create_replace_patch_delete_with_versions(any_store: Store) -> None:
    created = any_store.create_actor(one_actor("x", "Marché", website="https://exemple.fr"), author="alice")
    assert (created.id, created.version) == ("x", 1)
    with pytest.raises(AlreadyExistsError):
        any_store.create_actor(one_actor("x", "Autre"), author="bob")
    replaced = any_store.replace_actor(one_actor("x", "Marché couvert"), expected_version=1, author="alice")
    assert replaced.version == 2
    assert replaced.fields["website"] is None  # a replacement drops what it does not give
    with pytest.raises(VersionConflictError) as stale:
        any_store.replace_actor(one_actor("x", "Perdu"), expected_version=1, author="bob")
    assert stale.value.current_version == 2
    assert any_store.get_actor("x").fields["name"] == "Marché couvert"
    patched = any_store.patch_actor("x", {"schedule": "sam 8:00-13:00"}, expected_version=2, author="carol")
    assert patched.version == 3
    assert patched.fields["name"] == "Marché couvert"
    assert patched.fields["schedule"] == "sam 8:00-13:00"
    same = any_store.patch_actor("x", {"schedule": "sam 8:00-13:00"}, expected_version=3, author="carol")
    assert same.version == 3  # an identical change is no change
    with pytest.raises(VersionConflictError):
        any_store.delete_actor("x", expected_version=2, author="bob")
    any_store.delete_actor("x", expected_version=3, author="alice")
    with pytest.raises(NotFoundError):
        any_store.get_actor("x")
    with pytest.raises(NotFoundError):
        any_store.patch_actor("x", {"name": "?"}, expected_version=None, author="bob")
    history = any_store.actor_history("x")
    assert [(c.action, c.version, c.author) for c in history] == [
        ("create", 1, "alice"),
        ("update", 2, "alice"),
        ("update", 3, "carol"),
        ("delete", 3, "alice"),
    ]
    assert history[0].before is None
    assert history[-1].after is None
    assert history[-1].before is not None
    assert history[-1].before["schedule"] == "sam 8:00-13:00"
    assert [c.seq for c in history] == sorted(c.seq for c in history)
    assert all(c.at.endswith("Z") for c in history)


def test_two_writers_with_the_same_version_one_wins(any_store: Store) -> None:
    any_store.create_actor(one_actor("x", "Marché"), author="setup")
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def write(name: str) -> None:
        barrier.wait()
        try:
            outcomes[name] = any_store.patch_actor("x", {"name": name}, expected_version=1, author=name)
        except VersionConflictError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=write, args=(n,)) for n in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [n for n, o in outcomes.items() if not isinstance(o, Exception)]
    losers = [n for n, o in outcomes.items() if isinstance(o, VersionConflictError)]
    assert len(winners) == 1
    assert len(losers) == 1
    record = any_store.get_actor("x")
    assert (record.fields["name"], record.version) == (winners[0], 2)
    assert [c.author for c in any_store.actor_history("x")] == ["setup", winners[0]]


def test_neighbourhoods_and_grid(any_store: Store) -> None:
    square = shapely.box(-1.48, 43.48, -1.47, 43.49)
    frame = pd.DataFrame({"code": ["QN1"], "name": ["Un"], "generation": [2024], "population": [100]})
    counts = any_store.upsert_neighbourhoods(neighbourhood_frame(frame, [shapely.MultiPolygon([square])]))
    assert (counts.created, counts.updated) == (1, 0)
    renamed = frame.assign(name=["Un bis"])
    counts = any_store.upsert_neighbourhoods(neighbourhood_frame(renamed, [shapely.MultiPolygon([square])]))
    assert (counts.created, counts.updated) == (0, 1)
    qpv = any_store.load_neighbourhoods()
    assert qpv["name"].tolist() == ["Un bis"]
    assert qpv.geometry.iloc[0].equals(shapely.MultiPolygon([square]))
    import geopandas as gpd

    grid = gpd.GeoDataFrame(
        {"id": ["c1", "c2"], "population": [3.5, 0.0]},
        geometry=[shapely.box(-1.48, 43.48, -1.479, 43.481), shapely.box(-1.479, 43.48, -1.478, 43.481)],
        crs="EPSG:4326",
    )
    assert any_store.replace_population_grid(grid) == 2
    assert any_store.replace_population_grid(grid.iloc[:1]) == 1
    stored = any_store.load_population_grid()
    assert stored["id"].tolist() == ["c1"]
    assert stored["population"].tolist() == [3.5]


def _eventually(check: Callable[[], bool], within_s: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"not seen within {within_s} s")
        time.sleep(0.01)
    return time.monotonic() - start


def test_a_write_through_another_handle_is_seen_within_a_second(any_settings: Settings) -> None:
    writer, reader = open_store(any_settings), open_store(any_settings)
    try:
        writer.create_actor(one_actor("a", "A"), author="test")
        seen = reader.revision()
        writer.patch_actor("a", {"name": "A2"}, expected_version=1, author="test")
        _eventually(lambda: reader.revision() != seen, 1.0)
        assert reader.get_actor("a").fields["name"] == "A2"
    finally:
        writer.close()
        reader.close()


def test_a_store_of_a_newer_schema_is_refused(any_settings: Settings) -> None:
    store = open_seeded_store(any_settings)
    store.close()
    if any_settings.database_url:
        import psycopg

        with psycopg.connect(any_settings.database_url, autocommit=True) as conn:
            conn.execute("INSERT INTO essmap_migrations (version) VALUES (99)")
    else:
        import sqlite3

        with sqlite3.connect(any_settings.store_path) as conn:
            conn.execute("UPDATE essmap_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="version de schéma 99"):
        open_store(any_settings).load_actors()


def test_keys_are_stored_by_hash_and_revoked(any_store: Store) -> None:
    from essmap.errors import InvalidParameterError

    editor = any_store.add_key("amap-breuer", "editor", "hash-1")
    assert (editor.name, editor.role, editor.active) == ("amap-breuer", "editor", True)
    any_store.add_key("gip", "moderator", "hash-2")
    with pytest.raises(AlreadyExistsError):
        any_store.add_key("gip", "admin", "hash-3")
    with pytest.raises(InvalidParameterError):
        any_store.add_key("x", "superuser", "hash-4")
    found = any_store.key_for_hash("hash-2")
    assert found is not None
    assert found.name == "gip"
    assert found.allows("editor")
    assert found.allows("moderator")
    assert not found.allows("admin")
    assert any_store.key_for_hash("nothing") is None
    revoked = any_store.revoke_key("gip")
    assert not revoked.active
    assert any_store.key_for_hash("hash-2") is None
    assert [k.name for k in any_store.list_keys()] == ["amap-breuer", "gip"]
    with pytest.raises(NotFoundError):
        any_store.revoke_key("nobody")


def test_proposals_change_nothing_until_accepted(any_store: Store) -> None:
    any_store.create_actor(one_actor("otsokop", "Otsokop"), author="setup")
    revision = any_store.revision()
    new = one_actor("jardin", "Jardin partagé", lon=-1.46)
    from essmap.store.base import actor_rows

    proposed = any_store.add_proposal(
        kind="new", client="c1", row=actor_rows(new)[0], message="Nouveau jardin"
    )
    change = any_store.add_proposal(
        kind="change",
        client="c2",
        actor_id="otsokop",
        row=actor_rows(one_actor("otsokop", "Otsokop (épicerie)"))[0],
        base_version=1,
    )
    report = any_store.add_proposal(kind="report", client="c1", actor_id="otsokop", message="Fermé le lundi")
    assert any_store.load_actors()["id"].tolist() == ["otsokop"]
    assert {p.id for p in any_store.list_proposals()} == {proposed.id, change.id, report.id}
    assert any_store.proposals_since("c1", "2000-01-01T00:00:00.000Z") == 2
    assert any_store.proposals_since("c1", "2999-01-01T00:00:00.000Z") == 0
    refused = any_store.decide_proposal(change.id, accept=False, by="gip", note="doublon")
    assert (refused.status, refused.decided_by, refused.note) == ("refused", "gip", "doublon")
    assert any_store.get_actor("otsokop").fields["name"] == "Otsokop"
    accepted = any_store.decide_proposal(proposed.id, accept=True, by="gip")
    assert accepted.status == "accepted"
    assert any_store.revision() != revision
    record = any_store.get_actor("jardin")
    assert record.fields["name"] == "Jardin partagé"
    assert [(c.action, c.author) for c in any_store.actor_history("jardin")] == [
        ("create", "proposition publique")
    ]
    with pytest.raises(VersionConflictError):
        any_store.decide_proposal(proposed.id, accept=True, by="gip")
    any_store.decide_proposal(report.id, accept=True, by="gip")  # a report changes no record
    assert any_store.get_actor("otsokop").version == 1
    assert [p.status for p in any_store.list_proposals(status=None)] == ["accepted", "refused", "accepted"]
    assert any_store.list_proposals() == []
    assert any_store.changes_since("proposition publique", "2000-01-01T00:00:00.000Z") == 1


def test_addresses_are_replaced_whole(any_store: Store) -> None:
    import numpy as np

    rows = pd.DataFrame(
        {
            "id": ["64102_0001_00001", "64102_0001_00002"],
            "label": ["1 Rue de Belfort 64100 Bayonne", "2 Rue de Belfort 64100 Bayonne"],
            "housenumber": ["1", "2"],
            "street": ["Rue de Belfort", "Rue de Belfort"],
            "postcode": ["64100", "64100"],
            "citycode": ["64102", "64102"],
            "city": ["Bayonne", "Bayonne"],
            "lon": [-1.4711, -1.4712],
            "lat": [43.4921, 43.4922],
        }
    )
    assert any_store.load_addresses().empty
    assert any_store.address_count() == 0
    revision = any_store.revision()
    assert any_store.replace_addresses(rows) == 2
    assert any_store.address_count() == 2
    assert any_store.revision() != revision
    stored = any_store.load_addresses()
    assert stored["label"].tolist() == rows["label"].tolist()
    assert np.allclose(stored["lon"], rows["lon"])
    assert any_store.replace_addresses(rows.iloc[1:]) == 1
    assert any_store.load_addresses()["id"].tolist() == ["64102_0001_00002"]


def test_communes_round_trip(any_store: Store) -> None:
    from essmap.importing import demo_data_dir
    from essmap.sources.communes import communes_from_file

    assert any_store.load_communes().empty
    communes = communes_from_file(demo_data_dir() / "communes_demo.geojson", source="ANCT").table
    assert any_store.replace_communes(communes) == 5
    stored = any_store.load_communes()
    assert stored["code"].tolist() == sorted(communes["code"].tolist())
    bayonne = stored.set_index("code").loc["64102"]
    assert bayonne["name"] == "Bayonne"
    assert bayonne["source"] == "ANCT"
    original = communes.set_index("code").geometry["64102"]
    assert bayonne.geometry.equals_exact(original, tolerance=0.0)
    assert any_store.replace_communes(communes.iloc[:1]) == 1
    assert len(any_store.load_communes()) == 1


def test_the_rate_limit_counts_a_key_s_changes_through_an_index(any_settings: Settings) -> None:
    """Counting one author's recent changes reads an index, not the whole history (schema 4)."""
    store = open_seeded_store(any_settings)
    store.close()
    query = "SELECT count(*) FROM actor_history WHERE author = 'editor' AND at >= '2026-01-01'"
    if any_settings.database_url:
        import psycopg

        with psycopg.connect(any_settings.database_url, autocommit=True) as conn:
            conn.execute("SET enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in conn.execute(f"EXPLAIN {query}"))
    else:
        import sqlite3

        with sqlite3.connect(any_settings.store_path) as conn:
            plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "actor_history_author" in plan, plan
