"""Input files: paths or binary file-like objects, zip archives, CSV tables and geodata files.

Every reader opens its input here, so that one set of rules applies to all of them: one CSV
decoder (UTF-8 with or without BOM, else Windows-1252 with a warning), one delimiter rule, one
way of reading a zip archive, and clear errors (file, line, field) instead of tracebacks.
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Literal

import geopandas as gpd
import pandas as pd
import pyogrio

from essmap.errors import InvalidInputError, MissingCRSError, Problem
from essmap.model import WGS84
from essmap.sources.common import check_unique_columns, find_column, unescape_formula

if TYPE_CHECKING:
    from _csv import Reader

#: What a reader accepts: a path, or a binary file-like object (an upload, a request body).
Source = str | os.PathLike[str] | IO[bytes]
#: How to read an input: as a CSV table or as a geodata file (GeoJSON, GeoPackage, shapefile…).
InputFormat = Literal["csv", "geodata"]

CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
GEO_SUFFIXES = frozenset({".shp", ".geojson", ".json", ".gpkg", ".fgb", ".zip"})
#: Files of an archive that are read as data (sidecars of shapefiles and notes are left aside).
_ARCHIVE_DATA_SUFFIXES = frozenset({".csv", ".tsv", ".shp", ".geojson", ".json", ".gpkg", ".fgb"})
#: Largest file taken out of a zip archive (uncompressed), a bound against zip bombs.
MAX_ARCHIVE_MEMBER_BYTES = 1 << 30
_FORMATS_FR = "CSV (.csv, .txt, .tsv), GeoJSON, GeoPackage, shapefile, FlatGeobuf ou archive .zip"
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class InputData:
    """One input, opened: its name for messages and where its bytes are.

    Exactly one of ``path`` (a file on disk), ``content`` (bytes in memory) or ``gdal_path``
    (a GDAL virtual path, for a shapefile inside a zip archive on disk) is set.
    """

    name: str
    suffix: str = ""
    path: Path | None = None
    content: bytes | None = None
    gdal_path: str | None = None

    @property
    def label(self) -> str:
        """The short name of the input (the file name without its folder)."""
        return PurePosixPath(self.name).name or self.name

    def read_bytes(self) -> bytes:
        """The bytes of the input."""
        if self.content is not None:
            return self.content
        if self.path is None:
            message = "l'archive contient un shapefile : un tableau CSV est attendu ici"
            raise InvalidInputError(Problem(message, file=self.name))
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise InvalidInputError(
                Problem(f"lecture impossible : {exc.strerror or exc}", file=self.name)
            ) from exc

    def head(self, size: int = 64) -> bytes:
        """The first bytes of the input (to recognise its format)."""
        if self.content is not None:
            return self.content[:size]
        if self.path is None:
            return b""
        try:
            with self.path.open("rb") as handle:
                return handle.read(size)
        except OSError as exc:
            raise InvalidInputError(
                Problem(f"lecture impossible : {exc.strerror or exc}", file=self.name)
            ) from exc


def open_input(
    source: Source | InputData, *, name: str | None = None, data_suffixes: Sequence[str] | None = None
) -> InputData:
    """Open a path or a binary file-like object; a zip archive gives the one data file it holds.

    Parameters
    ----------
    source
        A path, or a binary file-like object (read at once).
    name
        The name given in messages (for example ``"corps de la requête"``); by default the path,
        or the ``name`` attribute of a file object.
    data_suffixes
        Names of the files of an archive that hold data (``(".osm", ".pbf")`` for an
        OpenStreetMap extract); by default tables and geodata files.

    Raises
    ------
    InvalidInputError
        If the file is missing, is a folder, is empty, or is an archive without exactly one data file.
    """
    if isinstance(source, InputData):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise InvalidInputError(Problem("fichier introuvable", file=label))
        if not path.is_file():
            raise InvalidInputError(Problem("ce chemin est un dossier, pas un fichier", file=label))
        if path.stat().st_size == 0:
            raise InvalidInputError(Problem("le fichier est vide", file=label))
        opened = InputData(label, path.suffix.lower(), path=path)
    else:
        label = name or str(getattr(source, "name", "") or "données transmises")
        try:
            content = source.read()
        except OSError as exc:
            raise InvalidInputError(Problem(f"lecture impossible : {exc}", file=label)) from exc
        if not isinstance(content, bytes):
            raise TypeError("a binary file-like object is expected (opened with 'rb', or io.BytesIO)")
        if not content:
            raise InvalidInputError(Problem("le fichier est vide", file=label))
        opened = InputData(label, PurePosixPath(label).suffix.lower(), content=content)
    if opened.suffix == ".zip" or (not opened.suffix and opened.head(4) == b"PK\x03\x04"):
        return _archive_member(opened, data_suffixes)
    return opened


def input_format(data: InputData, fmt: InputFormat | None = None) -> InputFormat:
    """How to read an input: ``fmt`` if given, else from its suffix, else from its first bytes.

    Raises
    ------
    InvalidInputError
        For a suffix of another format (``.xlsx``…): it is never guessed.
    """
    if fmt is not None:
        return fmt
    if data.suffix in CSV_SUFFIXES:
        return "csv"
    if data.suffix in GEO_SUFFIXES:
        return "geodata"
    if data.suffix and data.path is not None:
        raise InvalidInputError(
            Problem(
                f"format « {data.suffix} » non pris en charge ; formats lus : {_FORMATS_FR}", file=data.name
            )
        )
    head = data.head().lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[", b"SQLite format 3\x00", b"fgb\x03")):
        return "geodata"
    return "csv"


def _archive_member(archive: InputData, data_suffixes: Sequence[str] | None = None) -> InputData:
    """The one data file of a zip archive: bytes of a CSV, GeoJSON, GeoPackage, or a shapefile path
    (or of a file with one of ``data_suffixes``, when given)."""
    wanted = _ARCHIVE_DATA_SUFFIXES if data_suffixes is None else frozenset(data_suffixes)
    try:
        with zipfile.ZipFile(archive.path or io.BytesIO(archive.read_bytes())) as zf:
            members = [
                info
                for info in zf.infolist()
                if not info.is_dir()
                and PurePosixPath(info.filename).suffix.lower() in wanted
                and not any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(info.filename).parts)
            ]
            if len(members) != 1:
                found = ", ".join(m.filename for m in members) or "aucun"
                kinds = (
                    "CSV, GeoJSON, GeoPackage, shapefile ou FlatGeobuf"
                    if data_suffixes is None
                    else ", ".join(sorted(wanted))
                )
                raise InvalidInputError(
                    Problem(
                        f"une archive .zip doit contenir un seul fichier de données ({kinds}) ; "
                        f"trouvés : {found}",
                        file=archive.name,
                    )
                )
            member = members[0]
            suffix = PurePosixPath(member.filename).suffix.lower()
            name = f"{archive.name}/{member.filename}"
            if suffix == ".shp":
                # a shapefile needs its sidecar files (.dbf, .shx, .prj): GDAL reads the archive
                if archive.path is not None:
                    return InputData(
                        name, suffix, gdal_path=f"/vsizip/{archive.path.resolve()}/{member.filename}"
                    )
                return InputData(name, suffix, content=archive.read_bytes())
            if member.file_size > MAX_ARCHIVE_MEMBER_BYTES:
                raise InvalidInputError(
                    Problem(
                        f"fichier de {member.file_size} octets une fois décompressé : au-delà de la limite "
                        f"de {MAX_ARCHIVE_MEMBER_BYTES} octets",
                        file=name,
                    )
                )
            content = zf.read(member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise InvalidInputError(Problem(f"archive .zip illisible : {exc}", file=archive.name)) from exc
    if not content:
        raise InvalidInputError(Problem("le fichier est vide", file=name))
    return InputData(name, suffix, content=content)


# --- CSV tables --------------------------------------------------------------------------------


def decode_text(raw: bytes, *, file: str) -> tuple[str, list[Problem]]:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252 with a warning.

    Raises
    ------
    InvalidInputError
        If the bytes are neither UTF-8 nor Windows-1252 (a binary file, another encoding).
    """
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as other:
            raise InvalidInputError(
                Problem(
                    f"encodage inconnu : ni UTF-8 (octet {exc.start}) ni Windows-1252 "
                    f"(octet {other.start}) ; enregistrez le fichier en UTF-8",
                    file=file,
                    row=raw.count(b"\n", 0, other.start) + 1,
                )
            ) from None
        warning = Problem(
            f"le fichier n'est pas en UTF-8 (octet {exc.start}) ; lu en Windows-1252", file=file, row=line
        )
        return text, [warning]


