"""The embedded GeoPackage store: round trips, upserts by key, atomic writes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from essmap.importing import import_actors, import_qpv, open_seeded_store
from essmap.settings import Settings
from essmap.store import GeoPackageStore
from essmap.store.base import SCHEMA_VERSION, Store


def test_gpkg_store_implements_the_protocol(empty_store: GeoPackageStore) -> None:
    assert isinstance(empty_store, Store)
    assert empty_store.load_actors().empty
    assert empty_store.load_neighbourhoods().empty
    assert empty_store.revision() == "empty"


def test_round_trip_keeps_values_and_unlocated_actors(demo_store: GeoPackageStore) -> None:
    actors = demo_store.load_actors()
    fresh = GeoPackageStore(demo_store.path)  # a new reader, no cache
    again = fresh.load_actors()
    assert list(again["id"]) == list(actors["id"])
    assert again.geometry.isna().sum() == 4
    assert again.loc[0, "name"] == "Otsokop"
    qpv = fresh.load_neighbourhoods()
    assert list(qpv["population"]) == [1649, 3803]
    assert set(qpv["geometry_source"]) == {"schematic"}


def test_reimport_updates_instead_of_duplicating(empty_store: GeoPackageStore, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,name,category,lon,lat\nx1,AMAP A,amap_delivery_point,-1.47,43.49\n")
    first = import_actors(empty_store, path)
    assert (first.created, first.updated) == (1, 0)
    path.write_text(
        "id,name,category,lon,lat\nx1,AMAP A (renommée),amap_delivery_point,-1.46,43.49\n"
        "x2,Marché,market,-1.48,43.50\n"
    )
    second = import_actors(empty_store, path)
    assert (second.created, second.updated) == (1, 1)
    actors = empty_store.load_actors().set_index("id")
    assert len(actors) == 2
    assert actors.loc["x1", "name"] == "AMAP A (renommée)"
    assert actors.loc["x1", "geometry"].x == pytest.approx(-1.46)


def test_reimport_of_qpv_updates_by_code(empty_store: GeoPackageStore, occitanie_shapefile: Path) -> None:
    assert import_qpv(empty_store, occitanie_shapefile).created == 105
    again = import_qpv(empty_store, occitanie_shapefile)
    assert (again.created, again.updated) == (0, 0)  # the same file again: nothing changed
    revision = empty_store.revision()
    assert import_qpv(empty_store, occitanie_shapefile).created == 0
    assert empty_store.revision() == revision  # no write, no new revision
    assert len(empty_store.load_neighbourhoods()) == 105


def test_likely_duplicates_are_reported(demo_store: GeoPackageStore, tmp_path: Path) -> None:
    # "Otsokop" is at (-1.4738, 43.5001) in the demo set; 0.0003° of latitude is about 33 m
    path = tmp_path / "dup.csv"
    path.write_text("id,name,category,lon,lat\notsokop-2,OTSOKOP,cooperative_grocery,-1.4738,43.5004\n")
    report = import_actors(demo_store, path)
    assert len(report.duplicates) == 1
    assert set(report.duplicates[0]["ids"]) == {"otsokop", "otsokop-2"}
    assert 30 < report.duplicates[0]["max_distance_m"] < 37
    path.write_text("id,name,category,lon,lat\notsokop-3,Otsokop,cooperative_grocery,-1.4738,43.5010\n")
    assert import_actors(demo_store, path).duplicates == []  # about 100 m away


def _big_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(-1.6, -1.3, rows)
    lat = rng.uniform(43.4, 43.6, rows)
    lines = ["id,name,category,lon,lat"]
    lines += [f"big{i},Acteur {i},market,{lon[i]:.6f},{lat[i]:.6f}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


def test_killed_import_leaves_the_previous_store(demo_store: GeoPackageStore, tmp_path: Path) -> None:
    before = demo_store.load_actors()
    revision = demo_store.revision()
    demo_store.close()
    big = tmp_path / "big.csv"
    _big_csv(big, 300_000)
    env = {**os.environ, "ESSMAP_DATA_DIR": str(demo_store.path.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "essmap", "import", "actors", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wal = demo_store.path.with_name(demo_store.path.name + "-wal")
    deadline = time.monotonic() + 120
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > 2_000_000:  # the import's transaction is being written
            seen = True
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen, "the import finished before it could be killed mid-write"
    assert proc.returncode == -signal.SIGKILL
    reopened = GeoPackageStore(demo_store.path)
    assert reopened.revision() == revision
    after = reopened.load_actors()
    assert after["id"].tolist() == before["id"].tolist()
    assert after.drop(columns="geometry").equals(before.drop(columns="geometry"))
    assert len(reopened.load_neighbourhoods()) == 2
    # the next write succeeds
    small = tmp_path / "small.csv"
    small.write_text("id,name,category,lon,lat\ns1,Marché,market,-1.47,43.49\n")
    import_actors(reopened, small)
    assert len(reopened.load_actors()) == 16
    reopened.close()


def test_unreadable_store_is_a_clear_error(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / "essmap.gpkg"
    path.write_bytes(b"not a geopackage")
    from essmap.errors import StoreError

    with pytest.raises(StoreError, match="illisible"):
        GeoPackageStore(path).load_actors()


def test_geometry_is_wgs84_multipolygon(demo_store: GeoPackageStore) -> None:
    qpv = demo_store.load_neighbourhoods()
    assert qpv.crs.to_epsg() == 4326
    assert all(isinstance(g, shapely.MultiPolygon) for g in qpv.geometry)


_WRITER = """
import sys
import pandas as pd
import shapely
from essmap.model import actor_frame
from essmap.store import GeoPackageStore

