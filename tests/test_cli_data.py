"""The essmap command: info, import, export, --help, exit statuses (run as a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest


def essmap(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "essmap", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_info_json_on_a_new_data_directory(tmp_path: Path) -> None:
    result = essmap(tmp_path / "fresh", "info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["neighbourhoods"] == 2
    assert info["actors"] == 15
    assert info["located_actors"] == 11
    assert info["neighbourhoods_by_generation"] == {"2024": 2}
    assert info["provenance"]["geometry_source"] == {"schematic": 2}
    lon0, lat0, lon1, lat1 = info["bbox"]
    assert -1.6 < lon0 < lon1 < -1.4
    assert 43.4 < lat0 < lat1 < 43.6


def test_info_human_output_is_french(tmp_path: Path) -> None:
    result = essmap(tmp_path / "fresh", "info")
    assert result.returncode == 0, result.stderr
    assert "15 dont 11 localisés" in result.stdout
    assert "Point de livraison AMAP" in result.stdout


def test_bad_csv_exits_non_zero_and_leaves_the_store_byte_identical(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert essmap(data, "info").returncode == 0  # seeds the store
    store = data / "essmap.gpkg"
    before = store.read_bytes()
    csv = tmp_path / "mixed.csv"
    csv.write_text(
        "name;category;lon;lat\n"
        "AMAP Bonne;amap_delivery_point;-1.47;43.49\n"
        "Mauvaise latitude;market;-1.47;95\n"
        "Marché;market;-1.46;43.50\n"
        ";market;-1.47;43.49\n"
        "Catégorie;bakery;-1.47;43.49\n",
        encoding="utf-8",
    )
    result = essmap(data, "import", "actors", str(csv))
    assert result.returncode != 0
    err = result.stderr
    for line, field in [(3, "lat"), (5, "name"), (6, "category")]:
        assert f"mixed.csv, ligne {line}, champ « {field} »" in err
    assert "ligne 2" not in err
    assert "ligne 4" not in err
    assert store.read_bytes() == before


def test_import_qpv_shapefile_reports_the_repair(tmp_path: Path, occitanie_shapefile: Path) -> None:
    data = tmp_path / "data"
    result = essmap(data, "import", "qpv", str(occitanie_shapefile), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["created"] == 105
    assert len(report["repaired"]) >= 32
    info = json.loads(essmap(data, "info", "--json").stdout)
    assert info["neighbourhoods_by_generation"] == {"2015": 105, "2024": 2}


def test_import_population_table(tmp_path: Path, occitanie_shapefile: Path) -> None:
    from tests.conftest import OCCITANIE_INDICATORS

    data = tmp_path / "data"
    assert essmap(data, "import", "qpv", str(occitanie_shapefile)).returncode == 0
    result = essmap(data, "import", "population", str(OCCITANIE_INDICATORS), "--reference", "Insee 2015")
    assert result.returncode == 0, result.stderr
    info = json.loads(essmap(data, "info", "--json").stdout)
    assert info["neighbourhoods_with_population"] == 107


@pytest.mark.parametrize("fmt", ["geojson", "csv", "gpkg"])
def test_export_round_trips_through_import(tmp_path: Path, fmt: str) -> None:
    data = tmp_path / "data"
    out = tmp_path / f"actors.{fmt}"
    result = essmap(data, "export", "actors", "--format", fmt, "--out", str(out))
    assert result.returncode == 0, result.stderr
    other = tmp_path / "other"
    # a second data directory, not seeded with the demo, imports the export unchanged
    env_data = other
    env = {**os.environ, "ESSMAP_DATA_DIR": str(env_data), "ESSMAP_INIT_FROM_DEMO": "false"}
    res = subprocess.run(
        [sys.executable, "-m", "essmap", "import", "actors", str(out), "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["created"] == 15
    info = json.loads(subprocess.run(
        [sys.executable, "-m", "essmap", "info", "--json"], env=env, capture_output=True, text=True
    ).stdout)  # fmt: skip
    assert (info["actors"], info["located_actors"]) == (15, 11)


def test_export_qpv_geojson_is_rfc7946(tmp_path: Path) -> None:
    out = tmp_path / "qpv.geojson"
    assert essmap(tmp_path / "data", "export", "qpv", "-o", str(out)).returncode == 0
    doc = json.loads(out.read_text())
    assert "crs" not in doc
    assert len(doc["features"]) == 2
    assert gpd.read_file(out).crs.to_epsg() == 4326


@pytest.mark.parametrize(
    "args", [["--help"], ["info", "--help"], ["import", "actors", "--help"], ["export", "qpv", "--help"]]
)
def test_help_everywhere(tmp_path: Path, args: list[str]) -> None:
    result = essmap(tmp_path / "data", *args)
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = essmap(tmp_path / "data", "import", "qpv", str(tmp_path / "nope.shp"))
    assert result.returncode != 0
    assert "nope.shp" in result.stderr
    assert "introuvable" in result.stderr


@pytest.mark.parametrize(
    "args", [["info", "--bogus"], ["import", "qpv"], ["export", "actors", "--format", "xls"]]
)
def test_usage_errors_exit_2_without_traceback(tmp_path: Path, args: list[str]) -> None:
    result = essmap(tmp_path / "data", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Usage" in result.stderr
