"""Reading actors from CSV, GeoJSON and GeoPackage, and refusing bad rows with where and what."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from essmap.errors import InvalidInputError
from essmap.model import approximate_mask
from essmap.sources import actors_from_file

HEADER = "id,name,category,address,lon,lat,location_precision\n"


def write(tmp_path: Path, text: str, name: str = "actors.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_comma_csv_with_lon_lat(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "a1,AMAP du Port,amap_delivery_point,quai,-1.47,43.49,street\n"
        + "a2,Sans adresse connue,association,,,,\n",
    )
    table = actors_from_file(path).table
    assert list(table["id"]) == ["a1", "a2"]
    assert table.geometry.iloc[0].equals(shapely.Point(-1.47, 43.49))
    assert table.geometry.iloc[1] is None
    assert list(table["location_precision"]) == ["street", "none"]
    assert table.loc[0, "coordinates_source"] == "fichier actors.csv"


def test_semicolon_csv_with_bom_and_decimal_commas(tmp_path: Path) -> None:
    text = "nom;catégorie;longitude;latitude\nÉpicerie Otsokop;cooperative_grocery;-1,4738;43,5001\n"
    path = write(tmp_path, "\ufeff" + text)
    table = actors_from_file(path).table
    assert table.loc[0, "name"] == "Épicerie Otsokop"
    assert table.loc[0, "id"] == "epicerie-otsokop"
    assert table.geometry.iloc[0].x == pytest.approx(-1.4738)
    assert table.geometry.iloc[0].y == pytest.approx(43.5001)


def test_xy_columns_with_lambert93(tmp_path: Path) -> None:
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(-1.4748, 43.4929)
    path = write(tmp_path, f"name,category,x,y\nMairie,public_body,{x:.2f},{y:.2f}\n")
    with pytest.raises(InvalidInputError, match="--crs"):
        actors_from_file(path)
    point = actors_from_file(path, crs="EPSG:2154").table.geometry.iloc[0]
    assert point.x == pytest.approx(-1.4748, abs=1e-6)
    assert point.y == pytest.approx(43.4929, abs=1e-6)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_geojson_and_geopackage(tmp_path: Path, suffix: str) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["Marché Saint-Esprit", "Atelier"], "category": ["market", "training"]},
        geometry=[shapely.Point(-1.468, 43.498), None],
        crs="EPSG:4326",
    )
    path = tmp_path / f"actors{suffix}"
    gdf.to_file(path)
    table = actors_from_file(path).table
    assert list(table["name"]) == ["Marché Saint-Esprit", "Atelier"]
    assert table.geometry.iloc[0].equals(shapely.Point(-1.468, 43.498))
    assert table.geometry.iloc[1] is None


def test_every_bad_row_is_reported_with_row_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name,category,lon,lat\n"
        "Bon,market,-1.47,43.49\n"  # line 2: good
        "Nord,market,-1.47,95\n"  # line 3: latitude 95
        "Texte,market,abc,43.49\n"  # line 4: longitude is not a number
        ",market,-1.47,43.49\n"  # line 5: missing name
        "Inconnu,supermarket,-1.47,43.49\n"  # line 6: unknown category
        "Montréal,market,-73.57,45.50\n"  # line 7: outside France
        "Court,market\n",  # line 8: wrong number of values
    )
    with pytest.raises(InvalidInputError) as err:
        actors_from_file(path)
    got = {(p.row, p.field) for p in err.value.problems}
    assert got == {(3, "lat"), (4, "lon"), (5, "name"), (6, "category"), (7, "lon"), (8, None)}
    message = str(err.value)
    assert "actors.csv" in message
    assert "ligne 3" in message
    assert "latitude 95 hors de [-90, 90]" in message
    assert "supermarket" in message


def test_outside_france_can_be_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "name,category,lon,lat\nMontréal,market,-73.57,45.50\n")
    table = actors_from_file(path, allow_anywhere=True).table
    assert table.geometry.iloc[0].x == pytest.approx(-73.57)


def test_overseas_departments_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name,category,lon,lat\n"
        "Marché de Saint-Denis,market,55.45,-20.88\n"
        "Marché de Cayenne,market,-52.33,4.94\n",
    )
    assert len(actors_from_file(path).table) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "vide"),
        ("name,category,lon,lat\n", "aucune ligne"),
        ("name|category|lon|lat\nA|market|1|2\n", "séparateur"),
    ],
)
def test_empty_files_and_wrong_delimiter(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInputError, match=expected):
        actors_from_file(path)


def test_lon_without_lat_and_bad_date(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name,category,lon,lat,last_verified,email\n"
        "A,market,-1.47,,2026-02-30,contact@example.org\n"
        "B,market,-1.47,43.4,hier,pas-un-courriel\n",
    )
    with pytest.raises(InvalidInputError) as err:
        actors_from_file(path)
    got = {(p.row, p.field) for p in err.value.problems}
    assert (2, "last_verified") in got  # 30 February does not exist
    assert (3, "last_verified") in got
    assert (3, "email") in got
    assert any(p.row == 2 and "ensemble" in p.message for p in err.value.problems)


def test_generated_ids_are_stable_and_unique(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name,category,commune,lon,lat\nAMAP,amap_delivery_point,Bayonne,-1.47,43.49\n"
        "AMAP,amap_delivery_point,Anglet,-1.51,43.48\n",
    )
    first = list(actors_from_file(path).table["id"])
    assert first == ["amap-bayonne", "amap-anglet"]
    assert list(actors_from_file(path).table["id"]) == first


def test_approximate_flag_defaults_to_the_precision_and_can_be_set(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,name,category,lon,lat,location_precision,location_approximate\n"
        "a,A,market,-1.47,43.49,street,\n"  # approximate by its precision
        "b,B,market,-1.47,43.49,building,\n"  # precise
        "c,C,market,-1.47,43.49,building,oui\n"  # published at the building, placed by hand
        "d,D,market,-1.47,43.49,exact,false\n"
        "e,E,market,,,none,\n",  # unlocated: no flag
    )
    table = actors_from_file(path).table
    assert list(approximate_mask(table)) == [True, False, True, False, False]
    assert table.loc[4, "location_approximate"] is pd.NA
    bad = write(
        tmp_path, "name,category,lon,lat,location_approximate\nA,market,-1.47,43.49,peut-être\n", "bad.csv"
    )
    with pytest.raises(InvalidInputError) as err:
        actors_from_file(bad)
    assert [(p.row, p.field) for p in err.value.problems] == [(2, "location_approximate")]


def test_features_from_a_request_get_the_import_validation() -> None:
    from essmap.sources import actors_from_features

    good = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.4748, 43.4929]},
        "properties": {"name": "Marché des Halles", "category": "market", "location_approximate": False},
    }
    parsed = actors_from_features([good], name="corps de la requête")
    (row,) = parsed.table.itertuples()
    assert row.id == "marche-des-halles"
    assert row.geometry.x == pytest.approx(-1.4748)
    assert not row.location_approximate
    assert not pd.isna(row.location_approximate)
    unlocated = {**good, "geometry": None}
    assert actors_from_features([unlocated], name="x").table.geometry.isna().all()
    bad = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.47, 95]},
        "properties": {"name": "X", "category": "supermarket", "email": "pas-une-adresse"},
    }
    with pytest.raises(InvalidInputError) as info:
        actors_from_features([good, bad], name="corps de la requête")
    got = {(p.row, p.field) for p in info.value.problems}
    assert got == {(2, "geometry"), (2, "category"), (2, "email")}
    assert all(p.file == "corps de la requête" for p in info.value.problems)
    with pytest.raises(InvalidInputError) as info:
        actors_from_features(
            [
                {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}, "properties": {}},
                "x",
            ],
            name="corps",
        )
    assert {(p.row, p.field) for p in info.value.problems} == {(1, "geometry"), (2, None)}
