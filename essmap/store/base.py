"""The Store protocol, and the record rules every store applies.

Tables go in and out as GeoDataFrames in WGS 84 with the columns of :mod:`essmap.model`. Actors are
also read and written one at a time as :class:`ActorRecord`, each with a version that changes with
every change (the API's ETag), and every change of an actor is kept in its history (:class:`Change`:
who, when, before, after). What a store does is the same whatever keeps the data; how a row is
compared, turned into a history entry or into a record is written once, here.
"""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.errors import AlreadyExistsError, NotFoundError, VersionConflictError
from essmap.model import ACTOR_COLUMNS, QPV_COLUMNS, actor_frame, is_actor_frame, plain_value

if TYPE_CHECKING:
    from essmap.store.moderation import ApiKey, Proposal

QPV_KEY = ("generation", "code")
ACTOR_KEY = ("id",)

#: Columns of the population grid layer (INSEE 200 m squares).
GRID_COLUMNS = ("id", "population")

#: Schema version of the stores' tables (both stores); migrated forward when a store is opened.
SCHEMA_VERSION = 4

#: Author of the changes made by file imports.
IMPORT_AUTHOR = "import"


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did: records created, records changed, records already identical."""

    created: int
    updated: int
    unchanged: int = 0


@dataclass(frozen=True)
class ActorRecord:
    """One actor as stored: its fields (the columns of :data:`essmap.model.ACTOR_COLUMNS`, ``id``
    included), its point (None when unlocated), its version and the time of its last change."""

    id: str
    fields: dict[str, Any]
    geometry: shapely.Point | None
    version: int
    updated_at: str

    def frame(self) -> gpd.GeoDataFrame:
        """The record as a one-row actor table."""
        return actor_frame(pd.DataFrame([self.fields]), [self.geometry])


@dataclass(frozen=True)
class Change:
    """One change of an actor: the version it made, what, who, when, the record before and after.

    ``before`` and ``after`` are :func:`record_json` dicts (None before a creation, after a
    deletion). ``action`` is ``create``, ``update`` or ``delete``.
    """

    seq: int
    actor_id: str
    version: int
    action: str
    author: str
    at: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "actor_id": self.actor_id,
            "version": self.version,
            "action": self.action,
            "author": self.author,
            "at": self.at,
            "before": self.before,
            "after": self.after,
        }


@runtime_checkable
class Store(Protocol):
    """Where essmap's data lives: an embedded GeoPackage, or a PostGIS database.

    Every write is a transaction: it happens completely or not at all, and readers never see half
    of it. :meth:`revision` changes with every write, whichever process made it.
    """

    # --- reading ---------------------------------------------------------------------------
    def load_neighbourhoods(self) -> gpd.GeoDataFrame:
        """All neighbourhoods (QPV) of every generation."""
        ...

    def load_actors(self) -> gpd.GeoDataFrame:
        """All actors; unlocated ones have a missing geometry."""
        ...

    def load_population_grid(self) -> gpd.GeoDataFrame:
        """The imported population grid squares (empty when none was imported)."""
        ...

    def revision(self) -> str:
        """A token that changes whenever the stored data changes (any process)."""
        ...

    def exists(self) -> bool:
        """Whether the store holds data already (False for a store never written)."""
        ...

    # --- one actor ---------------------------------------------------------------------------
    def get_actor(self, actor_id: str) -> ActorRecord:
        """The current record of an actor (:class:`~essmap.errors.NotFoundError` if none)."""
        ...

    def create_actor(self, table: gpd.GeoDataFrame, *, author: str) -> ActorRecord:
        """Add one actor (a one-row actor table), at version 1.

        :class:`~essmap.errors.AlreadyExistsError` if its id is taken.
        """
        ...

    def replace_actor(
        self, table: gpd.GeoDataFrame, *, expected_version: int | None, author: str
    ) -> ActorRecord:
        """Replace an actor with a one-row table of the same id; its version goes up by one.

        :class:`~essmap.errors.VersionConflictError` if ``expected_version`` is not the current one
        (None skips the check), :class:`~essmap.errors.NotFoundError` if there is no such actor.
        """
        ...

    def patch_actor(
        self, actor_id: str, changes: Mapping[str, Any], *, expected_version: int | None, author: str
    ) -> ActorRecord:
        """Change some fields of an actor (``geometry`` for its point), as :meth:`replace_actor`."""
        ...

    def delete_actor(self, actor_id: str, *, expected_version: int | None, author: str) -> None:
        """Delete an actor (its history is kept), as :meth:`replace_actor` for the checks."""
        ...

    def actor_history(self, actor_id: str) -> list[Change]:
        """Every change of an actor, oldest first (empty for an id never written)."""
        ...

    # --- bulk writes -------------------------------------------------------------------------
    def upsert_neighbourhoods(self, table: gpd.GeoDataFrame) -> UpsertCounts:
        """Insert or update neighbourhoods by (generation, code), in one transaction."""
        ...

    def upsert_actors(self, table: gpd.GeoDataFrame, *, author: str = IMPORT_AUTHOR) -> UpsertCounts:
        """Insert or update actors by id, in one transaction; each change enters the history."""
        ...

    def replace_population_grid(self, table: gpd.GeoDataFrame) -> int:
        """Replace the population grid in one transaction; returns the number of squares."""
        ...

    def initialise(self, neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame) -> None:
        """Fill a new store with these tables in one write; does nothing if the store exists."""
        ...

    # --- addresses of the local geocoder (essmap.store.addresses) ---------------------------
    def replace_addresses(self, table: pd.DataFrame) -> int:
        """Replace every address of the local geocoder; returns how many."""
        ...

    def address_count(self) -> int:
        """How many addresses were imported (without loading them)."""
        ...

    def load_addresses(self) -> pd.DataFrame:
        """Every imported address (id, label, housenumber, street, postcode, citycode, city, lon, lat)."""
        ...

    # --- the street network (essmap.store.network) ------------------------------------------
    def replace_street_network(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Replace the prepared street network (its arrays and description) in one transaction."""
        ...

    def street_network_meta(self) -> dict[str, Any] | None:
        """The description of the stored street network (None when none was imported)."""
        ...

    def load_street_network(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The stored street network's arrays and description (None when none was imported)."""
        ...

    # --- communes of the maps' backdrop (essmap.store.communes) -----------------------------
    def replace_communes(self, table: gpd.GeoDataFrame) -> int:
        """Replace every commune of the maps' backdrop; returns how many."""
        ...

    def load_communes(self) -> gpd.GeoDataFrame:
        """Every imported commune (code, name, source, polygons in WGS 84)."""
        ...

    # --- keys and proposals (essmap.store.moderation) ---------------------------------------
    def add_key(self, name: str, role: str, key_hash: str) -> ApiKey:
        """Record a new API key by the hash of its secret."""
        ...

    def list_keys(self) -> list[ApiKey]:
        """Every key, by name."""
        ...

    def revoke_key(self, name: str) -> ApiKey:
        """Revoke a key."""
        ...

    def key_for_hash(self, key_hash: str) -> ApiKey | None:
        """The active key whose secret has this hash."""
        ...

    def changes_since(self, author: str, since: str) -> int:
        """How many changes an author made since a time (ISO 8601 UTC)."""
        ...

    def add_proposal(
        self,
        *,
        kind: str,
        client: str,
        actor_id: str | None = None,
        row: Mapping[str, Any] | None = None,
        base_version: int | None = None,
        message: str | None = None,
        contact: str | None = None,
    ) -> Proposal:
        """Store a pending proposal from the public."""
        ...

    def list_proposals(
        self, *, status: str | None = "pending", limit: int = 100, offset: int = 0
    ) -> list[Proposal]:
        """Proposals, oldest first."""
        ...

    def get_proposal(self, proposal_id: str) -> Proposal:
        """One proposal."""
        ...

    def proposals_since(self, client: str, since: str) -> int:
        """How many proposals a client sent since a time (ISO 8601 UTC)."""
        ...

    def decide_proposal(
        self, proposal_id: str, *, accept: bool, by: str, note: str | None = None
    ) -> Proposal:
        """Accept (and apply) or refuse a pending proposal."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


# --- rows and records ------------------------------------------------------------------------------


def empty_grid() -> gpd.GeoDataFrame:
    """An empty population grid table."""
    return grid_frame([], [], [])


def grid_frame(
    ids: Sequence[str], populations: Sequence[float], geoms: Sequence[object] | np.ndarray
) -> gpd.GeoDataFrame:
    """A population grid table (:data:`GRID_COLUMNS` and the squares, WGS 84)."""
    return gpd.GeoDataFrame(
        {
            "id": pd.Series(list(ids), dtype="string"),
            "population": pd.Series(list(populations), dtype="float64"),
        },
        geometry=gpd.GeoSeries(np.asarray(list(geoms), dtype=object), crs="EPSG:4326"),
        crs="EPSG:4326",
    )


def now_utc() -> str:
    """The current time as ISO 8601 UTC with milliseconds (``2026-11-30T23:59:59.123Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """A stored scalar: None for missing values, Python numbers and booleans, text otherwise."""
    return plain_value(value)


def table_rows(table: gpd.GeoDataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of a table as plain dicts of ``columns`` and ``geometry`` (a shapely geometry or None)."""
    cols = list(columns)
    n = len(table)
    data = [[plain(v) for v in table[c].tolist()] if c in table else [None] * n for c in cols]
    geoms = table.geometry.to_numpy() if n else np.empty(0, dtype=object)
    kept = geoms.copy()
    if n:
        kept[shapely.is_missing(geoms) | shapely.is_empty(geoms)] = None
    names = [*cols, "geometry"]
    return [dict(zip(names, values, strict=True)) for values in zip(*data, kept.tolist(), strict=True)]


def actor_rows(table: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Actor rows (:data:`~essmap.model.ACTOR_COLUMNS` and ``geometry``), normalised as stored."""
    if not is_actor_frame(table):  # a validated table (imports, edits) is normal already
        table = actor_frame(table, table.geometry.to_numpy())
    return table_rows(table, ACTOR_COLUMNS)


def neighbourhood_rows(table: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Neighbourhood rows (:data:`~essmap.model.QPV_COLUMNS` and ``geometry``)."""
    return table_rows(table, QPV_COLUMNS)


def record_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An actor row as JSON-ready data for the history: its fields and a GeoJSON point or null."""
    out = {c: row.get(c) for c in ACTOR_COLUMNS}  # rows hold plain values already (table_rows)
    geom = row.get("geometry")
    out["geometry"] = None if geom is None else {"type": "Point", "coordinates": [geom.x, geom.y]}
    return out


def history_text(row: Mapping[str, Any] | None) -> str | None:
    """The history form of a row, as JSON text (None for none)."""
    return None if row is None else json.dumps(record_json(row), ensure_ascii=False, sort_keys=True)


def same_row(a: Mapping[str, Any], b: Mapping[str, Any], columns: Iterable[str]) -> bool:
    """Whether two rows hold the same values and the same geometry (exactly)."""
    if any(plain(a.get(c)) != plain(b.get(c)) for c in columns):
        return False
    ga, gb = a.get("geometry"), b.get("geometry")
    if ga is None or gb is None:
        return ga is None and gb is None
    return bool(shapely.equals_exact(ga, gb, tolerance=0.0))


def patched_row(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A row with some fields (and ``geometry``) changed; ``id`` never changes.

    Raises
    ------
    KeyError
        For a field that actors do not have.
    """
    unknown = [k for k in changes if k not in ACTOR_COLUMNS and k != "geometry"]
    if unknown:
        raise KeyError(", ".join(unknown))
    row = dict(current)
    row.update({k: v for k, v in changes.items() if k != "id"})
    return row


def record_of(row: Mapping[str, Any], version: int, updated_at: str) -> ActorRecord:
    """An :class:`ActorRecord` from a stored row."""
    fields = {c: plain(row.get(c)) for c in ACTOR_COLUMNS}
    return ActorRecord(str(row["id"]), fields, row.get("geometry"), int(version), str(updated_at))


def change_of(
    seq: int,
    actor_id: str,
    version: int,
    action: str,
    author: str,
    at: str,
    before: str | dict[str, Any] | None,
    after: str | dict[str, Any] | None,
) -> Change:
    """A :class:`Change` from a stored history row (``before``/``after`` as JSON text or data)."""

    def load(value: str | dict[str, Any] | None) -> dict[str, Any] | None:
        return json.loads(value) if isinstance(value, str) else value

    return Change(
        int(seq), str(actor_id), int(version), str(action), str(author), str(at), load(before), load(after)
    )


def single_row(table: gpd.GeoDataFrame) -> dict[str, Any]:
    """The one actor row of a one-row table.

    Raises
    ------
    ValueError
        If the table does not hold exactly one row with an id.
    """
    rows = actor_rows(table)
    if len(rows) != 1 or not rows[0].get("id"):
        raise ValueError(f"one actor with an id is expected, got {len(rows)} row(s)")
    return rows[0]


# --- the write rules, written once for every store -------------------------------------------------

#: A history entry to write: actor id, version, action, author, time, row before, row after.
HistoryEntry = tuple[str, int, str, str, str, Mapping[str, Any] | None, Mapping[str, Any] | None]
#: A stored actor: its row, its version, the time of its last change.
StoredActor = tuple[dict[str, Any], int, str]


class TransactionalStore(abc.ABC):
    """The writes of :class:`Store`, built on a few primitives that each store implements.

    Every method here runs in one transaction of the store (:meth:`_transaction`): the version
    check, the change, its history entry and the revision bump commit together or not at all.
    """

    # --- primitives ----------------------------------------------------------------------------
    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A write transaction (exclusive among writers), yielding what the primitives take."""

    @abc.abstractmethod
    def _fetch_actors(self, tx: Any, ids: Sequence[str]) -> dict[str, StoredActor]:
        """The stored actors of these ids (inside the transaction)."""

    @abc.abstractmethod
    def _insert_actors(self, tx: Any, rows: Sequence[Mapping[str, Any]], at: str) -> None:
        """Add actors at version 1."""

    @abc.abstractmethod
    def _update_actors(self, tx: Any, rows: Sequence[Mapping[str, Any]], at: str) -> None:
        """Overwrite actors by id; their version goes up by one."""

    @abc.abstractmethod
    def _delete_actor(self, tx: Any, actor_id: str) -> None:
        """Remove an actor."""

    @abc.abstractmethod
    def _append_history(self, tx: Any, entries: Sequence[HistoryEntry]) -> None:
        """Record changes."""

    @abc.abstractmethod
    def _bump(self, tx: Any) -> None:
        """Advance the store's revision."""

    @abc.abstractmethod
    def _fetch_neighbourhoods(self, tx: Any) -> dict[tuple[int, str], dict[str, Any]]:
        """Every stored neighbourhood row, by (generation, code)."""

    @abc.abstractmethod
    def _write_neighbourhoods(self, tx: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert or overwrite neighbourhoods by (generation, code)."""

    @abc.abstractmethod
    def _read_actor(self, actor_id: str) -> StoredActor | None:
        """The stored actor of this id, outside any write transaction."""

    @abc.abstractmethod
    def _read_history(self, actor_id: str) -> list[tuple[Any, ...]]:
        """History rows of an actor, oldest first: seq, actor id, version, action, author, time
        (ISO 8601 UTC text), before, after (JSON text or data)."""

    # --- one actor -----------------------------------------------------------------------------
    def get_actor(self, actor_id: str) -> ActorRecord:
        found = self._read_actor(actor_id)
        if found is None:
            raise NotFoundError(f"aucun acteur d'identifiant « {actor_id} »")
        return record_of(*found)

    def actor_history(self, actor_id: str) -> list[Change]:
        return [change_of(*row) for row in self._read_history(actor_id)]

    def create_actor(self, table: gpd.GeoDataFrame, *, author: str) -> ActorRecord:
        row = single_row(table)
        at = now_utc()
        with self._transaction() as tx:
            if self._fetch_actors(tx, [row["id"]]):
                raise AlreadyExistsError(f"un acteur d'identifiant « {row['id']} » existe déjà")
            self._insert_actors(tx, [row], at)
            self._append_history(tx, [(row["id"], 1, "create", author, at, None, row)])
            self._bump(tx)
        return record_of(row, 1, at)

    def replace_actor(
        self, table: gpd.GeoDataFrame, *, expected_version: int | None, author: str
    ) -> ActorRecord:
        row = single_row(table)
        record = self._change(row["id"], row, expected_version, author, patch=False)
        assert record is not None
        return record

    def patch_actor(
        self, actor_id: str, changes: Mapping[str, Any], *, expected_version: int | None, author: str
    ) -> ActorRecord:
        record = self._change(actor_id, dict(changes), expected_version, author, patch=True)
        assert record is not None
        return record

    def delete_actor(self, actor_id: str, *, expected_version: int | None, author: str) -> None:
        self._change(actor_id, None, expected_version, author, patch=False)

    def _change(
        self,
        actor_id: str,
        new_row: dict[str, Any] | None,
        expected_version: int | None,
        author: str,
        *,
        patch: bool,
    ) -> ActorRecord | None:
        at = now_utc()
        with self._transaction() as tx:
            found = self._fetch_actors(tx, [actor_id]).get(actor_id)
            if found is None:
                raise NotFoundError(f"aucun acteur d'identifiant « {actor_id} »")
            old, version, updated_at = found
            if expected_version is not None and expected_version != version:
                raise VersionConflictError(
                    f"l'acteur « {actor_id} » a changé depuis sa lecture (version {version}, "
                    f"modification faite sur la version {expected_version}) : "
                    "relisez-le avant de le modifier",
                    current_version=version,
                )
            if new_row is None:
                self._delete_actor(tx, actor_id)
                self._append_history(tx, [(actor_id, version, "delete", author, at, old, None)])
                self._bump(tx)
                return None
            row = patched_row(old, new_row) if patch else new_row
            if same_row(old, row, ACTOR_COLUMNS):
                return record_of(old, version, updated_at)
            self._update_actors(tx, [row], at)
            self._append_history(tx, [(actor_id, version + 1, "update", author, at, old, row)])
            self._bump(tx)
        return record_of(row, version + 1, at)

    # --- bulk ----------------------------------------------------------------------------------
    def upsert_actors(self, table: gpd.GeoDataFrame, *, author: str = IMPORT_AUTHOR) -> UpsertCounts:
        rows = actor_rows(table)
        at = now_utc()
        with self._transaction() as tx:
            existing = self._fetch_actors(tx, [r["id"] for r in rows])
            new: list[dict[str, Any]] = []
            changed: list[dict[str, Any]] = []
            entries: list[HistoryEntry] = []
            for row in rows:
                current = existing.get(row["id"])
                if current is None:
                    new.append(row)
                    entries.append((row["id"], 1, "create", author, at, None, row))
                elif not same_row(current[0], row, ACTOR_COLUMNS):
                    changed.append(row)
                    entries.append((row["id"], current[1] + 1, "update", author, at, current[0], row))
            self._insert_actors(tx, new, at)
            self._update_actors(tx, changed, at)
            self._append_history(tx, entries)
            if entries:
                self._bump(tx)
        return UpsertCounts(created=len(new), updated=len(changed), unchanged=len(rows) - len(entries))

    def upsert_neighbourhoods(self, table: gpd.GeoDataFrame) -> UpsertCounts:
        rows = neighbourhood_rows(table)
        with self._transaction() as tx:
            existing = self._fetch_neighbourhoods(tx)
            fresh = [r for r in rows if (r["generation"], r["code"]) not in existing]
            changed = [
                r
                for r in rows
                if (key := (r["generation"], r["code"])) in existing
                and not same_row(existing[key], r, QPV_COLUMNS)
            ]
            if fresh or changed:
                self._write_neighbourhoods(tx, fresh + changed)
                self._bump(tx)
        return UpsertCounts(
            created=len(fresh), updated=len(changed), unchanged=len(rows) - len(fresh) - len(changed)
        )

    def initialise(self, neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame) -> None:
        """Fill a new store in one transaction; a store that holds data is left as it is."""
        rows = actor_rows(actors)
        at = now_utc()
        with self._transaction() as tx:
            if self._has_data(tx):
                return
            self._insert_actors(tx, rows, at)
            self._append_history(tx, [(r["id"], 1, "create", IMPORT_AUTHOR, at, None, r) for r in rows])
            self._write_neighbourhoods(tx, neighbourhood_rows(neighbourhoods))
            self._bump(tx)

    @abc.abstractmethod
    def _has_data(self, tx: Any) -> bool:
        """Whether any actor or neighbourhood is stored."""
