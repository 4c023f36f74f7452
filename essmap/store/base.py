"""The Store protocol, and the record rules every store applies.

Tables go in and out as GeoDataFrames in WGS 84 with the columns of :mod:`essmap.model`. Actors are
also read and written one at a time as :class:`ActorRecord`, each with a version that changes with
every change (the API's ETag), and every change of an actor is kept in its history (:class:`Change`:
who, when, before, after). What a store does is the same whatever keeps the data; how a row is
compared, turned into a history entry or into a record is written once, here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.model import ACTOR_COLUMNS, QPV_COLUMNS, actor_frame

QPV_KEY = ("generation", "code")
ACTOR_KEY = ("id",)

#: Columns of the population grid layer (INSEE 200 m squares).
GRID_COLUMNS = ("id", "population")

#: Schema version of the stores' tables (both stores); migrated forward when a store is opened.
SCHEMA_VERSION = 2

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

    def close(self) -> None:
        """Release connections and files."""
        ...


# --- rows and records ------------------------------------------------------------------------------


def now_utc() -> str:
    """The current time as ISO 8601 UTC with milliseconds (``2026-11-30T23:59:59.123Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """A stored scalar: None for missing values, Python numbers and booleans, text otherwise."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def table_rows(table: gpd.GeoDataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of a table as plain dicts of ``columns`` and ``geometry`` (a shapely geometry or None)."""
    cols = list(columns)
    data = {c: [plain(v) for v in table[c].tolist()] if c in table else [None] * len(table) for c in cols}
    geoms = table.geometry.to_numpy() if len(table) else np.empty(0, dtype=object)
    rows = []
    for i in range(len(table)):
        row = {c: data[c][i] for c in cols}
        geom = geoms[i]
        row["geometry"] = None if geom is None or shapely.is_empty(geom) else geom
        rows.append(row)
    return rows


def actor_rows(table: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Actor rows (:data:`~essmap.model.ACTOR_COLUMNS` and ``geometry``), normalised as stored."""
    return table_rows(actor_frame(table, table.geometry.to_numpy()), ACTOR_COLUMNS)


def neighbourhood_rows(table: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Neighbourhood rows (:data:`~essmap.model.QPV_COLUMNS` and ``geometry``)."""
    return table_rows(table, QPV_COLUMNS)


def record_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An actor row as JSON-ready data for the history: its fields and a GeoJSON point or null."""
    out = {c: plain(row.get(c)) for c in ACTOR_COLUMNS}
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
