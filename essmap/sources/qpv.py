"""Readers of QPV outlines (official 2015 shapefile, 2024 GeoJSON/GeoPackage) and population tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

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
from essmap.sources._common import (
    Progress,
    _find_column,
    _noop,
    _read_geo,
    _text,
    read_csv_table,
)


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
