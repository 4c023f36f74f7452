"""The essmap command: info, import, export, --help, exit statuses (run as a real subprocess)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
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
    # codes are shown with their French labels (issue 14, item 5)
    assert "contour schématique : 2" in result.stdout
    assert "bâtiment : 3" in result.stdout
    assert "quartier : 4" in result.stdout
    for english in ("schematic", "building", "neighbourhood"):
        assert english not in result.stdout


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
    assert "Utilisation : essmap" in result.stdout


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
    assert "Utilisation : essmap" in result.stderr
    assert "Erreur" in result.stderr


# --- bad inputs: a clear error (exit 2), the store unchanged (issue 10, items 4-8, 10, 12) -----------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory seeded with the demo set, copied by each test that may change it."""
    data = tmp_path_factory.mktemp("seeded") / "data"
    assert essmap(data, "info").returncode == 0
    return data


def _csv(tmp: Path, name: str, data: bytes) -> str:
    path = tmp / name
    path.write_bytes(data)
    return str(path)


def _zip(tmp: Path, name: str, members: dict[str, bytes]) -> str:
    path = tmp / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return str(path)


def _geojson(tmp: Path, name: str, features: list[dict[str, object]]) -> str:
    path = tmp / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return str(path)


def _feature(props: dict[str, object], geometry: dict[str, object]) -> dict[str, object]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _polygon(*ring: tuple[float, float]) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [list(map(list, ring))]}


def _folder(tmp: Path, name: str) -> str:
    (tmp / name).mkdir()
    return str(tmp / name)


def _link_to_store(tmp: Path, data: Path) -> str:
    (tmp / "lien.gpkg").symlink_to(data / "essmap.gpkg")
    return str(tmp / "lien.gpkg")


