"""Usage errors of the command line in French: Click's messages and the value errors Typer takes
from pydantic (essmap.cli.language)."""

from __future__ import annotations

import json

import pytest

from essmap.labels import number_fr
from essmap.store import GeoPackageStore
from tests.cli_support import run


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nearest", "abc", "43.49"], "valeur invalide pour « lon » : doit être un nombre (reçu : « abc »)"),
        (
            ["nearest", "-1.47", "43.49", "--adresse", "x"],
            "option inconnue ou argument en trop : --adresse x",
        ),
        (["nearest", "-1.47", "43.49", "3"], "argument(s) en trop : 3"),
        (["locate"], "argument « lon » manquant"),
        (["nearest", "-1.47", "43.49", "-k"], "l'option « -k » demande une valeur"),
        (["nearest", "-1.47", "43.49", "-k", "x"], "doit être un nombre entier (reçu : « x »)"),
        (["coverage", "--mode", "bike"], "valeur non reconnue ; valeurs possibles : straight, walk"),
    ],
)
def test_usage_errors_are_french(
    demo_store: GeoPackageStore, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    text = " ".join(err.replace("│", " ").split())
    assert expected in text, text
    for english in ("Invalid value", "Input should", "Got unexpected", "Missing argument", "requires an"):
        assert english not in text
    assert out == ""


def test_the_coverage_table_keeps_figures_whole_at_80_columns(
    demo_store: GeoPackageStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "coverage", "--threshold", "400", "--threshold", "800", "--json")
    assert code == 0, err
    rows = json.loads(out)
    code, out, err = run(capsys, "coverage", "--threshold", "400", "--threshold", "800")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line[:1] in set("┏┃┡│└")]  # the table's
    assert len(lines) > len(rows)
    assert max(len(line) for line in lines) <= 80
    for row in rows:
        figures = f"{number_fr(row['residents_covered'])} / {number_fr(row['residents_total'])}"
        assert any(figures in line and row["code"] in line for line in lines), (figures, out)
