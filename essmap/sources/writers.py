"""Writers: GeoJSON (RFC 7946), CSV and GeoPackage exports, and the safe writing of output files.

Every CSV essmap writes goes through :func:`csv_text`, which neutralises the cells a spreadsheet
would run as formulas. Every output file goes through :func:`output_file`: written in a private
temporary folder beside its target, then renamed into place, and refused inside the data folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from essmap.errors import InvalidInputError, Problem
from essmap.sources.common import escape_formula

# --- CSV ---------------------------------------------------------------------------------------


def csv_text(frame: pd.DataFrame, *, header: bool = True, spreadsheet_fr: bool = False) -> str:
    """A table as CSV text (RFC 4180: comma, CRLF, header; no index), safe to open in a spreadsheet.

    ``header=False`` leaves the header line out (the later parts of a CSV written in pieces).
    ``spreadsheet_fr=True`` writes for a French spreadsheet instead of a program: semicolons,
    decimal commas, and a byte order mark before the header so that it reads the text as UTF-8.

    Numbers are written as numbers (a longitude of -1.47 stays ``-1.47``). A text cell that
    starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, which a spreadsheet
    would run as a formula (``=HYPERLINK(…)``, ``+cmd|…``, ``-2+3``), is written after a single
    quote, as OWASP advises against CSV injection; essmap's CSV readers remove that quote, so
    an export imports back unchanged.
    """
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            safe[column] = values.map(lambda v: escape_formula(v) if isinstance(v, str) else v)
    # CRLF line ends (RFC 4180): the CSV writer then quotes every cell holding a CR or a LF
    if spreadsheet_fr:
        text = safe.to_csv(index=False, header=header, lineterminator="\r\n", sep=";", decimal=",")
        return ("\ufeff" if header else "") + text
    return safe.to_csv(index=False, header=header, lineterminator="\r\n")


# --- output files ------------------------------------------------------------------------------


def check_output_path(path: Path | str, *, protected_dir: Path | None = None) -> Path:
    """Check a path given for an output file.

    Parameters
    ----------
    protected_dir
        A folder no output may land in (the data folder, which holds the store); symbolic
        links are followed.

    Raises
    ------
    InvalidInputError
        For an empty path, a folder, something other than a regular file (a device…), or a
        path inside ``protected_dir``.
    """
    text = os.fspath(path)
    if text.strip() in ("", "."):
        raise InvalidInputError(
            Problem("chemin de sortie vide (ou dossier courant) : indiquez un fichier", field="--out")
        )
    target = Path(text).expanduser()
    if target.is_dir():
        raise InvalidInputError(
            Problem("ce chemin est un dossier : indiquez un fichier de sortie", file=text, field="--out")
        )
    if target.exists() and not target.is_file():
        raise InvalidInputError(Problem("ce chemin n'est pas un fichier ordinaire", file=text, field="--out"))
    if protected_dir is not None:
        protected = Path(protected_dir).expanduser().resolve()
        # both where the name lands (a symbolic link is replaced) and what it points to
        landing = target.parent.resolve() / target.name
        for candidate in (landing, target.resolve()):
            if candidate == protected or protected in candidate.parents:
                raise InvalidInputError(
                    Problem(
                        f"écriture refusée dans le dossier des données ({protected}) : "
                        "choisissez un fichier ailleurs",
                        file=text,
                        field="--out",
                    )
                )
    return target


@contextlib.contextmanager
def output_file(path: Path | str, *, protected_dir: Path | None = None) -> Iterator[Path]:
    """Write an output file safely: yield a temporary path to write, then rename it into place.

    The temporary file lies in a new folder of unpredictable name created beside the target
    (``tempfile.mkdtemp``, readable by its owner only), so no symbolic link can be planted where
    it is written; the rename replaces the target at once, so a failed write never leaves a
    truncated file. The temporary file has the target's name, so that writers that choose a
    format from the suffix (GDAL) see it.

    Raises
    ------
    InvalidInputError
        For a path refused by :func:`check_output_path`, or one that cannot be written.
    """
    target = check_output_path(path, protected_dir=protected_dir)
    where = os.fspath(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise InvalidInputError(
            Problem(f"écriture impossible : {exc.strerror or exc}", file=where, field="--out")
        ) from exc
    try:
        tmp = folder / target.name
        yield tmp
        try:
            tmp.replace(target)
        except OSError as exc:
            raise InvalidInputError(
                Problem(f"écriture impossible : {exc.strerror or exc}", file=where, field="--out")
            ) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_output(path: Path | str, data: str | bytes, *, protected_dir: Path | None = None) -> None:
    """Write text (UTF-8) or bytes to an output file through :func:`output_file`."""
    with output_file(path, protected_dir=protected_dir) as tmp:
        try:
            if isinstance(data, str):
                tmp.write_text(data, encoding="utf-8")
            else:
                tmp.write_bytes(data)
        except OSError as exc:
            raise InvalidInputError(
                Problem(f"écriture impossible : {exc.strerror or exc}", file=os.fspath(path), field="--out")
            ) from exc


# --- tables --------------------------------------------------------------------------------------

EXPORT_FORMATS = ("geojson", "csv", "gpkg")


def table_to_file(
    table: gpd.GeoDataFrame,
    path: Path | str,
    *,
    fmt: str,
    layer: str,
    points: bool,
    protected_dir: Path | None = None,
) -> None:
    """Write a table as GeoJSON (RFC 7946), CSV (lon/lat for points, WKT otherwise) or GeoPackage.

    The file is written through :func:`output_file` (never inside ``protected_dir``), and a CSV
    through :func:`csv_text` (spreadsheet formulas neutralised).
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(
            Problem(f"format « {fmt} » inconnu ; valeurs admises : {EXPORT_FORMATS}", field="format")
        )
    if fmt == "csv":
        frame = pd.DataFrame(table.drop(columns="geometry"))
        geoms = table.geometry
        present = geoms.notna() & ~geoms.is_empty
        if points:
            frame["lon"] = np.where(present, geoms.x.where(present), np.nan)
            frame["lat"] = np.where(present, geoms.y.where(present), np.nan)
        else:
            frame["geometry_wkt"] = geoms.to_wkt()
        write_output(path, csv_text(frame), protected_dir=protected_dir)
        return
    with output_file(path, protected_dir=protected_dir) as tmp:
        if fmt == "geojson":
            pyogrio.write_dataframe(table, tmp, driver="GeoJSON", layer=layer, RFC7946="YES", WRITE_NAME="NO")
        else:
            pyogrio.write_dataframe(table, tmp, driver="GPKG", layer=layer)