def sniff_delimiter(header: str) -> str:
    """The delimiter of a CSV: whichever of comma, semicolon and tab the header line holds most."""
    counts = {d: header.count(d) for d in _DELIMITERS}
    return max(counts, key=lambda d: counts[d])


@dataclass
class CsvTable:
    """A CSV file read as text columns.

    ``frame`` is indexed by the line number where each row starts (the header is line 1);
    ``problems`` are the rows that could not be split into the header's columns (left out of
    the frame, so that a reader reports them with every other bad row).
    """

    frame: pd.DataFrame
    file: str
    label: str
    delimiter: str
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_csv_table(
    source: Source | InputData,
    *,
    name: str | None = None,
    required: Sequence[Sequence[str]] = (),
    keep: Sequence[Sequence[str]] | None = None,
) -> CsvTable:
    """Read a CSV file (comma, semicolon or tab) as text columns, with the line of each row.

    Parameters
    ----------
    source
        A path or a binary file-like object (see :func:`open_input`; a zip archive holding one
        CSV is read too).
    name
        The name given in messages.
    required
        Alias groups of which one column must be present.
    keep
        Alias groups of the columns to keep (all columns by default): a large table is read
        without holding the columns it does not need.

    Raises
    ------
    InvalidInputError
        For an empty file, a missing column, two columns of one name, or a line the CSV format
        cannot read (a cell over the size limit).
    """
    data = open_input(source, name=name)
    fname = data.name
    if data.suffix in GEO_SUFFIXES:
        raise InvalidInputError(
            Problem(
                f"fichier « {data.suffix} » : un tableau CSV (.csv, .txt, .tsv) est attendu ici", file=fname
            )
        )
    text, warnings = decode_text(data.read_bytes(), file=fname)
    first_line = io.StringIO(text, newline="").readline()
    if not first_line.strip():
        raise InvalidInputError(Problem("le fichier est vide (pas de ligne d'en-tête)", file=fname, row=1))
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise _csv_problem(exc, text, fname, delimiter, start=1) from None
    columns = [c.strip() for c in header]
    check_unique_columns(columns, file=fname, row=1)
    for group in required:
        if find_column(columns, group) is None:
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
    kept = list(range(len(columns)))
    if keep is not None:
        wanted = {find_column(columns, group) for group in keep} - {None}
        kept = [i for i, c in enumerate(columns) if c in wanted]
    cells, lines, problems = _data_rows(reader, text, fname, delimiter, columns, kept)
    if not lines and not problems:
        raise InvalidInputError(Problem("aucune ligne de données après l'en-tête", file=fname))
    index = pd.Index(lines, name="line")
    frame = pd.DataFrame(
        {
            columns[i]: pd.Series(_unescaped(values), index=index, dtype="string")
            for i, values in zip(kept, cells, strict=True)
        },
        index=index,
    )
    return CsvTable(frame, fname, data.label, delimiter, warnings, problems)


