"""The embedded GeoPackage store: round trips, upserts by key, atomic writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from essmap.importing import import_actors, import_qpv
from essmap.store import GeoPackageStore
from essmap.store.base import Store


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
    assert (again.created, again.updated) == (0, 105)
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
    before = demo_store.path.read_bytes()
    big = tmp_path / "big.csv"
    _big_csv(big, 300_000)
    env = {**os.environ, "ESSMAP_DATA_DIR": str(demo_store.path.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "essmap", "import", "actors", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pattern = f".{demo_store.path.name}.*.tmp.gpkg"
    deadline = time.monotonic() + 120
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        temporaries = list(demo_store.path.parent.glob(pattern))
        if temporaries and temporaries[0].stat().st_size > 100_000:
            seen = True
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen, "the import finished before it could be killed mid-write"
    assert proc.returncode == -signal.SIGKILL
    assert demo_store.path.read_bytes() == before
    reopened = GeoPackageStore(demo_store.path)
    assert len(reopened.load_actors()) == 15
    assert len(reopened.load_neighbourhoods()) == 2
    # the next write cleans the stale temporary and succeeds
    small = tmp_path / "small.csv"
    small.write_text("id,name,category,lon,lat\ns1,Marché,market,-1.47,43.49\n")
    import_actors(reopened, small)
    assert len(reopened.load_actors()) == 16
    assert not list(demo_store.path.parent.glob(pattern))


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
