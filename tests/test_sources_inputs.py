"""The one input layer of the readers: file-like objects, zip archives, the CSV decoder and its
warning, and inputs refused with where and what instead of a traceback or silent damage."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from essmap.errors import InvalidInputError
from essmap.importing import import_grid
from essmap.sources import (
    actors_from_file,
    grid_from_csv,
    points_from_file,
    population_from_csv,
    qpv_from_file,
    read_csv_table,
)
from essmap.store import GeoPackageStore

ACTOR = "name,category,lon,lat\nAMAP du Port,amap_delivery_point,-1.47,43.49\n"
SQUARE = "CRS3035RES200mN2029800E4252400"


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def problems_of(err: pytest.ExceptionInfo[InvalidInputError]) -> set[tuple[int | None, str | None]]:
    return {(p.row, p.field) for p in err.value.problems}


# --- one CSV decoder, its warning ------------------------------------------------------------------


def test_windows_1252_actors_are_read_with_a_warning_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "acteurs-excel.csv"
    text = "nom;catégorie;adresse;lon;lat\nÉpicerie « Otsokop »;cooperative_grocery;rue Œuvre;-1.47;43.49\n"
    path.write_bytes(text.encode("cp1252"))
    parsed = actors_from_file(path)
    assert parsed.table.loc[0, "name"] == "Épicerie « Otsokop »"
    assert parsed.table.loc[0, "address"] == "rue Œuvre"
    [warning] = parsed.warnings
    assert warning.file == str(path)
    assert warning.row == 1  # the line of the first byte that is not UTF-8 (the é of catégorie)
    assert "Windows-1252" in str(warning)
    assert "acteurs-excel.csv" in str(warning)


def test_windows_1252_grid_is_read_with_a_warning_naming_the_file(
    tmp_path: Path, empty_store: GeoPackageStore
) -> None:
    path = tmp_path / "carreaux.csv"
    text = f"idcar_200m;ind;libellé\n{SQUARE};12,5;Côte basque\n"
    path.write_bytes(text.encode("cp1252"))
    warnings: list = []
    grid = grid_from_csv(path, warnings=warnings)
    assert grid["population"].tolist() == [12.5]
    assert len(warnings) == 1
    assert warnings[0].file == str(path)
    assert "Windows-1252" in warnings[0].message
    report = import_grid(empty_store, path)
    assert [w.file for w in report.warnings] == [str(path)]
    assert "Windows-1252" in str(report.warnings[0])


def test_utf8_with_and_without_bom_gives_no_warning(tmp_path: Path) -> None:
    for encoding in ("utf-8", "utf-8-sig"):
        path = tmp_path / f"{encoding}.csv"
        path.write_text("nom,catégorie\nÉpicerie,market\n", encoding=encoding)
        parsed = actors_from_file(path)
        assert parsed.warnings == []
        assert parsed.table.loc[0, "name"] == "Épicerie"


def test_neither_utf8_nor_windows_1252_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"name,category\nA\x81\x8d,market\n")  # bytes Windows-1252 leaves undefined
    with pytest.raises(InvalidInputError, match="encodage inconnu") as err:
        actors_from_file(path)
    assert problems_of(err) == {(2, None)}


def test_a_multi_line_cell_keeps_the_line_numbers_of_the_rows_after_it(tmp_path: Path) -> None:
    path = tmp_path / "actors.csv"
    path.write_text(
        'name,category,description,lat,lon\nA,market,"deux\nlignes",43.49,-1.47\nB,market,,95,-1.47\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as err:
        actors_from_file(path)
    assert problems_of(err) == {(4, "lat")}


# --- file-like objects -----------------------------------------------------------------------------


def test_every_reader_takes_a_binary_file_like_object_with_a_name() -> None:
    parsed = actors_from_file(io.BytesIO(ACTOR.encode()), name="envoi.csv")
    assert parsed.file == "envoi.csv"
    assert parsed.table.geometry.iloc[0].equals(shapely.Point(-1.47, 43.49))
    assert parsed.table.loc[0, "source"] == "envoi.csv"
    points = points_from_file(io.BytesIO(b"id,lon,lat\nA,-1.47,43.49\n"), name="corps de la requête")
    assert points["id"].tolist() == ["A"]
    grid = grid_from_csv(io.BytesIO(f"idcar_200m,ind\n{SQUARE},3\n".encode()), name="grille")
    assert grid["population"].tolist() == [3.0]
    pop = population_from_csv(io.BytesIO(b"code_qp,population\nQN06401I,10\n"), name="pop")
    assert pop["population"].tolist() == [10]
    polygon = shapely.box(-1.48, 43.49, -1.47, 43.50)
    qpv = gpd.GeoDataFrame({"code_qp": ["QN06499A"], "lib_qp": ["Test"]}, geometry=[polygon], crs=4326)
    parsed_qpv = qpv_from_file(io.BytesIO(qpv.to_json().encode()), name="qpv envoyés")
    assert parsed_qpv.table["code"].tolist() == ["QN06499A"]
    assert parsed_qpv.table["source"].tolist() == ["qpv envoyés"]


def test_the_file_like_name_is_used_in_every_problem() -> None:
    body = b"id,lon,lat\na,-1.47,95\nb,abc,43\n"
    with pytest.raises(InvalidInputError) as err:
        points_from_file(io.BytesIO(body), name="corps de la requête")
    assert {p.file for p in err.value.problems} == {"corps de la requête"}


def test_points_in_a_file_like_object_are_recognised_by_content() -> None:
    features = gpd.GeoDataFrame({"id": ["p"]}, geometry=[shapely.Point(-1.47, 43.49)], crs=4326)
    points = points_from_file(io.BytesIO(features.to_json().encode()), name="corps de la requête")
    assert points["id"].tolist() == ["p"]
    # told it is CSV, a JSON body is read as CSV (and refused), never guessed otherwise
    with pytest.raises(InvalidInputError):
        points_from_file(io.BytesIO(features.to_json().encode()), name="corps", fmt="csv")


# --- the points reader names every bad row and the right field (issue 10, item 10) ---------------------


def test_points_name_every_bad_row_and_the_right_field() -> None:
    body = b"id,lon,lat\na,-1.47,95\nb,abc,43\n"
    with pytest.raises(InvalidInputError) as err:
        points_from_file(io.BytesIO(body), name="corps de la requête")
    assert problems_of(err) == {(2, "lat"), (3, "lon")}
    by_row = {p.row: p.message for p in err.value.problems}
    assert "latitude 95" in by_row[2]
    assert "abc" in by_row[3]


def test_points_report_missing_coordinates_per_field_and_bad_geometries(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as err:
        points_from_file(io.BytesIO(b"lon;lat\n;43.5\n-1.47;\n200;100\n"), name="p.csv")
    assert problems_of(err) == {(2, "lon"), (3, "lat"), (4, "lon"), (4, "lat")}
    shapes = gpd.GeoDataFrame(
        {"id": ["ok", "line", "none"]},
        geometry=[shapely.Point(-1.47, 43.49), shapely.LineString([(0, 0), (1, 1)]), None],
        crs=4326,
    )
    path = tmp_path / "points.geojson"
    shapes.to_file(path)
    with pytest.raises(InvalidInputError) as err:
        points_from_file(path)
    assert problems_of(err) == {(2, "geometry"), (3, "geometry")}


def test_points_in_lambert93_are_converted() -> None:
    body = b"id,x,y\nmairie,340000,6280000\n"
    points = points_from_file(io.BytesIO(body), name="p.csv", crs="EPSG:2154")
    assert -1.6 < points.geometry.x.iloc[0] < -1.3
    assert 43.4 < points.geometry.y.iloc[0] < 43.6


# --- zip archives (issue 10, item 4) ------------------------------------------------------------------


def test_a_zipped_csv_keeps_the_locations(tmp_path: Path) -> None:
    path = zipped(tmp_path / "acteurs.zip", {"acteurs.csv": ACTOR.encode()})
    parsed = actors_from_file(path)
    assert parsed.table.geometry.iloc[0].equals(shapely.Point(-1.47, 43.49))
    assert parsed.table.loc[0, "location_precision"] == "unknown"
    assert parsed.file == f"{path}/acteurs.csv"
    # the same archive sent as bytes
    sent = actors_from_file(io.BytesIO(path.read_bytes()), name="envoi.zip")
    assert sent.table.geometry.iloc[0].equals(shapely.Point(-1.47, 43.49))


def test_zipped_geojson_and_shapefile_are_read(tmp_path: Path) -> None:
    actors = gpd.GeoDataFrame(
        {"name": ["AMAP"], "category": ["amap_delivery_point"]},
        geometry=[shapely.Point(-1.47, 43.49)],
        crs=4326,
    )
    geojson = zipped(tmp_path / "geojson.zip", {"data/acteurs.geojson": actors.to_json().encode()})
    assert actors_from_file(geojson).table.geometry.iloc[0].equals(shapely.Point(-1.47, 43.49))
    folder = tmp_path / "shp"
    folder.mkdir()
    actors.to_crs("EPSG:2154").to_file(folder / "acteurs.shp")
    members = {p.name: p.read_bytes() for p in folder.iterdir()}
    shp = zipped(tmp_path / "shp.zip", {**members, "LISEZMOI.pdf": b"%PDF"})
    for source in (shp, io.BytesIO(shp.read_bytes())):
        point = actors_from_file(source, name="shp.zip").table.geometry.iloc[0]
        assert point.x == pytest.approx(-1.47, abs=1e-7)
        assert point.y == pytest.approx(43.49, abs=1e-7)


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"a.csv": ACTOR.encode(), "b.geojson": b"{}"}, "a.csv, b.geojson"),
        ({"LISEZMOI.txt": b"rien"}, "aucun"),
    ],
)
def test_an_archive_without_exactly_one_data_file_is_refused(
    tmp_path: Path, members: dict[str, bytes], expected: str
) -> None:
    path = zipped(tmp_path / "archive.zip", members)
    with pytest.raises(InvalidInputError, match="un seul fichier de données") as err:
        actors_from_file(path)
    assert expected in str(err.value)


def test_a_broken_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(InvalidInputError, match=r"archive \.zip illisible"):
        actors_from_file(path)


# --- tracebacks turned into clear errors (issue 10, item 7) -----------------------------------------------


def test_a_folder_named_like_a_csv_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "x.csv"
    folder.mkdir()
    with pytest.raises(InvalidInputError, match="dossier") as err:
        actors_from_file(folder)
    assert err.value.problems[0].file == str(folder)


def test_a_cell_over_the_csv_size_limit_names_its_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        f"name,category,description\nA,market,court\nB,market,{'x' * 140_000}\n", encoding="utf-8"
    )
    with pytest.raises(InvalidInputError, match="131\u202f072 caractères") as err:
        actors_from_file(path)
    assert problems_of(err) == {(3, "description")}


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    for header in ("name,category,name", "Nom,category,nom"):
        path = tmp_path / "dup.csv"
        path.write_text(f"{header}\nA,market,B\n", encoding="utf-8")
        with pytest.raises(InvalidInputError, match="colonnes de même nom") as err:
            actors_from_file(path)
        assert problems_of(err) == {(1, header.split(",")[0])}


def test_another_format_is_never_guessed(tmp_path: Path) -> None:
    path = tmp_path / "acteurs.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InvalidInputError, match=r"« \.xlsx » non pris en charge"):
        actors_from_file(path)


def test_a_table_without_geometry_is_not_read_as_qpv(tmp_path: Path) -> None:
    path = tmp_path / "qpv.csv"
    path.write_text("code_qp,lib_qp\nQN06401I,Maubec\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="colonne de géométrie"):
        qpv_from_file(path)


def test_a_geodata_file_is_not_read_as_a_table(tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    points = gpd.GeoDataFrame({"ind": [1]}, geometry=[shapely.Point(-1.47, 43.49)], crs=4326)
    points.to_file(folder / "grille.shp")
    archive = zipped(tmp_path / "grille.zip", {p.name: p.read_bytes() for p in folder.iterdir()})
    for source in (archive, folder / "grille.shp", io.BytesIO(archive.read_bytes())):
        with pytest.raises(InvalidInputError, match="un tableau CSV"):
            grid_from_csv(source, name="grille.zip" if isinstance(source, io.BytesIO) else None)


def test_csv_table_keeps_only_the_columns_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    table = read_csv_table(path, keep=[("c",), ("a",)])
    assert list(table.frame.columns) == ["a", "c"]
    assert table.delimiter == ";"
    assert table.frame.index.tolist() == [2]


# --- control characters (issue 10, item 6) ------------------------------------------------------------


def test_a_nul_byte_in_a_name_is_refused_naming_the_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"name,category,lon,lat\nBon,market,-1.47,43.49\nNa\x00me,market,-1.47,43.49\n")
    with pytest.raises(InvalidInputError, match="U\\+0000") as err:
        actors_from_file(path)
    assert problems_of(err) == {(3, "name")}


def test_line_breaks_only_in_multi_line_fields(tmp_path: Path) -> None:
    path = tmp_path / "lignes.csv"
    path.write_text(
        "name,category,address,description,schedule,phone\n"
        'A,market,"1 rue X\n64100 Bayonne","Deux\tlignes\r\nici","mardi 18h-19h\nvendredi 9h-12h",05 59\n'
        'B,market,,,,"05\n59"\n'
        '"C\x1b[31m",market,,,,\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as err:
        actors_from_file(path)
    assert problems_of(err) == {(6, "phone"), (8, "name")}  # row A spans lines 2 to 5
    assert "une seule ligne" in str(err.value)
    path.write_text(
        'name,category,address,description\nA,market,"1 rue X\n64100 Bayonne","Deux\tlignes"\n',
        encoding="utf-8",
    )
    table = actors_from_file(path).table
    assert table.loc[0, "address"] == "1 rue X\n64100 Bayonne"
    assert table.loc[0, "description"] == "Deux\tlignes"


def test_a_nul_in_geojson_text_is_refused_before_gdal_cuts_it(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Na\u0000me", "category": "market"},
                "geometry": {"type": "Point", "coordinates": [-1.47, 43.49]},
            }
        ],
    }
    path = tmp_path / "nul.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="caractère nul"):
        actors_from_file(path)
    # an escaped backslash followed by the letters u0000 is ordinary text
    doc["features"][0]["properties"]["name"] = "Na\\u0000me"  # type: ignore[index]
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert actors_from_file(path).table.loc[0, "name"] == "Na\\u0000me"


def test_control_characters_in_qpv_and_population_fields_are_refused(tmp_path: Path) -> None:
    polygon = shapely.box(-1.48, 43.49, -1.47, 43.50)
    qpv = gpd.GeoDataFrame(
        {"code_qp": ["QN06499A", "QN06499B"], "lib_qp": ["Bon", "Mau\x07vais"]},
        geometry=[polygon] * 2,
        crs=4326,
    )
    path = tmp_path / "qpv.geojson"
    qpv.to_file(path)
    with pytest.raises(InvalidInputError) as err:
        qpv_from_file(path)
    assert problems_of(err) == {(2, "lib_qp")}
    with pytest.raises(InvalidInputError) as err:
        population_from_csv(io.BytesIO(b"code_qp,population,reference\nQN06499A,10,Insee\x1f\n"), name="p")
    assert problems_of(err) == {(2, "reference")}


# --- QPV whose repair leaves nothing (issue 10, item 5) ----------------------------------------------


def test_a_zero_area_qpv_is_refused_naming_the_feature_and_code(tmp_path: Path) -> None:
    flat = shapely.Polygon([(-1.47, 43.49), (-1.46, 43.50), (-1.45, 43.51), (-1.47, 43.49)])
    good = shapely.box(-1.48, 43.49, -1.47, 43.50)
    qpv = gpd.GeoDataFrame(
        {"code_qp": ["QN06498A", "QN06499Z"], "lib_qp": ["Bon", "Plat"]}, geometry=[good, flat], crs=4326
    )
    path = tmp_path / "qpv.geojson"
    qpv.to_file(path)
    with pytest.raises(InvalidInputError) as err:
        qpv_from_file(path)
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.field) == (str(path), 2, "geometry")
    assert "QN06499Z" in problem.message
    assert "entité n° 2" in problem.message
    assert "sans surface" in problem.message


# --- population tables name every bad row at once (issue 10, item 8) ------------------------------------


def test_population_names_bad_values_and_unknown_codes_together() -> None:
    body = b"code_qp,population\nQN06401I,beaucoup\nQN06402M,-5\nQN99999X,100\n"
    with pytest.raises(InvalidInputError) as err:
        population_from_csv(io.BytesIO(body), name="pop.csv", known_codes={"QN06401I", "QN06402M"})
    assert problems_of(err) == {(2, "population"), (3, "population"), (4, "code_qp")}


def test_population_years_must_be_years() -> None:
    body = b"code_qp,population,population_year\nQN06401I,10,2013\nQN06402M,5,treize\n"
    with pytest.raises(InvalidInputError) as err:
        population_from_csv(io.BytesIO(body), name="pop.csv")
    assert problems_of(err) == {(3, "population_year")}