def _data_rows(
    reader: Reader, text: str, fname: str, delimiter: str, columns: Sequence[str], kept: Sequence[int]
) -> tuple[list[Sequence[str]], list[int], list[Problem]]:
    """The cells of the ``kept`` columns of the rows that have as many cells as the header, the
    line where each of those rows starts, and the problems of the other rows. Blank rows are skipped.

    This loop runs once per row of files of millions of rows (the INSEE grid): it keeps only the
    cells asked for, as tuples (which the garbage collector soon stops tracking), never the rows.
    """
    count = len(columns)
    pick = operator.itemgetter(*kept) if len(kept) > 1 else (lambda row: tuple(row[i] for i in kept))
    picked: list[tuple[str, ...]] = []
    lines: list[int] = []
    problems: list[Problem] = []
    end = reader.line_num
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row or not (row[0].strip() or "".join(row).strip()):
                continue
            if len(row) == count:
                picked.append(pick(row))
                lines.append(start)
            else:
                message = f"{len(row)} valeurs au lieu de {count} (séparateur « {delimiter} »)"
                problems.append(Problem(message, file=fname, row=start))
    except csv.Error as exc:
        raise _csv_problem(exc, text, fname, delimiter, start=end + 1, columns=columns) from None
    cells: list[Sequence[str]] = list(zip(*picked, strict=True)) if picked else [() for _ in kept]
    return cells, lines, problems


