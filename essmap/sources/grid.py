"""Readers of the INSEE Filosofi 200 m population grid and of candidate points."""

from __future__ import annotations

import io
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from essmap.errors import InvalidInputError, Problem
from essmap.model import (
    WGS84,
)
from essmap.sources._common import (
    CSV_SUFFIXES,
    Progress,
    _find_column,
    _noop,
    _read_geo,
    _require_file,
    _text,
    read_csv_table,
)
from essmap.sources.actors import _ACTOR_ALIASES, _csv_coordinates

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
