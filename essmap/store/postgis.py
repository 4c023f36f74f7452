"""The server store: PostgreSQL with PostGIS, for shared deployments (several API processes or machines).

Selected by ``ESSMAP_DATABASE_URL=postgresql://…``. psycopg 3 with a connection pool; the schema is
created and migrated at start by numbered, idempotent migrations (one transaction each, under an
advisory lock, so several processes may start at once); geometries have GiST indexes; the
population grid is loaded with ``COPY``.

Every write runs in one transaction holding an advisory lock (writers are serialised, readers never
wait), bumps the revision in ``essmap_meta`` and sends ``NOTIFY essmap_revision``. Each process
listens on a connection of its own and keeps the last revision in memory, so that
:meth:`PostGISStore.revision`, called on every API request, costs no round trip, and an edit made
through one process is seen by the others as soon as it commits.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg_pool import ConnectionPool, PoolTimeout

from essmap.errors import StoreError
from essmap.model import ACTOR_COLUMNS, QPV_COLUMNS, actor_frame, neighbourhood_frame
from essmap.priority import fetch_all
from essmap.store.addresses import ADDRESSES_SQL
from essmap.store.base import (
    SCHEMA_VERSION,
    HistoryEntry,
    StoredActor,
    grid_frame,
    history_text,
)
from essmap.store.communes import COMMUNES_SQL, CommuneStore
from essmap.store.moderation import HISTORY_AUTHOR_INDEX, TABLES_SQL
from essmap.store.network import NETWORK_SQL

log = logging.getLogger("essmap.store")

CHANNEL = "essmap_revision"
_WRITE_LOCK = 0x65_73_73_6D  # "essm": the advisory lock every write transaction holds
_UTC_TEXT = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
_ACTOR_COLUMNS_SQL = ", ".join(f'"{c}"' for c in ACTOR_COLUMNS)
_ACTOR_SELECT = f"{_ACTOR_COLUMNS_SQL}, ST_AsBinary(geom), version, {_UTC_TEXT.format('updated_at')}"
_QPV_COLUMNS_SQL = ", ".join(f'"{c}"' for c in QPV_COLUMNS)

_ACTOR_DDL = ", ".join(
    f'"{c}" ' + ("boolean" if c == "location_approximate" else "text") + (" PRIMARY KEY" if c == "id" else "")
    for c in ACTOR_COLUMNS
)

#: Numbered migrations; each runs once, in order, in its own transaction. Version 2 is the first
#: (it matches :data:`essmap.store.base.SCHEMA_VERSION` of the GeoPackage store, whose version 1
#: predates the versions and history of actors).
MIGRATIONS: dict[int, str] = {
    2: f"""
    CREATE EXTENSION IF NOT EXISTS postgis;
    CREATE TABLE IF NOT EXISTS essmap_meta (key text PRIMARY KEY, value text NOT NULL);
    INSERT INTO essmap_meta VALUES ('revision', '0') ON CONFLICT (key) DO NOTHING;
    CREATE TABLE IF NOT EXISTS neighbourhoods (
        position bigserial, code text NOT NULL, name text, generation integer NOT NULL,
        commune_codes text, commune_names text, population bigint, population_year integer,
        population_source text, geometry_source text, source text,
        geom geometry(MultiPolygon, 4326),
        PRIMARY KEY (generation, code));
    CREATE INDEX IF NOT EXISTS neighbourhoods_geom ON neighbourhoods USING gist (geom);
    CREATE TABLE IF NOT EXISTS actors (
        position bigserial,
        {_ACTOR_DDL},
        geom geometry(Point, 4326),
        version integer NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX IF NOT EXISTS actors_geom ON actors USING gist (geom);
    CREATE INDEX IF NOT EXISTS actors_position ON actors (position);
    CREATE TABLE IF NOT EXISTS population_grid (
        position bigserial, id text PRIMARY KEY, population double precision,
        geom geometry(Polygon, 4326));
    CREATE INDEX IF NOT EXISTS population_grid_geom ON population_grid USING gist (geom);
    CREATE TABLE IF NOT EXISTS actor_history (
        seq bigserial PRIMARY KEY, actor_id text NOT NULL, version integer NOT NULL,
        action text NOT NULL, author text NOT NULL, at timestamptz NOT NULL, before jsonb, after jsonb);
    CREATE INDEX IF NOT EXISTS actor_history_actor ON actor_history (actor_id, seq);
    {";".join((*TABLES_SQL, *ADDRESSES_SQL)).format(float8="double precision")};
    """,
    # the street network, and the commune table of the maps' backdrop
    3: ";".join(NETWORK_SQL).format(blob="bytea") + ";" + ";".join(COMMUNES_SQL),
    # the history by author and time: the rate limit of writes counts a key's recent changes
    4: HISTORY_AUTHOR_INDEX,
}


@dataclass
class _Tx:
    """A write transaction: its connection, and the revision it makes (set by the bump)."""

    conn: psycopg.Connection[Any]
    revision: int | None = None


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(adresse illisible)"
    host, port, db = info.get("host", "?"), info.get("port", "5432"), info.get("dbname", "?")
    return f"postgresql://{host}:{port}/{db}"


def _ewkb(geoms: Sequence[object] | np.ndarray) -> list[str | None]:
    """Hex EWKB (SRID 4326) of each geometry, as PostGIS reads in COPY; None stays None."""
    arr = np.asarray(geoms, dtype=object)
    out: list[str | None] = [None] * len(arr)
    present = np.flatnonzero(~shapely.is_missing(arr)) if len(arr) else np.empty(0, dtype=int)
    if len(present):
        hexes = shapely.to_wkb(shapely.set_srid(arr[present], 4326), hex=True, include_srid=True)
        for i, text in zip(present.tolist(), hexes.tolist(), strict=True):
            out[i] = text
    return out


def _geoms(wkbs: Sequence[bytes | None]) -> np.ndarray:
    arr = np.asarray(list(wkbs), dtype=object)
    out = np.full(len(arr), None, dtype=object)
    present = np.flatnonzero([w is not None for w in wkbs]) if len(arr) else np.empty(0, dtype=int)
    if len(present):
        out[present] = shapely.from_wkb([bytes(arr[i]) for i in present])
    return out


class PostGISStore(CommuneStore):
    """A store in a PostgreSQL database with PostGIS."""

    def __init__(self, url: str, *, pool_size: int = 10, connect_timeout_s: float = 10.0) -> None:
        self.url = url
        self._where = _safe_url(url)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(pool_size, 2),
            timeout=connect_timeout_s,
            open=False,
            name="essmap",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreError(f"base de données {self._where} injoignable") from exc
        self._revision = -1
        self._revision_lock = threading.Lock()
        self._listening = threading.Event()
        self._stop = threading.Event()
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise
        self._listener = threading.Thread(target=self._listen, name="essmap-revision", daemon=True)
        self._listener.start()
        self._listening.wait(timeout=connect_timeout_s)

    # --- schema --------------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS essmap_migrations "
                "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT max(version) FROM essmap_migrations").fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"base {self._where} : version de schéma {current} non prise en charge, plus récente "
                    f"que celle de cette version d'essmap ({SCHEMA_VERSION}) ; mettez essmap à jour"
                )
            for version in sorted(v for v in MIGRATIONS if v > current):
                conn.execute(MIGRATIONS[version])
                conn.execute("INSERT INTO essmap_migrations (version) VALUES (%s)", (version,))
                log.info("PostGIS store %s migrated to schema version %d", self._where, version)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreError(f"base de données {self._where} injoignable ou saturée") from exc
        except psycopg.OperationalError as exc:
            raise StoreError(f"base de données {self._where} : {exc}") from exc

    # --- revision ------------------------------------------------------------------------------
    def _listen(self) -> None:
        """Follow the revision: LISTEN on a connection of its own, reconnecting after a failure."""
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._seen(self._read_revision(conn))
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._seen(int(note.payload))
            except (psycopg.Error, ValueError) as exc:
                self._listening.clear()
                log.warning("revision listener of %s: %s; reconnecting", self._where, exc)
                self._stop.wait(1.0)

    @staticmethod
    def _read_revision(conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT value FROM essmap_meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def _seen(self, revision: int) -> None:
        with self._revision_lock:
            self._revision = max(self._revision, revision)

    def revision(self) -> str:
        """The number of committed writes, as text; from memory while the listener is connected."""
        if not self._listening.is_set():  # no notifications: ask the database
            with self._connection() as conn:
                self._seen(self._read_revision(conn))
        return f"r{self._revision}"

    def exists(self) -> bool:
        """Whether anything was ever written (a new database is empty until seeded or imported)."""
        with self._connection() as conn:
            return self._read_revision(conn) > 0

    # --- reading -------------------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return fetch_all(conn.execute(sql, params))

    def load_neighbourhoods(self) -> gpd.GeoDataFrame:
        rows = self._rows(
            f"SELECT {_QPV_COLUMNS_SQL}, ST_AsBinary(geom) FROM neighbourhoods ORDER BY position"
        )
        frame = pd.DataFrame([r[:-1] for r in rows], columns=list(QPV_COLUMNS))
        return neighbourhood_frame(frame, _geoms([r[-1] for r in rows]))

    def load_actors(self) -> gpd.GeoDataFrame:
        rows = self._rows(f"SELECT {_ACTOR_COLUMNS_SQL}, ST_AsBinary(geom) FROM actors ORDER BY position")
        frame = pd.DataFrame([r[:-1] for r in rows], columns=list(ACTOR_COLUMNS))
        return actor_frame(frame, _geoms([r[-1] for r in rows]))

    def load_population_grid(self) -> gpd.GeoDataFrame:
        rows = self._rows("SELECT id, population, ST_AsBinary(geom) FROM population_grid ORDER BY position")
        return grid_frame([r[0] for r in rows], [r[1] for r in rows], _geoms([r[2] for r in rows]))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._rows(sql.replace("?", "%s"), params)

    def _execute(self, tx: _Tx, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = tx.conn.execute(sql.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []

    def _bulk_insert(
        self, tx: _Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        with tx.conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _read_actor(self, actor_id: str) -> StoredActor | None:
        rows = self._rows(f"SELECT {_ACTOR_SELECT} FROM actors WHERE id = %s", (actor_id,))
        return _stored(rows[0]) if rows else None

    def _read_history(self, actor_id: str) -> list[tuple[Any, ...]]:
        return self._rows(
            f"SELECT seq, actor_id, version, action, author, {_UTC_TEXT.format('at')}, before, after "
            "FROM actor_history WHERE actor_id = %s ORDER BY seq",
            (actor_id,),
        )

    # --- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        with self._connection() as conn:
            tx = _Tx(conn)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
                yield tx
            if tx.revision is not None:  # committed: this process knows at once
                self._seen(tx.revision)

    def _bump(self, tx: _Tx) -> None:
        row = tx.conn.execute(
            "UPDATE essmap_meta SET value = (value::bigint + 1)::text WHERE key = 'revision' RETURNING value"
        ).fetchone()
        assert row is not None
        tx.revision = int(row[0])
        tx.conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(tx.revision)))

    def _fetch_actors(self, tx: _Tx, ids: Sequence[str]) -> dict[str, StoredActor]:
        if not ids:
            return {}
        rows = tx.conn.execute(f"SELECT {_ACTOR_SELECT} FROM actors WHERE id = ANY(%s)", (list(ids),))
        out = {}
        for raw in rows.fetchall():
            stored = _stored(raw)
            out[stored[0]["id"]] = stored
        return out

    def _copy_actors(self, tx: _Tx, table: str, rows: Sequence[Mapping[str, Any]], at: str) -> None:
        geoms = _ewkb([r["geometry"] for r in rows])
        with tx.conn.cursor().copy(
            f"COPY {table} ({_ACTOR_COLUMNS_SQL}, geom, updated_at) FROM STDIN"
        ) as copy:
            for row, geom in zip(rows, geoms, strict=True):
                copy.write_row([*(row.get(c) for c in ACTOR_COLUMNS), geom, at])

    def _insert_actors(self, tx: _Tx, rows: Sequence[Mapping[str, Any]], at: str) -> None:
        if rows:
            self._copy_actors(tx, "actors", rows, at)

    def _update_actors(self, tx: _Tx, rows: Sequence[Mapping[str, Any]], at: str) -> None:
        if not rows:
            return
        tx.conn.execute(
            f"CREATE TEMP TABLE actor_changes ON COMMIT DROP AS "
            f"SELECT {_ACTOR_COLUMNS_SQL}, geom, updated_at FROM actors WITH NO DATA"
        )
        self._copy_actors(tx, "actor_changes", rows, at)
        sets = ", ".join(f'"{c}" = c."{c}"' for c in ACTOR_COLUMNS if c != "id")
        tx.conn.execute(
            f"UPDATE actors a SET {sets}, geom = c.geom, version = a.version + 1, updated_at = c.updated_at "
            "FROM actor_changes c WHERE a.id = c.id"
        )

    def _delete_actor(self, tx: _Tx, actor_id: str) -> None:
        tx.conn.execute("DELETE FROM actors WHERE id = %s", (actor_id,))

    def _append_history(self, tx: _Tx, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        with tx.conn.cursor().copy(
            "COPY actor_history (actor_id, version, action, author, at, before, after) FROM STDIN"
        ) as copy:
            for actor_id, version, action, author, at, before, after in entries:
                copy.write_row(
                    [actor_id, version, action, author, at, history_text(before), history_text(after)]
                )

    def _fetch_neighbourhoods(self, tx: _Tx) -> dict[tuple[int, str], dict[str, Any]]:
        rows = tx.conn.execute(f"SELECT {_QPV_COLUMNS_SQL}, ST_AsBinary(geom) FROM neighbourhoods").fetchall()
        geoms = _geoms([r[-1] for r in rows])
        out = {}
        for raw, geom in zip(rows, geoms, strict=True):
            row = dict(zip(QPV_COLUMNS, raw[:-1], strict=True), geometry=geom)
            out[(row["generation"], row["code"])] = row
        return out

    def _write_neighbourhoods(self, tx: _Tx, rows: Sequence[Mapping[str, Any]]) -> None:
        geoms = _ewkb([r["geometry"] for r in rows])
        marks = ", ".join(["%s"] * (len(QPV_COLUMNS) + 1))
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in QPV_COLUMNS) + ", geom = excluded.geom"
        with tx.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO neighbourhoods ({_QPV_COLUMNS_SQL}, geom) VALUES ({marks}) "
                f"ON CONFLICT (generation, code) DO UPDATE SET {updates}",
                [[*(r[c] for c in QPV_COLUMNS), g] for r, g in zip(rows, geoms, strict=True)],
            )

    def _has_data(self, tx: _Tx) -> bool:
        row = tx.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM actors) OR EXISTS (SELECT 1 FROM neighbourhoods)"
        ).fetchone()
        return bool(row and row[0])

    def replace_population_grid(self, table: gpd.GeoDataFrame) -> int:
        with self._transaction() as tx:
            tx.conn.execute("TRUNCATE population_grid")
            step = 100_000
            with tx.conn.cursor().copy("COPY population_grid (id, population, geom) FROM STDIN") as copy:
                for start in range(0, len(table), step):
                    part = table.iloc[start : start + step]
                    ids = part["id"].astype(str).tolist()
                    pops = part["population"].astype(float).tolist()
                    for row in zip(ids, pops, _ewkb(part.geometry.to_numpy()), strict=True):
                        copy.write_row(row)
            self._bump(tx)
        return len(table)

    def close(self) -> None:
        self._stop.set()
        self._listener.join(timeout=5)
        self._pool.close()


def _stored(raw: Sequence[Any]) -> StoredActor:
    """(row, version, updated_at) of an actor selected with ``_ACTOR_SELECT``."""
    n = len(ACTOR_COLUMNS)
    row = dict(zip(ACTOR_COLUMNS, raw[:n], strict=True))
    (row["geometry"],) = _geoms([raw[n]])
    return row, int(raw[n + 1]), str(raw[n + 2])


__all__ = ["MIGRATIONS", "PostGISStore"]
