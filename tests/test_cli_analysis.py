"""The analysis commands nearest, locate, coverage, suggest and import grid, on the Bayonne demo set."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from essmap.geo import transformer
from essmap.importing import demo_data_dir
from essmap.model import LAMBERT93, WGS84
from tests.cli_support import run


def demo_distances_m(lon: float, lat: float) -> pd.Series:
    """Distance in Lambert-93 from a point to each located actor of the shipped demo set, by id."""
    demo = pd.read_csv(demo_data_dir() / "actors_demo.csv").dropna(subset=["lon", "lat"])
    to_l93 = transformer(WGS84, LAMBERT93)
    x, y = to_l93.transform(demo["lon"].to_numpy(), demo["lat"].to_numpy())
    qx, qy = to_l93.transform(lon, lat)
    return pd.Series(np.hypot(np.asarray(x) - qx, np.asarray(y) - qy), index=demo["id"]).sort_values()


@pytest.mark.usefixtures("data_dir")
def test_nearest_json_and_french_text(capsys: pytest.CaptureFixture[str]) -> None:
    expected = demo_distances_m(-1.47, 43.49)
    code, out, err = run(capsys, "nearest", "-1.47", "43.49", "-k", "4", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["max_distance_m"], answer["beyond_m"]) == (30_000, None)
    hits = answer["hits"]
    assert len(hits) == 4
    assert set(hits[0]) == {
        "id",
        "name",
        "category",
        "distance_m",
        "location_precision",
        "location_approximate",
    }
    assert [h["id"] for h in hits] == expected.index[:4].tolist()
    assert [h["distance_m"] for h in hits] == pytest.approx(expected.iloc[:4].to_numpy(), abs=0.05)
    assert hits[0]["location_approximate"] is True  # placed by hand in the demo set
    code, out, _ = run(capsys, "nearest", "-1.47", "43.49", "--category", "cooperative_grocery", "--json")
    assert {h["category"] for h in json.loads(out)["hits"]} == {"cooperative_grocery"}
    code, out, _ = run(capsys, "nearest", "-1.47", "43.49", "--max-distance", "300", "--json")
    assert [h["id"] for h in json.loads(out)["hits"]] == expected.index[expected <= 300].tolist()
    code, out, _ = run(capsys, "nearest", "-1.47", "43.49")
    assert code == 0
    assert "Acteurs les plus proches" in out
    assert "(position approximative)" in out
    assert f"AMAP Patxoki — Point de livraison AMAP — {expected['amap-patxoki']:.0f} m" in out


@pytest.mark.usefixtures("data_dir")
def test_nearest_far_from_every_actor_says_how_far(capsys: pytest.CaptureFixture[str]) -> None:
    nearest_km = demo_distances_m(2.3522, 48.8566).iloc[0] / 1000  # from Paris to Bayonne's actors
    assert 600 < nearest_km < 700
    code, out, err = run(capsys, "nearest", "2.3522", "48.8566")
    assert code == 0, err
    assert out.strip() == f"Aucun acteur à moins de 30 km ; le plus proche est à {nearest_km:.0f} km."
    code, out, err = run(capsys, "nearest", "2.3522", "48.8566", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["hits"] == []
    assert answer["max_distance_m"] == 30_000
    assert answer["beyond_m"] == pytest.approx(nearest_km * 1000, abs=0.05)


@pytest.mark.usefixtures("data_dir")
@pytest.mark.parametrize("command", ["nearest", "locate"])
def test_swapped_coordinates_are_an_error_suggesting_the_swap(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    for extra in ([], ["--json"]):
        code, out, err = run(capsys, command, "43.49", "-1.47", *extra)
        assert code == 2
        assert out == ""
        assert "hors des territoires servis par essmap" in err
        assert "longitude et latitude inversées ? (-1.47, 43.49) est en France métropolitaine" in err
        assert "Traceback" not in err


@pytest.mark.usefixtures("data_dir")
def test_locate_json_and_french_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "locate", "-1.467", "43.499", "--json")
    assert code == 0, err
    assert json.loads(out) == {
        "2024": {"code": "QN06401I", "name": "Maubec - Citadelle", "relation": "inside", "distance_m": 0.0}
    }
    code, out, _ = run(capsys, "locate", "-1.47", "43.49", "--json")
    far = json.loads(out)["2024"]
    assert far["relation"] == "outside"
    assert far["distance_m"] > 300
    code, out, _ = run(capsys, "locate", "-1.467", "43.499")
    assert "dans le quartier QN06401I « Maubec - Citadelle »" in out


@pytest.mark.usefixtures("data_dir")
def test_coverage_json_text_and_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "coverage", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 4  # two QPVs, two default thresholds
    assert {
        "code",
        "threshold_m",
        "area_share",
        "residents_covered",
        "residents_total",
        "method",
        "low_access",
    } <= set(rows[0])
    assert {r["threshold_m"] for r in rows} == {400.0, 800.0}
    assert {r["method"] for r in rows} == {"area"}
    code, out, _ = run(capsys, "coverage", "--threshold", "300", "--json")
    assert {r["threshold_m"] for r in json.loads(out)} == {300.0}
    csv, geojson = tmp_path / "couverture.csv", tmp_path / "couverture.geojson"
    code, out, _ = run(capsys, "coverage", "--out", str(csv))
    assert code == 0
    assert "Couverture des QPV" in out
    assert "Accès faible" in out
    assert len(pd.read_csv(csv)) == 4
    run(capsys, "coverage", "-t", "400", "--out", str(geojson), "--json")
    shapes = gpd.read_file(geojson)
    assert len(shapes) == 2
    assert shapes.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    code, _, err = run(capsys, "coverage", "--out", str(tmp_path / "x.txt"))
    assert code == 2
    assert "out" in err


@pytest.mark.usefixtures("data_dir")
def test_suggest_json_text_and_candidates(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "suggest", "--count", "2", "--json")
    assert code == 0, err
    sites = json.loads(out)
    assert len(sites) == 2  # the demo set has room for two useful sites at 400 m
    assert {"rank", "gain_residents", "cumulative_residents", "code", "lon", "lat"} <= set(sites[0])
    assert sites[0]["code"] == "QN06402M"  # the less covered QPV
    candidates = tmp_path / "sites.csv"
    candidates.write_text(
        "id,lon,lat\nmairie,-1.4748,43.4929\nsainte-croix,-1.4565,43.5045\n", encoding="utf-8"
    )
    code, out, _ = run(capsys, "suggest", "-n", "1", "--candidates", str(candidates), "--json")
    assert [s["candidate_id"] for s in json.loads(out)] == ["sainte-croix"]
    code, out, _ = run(capsys, "suggest", "-n", "1")
    assert "Sites proposés (seuil 400 m" in out
    assert "habitants de plus à portée" in out
    code, _, err = run(capsys, "suggest", "-n", "0")
    assert code == 2
    assert "count" in err


@pytest.mark.usefixtures("data_dir")
@pytest.mark.parametrize(
    ("args", "word"),
    [
        (("nearest", "-1.47", "95"), "latitude"),
        (("nearest", "200", "43.49"), "longitude"),
        (("nearest", "-1.47", "nan"), "latitude"),
        (("nearest", "-1.47", "43.49", "-k", "0"), "k"),
        (("nearest", "-1.47", "43.49", "-k", "101"), "k"),
        (("nearest", "-1.47", "43.49", "--max-distance", "-5"), "max_distance_m"),
        (("nearest", "-1.47", "43.49", "--category", "boulangerie"), "categories"),
        (("coverage", "-t", "0"), "thresholds_m"),
        (("coverage", "-t", "9000"), "thresholds_m"),
    ],
)
def test_bad_input_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], word: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert "Erreur" in err
    assert word in err


@pytest.mark.usefixtures("data_dir")
def test_import_grid_then_coverage_counts_by_grid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # one 200 m square of 500 residents on the Hauts de Sainte-Croix QPV (EPSG:3035 corner)
    from essmap.geo import transformer

    e, n = transformer("EPSG:4326", "EPSG:3035").transform(-1.4565, 43.5045)
    e0, n0 = int(e // 200 * 200), int(n // 200 * 200)
    grid = tmp_path / "carreaux_200m.csv"
    grid.write_text(f"idcar_200m,ind,men\nCRS3035RES200mN{n0}E{e0},500,200\n", encoding="utf-8")
    code, out, err = run(capsys, "import", "grid", str(grid), "--json")
    assert code == 0, err
    assert json.loads(out)["read"] == 1
    code, out, _ = run(capsys, "coverage", "-t", "400", "--json")
    rows = {r["code"]: r for r in json.loads(out)}
    assert rows["QN06402M"]["method"] == "grid"
    assert 0 < rows["QN06402M"]["residents_total"] <= 500
    assert rows["QN06401I"]["method"] == "area"
    code, out, _ = run(capsys, "import", "grid", str(grid))
    assert "1 carreau lu ;" in out


def test_negative_longitude_in_a_real_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "essmap", "nearest", "-1.4748", "43.4929", "-k", "1", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (hit,) = json.loads(result.stdout)["hits"]
    assert hit["distance_m"] > 0
    swapped = subprocess.run(
        [sys.executable, "-m", "essmap", "locate", "43.4929", "-1.4748"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert swapped.returncode == 2
    assert (
        "longitude et latitude inversées ? (-1.4748, 43.4929) est en France métropolitaine" in swapped.stderr
    )
    assert "Traceback" not in swapped.stderr


@pytest.mark.usefixtures("data_dir")
def test_suggest_has_the_api_default_count_and_says_why_fewer(capsys: pytest.CaptureFixture[str]) -> None:
    from essmap.analysis.siting import DEFAULT_SITE_COUNT

    code, out, err = run(capsys, "suggest")
    assert code == 0, err
    assert DEFAULT_SITE_COUNT == 5
    # the demo set has room for two useful sites at 400 m; the third is explained
    assert "2 sites proposés sur 5 demandés : tous les habitants dont le nombre est connu" in out
    lines = [line for line in out.splitlines() if line.strip().startswith(("1.", "2."))]
    assert len(lines) == 2
    # coordinates for people: 6 decimals, residents as whole numbers
    assert re.search(r"\(-1\.\d{6}, 43\.\d{6}\) : \d[\d\u202f]* habitants de plus", lines[0]), lines[0]
    code, out, err = run(capsys, "suggest", "--json")
    assert len(json.loads(out)) == 2
    assert "2 sites proposés sur 5 demandés" in err


@pytest.mark.usefixtures("data_dir")
def test_coverage_names_its_reference_point(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "coverage", "-t", "400")
    assert code == 0
    assert "Point le plus proche" in out
    assert "depuis le contour du quartier" in out
    code, out, _ = run(capsys, "coverage", "-t", "400", "--json")
    rows = {r["code"]: r for r in json.loads(out)}
    assert rows["QN06401I"]["nearest_supply_m"] == 0.0  # AMAP points lie inside Maubec - Citadelle
    assert {r["geometry_source"] for r in rows.values()} == {"schematic"}


@pytest.mark.usefixtures("data_dir")
def test_gaps_lists_the_uncovered_parts_as_the_library_computes_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from essmap.analysis.coverage import coverage_gaps
    from essmap.importing import open_seeded_store
    from essmap.settings import Settings

    cfg = Settings()
    st = open_seeded_store(cfg)
    expected = coverage_gaps(
        st.load_neighbourhoods(),
        st.load_actors(),
        threshold_m=300,
        supply_categories=cfg.supply_categories,
        grid=st.load_population_grid(),
    )
    st.close()
    out_file = tmp_path / "gaps.geojson"
    code, out, err = run(capsys, "gaps", "-t", "300", "--json", "--out", str(out_file))
    assert code == 0, err
    rows = json.loads(out)
    assert [r["code"] for r in rows] == expected["code"].tolist()
    assert [r["area_m2"] for r in rows] == pytest.approx(expected["area_m2"].tolist())
    written = gpd.read_file(out_file)
    assert written.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert written["code"].tolist() == expected["code"].tolist()
    code, out, _ = run(capsys, "gaps", "-t", "300")
    assert "Zones à plus de 300 m de tout point d'approvisionnement" in out
    biggest = expected.sort_values("area_m2").iloc[-1]
    assert f"{biggest['area_m2'] / 10_000:.2f} ha".replace(".", ",") in out
    # on foot without a street network: estimated, and the coverage text names the outline
    code, out, _ = run(capsys, "gaps", "-t", "300", "--mode", "walk", "--json")
    assert {r["distance_method"] for r in json.loads(out)} == {"estimate"}
    code, out, _ = run(capsys, "coverage", "-t", "400", "--mode", "walk")
    assert "estimé depuis le contour du quartier" in out
