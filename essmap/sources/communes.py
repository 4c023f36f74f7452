"""Reader of commune outlines and names (the ANCT commune file, or any file of communes), drawn as a
light backdrop on the maps when no background tiles are set."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.errors import InvalidInputError, Problem
from essmap.geo import repair_polygons
from essmap.model import WGS84
from essmap.sources.common import Progress, clean_text, control_character_problems, find_column, no_progress
from essmap.sources.inputs import Source, read_geo_file

#: Columns of a commune table (besides the geometry).
COMMUNE_COLUMNS = ("code", "name", "source")

_ALIASES = {
    "code": ("insee_com", "code_insee", "code_commune", "codgeo", "insee", "code"),
    "name": ("lib_com", "nom_commune", "nom", "libgeo", "name", "commune"),
}


@dataclass
class ParsedCommunes:
    """Communes read from a file: one row per INSEE code (parts merged), WGS 84."""

    table: gpd.GeoDataFrame
    file: str
    features_read: int
    warnings: list[Problem] = field(default_factory=list)


_C1 = re.compile("[\u0080-\u009f]")


def _windows_1252(text: str) -> str:
    """Characters U+0080 to U+009F read as the Windows-1252 letters they stand for (ANCT's file
    writes « œ » as U+009C: "Marcq-en-Bar\x9cul"); those Windows-1252 lacks are kept."""

    def letter(match: re.Match[str]) -> str:
        try:
            return match.group(0).encode("latin-1").decode("cp1252")
        except UnicodeDecodeError:
            return match.group(0)

    return _C1.sub(letter, text)


def commune_frame(
    codes: list[str] | pd.Series,
    names: list[str] | pd.Series,
    sources: list[str | None] | pd.Series,
    geoms: Sequence[object] | np.ndarray,
) -> gpd.GeoDataFrame:
    """A commune table (:data:`COMMUNE_COLUMNS`, polygons in WGS 84)."""
    return gpd.GeoDataFrame(
        {
            "code": pd.array(list(codes), dtype="string"),
            "name": pd.array(list(names), dtype="string"),
            "source": pd.array(list(sources), dtype="string"),
        },
        geometry=gpd.GeoSeries(np.asarray(list(geoms), dtype=object), crs=WGS84),
        crs=WGS84,
    )


def communes_from_file(
    file: Source,
    *,
    name: str | None = None,
    source: str | None = None,
    progress: Progress = no_progress,
) -> ParsedCommunes:
    """Read commune outlines and names: the ANCT file of the communes with a QPV
    (``insee_com``, ``lib_com``), the IGN Admin Express ``COMMUNE`` layer, or the like.

    Parameters
    ----------
    file
        GeoJSON, GeoPackage or shapefile (or a zip archive holding one) with a declared CRS.
    source
        Provenance text; defaults to the file name.

    Raises
    ------
    InvalidInputError
        Listing every bad feature (missing code or name, control characters, a geometry that is
        missing or not a polygon) with the file, the feature and the field.
    """
    progress("lecture")
    gdf, fname = read_geo_file(file, name=name)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    cols = {key: find_column(columns, aliases) for key, aliases in _ALIASES.items()}
    for key, column in cols.items():
        if column is None:
            raise InvalidInputError(
                Problem(
                    f"champ « {_ALIASES[key][0]} » absent (champs trouvés : {columns})",
                    file=fname,
                    field=_ALIASES[key][0],
                )
            )
    code_col, name_col = str(cols["code"]), str(cols["name"])
    progress("validation")
    warnings: list[Problem] = []
    raw_names = gdf[name_col].astype("string")
    fixed = raw_names.map(lambda v: v if pd.isna(v) else _windows_1252(str(v)), na_action="ignore")
    for row in raw_names.index[(raw_names != fixed).fillna(False)]:
        warnings.append(
            Problem(
                f"« {raw_names[row]!r} » lu comme « {fixed[row]} » (caractère de Windows-1252)",
                file=fname,
                row=int(row),
                field=name_col,
            )
        )
    problems: list[Problem] = []
    problems += control_character_problems(gdf[code_col], file=fname, field=code_col)
    problems += control_character_problems(fixed, file=fname, field=name_col)
    codes = clean_text(gdf[code_col].astype("string"))
    names = clean_text(fixed.astype("string"))
    for row in codes.index[codes.isna()]:
        problems.append(Problem("code INSEE manquant", file=fname, row=int(row), field=code_col))
    for row in names.index[names.isna()]:
        problems.append(Problem("nom manquant", file=fname, row=int(row), field=name_col))
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    not_polygon = ~missing & ~np.isin(shapely.get_type_id(geoms), [3, 6])
    for row, bad in zip(gdf.index, missing | not_polygon, strict=True):
        if bad:
            problems.append(Problem("un polygone est attendu", file=fname, row=int(row), field="geometry"))
    if problems:
        raise InvalidInputError(problems)
    progress("réparation")
    repaired, _ = repair_polygons(gpd.GeoSeries(geoms, crs=gdf.crs).to_crs(WGS84).to_numpy())
    frame = pd.DataFrame({"code": codes.to_numpy(), "name": names.to_numpy(), "geometry": repaired})
    merged = frame.groupby("code", sort=True).agg(
        name=("name", "first"), geometry=("geometry", lambda g: shapely.union_all(np.asarray(g)))
    )
    label = source or fname
    table = commune_frame(
        merged.index.tolist(), merged["name"].tolist(), [label] * len(merged), merged["geometry"].to_numpy()
    )
    return ParsedCommunes(table, fname, len(gdf), warnings)