store = GeoPackageStore(sys.argv[1])
prefix = sys.argv[2]
for n in range(int(sys.argv[3])):
    row = pd.DataFrame({"id": [f"{prefix}-{n}"], "name": [f"{prefix} {n}"], "category": ["market"]})
    store.upsert_actors(actor_frame(row, [shapely.Point(-1.47 + n * 1e-4, 43.49)]))
"""


def test_concurrent_writers_lose_nothing(demo_store: GeoPackageStore) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(demo_store.path), name, "12"])
        for name in ("a", "b", "c")
    ]
    assert [w.wait(timeout=240) for w in writers] == [0, 0, 0]
    ids = set(GeoPackageStore(demo_store.path).load_actors()["id"])
    expected = {f"{name}-{n}" for name in ("a", "b", "c") for n in range(12)}
    assert expected <= ids
    assert len(ids) == 15 + len(expected)


def test_store_of_another_schema_version_is_refused(demo_store: GeoPackageStore) -> None:
    from essmap.errors import StoreError

    with sqlite3.connect(demo_store.path) as conn:
        conn.execute("UPDATE essmap_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="version de schéma 99"):
        GeoPackageStore(demo_store.path).load_actors()


def test_a_version_1_store_is_migrated_at_open(data_dir: Path) -> None:
    import pandas as pd
    import pyogrio

    from essmap.importing import demo_data_dir
    from essmap.sources import actors_from_file, qpv_from_file

    # a store as essmap 0.1 wrote it: whole layers written by GDAL, schema version 1
    data_dir.mkdir(parents=True)
    path = data_dir / "essmap.gpkg"
    actors = actors_from_file(demo_data_dir() / "actors_demo.csv").table
    qpv = qpv_from_file(demo_data_dir() / "qpv_schematic.geojson").table
    for layer, table, kind in (("neighbourhoods", qpv, "MultiPolygon"), ("actors", actors, "Point")):
        pyogrio.write_dataframe(table, path, layer=layer, driver="GPKG", geometry_type=kind)
    meta = pd.DataFrame({"key": ["schema_version"], "value": ["1"]})
    pyogrio.write_dataframe(meta, path, layer="essmap_meta", driver="GPKG")
    store = GeoPackageStore(path)
    loaded = store.load_actors()
    assert loaded["id"].tolist() == actors["id"].tolist()
    assert loaded.geometry.isna().sum() == actors.geometry.isna().sum()
    assert store.get_actor("otsokop").version == 1
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM essmap_meta WHERE key = 'schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)  # migrated through every version since 1
    # GDAL's R-tree triggers are gone, so plain SQLite writes work
    store.patch_actor("otsokop", {"name": "Otsokop (épicerie)"}, expected_version=1, author="test")
    assert GeoPackageStore(path).get_actor("otsokop").fields["name"] == "Otsokop (épicerie)"
    assert len(store.load_neighbourhoods()) == 2
    store.close()


def test_gdal_reads_the_store_as_a_geopackage(demo_store: GeoPackageStore) -> None:
    import pyogrio

    layers = dict(pyogrio.list_layers(demo_store.path))
    assert layers["actors"] == "Point"
    assert layers["neighbourhoods"] == "MultiPolygon"
    read = pyogrio.read_dataframe(demo_store.path, layer="actors")
    assert read.crs.to_epsg() == 4326
    ours = demo_store.load_actors()
    assert read["id"].tolist() == ours["id"].tolist()
    both = read.geometry.notna()
    assert both.tolist() == ours.geometry.notna().tolist()
    assert read.geometry[both].geom_equals_exact(ours.geometry[both], tolerance=0).all()


def test_seeding_lives_above_the_store(settings: Settings) -> None:
    code = "import sys, essmap.store; print('essmap.importing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    empty = open_seeded_store(settings.model_copy(update={"init_from_demo": False}))
    assert not empty.exists()
    assert empty.load_actors().empty
    seeded = open_seeded_store(settings)
    assert seeded.exists()
    assert len(seeded.load_actors()) == 15


def test_geopackage_geometry_blobs_round_trip_exactly() -> None:
    from essmap.store import gpkg_format

    rng = np.random.default_rng(3)
    points = list(shapely.points(rng.uniform(-180, 180, 200), rng.uniform(-90, 90, 200)))
    geoms = [
        *points,
        None,
        shapely.Point(),
        shapely.box(0, 0, 1, 1),
        shapely.MultiPolygon([shapely.box(2, 2, 3, 3)]),
    ]
    back = gpkg_format.decode(gpkg_format.encode(geoms))
    for before, after in zip(geoms, back, strict=True):
        if before is None:
            assert after is None
        else:
            assert after.equals_exact(before, tolerance=0) or (after.is_empty and before.is_empty)
            assert after.geom_type == before.geom_type


def test_actor_rows_normalise_a_raw_table_and_take_a_normal_one_as_it_is() -> None:
    import geopandas as gpd
    import pandas as pd

    from essmap.model import actor_frame, is_actor_frame
    from essmap.store.base import actor_rows

    raw = gpd.GeoDataFrame(
        {"name": ["Ferme", "Marché"], "id": ["ferme", "marche"], "category": ["urban_farm", "market"]},
        geometry=[shapely.Point(-1.47, 43.49), None],
    )
    raw["location_approximate"] = pd.Series([1, None], dtype=object)  # not the boolean dtype
    normal = actor_frame(pd.DataFrame(raw.drop(columns="geometry")), raw.geometry.to_numpy())
    assert not is_actor_frame(raw)
    assert is_actor_frame(normal)
    rows = actor_rows(raw)
    assert [list(r) for r in rows] == [[*normal.columns]] * 2  # every column, in order
    assert rows[0]["location_approximate"] is True
    assert rows[1]["location_approximate"] is None
    assert rows[1]["address"] is None
    assert rows[1]["geometry"] is None
    assert actor_rows(normal) == rows
