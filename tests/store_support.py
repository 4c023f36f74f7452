"""Stores for the tests: a fresh GeoPackage, or a fresh database on a real PostgreSQL + PostGIS server.

The server is the one named by ``ESSMAP_TEST_DATABASE_URL`` (``.ci/run`` starts a throwaway cluster
and sets it); without it, the first test that needs PostGIS starts a throwaway cluster itself with
``scripts/pg_cluster.sh`` (Debian's postgresql and postgis packages must be installed) and stops it
at the end of the session. Each test gets a database of its own, copied from a template that has
the PostGIS extension.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from essmap.settings import Settings
from essmap.store import GeoPackageStore, Store
from essmap.store.postgis import PostGISStore

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "scripts" / "pg_cluster.sh"
TEMPLATE = "essmap_test_template"
_numbers = itertools.count()


def _with_database(url: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[str]:
    """The URL of a PostgreSQL server with PostGIS (an admin connection to its ``essmap`` database)."""
    url = os.environ.get("ESSMAP_TEST_DATABASE_URL")
    folder = None
    if not url:
        folder = tempfile.mkdtemp(prefix="essmap-pg-")
        started = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "start", folder], capture_output=True, text=True
        )
        if started.returncode != 0:
            pytest.fail(
                "no PostgreSQL server for the PostGIS store tests: set ESSMAP_TEST_DATABASE_URL or install "
                f"Debian's postgresql and postgresql-15-postgis-3 ({started.stderr.strip()})"
            )
        url = started.stdout.strip().splitlines()[-1]
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    with psycopg.connect(_with_database(url, TEMPLATE), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    try:
        yield url
    finally:
        if folder is not None:
            subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", folder], check=False)


def fresh_database(server_url: str) -> str:
    """The URL of a new, empty database (with PostGIS) on the test server."""
    name = f"essmap_test_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(TEMPLATE))
        )
    return _with_database(server_url, name)


@pytest.fixture
def postgis_url(postgis_server: str) -> str:
    """A new database for one test."""
    return fresh_database(postgis_server)


@pytest.fixture(params=["gpkg", "postgis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def any_settings(store_kind: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings selecting an empty store of each kind in turn (GeoPackage, then PostGIS)."""
    if store_kind == "postgis":
        url = fresh_database(request.getfixturevalue("postgis_server"))
        return Settings(data_dir=data_dir, database_url=url)
    return Settings(data_dir=data_dir)


@pytest.fixture
def any_store(any_settings: Settings) -> Iterator[Store]:
    """An empty store of each kind in turn."""
    store: Store
    if any_settings.database_url:
        store = PostGISStore(any_settings.database_url)
    else:
        store = GeoPackageStore(any_settings.store_path)
    try:
        yield store
    finally:
        store.close()
