"""Readers of QPV outlines (official 2015 shapefile, 2024 GeoJSON/GeoPackage) and population tables."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.errors import InvalidInputError, Problem
from essmap.geo import polygonal_part, repair_polygons
from essmap.model import (
    GENERATIONS,
    GEOMETRY_SOURCES,
    LIST_SEPARATOR,
    WGS84,
    neighbourhood_frame,
)
from essmap.sources.common import (
    Progress,
    clean_text,
    control_character_problems,
    find_column,
    no_progress,
)
from essmap.sources.inputs import Source, open_input, read_csv_table, read_geo_file


@dataclass
class ParsedNeighbourhoods:
    """Neighbourhoods read from a file, one row per (generation, code), with what was done."""

    table: gpd.GeoDataFrame
    file: str
    features_read: int
    repaired: list[str] = field(default_factory=list)  # codes whose geometry was repaired
    merged: list[str] = field(default_factory=list)  # codes assembled from several features
    warnings: list[Problem] = field(default_factory=list)


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
    file: Source,
    *,
    name: str | None = None,
    generation: int | None = None,
    geometry_source: str | None = None,
    source: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    progress: Progress = no_progress,
) -> ParsedNeighbourhoods:
    """Read QPV outlines from an official file (2015 shapefile, 2024 GeoJSON/GPKG) or the like.

    Parameters
    ----------
    file
        Shapefile, GeoJSON or GeoPackage (a path, a binary file-like object, or a zip archive
        holding one); its CRS must be declared.
    name
        The name of the input in messages (by default its path).
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

    Raises
    ------
    InvalidInputError
        Listing every bad feature (missing code or name, control characters, geometry that is
        missing, not a polygon, or empty once repaired) with the file, the feature and the field.
    """
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
    data = open_input(file, name=name)
    gdf, fname = read_geo_file(data, layer=layer, encoding=encoding)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    cols = {key: find_column(columns, aliases) for key, aliases in _QPV_ALIASES.items()}
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

    for column in cols.values():
        if column is not None:
            problems += control_character_problems(gdf[column], file=fname, field=column)
    codes = clean_text(gdf[cols["code"]]).str.upper()
    names = clean_text(gdf[cols["name"]])
    for row in codes.index[codes.isna()]:
        bad(row, cols["code"], "code manquant")
    for row in names.index[names.isna()]:
        bad(row, cols["name"], "nom manquant")

    gens = pd.Series(pd.NA, index=gdf.index, dtype="Int64")
    if generation is not None:
        gens[:] = generation
    elif cols["generation"] is not None:
        raw = clean_text(gdf[cols["generation"]])
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
        raw = clean_text(gdf[cols["geometry_source"]])
        for row in raw.index[raw.notna() & ~raw.isin(GEOMETRY_SOURCES)]:
            bad(
                row, cols["geometry_source"], f"« {raw[row]} » inconnu ; valeurs admises : {GEOMETRY_SOURCES}"
            )
        geo_src = raw.fillna("official")

    population = pd.Series(pd.NA, index=gdf.index, dtype="Int64")
    if cols["population"] is not None:
        raw = clean_text(gdf[cols["population"]].astype("string"))
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
    # a polygon of no area (a line drawn as a polygon) is repaired into nothing: refused, never
    # stored as an empty outline that maps and coverage would drop without a word
    emptied = shapely.is_empty(repaired_src) | shapely.is_empty(wgs)
    for i in np.flatnonzero(emptied):
        row = int(gdf.index[i])
        bad(
            row,
            "geometry",
            f"entité n° {row}, quartier {codes[row]} : contour sans surface (vide une fois réparé par "
            "make_valid) ; corrigez la géométrie",
        )
    if problems:
        raise InvalidInputError(problems)

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
    default_source = source or data.label
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
    file: Source,
    *,
    name: str | None = None,
    reference: str | None = None,
    year: int | None = None,
    known_codes: Collection[str] | None = None,
    warnings: list[Problem] | None = None,
) -> pd.DataFrame:
    """Read a population table (QPV code, population, reference) to join by code.

    Parameters
    ----------
    file
        A path or a binary file-like object (CSV, or a zip archive holding one).
    name
        The name of the input in messages.
    reference, year
        The reference and year of the figures, when the table does not give them.
    known_codes
        The QPV codes the table may name: a row of another code is a problem, reported with
        every other bad row.
    warnings
        A list that receives the warnings (a file read as Windows-1252…).

    Returns
    -------
    pandas.DataFrame
        ``code``, ``population``, ``population_year``, ``population_source`` and the file
        ``line`` of each row.

    Raises
    ------
    InvalidInputError
        Naming every bad row at once (missing or unknown code, population not a positive
        number, duplicate code, control characters).
    """
    table = read_csv_table(file, name=name, required=[_POP_ALIASES["code"], _POP_ALIASES["population"]])
    frame, fname, problems = table.frame, table.file, list(table.problems)
    if warnings is not None:
        warnings.extend(table.warnings)
    cols = {k: find_column(frame.columns, v) for k, v in _POP_ALIASES.items()}
    for column in cols.values():
        if column is not None:
            problems += control_character_problems(frame[column], file=fname, field=column)

    def bad(rows: pd.Index, fld: str | None, message: Callable[[object], str]) -> None:
        problems.extend(Problem(message(r), file=fname, row=int(r), field=fld) for r in rows)

    codes = clean_text(frame[cols["code"]]).str.upper()
    raw = clean_text(frame[cols["population"]]).str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    pops = pd.to_numeric(raw.str.replace(",", ".", regex=False), errors="coerce")
    bad(codes.index[codes.isna()], cols["code"], lambda r: "code manquant")
    if known_codes is not None:
        unknown = codes.notna() & ~codes.isin(set(known_codes))
        bad(
            codes.index[unknown],
            cols["code"],
            lambda r: f"code {codes[r]} : aucun quartier de ce code dans les données",
        )
    wrong = raw.isna() | pops.isna() | (pops < 0)
    bad(
        raw.index[wrong],
        cols["population"],
        lambda r: f"population « {'' if raw[r] is pd.NA else raw[r]} » n'est pas un nombre positif",
    )
    dup = codes.duplicated(keep=False) & codes.notna()
    bad(codes.index[dup], cols["code"], lambda r: f"code {codes[r]} présent plusieurs fois")
    years_given = pd.Series(pd.NA, index=frame.index, dtype="Float64")
    if cols["year"] is not None:
        years_raw = clean_text(frame[cols["year"]])
        years_given = pd.to_numeric(years_raw, errors="coerce").astype("Float64")
        plausible = (years_given.between(1900, 2100) & (years_given % 1 == 0)).fillna(False)
        bad(
            years_raw.index[years_raw.notna() & ~plausible],
            cols["year"],
            lambda r: f"année « {years_raw[r]} » invalide",
        )
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(problems)
    refs = clean_text(frame[cols["reference"]]) if cols["reference"] else pd.Series(pd.NA, index=frame.index)
    refs = refs.fillna(reference or table.label)
    years = years_given if cols["year"] else refs.map(_year_of)
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
