"""Reading official QPV files: the 2015 shapefile, the 2024 GeoJSON/GeoPackage, any declared CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from essmap.errors import InvalidInputError, MissingCRSError
from essmap.geo import to_metric
from essmap.sources import population_from_csv, qpv_from_file
from tests.conftest import OCCITANIE_INDICATORS


def test_official_2015_shapefile_imports_105_valid_neighbourhoods(
    occitanie_qpv: gpd.GeoDataFrame, occitanie_shapefile: Path
) -> None:
    parsed = qpv_from_file(occitanie_shapefile)
    table = parsed.table
    assert len(table) == 105
    assert table.crs.to_epsg() == 4326
    assert table.geometry.is_valid.all()
    assert set(table["generation"]) == {2015}
    assert set(table["geometry_source"]) == {"official"}
    # codes, names and communes intact
    expected = occitanie_qpv.set_index("code_qp")
    got = table.set_index("code")
    assert set(got.index) == set(expected.index)
    for code in expected.index:
        assert got.loc[code, "name"] == expected.loc[code, "nom_qp"]
        assert got.loc[code, "commune_names"] == expected.loc[code, "commune_qp"]
    # the repair is reported: the 32 polygons GEOS finds invalid, by code
    invalid_codes = set(occitanie_qpv.loc[~occitanie_qpv.is_valid, "code_qp"])
    assert len(invalid_codes) == 32
    assert invalid_codes <= set(parsed.repaired)
    assert any("réparée" in str(w) for w in parsed.warnings)


def test_repair_keeps_the_area(occitanie_qpv: gpd.GeoDataFrame, occitanie_shapefile: Path) -> None:
    parsed = qpv_from_file(occitanie_shapefile)
    got = to_metric(parsed.table).set_index("code").area
    # a valid-for-GEOS reference: buffer(0) of the published rings, measured the same way
    ref = occitanie_qpv.set_geometry(shapely.make_valid(occitanie_qpv.geometry.to_numpy()))
    ref_area = to_metric(ref).set_index("code_qp").area
    ratio = (got / ref_area.loc[got.index]).to_numpy()
    assert ratio.min() > 0.999
    assert ratio.max() < 1.001


def _official_2024(occitanie_qpv: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A 2024-format file: one feature per QPV and commune; the first QPV spans two communes."""
    first = occitanie_qpv.iloc[0]
    geom = shapely.make_valid(first.geometry)
    minx, miny, maxx, maxy = geom.bounds
    mid = (minx + maxx) / 2
    west = geom.intersection(shapely.box(minx - 1, miny - 1, mid, maxy + 1))
    east = geom.intersection(shapely.box(mid, miny - 1, maxx + 1, maxy + 1))
    rows = [
        {"code_qp": "QN06601A", "lib_qp": "Quartier test", "insee_dep": "66", "insee_com": "66136",
         "lib_com": "Perpignan", "siren_epci": "200027183", "geometry": west},
        {"code_qp": "QN06601A", "lib_qp": "Quartier test", "insee_dep": "66", "insee_com": "66037",
         "lib_com": "Cabestany", "siren_epci": "200027183", "geometry": east},
        {"code_qp": "QN03101B", "lib_qp": "Autre quartier", "insee_dep": "31", "insee_com": "31555",
         "lib_com": "Toulouse", "siren_epci": "243100518", "geometry": occitanie_qpv.iloc[1].geometry},
    ]  # fmt: skip
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_official_2024_file_merges_parts_per_code(
    occitanie_qpv: gpd.GeoDataFrame, tmp_path: Path, suffix: str
) -> None:
    src = _official_2024(occitanie_qpv)
    path = tmp_path / f"QP2024_France_Hexagonale_Outre_Mer_WGS84{suffix}"
    src.to_file(path)
    parsed = qpv_from_file(path)
    table = parsed.table.set_index("code")
    assert sorted(table.index) == ["QN03101B", "QN06601A"]
    assert set(table["generation"]) == {2024}
    assert table.loc["QN06601A", "commune_names"] == "Perpignan, Cabestany"
    assert table.loc["QN06601A", "commune_codes"] == "66136, 66037"
    assert parsed.merged == ["QN06601A"]
    merged_area = to_metric(parsed.table).set_index("code").area["QN06601A"]
    whole = to_metric(
        gpd.GeoDataFrame(geometry=[shapely.make_valid(occitanie_qpv.iloc[0].geometry)], crs=4326)
    )
    assert merged_area == pytest.approx(whole.area.iloc[0], rel=1e-3)


