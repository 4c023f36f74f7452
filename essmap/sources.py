"""Readers for published formats: official QPV files, population tables, actor CSV/GeoJSON/GPKG.

Every reader validates everything first and raises :class:`InvalidInputError` listing every bad
row (file, row, field), so that an import is all or nothing. Readers return WGS 84 tables.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from essmap.errors import InvalidInputError, MissingCRSError, Problem
from essmap.geo import TERRITORIES, polygonal_part, repair_polygons, territory_keys
from essmap.model import (
    CATEGORIES,
    GENERATIONS,
    GEOMETRY_SOURCES,
    LIST_SEPARATOR,
    LOCATION_PRECISIONS,
    WGS84,
    actor_frame,
    neighbourhood_frame,
)

Progress = Callable[[str], None]

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
GEO_SUFFIXES = {".shp", ".geojson", ".json", ".gpkg", ".zip", ".fgb"}


def _noop(_: str) -> None:
    return None


@dataclass
class ParsedNeighbourhoods:
    """Neighbourhoods read from a file, one row per (generation, code), with what was done."""

    table: gpd.GeoDataFrame
    file: str
    features_read: int
    repaired: list[str] = field(default_factory=list)  # codes whose geometry was repaired
    merged: list[str] = field(default_factory=list)  # codes assembled from several features
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class ParsedActors:
    """Actors read from a file."""

    table: gpd.GeoDataFrame
    file: str
    rows_read: int
    warnings: list[Problem] = field(default_factory=list)


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


# --- neighbourhoods (QPV) ---------------------------------------------------------------------

_QPV_ALIASES = {
    "code": ("code_qp", "code_quartier", "code"),
    "name": ("lib_qp", "nom_qp", "nom_quartier", "name", "nom"),
    "commune_names": ("lib_com", "commune_qp", "nom_commune", "communes", "commune"),
    "commune_codes": ("insee_com", "code_commune", "code_insee", "commune_codes"),
    "generation": ("generation", "millesime"),
    "population": ("population", "pop_mun", "pop"),
    "population_ref": ("population_ref", "population_source", "pop_ref"),
    "population_year": ("population_year",),
    "geometry_source": ("geometry_source",),
    "source": ("source",),
}


def _split_list(value: object) -> list[str]:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return []
    return [part.strip() for part in re.split(r"[,;|]", str(value)) if part.strip()]


def _year_of(text: object) -> int | None:
    if text is None or text is pd.NA:
        return None
    match = re.search(r"\b(19|20)\d\d\b", str(text))
    return int(match.group(0)) if match else None


def _infer_generation(code: str, official_2015: bool) -> int | None:
    if official_2015:
        return 2015
    if code.upper().startswith("QP"):
        return 2015
    if code.upper().startswith("QN"):
        return 2024
    return None


def qpv_from_file(
    path: Path | str,
    *,
    generation: int | None = None,
    geometry_source: str | None = None,
    source: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    progress: Progress = _noop,
) -> ParsedNeighbourhoods:
    """Read QPV outlines from an official file (2015 shapefile, 2024 GeoJSON/GPKG) or the like.

    Parameters
    ----------
    path
        Shapefile, GeoJSON or GeoPackage; its CRS must be declared.
    generation
        2015 or 2024; otherwise read from a ``generation`` field or inferred from the format
        and the codes (``QP…`` 2015, ``QN…`` 2024).
    geometry_source
        official, schematic or other; otherwise a ``geometry_source`` field, else official.
    source
        Provenance text; defaults to the file name.
    encoding
        Text encoding of a shapefile's attributes when its ``.cpg`` does not say it
        (GDAL reads a shapefile without one as ISO-8859-1).

    Returns
    -------
    ParsedNeighbourhoods
        One row per (generation, code), parts merged and communes joined, in WGS 84.
    """
    path = Path(path)
    if generation is not None and generation not in GENERATIONS:
        raise InvalidInputError(
            Problem(f"génération {generation} inconnue ; valeurs admises : {GENERATIONS}", field="generation")
        )
    if geometry_source is not None and geometry_source not in GEOMETRY_SOURCES:
        raise InvalidInputError(
            Problem(
                f"source de géométrie « {geometry_source} » inconnue ; valeurs admises : {GEOMETRY_SOURCES}",
                field="geometry_source",
            )
        )
    progress("lecture")
    gdf, fname = _read_geo(path, layer=layer, encoding=encoding)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    cols = {key: _find_column(columns, aliases) for key, aliases in _QPV_ALIASES.items()}
    for key in ("code", "name"):
        if cols[key] is None:
            raise InvalidInputError(
                Problem(
                    f"champ « {_QPV_ALIASES[key][0]} » absent (champs trouvés : {columns})",
                    file=fname,
                    field=_QPV_ALIASES[key][0],
                )
            )
    official_2015 = "CODE_QP" in columns and "NOM_QP" in columns

    progress("validation")
    problems: list[Problem] = []

    def bad(row: int, fld: str | None, msg: str) -> None:
        problems.append(Problem(msg, file=fname, row=row, field=fld))

    codes = _text(gdf[cols["code"]]).str.upper()
    names = _text(gdf[cols["name"]])
    for row in codes.index[codes.isna()]:
        bad(row, cols["code"], "code manquant")
    for row in names.index[names.isna()]:
        bad(row, cols["name"], "nom manquant")

    gens = pd.Series(pd.NA, index=gdf.index, dtype="Int64")
    if generation is not None:
        gens[:] = generation
    elif cols["generation"] is not None:
        raw = _text(gdf[cols["generation"]])
        parsed = pd.to_numeric(raw, errors="coerce")
        for row in raw.index[raw.notna() & ~parsed.isin(GENERATIONS)]:
            bad(
                row,
                cols["generation"],
                f"génération « {raw[row]} » inconnue ; valeurs admises : {GENERATIONS}",
            )
        gens = parsed.where(parsed.isin(GENERATIONS)).astype("Int64")
    for row in gens.index[gens.isna()]:
        code = codes[row]
        if code is pd.NA:
            continue
        inferred = _infer_generation(str(code), official_2015)
        if inferred is None:
            bad(
                row,
                cols["code"],
                f"génération impossible à déduire du code « {code} » : précisez --generation",
            )
        else:
            gens[row] = inferred

    geo_src = pd.Series(geometry_source or "official", index=gdf.index, dtype="string")
    if geometry_source is None and cols["geometry_source"] is not None:
        raw = _text(gdf[cols["geometry_source"]])
        for row in raw.index[raw.notna() & ~raw.isin(GEOMETRY_SOURCES)]:
            bad(
                row, cols["geometry_source"], f"« {raw[row]} » inconnu ; valeurs admises : {GEOMETRY_SOURCES}"
            )
        geo_src = raw.fillna("official")

    population = pd.Series(pd.NA, index=gdf.index, dtype="Int64")
    if cols["population"] is not None:
        raw = _text(gdf[cols["population"]].astype("string"))
        parsed = pd.to_numeric(raw, errors="coerce")
        wrong = raw.notna() & (parsed.isna() | (parsed < 0))
        for row in raw.index[wrong]:
            bad(row, cols["population"], f"population « {raw[row]} » n'est pas un nombre positif")
        population = parsed.where(~wrong).round().astype("Int64")

    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for row in gdf.index[missing]:
        bad(row, "geometry", "géométrie absente ou vide")
    types = shapely.get_type_id(geoms)
    not_poly = ~missing & ~np.isin(types, [3, 6])
    for row in gdf.index[not_poly]:
        bad(
            row,
            "geometry",
            f"géométrie de type {shapely.get_type_id(geoms[row - 1])} : un polygone est attendu",
        )
    if problems:
        raise InvalidInputError(problems)

    progress("réparation")
    repaired_src, invalid_src = repair_polygons(geoms)
    wgs = gpd.GeoSeries(repaired_src, crs=gdf.crs, index=gdf.index).to_crs(WGS84).to_numpy()
    wgs, invalid_wgs = repair_polygons(wgs)
    invalid = invalid_src | invalid_wgs

    progress("fusion")
    table = pd.DataFrame(
        {
            "code": codes,
            "name": names,
            "generation": gens,
            "commune_names": gdf[cols["commune_names"]].astype("string") if cols["commune_names"] else pd.NA,
            "commune_codes": gdf[cols["commune_codes"]].astype("string") if cols["commune_codes"] else pd.NA,
            "population": population,
            "population_ref": gdf[cols["population_ref"]].astype("string")
            if cols["population_ref"]
            else pd.NA,
            "population_year": gdf[cols["population_year"]] if cols["population_year"] else pd.NA,
            "geometry_source": geo_src,
            "source": gdf[cols["source"]].astype("string") if cols["source"] else pd.NA,
            "invalid": invalid,
        },
        index=gdf.index,
    )
    table["geometry"] = wgs
    default_source = source or path.name
    records = []
    geometries = []
    repaired: list[str] = []
    merged: list[str] = []
    warnings: list[Problem] = []
    for (gen, code), group in table.groupby(["generation", "code"], sort=False):
        first = group.iloc[0]
        commune_names: list[str] = []
        commune_codes: list[str] = []
        for value in group["commune_names"]:
            commune_names.extend(n for n in _split_list(value) if n not in commune_names)
        for value in group["commune_codes"]:
            commune_codes.extend(n for n in _split_list(value) if n not in commune_codes)
        if len(group) > 1:
            merged.append(str(code))
            geom = polygonal_part(shapely.make_valid(shapely.union_all(group["geometry"].to_numpy())))
            other_names = set(group["name"].dropna()) - {first["name"]}
            if other_names:
                warnings.append(
                    Problem(
                        f"le code {code} porte plusieurs noms ({sorted({first['name'], *other_names})}) ; "
                        f"« {first['name']} » est retenu",
                        file=fname,
                        field=cols["name"],
                    )
                )
        else:
            geom = first["geometry"]
        if bool(group["invalid"].any()):
            repaired.append(str(code))
        pops = group["population"].dropna()
        pop_ref = group["population_ref"].dropna()
        pop_year = pd.to_numeric(pd.Series(group["population_year"]), errors="coerce").dropna()
        year = int(pop_year.iloc[0]) if len(pop_year) else _year_of(pop_ref.iloc[0] if len(pop_ref) else None)
        srcs = group["source"].dropna()
        records.append(
            {
                "code": code,
                "name": first["name"],
                "generation": int(gen),
                "commune_codes": LIST_SEPARATOR.join(commune_codes) or pd.NA,
                "commune_names": LIST_SEPARATOR.join(commune_names) or pd.NA,
                "population": int(pops.iloc[0]) if len(pops) else pd.NA,
                "population_year": year if year is not None else pd.NA,
                "population_source": pop_ref.iloc[0] if len(pop_ref) else pd.NA,
                "geometry_source": first["geometry_source"],
                "source": srcs.iloc[0] if len(srcs) else default_source,
            }
        )
        geometries.append(shapely.MultiPolygon([geom]) if isinstance(geom, shapely.Polygon) else geom)
    out = neighbourhood_frame(pd.DataFrame.from_records(records), geometries)
    if repaired:
        warnings.append(
            Problem(
                f"{len(repaired)} géométrie(s) invalide(s) réparée(s) (make_valid) : {', '.join(repaired)}",
                file=fname,
                field="geometry",
            )
        )
    return ParsedNeighbourhoods(out, fname, len(gdf), repaired, merged, warnings)


# --- population tables ------------------------------------------------------------------------

_POP_ALIASES = {
    "code": ("code_qp", "code", "codgeo", "qp"),
    "population": ("population", "pop_mun", "pop", "ind"),
    "reference": ("population_ref", "reference", "ref", "population_source", "source"),
    "year": ("population_year", "year", "annee"),
}


def population_from_csv(
    path: Path | str, *, reference: str | None = None, year: int | None = None
) -> pd.DataFrame:
    """Read a population table (QPV code, population, reference) to join by code.

    Returns a frame with ``code``, ``population``, ``population_year``, ``population_source``.
    """
    path = Path(path)
    frame, _, problems = read_csv_table(path, required=[_POP_ALIASES["code"], _POP_ALIASES["population"]])
    fname = str(path)
    cols = {k: _find_column(frame.columns, v) for k, v in _POP_ALIASES.items()}
    codes = _text(frame[cols["code"]]).str.upper()
    raw = _text(frame[cols["population"]]).str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    pops = pd.to_numeric(raw.str.replace(",", ".", regex=False), errors="coerce")
    problems += [
        Problem("code manquant", file=fname, row=int(r), field=cols["code"])
        for r in codes.index[codes.isna()]
    ]
    bad = raw.isna() | pops.isna() | (pops < 0)
    problems += [
        Problem(
            f"population « {raw[r]} » n'est pas un nombre positif",
            file=fname,
            row=int(r),
            field=cols["population"],
        )
        for r in raw.index[bad]
    ]
    dup = codes.duplicated(keep=False) & codes.notna()
    problems += [
        Problem(f"code {codes[r]} présent plusieurs fois", file=fname, row=int(r), field=cols["code"])
        for r in codes.index[dup]
    ]
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(problems)
    refs = _text(frame[cols["reference"]]) if cols["reference"] else pd.Series(pd.NA, index=frame.index)
    refs = refs.fillna(reference or path.name)
    years = pd.to_numeric(frame[cols["year"]], errors="coerce") if cols["year"] else refs.map(_year_of)
    if year is not None:
        years = pd.Series(year, index=frame.index)
    return pd.DataFrame(
        {
            "code": codes.to_numpy(),
            "population": pops.round().astype("Int64").to_numpy(),
            "population_year": pd.array(years.to_numpy(), dtype="Int64"),
            "population_source": refs.astype("string").to_numpy(),
            "line": frame.index.to_numpy(),
        }
    )


# --- actors -----------------------------------------------------------------------------------

_ACTOR_ALIASES = {
    "id": ("id", "identifiant", "actor_id"),
    "name": ("name", "nom", "actor", "acteur"),
    "category": ("category", "categorie", "categorie_essmap"),
    "address": ("address", "adresse", "address_as_published"),
    "commune": ("commune", "ville", "city", "lib_com"),
    "lon": ("lon", "lng", "long", "longitude"),
    "lat": ("lat", "latitude"),
    "x": ("x", "coord_x"),
    "y": ("y", "coord_y"),
    "location_precision": ("location_precision", "precision"),
    "coordinates_source": ("coordinates_source", "source_coordonnees"),
    "website": ("website", "site", "site_web", "url"),
    "email": ("email", "e_mail", "mail", "courriel"),
    "phone": ("phone", "telephone", "tel"),
    "description": ("description",),
    "schedule": ("schedule", "horaires", "opening_hours", "when"),
    "source": ("source", "source_url"),
    "last_verified": ("last_verified", "verified", "date_verification"),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _territories_text() -> str:
    return ", ".join(t.name_fr for t in TERRITORIES)


def actors_from_file(
    path: Path | str,
    *,
    crs: str | None = None,
    allow_anywhere: bool = False,
    layer: str | None = None,
    progress: Progress = _noop,
) -> ParsedActors:
    """Read actors from CSV (lon/lat, or x/y with ``crs``), GeoJSON or GeoPackage.

    Parameters
    ----------
    crs
        CRS of the x/y columns of a CSV (for example ``EPSG:2154``).
    allow_anywhere
        Accept locations outside metropolitan France and the overseas departments.

    Raises
    ------
    InvalidInputError
        Listing every bad row, with the file, the row and the field.
    """
    path = Path(path)
    progress("lecture")
    suffix = path.suffix.lower()
    warnings: list[Problem] = []
    if suffix in CSV_SUFFIXES:
        frame, warnings, geom_problems = read_csv_table(
            path, required=[_ACTOR_ALIASES["name"], _ACTOR_ALIASES["category"]]
        )
        fname = str(path)
        xs, ys, src_crs, coord_fields = _csv_coordinates(frame, fname, crs)
    else:
        gdf, fname = _read_geo(path, layer=layer)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype("string")
        frame.index = gdf.index
        xs, ys, geom_problems = _point_coordinates(gdf, fname)
        src_crs = gdf.crs
        coord_fields = ("geometry", "geometry")
        for group in (_ACTOR_ALIASES["name"], _ACTOR_ALIASES["category"]):
            if _find_column(frame.columns, group) is None:
                raise InvalidInputError(
                    Problem(
                        f"champ « {group[0]} » absent (champs trouvés : {list(frame.columns)})",
                        file=fname,
                        field=group[0],
                    )
                )
    progress("validation")
    table, lon, lat, problems = _validate_actors(frame, fname, xs, ys, src_crs, coord_fields, allow_anywhere)
    problems = geom_problems + problems
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(problems)
    located = ~np.isnan(lon)
    geometry = np.full(len(table), None, dtype=object)
    geometry[located] = shapely.points(lon[located], lat[located])
    return ParsedActors(actor_frame(table, geometry), fname, len(frame), warnings)


def _csv_coordinates(
    frame: pd.DataFrame, fname: str, crs: str | None
) -> tuple[pd.Series, pd.Series, object, tuple[str, str]]:
    lon_col = _find_column(frame.columns, _ACTOR_ALIASES["lon"])
    lat_col = _find_column(frame.columns, _ACTOR_ALIASES["lat"])
    x_col = _find_column(frame.columns, _ACTOR_ALIASES["x"])
    y_col = _find_column(frame.columns, _ACTOR_ALIASES["y"])
    empty = pd.Series(pd.NA, index=frame.index, dtype="string")
    if lon_col and lat_col:
        src: object = WGS84
        if crs is not None:
            src = _parse_crs(crs, fname)
        return _text(frame[lon_col]), _text(frame[lat_col]), src, (lon_col, lat_col)
    if x_col and y_col:
        if crs is None:
            raise InvalidInputError(
                Problem(
                    f"colonnes « {x_col} »/« {y_col} » sans système de coordonnées : précisez --crs "
                    "(par exemple EPSG:2154)",
                    file=fname,
                    field=x_col,
                )
            )
        return _text(frame[x_col]), _text(frame[y_col]), _parse_crs(crs, fname), (x_col, y_col)
    if lon_col or lat_col or x_col or y_col:
        present = lon_col or lat_col or x_col or y_col
        raise InvalidInputError(
            Problem(
                "une seule colonne de coordonnées : il faut lon et lat (ou x et y)", file=fname, field=present
            )
        )
    return empty, empty, WGS84, ("lon", "lat")


def _parse_crs(text: str, fname: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise InvalidInputError(
            Problem(f"système de coordonnées « {text} » inconnu : {exc}", file=fname, field="crs")
        ) from exc


def _point_coordinates(gdf: gpd.GeoDataFrame, fname: str) -> tuple[pd.Series, pd.Series, list[Problem]]:
    geoms = gdf.geometry.to_numpy()
    problems: list[Problem] = []
    xs = pd.Series(pd.NA, index=gdf.index, dtype="string")
    ys = pd.Series(pd.NA, index=gdf.index, dtype="string")
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms)
    for i, row in enumerate(gdf.index):
        if not present[i]:
            continue
        geom = geoms[i]
        if types[i] == 4 and len(geom.geoms) == 1:  # a MultiPoint of one point
            geom = geom.geoms[0]
        elif types[i] != 0:
            problems.append(
                Problem(
                    f"géométrie de type {geom.geom_type} : un point est attendu",
                    file=fname,
                    row=row,
                    field="geometry",
                )
            )
            continue
        xs[row], ys[row] = repr(geom.x), repr(geom.y)
    return xs, ys, problems


def _validate_actors(
    frame: pd.DataFrame,
    fname: str,
    xs: pd.Series,
    ys: pd.Series,
    src_crs: object,
    coord_fields: tuple[str, str],
    allow_anywhere: bool,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[Problem]]:
    cols = {k: _find_column(frame.columns, v) for k, v in _ACTOR_ALIASES.items()}
    problems: list[Problem] = []

    def bad(rows: Iterable[object], fld: str | None, msg: Callable[[object], str]) -> None:
        problems.extend(Problem(msg(r), file=fname, row=int(r), field=fld) for r in rows)  # type: ignore[call-overload]

    def col(key: str) -> pd.Series:
        name = cols[key]
        return _text(frame[name]) if name else pd.Series(pd.NA, index=frame.index, dtype="string")

    names = col("name")
    bad(names.index[names.isna()], cols["name"], lambda r: "nom manquant")
    categories = col("category").str.lower()
    unknown = categories.isna() | ~categories.isin(CATEGORIES)
    bad(
        categories.index[unknown],
        cols["category"],
        lambda r: (
            "catégorie manquante"
            if categories[r] is pd.NA
            else f"catégorie « {categories[r]} » inconnue ; valeurs admises : {', '.join(CATEGORIES)}"
        ),
    )

    # coordinates
    x_num = pd.to_numeric(xs.str.replace(",", ".", regex=False), errors="coerce")
    y_num = pd.to_numeric(ys.str.replace(",", ".", regex=False), errors="coerce")
    x_bad = xs.notna() & (x_num.isna() | ~np.isfinite(x_num.astype(float)))
    y_bad = ys.notna() & (y_num.isna() | ~np.isfinite(y_num.astype(float)))
    xf, yf = coord_fields
    is_wgs = CRS.from_user_input(src_crs).equals(CRS.from_user_input(WGS84))
    label_x, label_y = ("longitude", "latitude") if is_wgs else ("x", "y")
    bad(xs.index[x_bad], xf, lambda r: f"{label_x} « {xs[r]} » n'est pas un nombre")
    bad(ys.index[y_bad], yf, lambda r: f"{label_y} « {ys[r]} » n'est pas un nombre")
    one_only = (xs.notna() & ys.isna()) | (xs.isna() & ys.notna())
    bad(
        xs.index[one_only],
        xf if xs.isna().any() else yf,
        lambda r: f"{label_x} et {label_y} doivent être donnés ensemble",
    )
    usable = xs.notna() & ys.notna() & ~x_bad & ~y_bad
    x = np.where(usable, x_num.astype(float), np.nan)
    y = np.where(usable, y_num.astype(float), np.nan)
    if not is_wgs and usable.any():
        from essmap.geo import transformer

        tr = transformer(CRS.from_user_input(src_crs).to_string(), WGS84)
        lon, lat = tr.transform(x, y)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        broken = usable.to_numpy() & ~(np.isfinite(lon) & np.isfinite(lat))
        bad(frame.index[broken], xf, lambda r: "coordonnées impossibles à convertir en WGS 84")
    else:
        lon, lat = x, y
    if is_wgs:
        # each coordinate is range-checked on its own, so that a row reports all its faults
        x_all = x_num.astype(float).to_numpy()
        y_all = y_num.astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            out_lon = ~x_bad.to_numpy() & xs.notna().to_numpy() & ((x_all < -180) | (x_all > 180))
            out_lat = ~y_bad.to_numpy() & ys.notna().to_numpy() & ((y_all < -90) | (y_all > 90))
        bad(frame.index[out_lon], xf, lambda r: f"longitude {xs[r]} hors de [-180, 180]")
        bad(frame.index[out_lat], yf, lambda r: f"latitude {ys[r]} hors de [-90, 90]")
        in_range = ~out_lon & ~out_lat
    else:
        in_range = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    with np.errstate(invalid="ignore"):
        keys = territory_keys(lon, lat)
    outside = usable.to_numpy() & in_range & (keys == "")
    if not allow_anywhere:
        bad(
            frame.index[outside],
            xf,
            lambda r: (
                f"position ({lon[frame.index.get_loc(r)]:.5f}, {lat[frame.index.get_loc(r)]:.5f}) "
                "hors de la France "
                f"métropolitaine et des départements d'outre-mer ({_territories_text()}) ; "
                "l'option --allow-anywhere l'accepte"
            ),
        )
    located = usable.to_numpy() & np.isfinite(lon) & np.isfinite(lat)
    lon = np.where(located, lon, np.nan)
    lat = np.where(located, lat, np.nan)

    precision = col("location_precision").str.lower()
    wrong_prec = precision.notna() & ~precision.isin(LOCATION_PRECISIONS)
    bad(
        precision.index[wrong_prec],
        cols["location_precision"],
        lambda r: (
            f"précision « {precision[r]} » inconnue ; valeurs admises : {', '.join(LOCATION_PRECISIONS)}"
        ),
    )
    precision = precision.where(
        precision.notna(), pd.Series(np.where(located, "unknown", "none"), index=frame.index)
    )
    precision = precision.where(located | (precision == "none"), "none")

    emails = col("email")
    bad(
        emails.index[emails.notna() & ~emails.fillna("").str.match(_EMAIL)],
        cols["email"],
        lambda r: f"adresse électronique « {emails[r]} » invalide",
    )
    verified = col("last_verified")
    wrong_date = verified.notna() & ~verified.fillna("").str.match(_DATE)
    bad(
        verified.index[wrong_date],
        cols["last_verified"],
        lambda r: f"date « {verified[r]} » invalide : format AAAA-MM-JJ attendu",
    )
    ok_dates = verified.notna() & ~wrong_date
    parsed_dates = pd.to_datetime(verified.where(ok_dates), errors="coerce", format="%Y-%m-%d")
    bad(
        verified.index[ok_dates & parsed_dates.isna()],
        cols["last_verified"],
        lambda r: f"date « {verified[r]} » inexistante",
    )

    ids = col("id")
    generated = names.fillna("").map(slugify).astype("string")
    ids = ids.fillna(generated)
    empty_id = ids.fillna("") == ""
    bad(
        ids.index[empty_id & names.notna()],
        cols["name"] or "name",
        lambda r: "impossible de former un identifiant à partir du nom",
    )
    dup = ids.duplicated(keep=False) & ~empty_id
    if dup.any() and cols["id"] is None:
        # generated ids collide: disambiguate with the commune, then the address
        extra = (col("commune").fillna("") + " " + col("address").fillna("")).map(slugify)
        ids = ids.where(~dup, ids + "-" + extra.str.slice(0, 40)).str.rstrip("-")
        dup = ids.duplicated(keep=False) & ~empty_id
    bad(
        ids.index[dup],
        cols["id"] or cols["name"],
        lambda r: f"identifiant « {ids[r]} » en double dans le fichier",
    )

    coord_src = col("coordinates_source")
    coord_src = coord_src.where(coord_src.notna() | ~located, f"fichier {Path(fname).name}")
    source = col("source").fillna(Path(fname).name)
    table = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "category": categories,
            "address": col("address"),
            "commune": col("commune"),
            "location_precision": precision,
            "coordinates_source": coord_src,
            "website": col("website"),
            "email": emails,
            "phone": col("phone"),
            "description": col("description"),
            "schedule": col("schedule"),
            "source": source,
            "last_verified": verified,
        },
        index=frame.index,
    )
    return table, lon, lat, problems


# --- writers ----------------------------------------------------------------------------------

EXPORT_FORMATS = ("geojson", "csv", "gpkg")


def table_to_file(table: gpd.GeoDataFrame, path: Path | str, *, fmt: str, layer: str, points: bool) -> None:
    """Write a table as GeoJSON (RFC 7946), CSV (lon/lat for points, WKT otherwise) or GeoPackage.

    The file is written beside its target and renamed into place, so a failed export never
    leaves a truncated file.
    """
    path = Path(path)
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(
            Problem(f"format « {fmt} » inconnu ; valeurs admises : {EXPORT_FORMATS}", field="format")
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        if fmt == "csv":
            frame = pd.DataFrame(table.drop(columns="geometry"))
            geoms = table.geometry
            present = geoms.notna() & ~geoms.is_empty
            if points:
                frame["lon"] = np.where(present, geoms.x.where(present), np.nan)
                frame["lat"] = np.where(present, geoms.y.where(present), np.nan)
            else:
                frame["geometry_wkt"] = geoms.to_wkt()
            frame.to_csv(tmp, index=False, encoding="utf-8")
        elif fmt == "geojson":
            pyogrio.write_dataframe(table, tmp, driver="GeoJSON", layer=layer, RFC7946="YES", WRITE_NAME="NO")
        else:
            pyogrio.write_dataframe(table, tmp, driver="GPKG", layer=layer)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


# --- population grid (INSEE Filosofi 200 m squares) and candidate points -----------------------

_GRID_ALIASES = {
    "id": ("idcar_200m", "idinspire", "idcar_1km", "idcar_nat", "id"),
    "population": ("ind", "ind_c", "population"),
}
#: Square id of the INSEE grids: CRS code, square size, then the lower-left corner (north, east).
_SQUARE_ID = re.compile(r"^CRS(\d{4,5})RES(\d+)mN(-?\d+(?:\.\d+)?)E(-?\d+(?:\.\d+)?)$", re.IGNORECASE)


def grid_from_csv(path: Path | str, *, progress: Progress = _noop) -> gpd.GeoDataFrame:
    """Read an INSEE population grid (Filosofi 200 m squares) published as CSV.

    The square id (column ``idcar_200m``, ``Idcar_200m`` or ``IdINSPIRE``) encodes the square:
    ``CRS3035RES200mN2029800E4252400`` is the 200 m square whose lower-left corner is at
    northing 2,029,800 m and easting 4,252,400 m in ETRS89-LAEA (EPSG:3035). The population is
    the column ``ind`` (``Ind``), possibly fractional (INSEE estimates).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id``, ``population`` and the square polygons in WGS 84.

    Raises
    ------
    InvalidInputError
        Listing every bad row (unreadable id, population not a positive number, duplicate id).
    """
    path = Path(path)
    fname = _require_file(path)
    progress("lecture")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    columns = [c.strip().strip('"') for c in header.strip().split(delimiter)]
    cols = {key: _find_column(columns, aliases) for key, aliases in _GRID_ALIASES.items()}
    for key, col in cols.items():
        if col is None:
            raise InvalidInputError(
                Problem(
                    f"colonne « {_GRID_ALIASES[key][0]} » absente de l'en-tête "
                    f"(colonnes trouvées : {columns})",
                    file=fname,
                    row=1,
                    field=_GRID_ALIASES[key][0],
                )
            )
    id_col, pop_col = str(cols["id"]), str(cols["population"])
    frame = pd.read_csv(
        io.StringIO(text), sep=delimiter, usecols=[id_col, pop_col], dtype="string", skipinitialspace=True
    )
    if frame.empty:
        raise InvalidInputError(Problem("aucune ligne de données après l'en-tête", file=fname))
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # file line numbers (the header is line 1)
    progress("validation")
    ids = _text(frame[id_col])
    parts = ids.str.extract(_SQUARE_ID)
    pops_text = _text(frame[pop_col]).str.replace(",", ".", regex=False)
    pops = pd.to_numeric(pops_text, errors="coerce")
    problems: list[Problem] = []
    bad_id = parts[0].isna()
    problems += [
        Problem(
            f"identifiant de carreau « {ids[r] if ids[r] is not pd.NA else ''} » illisible "
            "(forme attendue : CRS3035RES200mN2029800E4252400)",
            file=fname,
            row=int(r),
            field=id_col,
        )
        for r in frame.index[bad_id]
    ]
    bad_pop = pops.isna() | (pops < 0)
    problems += [
        Problem(
            f"population « {pops_text[r]} » n'est pas un nombre positif",
            file=fname,
            row=int(r),
            field=pop_col,
        )
        for r in frame.index[bad_pop]
    ]
    dup = ids.duplicated(keep=False) & ids.notna()
    problems += [
        Problem(f"carreau {ids[r]} présent plusieurs fois", file=fname, row=int(r), field=id_col)
        for r in frame.index[dup]
    ]
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(problems)
    progress("géométrie")
    epsg = parts[0].astype(int).to_numpy()
    size = parts[1].astype(float).to_numpy()
    north = parts[2].astype(float).to_numpy()
    east = parts[3].astype(float).to_numpy()
    geoms = np.empty(len(frame), dtype=object)
    from essmap.geo import transformer

    for code in np.unique(epsg).tolist():
        sel = epsg == code
        try:
            tr = transformer(f"EPSG:{code}", WGS84)
        except CRSError as exc:
            raise InvalidInputError(
                Problem(f"système de coordonnées EPSG:{code} inconnu", file=fname, field=id_col)
            ) from exc
        x0, y0, d = east[sel], north[sel], size[sel]
        # the four corners, anticlockwise from the lower-left one
        xs = np.column_stack([x0, x0 + d, x0 + d, x0, x0])
        ys = np.column_stack([y0, y0, y0 + d, y0 + d, y0])
        lon, lat = tr.transform(xs.ravel(), ys.ravel())
        rings = np.stack([np.asarray(lon).reshape(xs.shape), np.asarray(lat).reshape(xs.shape)], axis=-1)
        geoms[sel] = shapely.polygons(rings)
    return gpd.GeoDataFrame(
        {"id": ids.to_numpy(), "population": pops.astype(float).to_numpy()},
        geometry=gpd.GeoSeries(geoms, crs=WGS84),
        crs=WGS84,
    ).astype({"id": "string"})


def points_from_file(path: Path | str, *, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read points (candidate sites, query points): CSV with lon/lat (or x/y and ``crs``), or a
    geodata file of points. Returns WGS 84 points with an ``id`` column (the file's, else the
    line or feature number)."""
    path = Path(path)
    if path.suffix.lower() in CSV_SUFFIXES:
        frame, _, problems = read_csv_table(path)
        fname = str(path)
        xs, ys, src_crs, (xf, yf) = _csv_coordinates(frame, fname, crs)
        x = pd.to_numeric(xs.str.replace(",", ".", regex=False), errors="coerce")
        y = pd.to_numeric(ys.str.replace(",", ".", regex=False), errors="coerce")
        problems += [
            Problem(f"coordonnée « {xs[r]} » manquante ou illisible", file=fname, row=int(r), field=xf)
            for r in frame.index[x.isna()]
        ]
        problems += [
            Problem(f"coordonnée « {ys[r]} » manquante ou illisible", file=fname, row=int(r), field=yf)
            for r in frame.index[y.isna()]
        ]
        if problems:
            problems.sort(key=lambda p: p.row or 0)
            raise InvalidInputError(problems)
        id_col = _find_column(frame.columns, _ACTOR_ALIASES["id"])
        ids = _text(frame[id_col]) if id_col else pd.Series(frame.index.astype(str), index=frame.index)
        gdf = gpd.GeoDataFrame(
            {"id": ids.fillna(pd.Series(frame.index.astype(str), index=frame.index)).to_numpy()},
            geometry=shapely.points(x.to_numpy(float), y.to_numpy(float)),
            crs=CRS.from_user_input(src_crs),
        )
    else:
        gdf, fname = _read_geo(path)
        kinds = shapely.get_type_id(gdf.geometry.to_numpy())
        bad = np.flatnonzero(kinds != 0)
        if len(bad):
            raise InvalidInputError(
                [
                    Problem("un point est attendu", file=fname, row=int(gdf.index[i]), field="geometry")
                    for i in bad
                ]
            )
        id_col = _find_column([c for c in gdf.columns if c != gdf.geometry.name], _ACTOR_ALIASES["id"])
        ids = gdf[id_col].astype("string") if id_col else pd.Series(gdf.index.astype(str), index=gdf.index)
        gdf = gpd.GeoDataFrame({"id": ids.to_numpy()}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    out = gdf.to_crs(WGS84).reset_index(drop=True)
    lon, lat = out.geometry.x.to_numpy(), out.geometry.y.to_numpy()
    wrong = np.flatnonzero(
        ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    )
    if len(wrong):
        raise InvalidInputError(
            [
                Problem("position hors de [-180, 180] × [-90, 90]", file=fname, row=int(i) + 2, field="lon")
                for i in wrong
            ]
        )
    return out.astype({"id": "string"})
