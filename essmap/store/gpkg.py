"""The embedded store: one GeoPackage file in the data directory, written through SQLite transactions.

Why SQLite (Python's ``sqlite3``) rather than GDAL for writing: a GeoPackage *is* an SQLite
database, and SQLite's transactions give what essmap needs and GDAL's layer writer does not expose
row by row: an upsert of one actor touches one row, inside ``BEGIN IMMEDIATE … COMMIT``, with the
version check, the history entry and the revision bump in the same transaction. The file is in
WAL mode, so readers (other threads, other API processes) never wait for a writer and always see
the last committed state; ``synchronous=FULL`` makes a committed write survive a crash. Writers are
serialised across processes by a portable lock file (``filelock``) before SQLite's own lock.

GDAL, QGIS and any GeoPackage reader still open the file: essmap writes the GeoPackage metadata
tables and geometry blobs itself (:mod:`essmap.store.gpkg_format`). The schema is versioned
(:data:`~essmap.store.base.SCHEMA_VERSION`) and migrated forward at open; a store written by a
newer essmap is refused.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from filelock import FileLock, Timeout

from essmap.errors import StoreError
from essmap.model import ACTOR_COLUMNS, QPV_COLUMNS, actor_frame, neighbourhood_frame
from essmap.priority import fetch_all, pace
from essmap.store import gpkg_format, moderation
from essmap.store.addresses import ADDRESSES_SQL
from essmap.store.base import (
    SCHEMA_VERSION,
    HistoryEntry,
    StoredActor,
    grid_frame,
    history_text,
    now_utc,
)
from essmap.store.communes import COMMUNES_SQL, CommuneStore
from essmap.store.network import NETWORK_SQL

META = "essmap_meta"
#: Feature tables: geometry type and columns (besides ``fid`` and ``geom``), in file order.
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "neighbourhoods": (
        "MULTIPOLYGON",
        {
            "code": "TEXT",
            "name": "TEXT",
            "generation": "INTEGER",
            "commune_codes": "TEXT",
            "commune_names": "TEXT",
            "population": "INTEGER",
            "population_year": "INTEGER",
            "population_source": "TEXT",
            "geometry_source": "TEXT",
            "source": "TEXT",
        },
    ),
    "actors": (
        "POINT",
        {
            **{c: ("BOOLEAN" if c == "location_approximate" else "TEXT") for c in ACTOR_COLUMNS},
            "version": "INTEGER NOT NULL DEFAULT 1",
            "updated_at": "TEXT",
        },
    ),
    "population_grid": ("POLYGON", {"id": "TEXT", "population": "REAL"}),
}
_ACTOR_SELECT = ", ".join(["geom", *ACTOR_COLUMNS, "version", "updated_at"])
_WRITE_TIMEOUT_S = 120.0
_CHUNK = 500  # ids per "IN (…)" query


def _create_schema(conn: sqlite3.Connection) -> None:
    gpkg_format.create_metadata(conn)
    for table, (geometry_type, columns) in TABLES.items():
        cols = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{table}" '
            f"(fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {geometry_type}, {cols})"
        )
        gpkg_format.register_table(conn, table, geometry_type=geometry_type)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {META} "
        "(fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, key TEXT NOT NULL, value TEXT)"
    )
    gpkg_format.register_table(conn, META, geometry_type=None)
    _create_indexes_and_history(conn)
    conn.execute(f"INSERT INTO {META} (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    conn.execute(f"INSERT INTO {META} (key, value) VALUES ('revision', '0')")


def _create_indexes_and_history(conn: sqlite3.Connection) -> None:
    conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {META}_key ON {META} (key)")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS actors_id ON actors (id)")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS neighbourhoods_key ON neighbourhoods (generation, code)")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS population_grid_id ON population_grid (id)")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS actor_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "actor_id TEXT NOT NULL, version INTEGER NOT NULL, action TEXT NOT NULL, author TEXT NOT NULL, "
        "at TEXT NOT NULL, before TEXT, after TEXT)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS actor_history_actor ON actor_history (actor_id, seq)")
    conn.execute(moderation.HISTORY_AUTHOR_INDEX)
    gpkg_format.register_table(conn, "actor_history", geometry_type=None)
    for statement in (*moderation.TABLES_SQL, *ADDRESSES_SQL, *NETWORK_SQL):
        conn.execute(statement.format(float8="REAL", blob="BLOB"))
    for table in ("api_keys", "proposals", "addresses", "street_network"):
        gpkg_format.register_table(conn, table, geometry_type=None)
    _create_communes(conn)


def _create_communes(conn: sqlite3.Connection) -> None:
    for statement in COMMUNES_SQL:
        conn.execute(statement)
    gpkg_format.register_table(conn, "communes", geometry_type=None)


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Version 1 was written whole by GDAL: drop its R-tree triggers, add versions and history."""
    gpkg_format.drop_rtree_indexes(conn)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table, (geometry_type, columns) in TABLES.items():
        if table not in names:
            cols = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
            conn.execute(
                f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                f"geom {geometry_type}, {cols})"
            )
            gpkg_format.register_table(conn, table, geometry_type=geometry_type)
    present = {row[1] for row in conn.execute('PRAGMA table_info("actors")')}
    if "version" not in present:
        conn.execute('ALTER TABLE actors ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1')
    if "updated_at" not in present:
        conn.execute('ALTER TABLE actors ADD COLUMN "updated_at" TEXT')
    conn.execute("UPDATE actors SET updated_at = ? WHERE updated_at IS NULL", (now_utc(),))
    _create_indexes_and_history(conn)
    conn.execute(f"INSERT OR IGNORE INTO {META} (key, value) VALUES ('revision', '0')")


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """Version 3 adds the street network and the communes of the maps' backdrop (and the plain
    tables added since version 2, if missing)."""
    _create_indexes_and_history(conn)


