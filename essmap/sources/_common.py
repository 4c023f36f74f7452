"""Shared pieces of the readers: CSV tables, geodata files, column aliases, names."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from essmap.errors import InvalidInputError, MissingCRSError, Problem
from essmap.model import (
    WGS84,
)

Progress = Callable[[str], None]

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
GEO_SUFFIXES = {".shp", ".geojson", ".json", ".gpkg", ".zip", ".fgb"}


def _noop(_: str) -> None:
    return None


# --- shared helpers ---------------------------------------------------------------------------


def _norm_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphenated identifier made from a name."""
    return _norm_key(text).replace("_", "-")


def normalise_name(name: str) -> str:
    """A name reduced for comparisons: no accents, no case, single spaces."""
    return " ".join(_norm_key(name).split("_"))


def _find_column(columns: Iterable[str], aliases: Sequence[str]) -> str | None:
    by_key = {_norm_key(c): c for c in columns}
    for alias in aliases:
        if alias in by_key:
            return by_key[alias]
    return None


def _text(series: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; empty strings become missing."""
    out = series.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def _require_file(path: Path) -> str:
    if not path.exists():
        raise InvalidInputError(Problem("fichier introuvable", file=str(path)))
    if path.is_file() and path.stat().st_size == 0:
        raise InvalidInputError(Problem("le fichier est vide", file=str(path)))
    return str(path)


def read_csv_table(
    path: Path, *, required: Sequence[Sequence[str]] = ()
) -> tuple[pd.DataFrame, list[Problem], list[Problem]]:
    """Read a CSV file (comma, semicolon or tab; UTF-8 with or without BOM) as text columns.

    Returns the table, indexed by the file's line number of each row (the header is line 1),
    warnings, and problems of rows that could not be split into the header's columns (left out
    of the table, so that the caller reports them with every other bad row).
    ``required`` lists alias groups of which one column must be present.
    """
    fname = _require_file(path)
    raw = path.read_bytes()
    warnings: list[Problem] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = raw.decode("cp1252", errors="replace")
        warnings.append(
            Problem(
                f"le fichier n'est pas en UTF-8 (octet {exc.start}) ; lu en Windows-1252",
                file=fname,
            )
        )
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InvalidInputError(Problem("le fichier est vide (pas de ligne d'en-tête)", file=fname))
    header = lines[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = list(reader)
    columns = [c.strip() for c in rows[0]]
    for group in required:
        if _find_column(columns, group) is None:
            hint = ""
            if len(columns) == 1:
                hint = " ; le séparateur est-il bien la virgule, le point-virgule ou la tabulation ?"
            raise InvalidInputError(
                Problem(
                    f"colonne « {group[0]} » absente de l'en-tête (colonnes trouvées : {columns}){hint}",
                    file=fname,
                    row=1,
                    field=group[0],
                )
            )
    problems: list[Problem] = []
    data: list[list[str]] = []
    index: list[int] = []
    line_no = 1
    for row in rows[1:]:
        line_no += 1
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(
                Problem(
                    f"{len(row)} valeurs au lieu de {len(columns)} (séparateur « {delimiter} »)",
                    file=fname,
                    row=line_no,
                )
            )
            continue
        data.append(row)
        index.append(line_no)
    if not data and not problems:
        raise InvalidInputError(Problem("aucune ligne de données après l'en-tête", file=fname))
    frame = pd.DataFrame(data, columns=columns, index=pd.Index(index, name="line"), dtype="string")
    return frame, warnings, problems


def _read_geo(
    path: Path, *, layer: str | None = None, encoding: str | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read a geodata file as published; refuse one that declares no CRS."""
    fname = _require_file(path)
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:  # GDAL reports unreadable files with many error classes
        raise InvalidInputError(Problem(f"fichier illisible : {exc}", file=fname)) from exc
    if info.get("crs") is None and info.get("geometry_type") is not None:
        raise MissingCRSError(
            Problem(
                "le fichier ne déclare aucun système de coordonnées (CRS, fichier .prj absent ?) ; "
                "essmap ne le devine jamais : ajoutez-le au fichier",
                file=fname,
            )
        )
    if info.get("features", 0) == 0:
        raise InvalidInputError(Problem("le fichier ne contient aucune entité", file=fname))
    gdf = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    if not isinstance(gdf, gpd.GeoDataFrame):
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf)), crs=WGS84)
    gdf.index = pd.RangeIndex(1, len(gdf) + 1, name="feature")
    return gdf, fname