def test_any_declared_crs_is_reprojected(occitanie_qpv: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = tmp_path / "qpv_webmercator.gpkg"
    occitanie_qpv.head(5).to_crs("EPSG:3857").to_file(path)
    table = qpv_from_file(path).table
    assert table.crs.to_epsg() == 4326
    expected = shapely.make_valid(occitanie_qpv.iloc[0].geometry).centroid
    got = table.set_index("code").geometry[occitanie_qpv.iloc[0]["code_qp"]].centroid
    assert got.distance(expected) < 1e-6


def test_a_file_without_crs_is_refused(occitanie_shapefile: Path) -> None:
    occitanie_shapefile.with_suffix(".prj").unlink()
    with pytest.raises(MissingCRSError) as err:
        qpv_from_file(occitanie_shapefile)
    message = str(err.value)
    assert "QP_METROPOLE_LB93.shp" in message
    assert "système de coordonnées" in message


def test_missing_code_and_empty_geometry_are_all_reported(
    occitanie_qpv: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    bad = occitanie_qpv.head(4).copy()
    bad.loc[1, "code_qp"] = None
    bad.loc[3, "nom_qp"] = ""
    bad.loc[2, "geometry"] = None
    path = tmp_path / "bad.geojson"
    bad.to_file(path)
    with pytest.raises(InvalidInputError) as err:
        qpv_from_file(path)
    rows = {(p.row, p.field) for p in err.value.problems}
    assert (2, "code_qp") in rows
    assert (4, "nom_qp") in rows
    assert (3, "geometry") in rows


def test_population_table_joins_by_code() -> None:
    pop = population_from_csv(OCCITANIE_INDICATORS, reference="Insee 2015", year=2015)
    assert len(pop) == 105
    assert int(pop["population"].sum()) == 358_011
    assert set(pop["population_year"]) == {2015}
    raw = pd.read_csv(OCCITANIE_INDICATORS, encoding="utf-8-sig")
    assert dict(zip(pop["code"], pop["population"], strict=True)) == dict(
        zip(raw["code_qp"], raw["pop_mun"], strict=True)
    )


def test_population_table_reports_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "pop.csv"
    path.write_text("code_qp;population\nQP066007;1200\nQP066008;beaucoup\n;30\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as err:
        population_from_csv(path)
    assert {(p.row, p.field) for p in err.value.problems} == {(3, "population"), (4, "code_qp")}


def test_shapefile_encodings(occitanie_qpv: gpd.GeoDataFrame, tmp_path: Path) -> None:
    accented = occitanie_qpv[occitanie_qpv["nom_qp"].str.contains("[éèàç]")].head(3)
    assert len(accented) > 0
    src = accented.rename(columns={"code_qp": "CODE_QP", "nom_qp": "NOM_QP", "commune_qp": "COMMUNE_QP"})
    src = src[["CODE_QP", "NOM_QP", "COMMUNE_QP", "geometry"]].to_crs("EPSG:2154")
    latin = tmp_path / "latin" / "qp.shp"
    latin.parent.mkdir()
    src.to_file(latin, encoding="ISO-8859-1")
    latin.with_suffix(".cpg").unlink(missing_ok=True)  # as many published shapefiles: no .cpg
    assert list(qpv_from_file(latin).table["name"]) == list(accented["nom_qp"])
    utf8 = tmp_path / "utf8" / "qp.shp"
    utf8.parent.mkdir()
    src.to_file(utf8, encoding="UTF-8")
    utf8.with_suffix(".cpg").unlink()
    assert list(qpv_from_file(utf8, encoding="UTF-8").table["name"]) == list(accented["nom_qp"])
