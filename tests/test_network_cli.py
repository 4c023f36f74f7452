"""The walking commands: import network, network info, nearest / within / coverage / suggest --mode
walk, isochrones; on the river of test_network_walking.py (A on the north bank, B across it)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

from tests.cli_support import run
from tests.network_support import lonlat, river_osm

pytestmark = pytest.mark.usefixtures("data_dir")


@pytest.fixture
def river_actors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """A and B imported as markets; returns O's lon and lat as the command line takes them."""
    (lon_a, lat_a), (lon_b, lat_b) = lonlat(800, 120), lonlat(100, -105)
    csv = tmp_path / "river_actors.csv"
    csv.write_text(
        "id,name,category,lon,lat,location_precision\n"
        f"river-a,Marché du quai nord,market,{lon_a:.7f},{lat_a:.7f},exact\n"
        f"river-b,Marché du quai sud,market,{lon_b:.7f},{lat_b:.7f},exact\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "import", "actors", str(csv))
    assert code == 0, err
    lon, lat = lonlat(100, 110)
    return f"{lon:.7f}", f"{lat:.7f}"


def test_without_a_network_walks_are_estimates(
    river_actors: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "network", "info")
    assert code == 0
    assert "Aucun réseau de rues importé" in out
    assert "vol d'oiseau × 1,3" in out
    code, out, err = run(
        capsys, "nearest", *river_actors, "-k", "2", "-c", "market", "--mode", "walk", "--json"
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["distance_method"] == "estimate"
    assert [h["id"] for h in answer["hits"]] == ["river-b", "river-a"]  # the straight-line order
    assert answer["hits"][0]["distance_m"] == pytest.approx(215 * 1.3, abs=0.1)
    code, out, _ = run(capsys, "nearest", *river_actors, "-k", "1", "-c", "market", "--mode", "walk")
    assert "estimation" in out


def test_import_network_then_walk(
    river_actors: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "import", "network", str(river_osm(tmp_path / "river.osm")), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "network"
    assert report["network"]["crs"] == "EPSG:2154"
    assert report["network"]["length_m"] == pytest.approx(2200, abs=0.2)
    code, out, _ = run(capsys, "network", "info")
    assert "2,2 km de voies" in out
    code, out, err = run(
        capsys, "nearest", *river_actors, "-k", "2", "-c", "market", "--mode", "walk", "--json"
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["mode"] == "walk"
    assert answer["distance_method"] == "network"
    a, b = answer["hits"]
    assert (a["id"], b["id"]) == ("river-a", "river-b")
    assert (a["distance_m"], b["distance_m"]) == pytest.approx((730, 1015), abs=0.1)
    assert a["walk_minutes"] == pytest.approx(9.1, abs=0.05)
    assert a["straight_m"] == pytest.approx(700.1, abs=0.1)
    assert a["directions_url"].startswith("https://")
    assert river_actors[1][:7] in a["directions_url"]
    code, out, _ = run(capsys, "nearest", *river_actors, "-k", "2", "-c", "market", "--mode", "walk")
    assert "à pied (réseau de rues)" in out
    assert "730 m, 10 min à pied" in out
    code, out, _ = run(
        capsys, "within", *river_actors, "-r", "800", "-c", "market", "--mode", "walk", "--json"
    )
    assert [h["id"] for h in json.loads(out)["hits"]] == ["river-a"]
    code, out, _ = run(capsys, "within", *river_actors, "-r", "300", "-c", "market", "--json")
    assert [h["id"] for h in json.loads(out)["hits"]] == ["river-b"]


def test_coverage_suggest_and_isochrones_in_walk_mode(
    river_actors: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "import", "network", str(river_osm(tmp_path / "river.osm")))
    assert code == 0, err
    code, out, err = run(capsys, "coverage", "--mode", "walk", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert {r["mode"] for r in rows} == {"walk"}
    assert {r["distance_method"] for r in rows} <= {"network", "estimate"}
    code, out, _ = run(capsys, "coverage", "--mode", "walk")
    assert "distances à pied" in out
    code, out, err = run(capsys, "suggest", "-n", "1", "--mode", "walk", "--json")
    assert code == 0, err
    assert all(site["mode"] == "walk" for site in json.loads(out))
    target = tmp_path / "isochrones.geojson"
    code, out, err = run(capsys, "isochrones", "--out", str(target), "-m", "5", "-m", "10", "-c", "market")
    assert code == 0, err
    table = gpd.read_file(target)
    assert len(table) == 4  # two markets, two times
    assert set(table["distance_method"]) == {"network"}
    assert sorted(set(table["minutes"])) == [5, 10]


def test_a_bad_extract_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "roads.osm"
    bad.write_text("<osm>", encoding="utf-8")
    code, _, err = run(capsys, "import", "network", str(bad))
    assert code == 2
    assert "roads.osm" in err
    assert "illisible" in err
