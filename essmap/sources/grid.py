"""Readers of the INSEE Filosofi 200 m population grid and of candidate points."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj.exceptions import CRSError

from essmap.errors import InvalidInputError, Problem
from essmap.geo import transformer
from essmap.model import WGS84
from essmap.sources.common import Progress, clean_text, find_column, no_progress
from essmap.sources.inputs import Source, read_csv_table

# --- population grid (INSEE Filosofi 200 m squares) -------------------------------------------

_GRID_ALIASES = {
    "id": ("idcar_200m", "idinspire", "idcar_1km", "idcar_nat", "id"),
    "population": ("ind", "ind_c", "population"),
}
#: Square id of the INSEE grids: CRS code, square size, then the lower-left corner (north, east).
_SQUARE_ID = re.compile(r"^CRS(\d{4,5})RES(\d+)mN(-?\d+(?:\.\d+)?)E(-?\d+(?:\.\d+)?)$", re.IGNORECASE)


def grid_from_csv(
    file: Source,
    *,
    name: str | None = None,
    progress: Progress = no_progress,
    warnings: list[Problem] | None = None,
) -> gpd.GeoDataFrame:
    """Read an INSEE population grid (Filosofi 200 m squares) published as CSV.

    The square id (column ``idcar_200m``, ``Idcar_200m`` or ``IdINSPIRE``) encodes the square:
    ``CRS3035RES200mN2029800E4252400`` is the 200 m square whose lower-left corner is at
    northing 2,029,800 m and easting 4,252,400 m in ETRS89-LAEA (EPSG:3035). The population is
    the column ``ind`` (``Ind``), possibly fractional (INSEE estimates).

    Parameters
    ----------
    file
        A path or a binary file-like object (a zip archive holding the CSV is read too).
    name
        The name of the input in messages.
    warnings
        A list that receives the warnings (a file read as Windows-1252…).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id``, ``population`` and the square polygons in WGS 84.

    Raises
    ------
    InvalidInputError
        Listing every bad row (unreadable id, population not a positive number, duplicate id).
    """
    progress("lecture")
    groups = [_GRID_ALIASES["id"], _GRID_ALIASES["population"]]
    table = read_csv_table(file, name=name, required=groups, keep=groups)
    frame, fname = table.frame, table.file
    if warnings is not None:
        warnings.extend(table.warnings)
    id_col, pop_col = (str(find_column(frame.columns, group)) for group in groups)
    progress("validation")
    ids = clean_text(frame[id_col])
    found = [_SQUARE_ID.match(v) if isinstance(v, str) else None for v in ids.to_numpy(dtype=object)]
    pops_text = clean_text(frame[pop_col]).str.replace(",", ".", regex=False)
    pops = pd.to_numeric(pops_text, errors="coerce")
    problems = list(table.problems)
    bad_id = np.array([m is None for m in found], dtype=bool)
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
    parts = [m.groups() for m in found if m is not None]  # every id matched (checked above)
    epsg_text, size_text, north_text, east_text = zip(*parts, strict=True) if parts else ((), (), (), ())
    epsg = np.array(epsg_text, dtype=int)
    size, north, east = (np.array(v, dtype=float) for v in (size_text, north_text, east_text))
    geoms = np.empty(len(frame), dtype=object)
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