def _migrate_3_to_4(conn: sqlite3.Connection) -> None:
    """Version 4 indexes the history by author and time (the rate limit of writes counts there)."""
    conn.execute(moderation.HISTORY_AUTHOR_INDEX)


#: Forward migrations: from version N to N + 1.
MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4}


class GeoPackageStore(CommuneStore):
    """A store in one GeoPackage file (tables ``neighbourhoods``, ``actors``, ``population_grid``,
    ``actor_history`` and ``essmap_meta``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._checked = False
        self._thread_lock = threading.Lock()  # one writing thread per process
        self._file_lock = FileLock(str(self.path) + ".lock", timeout=_WRITE_TIMEOUT_S)

    # --- connections ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=_WRITE_TIMEOUT_S)
            if not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                # a new file: its GeoPackage header goes straight into the file, before WAL mode
                # (GDAL reads the application id from the file's first bytes, not through SQLite)
                gpkg_format.mark_as_geopackage(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise StoreError(f"le stockage {self.path} est illisible : {exc}") from exc
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection | None:
        """This thread's connection, once the schema is checked; None when the file does not exist."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if not self.path.is_file():
                return None
            conn = self._connect()
            self._local.conn = conn
        if not self._checked and not self._check_schema(conn):
            return None  # an empty database: a first write was interrupted before it committed
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> bool:
        """Check the schema version, migrating forward; False for an empty database."""
        version = self._schema_version(conn)
        if version is None:
            return False
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} : version de schéma {version} non prise en charge, plus récente que "
                f"celle de cette version d'essmap ({SCHEMA_VERSION}) ; mettez essmap à jour"
            )
        if version < SCHEMA_VERSION:
            with self._writing(conn):
                version = self._schema_version(conn) or SCHEMA_VERSION  # another process may have migrated it
                while version < SCHEMA_VERSION:
                    MIGRATIONS[version](conn)
                    version += 1
                    conn.execute(f"UPDATE {META} SET value = ? WHERE key = 'schema_version'", (str(version),))
                self._bump(conn)
        self._checked = True
        return True

    def _schema_version(self, conn: sqlite3.Connection) -> int | None:
        """The schema version of the file; None for an empty database (no table at all)."""
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return None
            if META not in tables:
                raise StoreError(f"{self.path} n'est pas un stockage essmap (table {META} absente)")
            row = conn.execute(f"SELECT value FROM {META} WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"le stockage {self.path} est illisible : {exc}") from exc
        try:
            return int(row[0]) if row else 0
        except ValueError:
            raise StoreError(f"{self.path} : version de schéma « {row[0]} » illisible") from None

    @contextlib.contextmanager
    def _writing(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction: process and file locks, ``BEGIN IMMEDIATE``, commit or roll back."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._thread_lock, self._file_lock:
                if conn is None:
                    conn = getattr(self._local, "conn", None)
                    if conn is None:
                        conn = self._connect()
                        self._local.conn = conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if self._schema_version(conn) is None:  # a new store
                        _create_schema(conn)
                        self._checked = True
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except Timeout as exc:
            raise StoreError(f"le stockage {self.path} est occupé par une autre écriture") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"écriture impossible dans {self.path} : {exc}") from exc

    # --- reading -------------------------------------------------------------------------------
    def revision(self) -> str:
        """The number of committed writes, as text (``empty`` before the first)."""
        conn = self._conn()
        if conn is None:
            return "empty"
        rows = self._select(f"SELECT value FROM {META} WHERE key = 'revision'")
        return f"r{rows[0][0]}" if rows else "empty"

    def exists(self) -> bool:
        return self._conn() is not None

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = self._conn()
        if conn is None:
            return []
        try:
            return fetch_all(conn.execute(sql, params))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"le stockage {self.path} est illisible : {exc}") from exc

    def load_neighbourhoods(self) -> gpd.GeoDataFrame:
        rows = self._select(f"SELECT geom, {', '.join(QPV_COLUMNS)} FROM neighbourhoods ORDER BY fid")
        frame = pd.DataFrame([r[1:] for r in rows], columns=list(QPV_COLUMNS))
        return neighbourhood_frame(frame, gpkg_format.decode([r[0] for r in rows]))

    def load_actors(self) -> gpd.GeoDataFrame:
        rows = self._select(f"SELECT {_ACTOR_SELECT} FROM actors ORDER BY fid")
        return _actor_table(rows)

    def load_population_grid(self) -> gpd.GeoDataFrame:
        rows = self._select("SELECT geom, id, population FROM population_grid ORDER BY fid")
        return grid_frame(
            [r[1] for r in rows], [r[2] for r in rows], gpkg_format.decode([r[0] for r in rows])
        )

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._select(sql, params)

    def _execute(self, tx: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return tx.execute(sql, params).fetchall()

    def _bulk_insert(
        self, tx: sqlite3.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        marks = ", ".join("?" * len(columns))
        tx.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _read_actor(self, actor_id: str) -> StoredActor | None:
        rows = self._select(f"SELECT {_ACTOR_SELECT} FROM actors WHERE id = ?", (actor_id,))
        return _actor_row(rows[0]) if rows else None

    def _read_history(self, actor_id: str) -> list[tuple[Any, ...]]:
        return self._select(
            "SELECT seq, actor_id, version, action, author, at, before, after FROM actor_history "
            "WHERE actor_id = ? ORDER BY seq",
            (actor_id,),
        )

    # --- bulk writes ---------------------------------------------------------------------------
    def replace_population_grid(self, table: gpd.GeoDataFrame) -> int:
        with self._transaction() as conn:
            conn.execute("DELETE FROM population_grid")
            step = 100_000
            for start in range(0, len(table), step):
                part = table.iloc[start : start + step]
                blobs = gpkg_format.encode(part.geometry.to_numpy())
                ids = part["id"].astype(str).tolist()
                pops = part["population"].astype(float).tolist()
                conn.executemany(
                    "INSERT INTO population_grid (geom, id, population) VALUES (?, ?, ?)",
                    zip(blobs, ids, pops, strict=True),
                )
            self._bump(conn)
        return len(table)

    # --- primitives of the writes (see TransactionalStore) ----------------------------------------
    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction on a checked (migrated) store, created if new."""
        return self._writing(self._conn())

    def _fetch_actors(self, tx: sqlite3.Connection, ids: Sequence[str]) -> dict[str, StoredActor]:
        out: dict[str, StoredActor] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            for raw in tx.execute(f"SELECT {_ACTOR_SELECT} FROM actors WHERE id IN ({marks})", chunk):
                stored = _actor_row(raw)
                out[stored[0]["id"]] = stored
        return out

    def _insert_actors(self, tx: sqlite3.Connection, rows: Sequence[Mapping[str, Any]], at: str) -> None:
        if not rows:
            return
        blobs = gpkg_format.encode([r["geometry"] for r in rows])
        marks = ", ".join("?" * (len(ACTOR_COLUMNS) + 3))
        tx.executemany(
            f"INSERT INTO actors ({_ACTOR_SELECT}) VALUES ({marks})",
            [(blob, *_values(r), 1, at) for r, blob in zip(rows, blobs, strict=True)],
        )

    def _update_actors(self, tx: sqlite3.Connection, rows: Sequence[Mapping[str, Any]], at: str) -> None:
        if not rows:
            return
        blobs = gpkg_format.encode([r["geometry"] for r in rows])
        sets = ", ".join(f'"{c}" = ?' for c in ACTOR_COLUMNS if c != "id")
        tx.executemany(
            f"UPDATE actors SET geom = ?, {sets}, version = version + 1, updated_at = ? WHERE id = ?",
            [(blob, *_values(r)[1:], at, r["id"]) for r, blob in zip(rows, blobs, strict=True)],
        )

    def _delete_actor(self, tx: sqlite3.Connection, actor_id: str) -> None:
        tx.execute("DELETE FROM actors WHERE id = ?", (actor_id,))

    def _append_history(self, tx: sqlite3.Connection, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        tx.executemany(
            "INSERT INTO actor_history (actor_id, version, action, author, at, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, v, a, who, at, history_text(b), history_text(c)) for i, v, a, who, at, b, c in entries],
        )

    def _bump(self, tx: sqlite3.Connection) -> None:
        tx.execute(f"UPDATE {META} SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")

    def _fetch_neighbourhoods(self, tx: sqlite3.Connection) -> dict[tuple[int, str], dict[str, Any]]:
        stored = tx.execute(f"SELECT geom, {', '.join(QPV_COLUMNS)} FROM neighbourhoods").fetchall()
        geoms = gpkg_format.decode([r[0] for r in stored])
        out = {}
        for raw, geom in zip(stored, geoms, strict=True):
            row = dict(zip(QPV_COLUMNS, raw[1:], strict=True), geometry=geom)
            out[(row["generation"], row["code"])] = row
        return out

    def _write_neighbourhoods(self, tx: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        blobs = gpkg_format.encode([r["geometry"] for r in rows])
        columns = ", ".join(QPV_COLUMNS)
        placeholders = ", ".join("?" * (len(QPV_COLUMNS) + 1))
        updates = ", ".join(f"{c} = excluded.{c}" for c in ("geom", *QPV_COLUMNS))
        tx.executemany(
            f"INSERT INTO neighbourhoods (geom, {columns}) VALUES ({placeholders}) "
            f"ON CONFLICT (generation, code) DO UPDATE SET {updates}",
            [(blob, *(r[c] for c in QPV_COLUMNS)) for r, blob in zip(rows, blobs, strict=True)],
        )

    def _has_data(self, tx: sqlite3.Connection) -> bool:
        found = tx.execute("SELECT EXISTS (SELECT 1 FROM actors) OR EXISTS (SELECT 1 FROM neighbourhoods)")
        return bool(found.fetchone()[0])

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()


# --- rows in and out of SQLite -------------------------------------------------------------------


def _actor_row(raw: Sequence[Any]) -> StoredActor:
    """A stored actor as (row, version, updated_at); ``geometry`` decoded."""
    (geom,) = gpkg_format.decode([raw[0]])
    row = dict(zip(ACTOR_COLUMNS, raw[1 : 1 + len(ACTOR_COLUMNS)], strict=True))
    if row["location_approximate"] is not None:
        row["location_approximate"] = bool(row["location_approximate"])
    row["geometry"] = geom
    return row, int(raw[-2]), str(raw[-1])


def _actor_table(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame([r[1 : 1 + len(ACTOR_COLUMNS)] for r in rows], columns=list(ACTOR_COLUMNS))
    frame["location_approximate"] = frame["location_approximate"].map(
        lambda v: None if v is None or v != v else bool(v)
    )
    pace()
    geometry = gpkg_format.decode([r[0] for r in rows])
    pace()
    return actor_frame(frame, geometry)


def _values(row: Mapping[str, Any]) -> list[Any]:
    """The stored values of an actor row, in :data:`ACTOR_COLUMNS` order (booleans as 0/1)."""
    values = [row.get(c) for c in ACTOR_COLUMNS]
    approximate = ACTOR_COLUMNS.index("location_approximate")
    if values[approximate] is not None:
        values[approximate] = int(bool(values[approximate]))
    return values


__all__ = ["GeoPackageStore"]