ACTORS_HEADER = b"name,category,lon,lat\n"
POINTS_10 = b"id,lon,lat\na,-1.47,95\nb,abc,43\n"
BAD_INPUTS: dict[str, tuple[Callable[[Path, Path], list[str]], list[str]]] = {
    # item 4: archives that cannot be read without losing something
    "zip-two-data-files": (
        lambda t, d: ["import", "actors", _zip(t, "two.zip", {"a.csv": ACTORS_HEADER, "b.geojson": b"{}"})],
        ["two.zip", "un seul fichier de données", "a.csv, b.geojson"],
    ),
    "zip-no-data-file": (
        lambda t, d: ["import", "actors", _zip(t, "none.zip", {"lisezmoi.txt": b"rien"})],
        ["none.zip", "un seul fichier de données"],
    ),
    "zip-broken": (
        lambda t, d: ["import", "actors", _csv(t, "broken.zip", b"PK\x03\x04 pas une archive")],
        ["broken.zip", "archive .zip illisible"],
    ),
    # item 5: a QPV of no area
    "qpv-zero-area": (
        lambda t, d: [
            "import",
            "qpv",
            _geojson(
                t,
                "plat.geojson",
                [
                    _feature(
                        {"code_qp": "QN06498A", "lib_qp": "Bon"},
                        _polygon((-1.48, 43.49), (-1.47, 43.49), (-1.47, 43.50), (-1.48, 43.49)),
                    ),
                    _feature(
                        {"code_qp": "QN06499Z", "lib_qp": "Plat"},
                        _polygon((-1.47, 43.49), (-1.46, 43.50), (-1.45, 43.51), (-1.47, 43.49)),
                    ),
                ],
            ),
        ],
        ["plat.geojson, ligne 2, champ « geometry »", "entité n° 2", "QN06499Z", "sans surface"],
    ),
    # item 6: control characters
    "nul-in-csv-name": (
        lambda t, d: [
            "import",
            "actors",
            _csv(t, "nul.csv", ACTORS_HEADER + b"Na\x00me,market,-1.47,43.49\n"),
        ],
        ["nul.csv, ligne 2, champ « name »", "U+0000"],
    ),
    "escape-in-csv-address": (
        lambda t, d: [
            "import",
            "actors",
            _csv(t, "esc.csv", b"name,category,address\nA,market,rue \x1b[2J\n"),
        ],
        ["esc.csv, ligne 2, champ « address »", "U+001B"],
    ),
    "newline-in-csv-name": (
        lambda t, d: ["import", "actors", _csv(t, "nl.csv", b'name,category\n"deux\nlignes",market\n')],
        ["nl.csv, ligne 2, champ « name »", "une seule ligne"],
    ),
    "nul-in-geojson-name": (
        lambda t, d: [
            "import",
            "actors",
            _geojson(
                t,
                "nul.geojson",
                [
                    _feature(
                        {"name": "Na\u0000me", "category": "market"},
                        {"type": "Point", "coordinates": [-1.47, 43.49]},
                    )
                ],
            ),
        ],
        ["nul.geojson", "caractère nul"],
    ),
    "bell-in-qpv-name": (
        lambda t, d: [
            "import",
            "qpv",
            _geojson(
                t,
                "bell.geojson",
                [
                    _feature(
                        {"code_qp": "QN06498A", "lib_qp": "Mau\u0007vais"},
                        _polygon((-1.48, 43.49), (-1.47, 43.49), (-1.47, 43.50), (-1.48, 43.49)),
                    ),
                ],
            ),
        ],
        ["bell.geojson, ligne 1, champ « lib_qp »", "U+0007"],
    ),
    # item 7: what gave tracebacks
    "folder-named-csv": (lambda t, d: ["import", "actors", _folder(t, "x.csv")], ["x.csv", "dossier"]),
    "cell-over-limit": (
        lambda t, d: [
            "import",
            "actors",
            _csv(t, "big.csv", b"name,category,description\nA,market," + b"x" * 140_000 + b"\n"),
        ],
        ["big.csv, ligne 2, champ « description »", "131\u202f072 caractères"],
    ),
    "duplicate-columns": (
        lambda t, d: ["import", "actors", _csv(t, "dup.csv", b"name,category,name\nA,market,B\n")],
        ["dup.csv, ligne 1, champ « name »", "colonnes de même nom"],
    ),
    "export-to-a-folder": (
        lambda t, d: ["export", "actors", "-o", _folder(t, "sortie")],
        ["sortie", "dossier"],
    ),
    "export-to-empty-path": (lambda t, d: ["export", "actors", "-o", ""], ["chemin de sortie vide"]),
    "not-utf8-nor-cp1252": (
        lambda t, d: ["import", "actors", _csv(t, "bin.csv", b"name,category\nA\x81\x8d,market\n")],
        ["bin.csv, ligne 2", "encodage inconnu"],
    ),
    "xlsx": (
        lambda t, d: ["import", "actors", _csv(t, "acteurs.xlsx", b"PK\x03\x04 feuille")],
        ["acteurs.xlsx", "non pris en charge"],
    ),
    "csv-as-qpv": (
        lambda t, d: ["import", "qpv", _csv(t, "qpv.csv", b"code_qp,lib_qp\nQN06401I,Maubec\n")],
        ["qpv.csv", "colonne de géométrie"],
    ),
    # item 8: every bad row of a population table at once
    "population-three-bad-rows": (
        lambda t, d: [
            "import",
            "population",
            _csv(t, "pop.csv", b"code_qp,population\nQN06401I,beaucoup\nQN06402M,-5\nQN99999X,100\n"),
        ],
        [
            "pop.csv, ligne 2, champ « population »",
            "pop.csv, ligne 3, champ « population »",
            "pop.csv, ligne 4, champ « code_qp »",
            "QN99999X",
        ],
    ),
    # item 10: the points reader, as suggest --candidates uses it
    "points-two-bad-rows": (
        lambda t, d: ["suggest", "--count", "1", "--candidates", _csv(t, "points.csv", POINTS_10)],
        ["points.csv, ligne 2, champ « lat »", "points.csv, ligne 3, champ « lon »"],
    ),
    # item 12: outputs that would overwrite the store or write in the data folder
    "export-over-the-store": (
        lambda t, d: ["export", "actors", "-f", "gpkg", "-o", str(d / "essmap.gpkg")],
        ["dossier des données"],
    ),
    "export-into-the-data-folder": (
        lambda t, d: ["export", "qpv", "-o", str(d / "qpv.geojson")],
        ["dossier des données"],
    ),
    "export-through-a-link-to-the-store": (
        lambda t, d: ["export", "actors", "-f", "gpkg", "-o", _link_to_store(t, d)],
        ["dossier des données"],
    ),
    "map-over-the-store": (
        lambda t, d: ["map", "resident", "--out", str(d / "essmap.gpkg")],
        ["dossier des données"],
    ),
    "static-map-into-the-data-folder": (
        lambda t, d: ["map", "static", "--out", str(d / "carte.png")],
        ["dossier des données"],
    ),
    "planner-map-to-a-folder": (
        lambda t, d: ["map", "planner", "--out", _folder(t, "cartes")],
        ["cartes", "dossier"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error_and_the_store_is_unchanged(
    tmp_path: Path, seeded: Path, case: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded, data, symlinks=True)
    store = data / "essmap.gpkg"
    before = store.read_bytes()
    listing = sorted(p.name for p in data.iterdir())
    build, expected = BAD_INPUTS[case]
    args = build(tmp_path, data)
    result = essmap(data, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Erreur : ")
    for text in expected:
        assert text in result.stderr
    assert store.read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == listing


def test_a_zipped_csv_imports_with_its_locations(tmp_path: Path, seeded: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded, data)
    archive = _zip(tmp_path, "acteurs.zip", {"acteurs.csv": ACTORS_HEADER + b"AMAP Zip,market,-1.47,43.49\n"})
    result = essmap(data, "import", "actors", archive, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["created"] == 1
    info = json.loads(essmap(data, "info", "--json").stdout)
    assert (info["actors"], info["located_actors"]) == (16, 12)


def test_csv_exports_neutralise_formulas(tmp_path: Path, seeded: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded, data)
    attacks = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+9)", "-2+3"]
    rows = "".join(
        f'a{i},"{a.replace(chr(34), chr(34) * 2)}",market,-1.47,43.49,{a[:1]}tel\n'
        for i, a in enumerate(attacks)
    )
    source = _csv(tmp_path, "attaques.csv", ("id,name,category,lon,lat,phone\n" + rows).encode())
    assert essmap(data, "import", "actors", source).returncode == 0
    out = tmp_path / "export.csv"
    result = essmap(data, "export", "actors", "-f", "csv", "-o", str(out))
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == 15 + len(attacks)
    for record in records:
        for column, cell in record.items():
            if column not in ("lon", "lat"):
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    by_id = {r["id"]: r for r in records}
    for i, attack in enumerate(attacks):
        assert by_id[f"a{i}"]["name"] == "'" + attack
        assert by_id[f"a{i}"]["lon"] == "-1.47"  # numbers stay numbers
    # coverage tables go through the same writer: a QPV name that is a formula is neutralised
    qpv = _geojson(tmp_path, "qpv.geojson", [
        _feature({"code_qp": "QN06497A", "lib_qp": "=1+2"},
                 _polygon((-1.48, 43.49), (-1.47, 43.49), (-1.47, 43.50), (-1.48, 43.49))),
    ])  # fmt: skip
    assert essmap(data, "import", "qpv", qpv).returncode == 0
    coverage = tmp_path / "couverture.csv"
    result = essmap(data, "coverage", "--out", str(coverage), "--json")
    assert result.returncode == 0, result.stderr
    with coverage.open(encoding="utf-8", newline="") as handle:
        names = {r["code"]: r["name"] for r in csv.DictReader(handle)}
    assert names["QN06497A"] == "'=1+2"


def test_a_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ESSMAP_DATA_DIR": str(tmp_path / "data"),
        "ESSMAP_SUPPLY_CATEGORIES": "bakery,market",
    }
    result = subprocess.run(
        [sys.executable, "-m", "essmap", "info"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "ESSMAP_SUPPLY_CATEGORIES" in result.stderr
    assert "bakery" in result.stderr


@pytest.mark.parametrize("env_lang", ["C.UTF-8", "en_GB.UTF-8", "fr_FR.UTF-8"])
def test_help_is_french_through_the_catalogues(tmp_path: Path, env_lang: str) -> None:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(tmp_path / "data"), "LANG": env_lang, "COLUMNS": "100"}
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        env.pop(name, None)
    texts = []
    for args in (["suggest", "--help"], ["map", "static", "--help"], ["--help"]):
        result = subprocess.run(
            [sys.executable, "-m", "essmap", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        texts.append(result.stdout)
    suggest, static, top = texts
    assert "Afficher cette aide et quitter." in suggest
    assert "[par défaut : 5]" in suggest  # --count has the API's default, no longer required
    assert "[obligatoire]" in static
    assert "Utilisation : essmap" in top
    assert "Commandes" in top
    for english in ("Show this message and exit", "[required]", "[default:", "Usage:", "Commands"):
        assert all(english not in text for text in texts), english


def test_help_in_basque_when_asked(tmp_path: Path) -> None:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(tmp_path / "data"), "LANGUAGE": "eu", "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-m", "essmap", "map", "static", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Erakutsi laguntza hau eta irten." in result.stdout
    assert "[derrigorrezkoa]" in result.stdout


def test_import_communes_for_the_backdrop(tmp_path: Path) -> None:
    square = [[[3.08, 50.66], [3.12, 50.66], [3.12, 50.69], [3.08, 50.69], [3.08, 50.66]]]
    features = [
        {  # ANCT's file writes « œ » as U+009C: read as the Windows-1252 letter, with a warning
            "type": "Feature",
            "properties": {"insee_com": "59378", "lib_com": "Marcq-en-Bar\u009cul", "code_qp": "QN05901M"},
            "geometry": {"type": "MultiPolygon", "coordinates": [square]},
        },
        {
            "type": "Feature",
            "properties": {"insee_com": "64102", "lib_com": "Bayonne", "code_qp": "QN06401I"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-1.5, 43.45], [-1.42, 43.45], [-1.46, 43.51], [-1.5, 43.45]]],
            },
        },
    ]
    path = tmp_path / "communes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    data = tmp_path / "data"
    result = essmap(data, "import", "communes", str(path))
    assert result.returncode == 0, result.stderr
    assert "2 entités lues ; 2 communes pour le fond des cartes" in result.stdout
    assert "lu comme « Marcq-en-Barœul »" in result.stderr
    from essmap.store import GeoPackageStore

    store = GeoPackageStore(data / "essmap.gpkg")
    communes = store.load_communes()
    store.close()
    assert communes.set_index("code")["name"].to_dict() == {"59378": "Marcq-en-Barœul", "64102": "Bayonne"}
    # a feature without a name is refused, naming it, and the communes stay as they were
    features[1]["properties"]["lib_com"] = ""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    result = essmap(data, "import", "communes", str(path))
    assert result.returncode == 2
    assert "ligne 2, champ « lib_com » : nom manquant" in result.stderr
    store = GeoPackageStore(data / "essmap.gpkg")
    assert len(store.load_communes()) == 2
    store.close()


@pytest.mark.parametrize("niceness", [0, 7])
def test_an_import_runs_at_the_configured_lower_cpu_priority(tmp_path: Path, niceness: int) -> None:
    """``essmap import`` yields the processor to servers on the same machine (issue 10: a
    100,000-actor import halved the server's answers); ESSMAP_BACKGROUND_NICENESS sets how much."""
    source = tmp_path / "actors.csv"
    source.write_text("id,name,category,lon,lat\na1,Marché,market,-1.47,43.49\n", encoding="utf-8")
    report = (
        "import os, sys\nfrom essmap.cli import main\n"
        f"sys.argv = ['essmap', 'import', 'actors', {str(source)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\nelse:\n    code = 0\n"
        "print('NICE', code, os.getpriority(os.PRIO_PROCESS, 0))\n"
    )
    env = {
        **os.environ,
        "ESSMAP_DATA_DIR": str(tmp_path / "data"),
        "ESSMAP_BACKGROUND_NICENESS": str(niceness),
    }
    done = subprocess.run(
        [sys.executable, "-c", report], env=env, capture_output=True, text=True, timeout=300
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("NICE "))
    _, code, nice = line.split()
    assert code == "0", done.stderr
    assert int(nice) == max(niceness, os.getpriority(os.PRIO_PROCESS, 0))
    assert "acteurs créés : 1" in done.stdout