def _unescaped(values: Sequence[str]) -> Sequence[str]:
    """Cells with the quote :func:`~essmap.sources.writers.csv_text` puts before a formula removed."""
    if any(map(str.startswith, values, itertools.repeat("'"))):  # map: no Python frame per cell
        return [unescape_formula(v) if v.startswith("'") else v for v in values]
    return values


def _csv_problem(
    exc: csv.Error, text: str, fname: str, delimiter: str, *, start: int, columns: Sequence[str] = ()
) -> InvalidInputError:
    """A clear error for a line the CSV reader cannot read (a cell over its size limit…)."""
    limit = csv.field_size_limit()
    if "field larger than field limit" in str(exc):
        column = _oversized_column(text, delimiter, start=start, limit=limit)
        return InvalidInputError(
            Problem(
                f"cellule de plus de {limit:,} caractères : refusée".replace(",", "\u202f"),
                file=fname,
                row=start,
                field=columns[column] if column is not None and column < len(columns) else None,
            )
        )
    return InvalidInputError(Problem(f"ligne CSV illisible : {exc}", file=fname, row=start))


def _oversized_column(text: str, delimiter: str, *, start: int, limit: int) -> int | None:
    """The position of the first cell longer than ``limit`` in the record starting at line ``start``."""
    record = itertools.islice(io.StringIO(text, newline=""), start - 1, None)
    column, length, quoted = 0, 0, False
    for char in itertools.chain.from_iterable(record):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == delimiter:
            column, length = column + 1, 0
        elif not quoted and char in "\r\n":
            return None
        else:
            length += 1
            if length > limit:
                return column
    return None


# --- geodata files -----------------------------------------------------------------------------

#: A NUL escaped in JSON text (not preceded by an escaped backslash): GDAL would cut the text there.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def read_geo_file(
    source: Source | InputData,
    *,
    name: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """Read a geodata file as published, indexed by feature number (from 1); refuse one that
    declares no CRS, holds no geometry column or no feature.

    Returns the table and the name of the file for messages.
    """
    data = open_input(source, name=name)
    fname = data.name
    target: str | bytes = data.gdal_path or data.content or str(data.path)
    try:
        info = pyogrio.read_info(target, layer=layer)
    except Exception as exc:  # GDAL reports unreadable files with many error classes
        raise InvalidInputError(Problem(f"fichier illisible : {exc}", file=fname)) from exc
    if info.get("geometry_type") is None:
        raise InvalidInputError(
            Problem(
                f"le fichier (lu comme {info.get('driver')}) n'a pas de colonne de géométrie : un fichier "
                "géographique est attendu (GeoJSON, GeoPackage, shapefile ou FlatGeobuf)",
                file=fname,
            )
        )
    if info.get("crs") is None:
        raise MissingCRSError(
            Problem(
                "le fichier ne déclare aucun système de coordonnées (CRS, fichier .prj absent ?) ; "
                "essmap ne le devine jamais : ajoutez-le au fichier",
                file=fname,
            )
        )
    if info.get("features", 0) == 0:
        raise InvalidInputError(Problem("le fichier ne contient aucune entité", file=fname))
    if info.get("driver") == "GeoJSON" and data.gdal_path is None and _JSON_NUL.search(data.read_bytes()):
        raise InvalidInputError(
            Problem("caractère nul (\\u0000) dans un texte : refusé (il couperait le texte)", file=fname)
        )
    try:
        gdf = pyogrio.read_dataframe(target, layer=layer, encoding=encoding)
    except Exception as exc:  # as above
        raise InvalidInputError(Problem(f"fichier illisible : {exc}", file=fname)) from exc
    if not isinstance(gdf, gpd.GeoDataFrame):  # pragma: no cover - a geometry column was declared
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf)), crs=WGS84)
    check_unique_columns([c for c in gdf.columns if c != gdf.geometry.name], file=fname)
    gdf.index = pd.RangeIndex(1, len(gdf) + 1, name="feature")
    return gdf, fname
