"""The INSEE 200 m population grid reader and import, and the regular lattice helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from essmap.analysis.grid import lattice
from essmap.errors import InvalidInputError
from essmap.importing import import_grid
from essmap.sources import grid_from_csv, points_from_file
from essmap.store import GeoPackageStore

# the example id of the INSEE documentation: lower-left corner N 2,029,800 m, E 4,252,400 m
EXAMPLE = "CRS3035RES200mN2029800E4252400"


def test_filosofi_2015_columns_and_square_geometry(tmp_path: Path) -> None:
    path = tmp_path / "Filosofi2015_carreaux_200m_metropole.csv"
    path.write_text(
        f"Idcar_200m,I_est_200,Id_carr1km,Ind,Men\n{EXAMPLE},0,CRS3035RES1000mN2029000E4252000,12.5,5\n"
        "CRS3035RES200mN2029800E4252600,1,CRS3035RES1000mN2029000E4252000,3,1\n",
        encoding="utf-8",
    )
    grid = grid_from_csv(path)
    assert grid["id"].tolist() == [EXAMPLE, "CRS3035RES200mN2029800E4252600"]
    assert grid["population"].tolist() == [12.5, 3.0]
    assert grid.crs == "EPSG:4326"
    square = grid.to_crs("EPSG:3035").geometry.iloc[0]
    assert square.bounds == pytest.approx((4252400, 2029800, 4252600, 2030000), abs=0.01)
    assert square.area == pytest.approx(40_000, rel=1e-6)


@pytest.mark.parametrize(
    ("id_col", "pop_col", "sep"), [("idcar_200m", "ind", ";"), ("IdINSPIRE", "Ind", "\t")]
)
def test_other_publications(tmp_path: Path, id_col: str, pop_col: str, sep: str) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(f"{id_col}{sep}{pop_col}\n{EXAMPLE}{sep}7,5\n", encoding="utf-8-sig")
    grid = grid_from_csv(path)
    assert grid["population"].tolist() == [7.5]


def test_bad_rows_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(
        f"idcar_200m,ind\n{EXAMPLE},3\nN2029800E4252400,4\n{EXAMPLE},x\nCRS3035RES200mN1E2,-1\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as info:
        grid_from_csv(path)
    got = {(p.row, p.field) for p in info.value.problems}
    assert got == {(2, "idcar_200m"), (3, "idcar_200m"), (4, "ind"), (4, "idcar_200m"), (5, "ind")}
    assert "illisible" in str(info.value)
    missing = tmp_path / "nogrid.csv"
    missing.write_text("code,pop\nA,1\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="idcar_200m"):
        grid_from_csv(missing)


def test_import_grid_replaces_the_grid(tmp_path: Path, empty_store: GeoPackageStore) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(f"idcar_200m,ind\n{EXAMPLE},3\n", encoding="utf-8")
    report = import_grid(empty_store, path)
    assert (report.kind, report.read, report.created) == ("grid", 1, 1)
    stored = empty_store.load_population_grid()
    assert stored["id"].tolist() == [EXAMPLE]
    assert stored["population"].tolist() == [3.0]


def test_points_from_csv_and_geojson(tmp_path: Path) -> None:
    csv = tmp_path / "sites.csv"
    csv.write_text("id;lon;lat\nA;-1,47;43.49\n;-1.46;43.5\n", encoding="utf-8")
    pts = points_from_file(csv)
    assert pts["id"].tolist() == ["A", "3"]
    assert pts.geometry.x.tolist() == pytest.approx([-1.47, -1.46])
    geojson = tmp_path / "sites.geojson"
    pts.to_file(geojson, driver="GeoJSON")
    assert points_from_file(geojson)["id"].tolist() == ["A", "3"]
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat\nabc,43\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as info:
        points_from_file(bad)
    assert info.value.problems[0].row == 2


def test_lattice_points_are_shared_multiples_of_the_spacing() -> None:
    pts = lattice(np.array([[0.0, 0.0, 250.0, 100.0], [150.0, 50.0, 310.0, 120.0]]), 100.0)
    assert pts.tolist() == [
        [0, 0], [0, 100], [100, 0], [100, 100], [200, 0], [200, 100], [300, 100],
    ]  # fmt: skip
    assert lattice(np.empty((0, 4)), 100.0).shape == (0, 2)
