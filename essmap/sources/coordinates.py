"""Coordinates of point inputs (actors, query and candidate points): the columns they come
from, their CRS, and their check and conversion to WGS 84 lon/lat, with every bad row named."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from essmap.errors import InvalidInputError, Problem
from essmap.geo import transformer
from essmap.model import WGS84
from essmap.sources.common import clean_text, find_column

#: Column aliases of coordinates (lon/lat in WGS 84, or x/y in a CRS given apart).
COORDINATE_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude"),
    "lat": ("lat", "latitude"),
    "x": ("x", "coord_x"),
    "y": ("y", "coord_y"),
}
#: Column aliases of an identifier.
ID_ALIASES = ("id", "identifiant", "actor_id")
_WGS84 = CRS.from_user_input(WGS84)


@dataclass(frozen=True)
class RawCoordinates:
    """Coordinates as read (text, missing where absent), their CRS and the fields they come from."""

    xs: pd.Series
    ys: pd.Series
    crs: CRS
    fields: tuple[str, str]


def parse_crs(text: str, *, file: str) -> CRS:
    """A CRS given by the user (``EPSG:2154``…); an unknown one is a clear error."""
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise InvalidInputError(
            Problem(f"système de coordonnées « {text} » inconnu : {exc}", file=file, field="crs")
        ) from exc


def csv_coordinates(
    frame: pd.DataFrame, *, file: str, crs: str | None, crs_parameter: str = "--crs"
) -> RawCoordinates:
    """The coordinate columns of a CSV table: lon/lat (WGS 84 unless ``crs``), or x/y with ``crs``
    (named ``crs_parameter`` in messages: the CLI's option, or an API's parameter).

    A table without any coordinate column gives missing coordinates on every row.
    """
    found = {key: find_column(frame.columns, aliases) for key, aliases in COORDINATE_ALIASES.items()}
    lon_col, lat_col, x_col, y_col = found["lon"], found["lat"], found["x"], found["y"]
    if lon_col and lat_col:
        src = _WGS84 if crs is None else parse_crs(crs, file=file)
        return RawCoordinates(clean_text(frame[lon_col]), clean_text(frame[lat_col]), src, (lon_col, lat_col))
    if x_col and y_col:
        if crs is None:
            raise InvalidInputError(
                Problem(
                    f"colonnes « {x_col} »/« {y_col} » sans système de coordonnées : précisez "
                    f"{crs_parameter} (par exemple EPSG:2154)",
                    file=file,
                    field=x_col,
                )
            )
        return RawCoordinates(
            clean_text(frame[x_col]), clean_text(frame[y_col]), parse_crs(crs, file=file), (x_col, y_col)
        )
    present = lon_col or lat_col or x_col or y_col
    if present:
        raise InvalidInputError(
            Problem(
                "une seule colonne de coordonnées : il faut lon et lat (ou x et y)", file=file, field=present
            )
        )
    empty = pd.Series(pd.NA, index=frame.index, dtype="string")
    return RawCoordinates(empty, empty, _WGS84, ("lon", "lat"))


def point_coordinates(
    gdf: gpd.GeoDataFrame, *, file: str, required: bool = False
) -> tuple[RawCoordinates, list[Problem]]:
    """The coordinates of point geometries (a one-point MultiPoint counts as a point).

    Missing or empty geometries give missing coordinates (problems if ``required``); other
    geometry types are problems.
    """
    geoms = gdf.geometry.to_numpy()
    xs = pd.Series(pd.NA, index=gdf.index, dtype="string")
    ys = pd.Series(pd.NA, index=gdf.index, dtype="string")
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms)
    problems: list[Problem] = []
    for i, row in enumerate(gdf.index):
        if not present[i]:
            if required:
                problems.append(
                    Problem(
                        "géométrie absente : un point est attendu", file=file, row=int(row), field="geometry"
                    )
                )
            continue
        geom = geoms[i]
        if types[i] == 4 and len(geom.geoms) == 1:  # a MultiPoint of one point
            geom = geom.geoms[0]
        elif types[i] != 0:
            problems.append(
                Problem(
                    f"géométrie de type {geom.geom_type} : un point est attendu",
                    file=file,
                    row=int(row),
                    field="geometry",
                )
            )
            continue
        xs[row], ys[row] = repr(geom.x), repr(geom.y)
    crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else _WGS84
    return RawCoordinates(xs, ys, crs, ("geometry", "geometry")), problems


def to_wgs84(
    raw: RawCoordinates, *, file: str, required: bool
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Check coordinates and convert them to WGS 84 lon/lat.

    Each coordinate is checked on its own and blamed on its own field: a number, within
    [-180, 180] or [-90, 90] for degrees, convertible from its CRS.

    Parameters
    ----------
    required
        Whether a row without coordinates is a problem (query points) or a row without a
        location (actors: both coordinates or neither).

    Returns
    -------
    lon, lat
        Arrays in row order, NaN where a row has no usable location.
    problems
        Every bad coordinate, with its row and field.
    """
    xs, ys = raw.xs, raw.ys
    xf, yf = raw.fields
    geographic = raw.crs.is_geographic
    lx, ly = ("longitude", "latitude") if geographic else ("x", "y")
    problems: list[Problem] = []

    def bad(rows: Iterable[object], fld: str, message: str) -> None:
        problems.extend(Problem(message, file=file, row=int(r), field=fld) for r in rows)  # type: ignore[call-overload]

    x_num = pd.to_numeric(xs.str.replace(",", ".", regex=False), errors="coerce").astype(float).to_numpy()
    y_num = pd.to_numeric(ys.str.replace(",", ".", regex=False), errors="coerce").astype(float).to_numpy()
    x_given, y_given = xs.notna().to_numpy(), ys.notna().to_numpy()
    x_bad = x_given & ~np.isfinite(x_num)
    y_bad = y_given & ~np.isfinite(y_num)
    index = xs.index
    if xf == yf:
        pass  # point geometries: their presence is checked by point_coordinates
    elif required:
        bad(index[~x_given], xf, f"{lx} manquante")
        bad(index[~y_given], yf, f"{ly} manquante")
    else:
        bad(index[x_given & ~y_given], yf, f"{lx} et {ly} doivent être données ensemble")
        bad(index[~x_given & y_given], xf, f"{lx} et {ly} doivent être données ensemble")
    for r in index[x_bad]:
        bad([r], xf, f"{lx} « {xs[r]} » n'est pas un nombre")
    for r in index[y_bad]:
        bad([r], yf, f"{ly} « {ys[r]} » n'est pas un nombre")
    usable = x_given & y_given & ~x_bad & ~y_bad
    if geographic:
        with np.errstate(invalid="ignore"):
            out_x = x_given & ~x_bad & (np.abs(x_num) > 180)
            out_y = y_given & ~y_bad & (np.abs(y_num) > 90)
        for r in index[out_x]:
            bad([r], xf, f"longitude {xs[r]} hors de [-180, 180]")
        for r in index[out_y]:
            bad([r], yf, f"latitude {ys[r]} hors de [-90, 90]")
        usable &= ~out_x & ~out_y
    lon = np.where(usable, x_num, np.nan)
    lat = np.where(usable, y_num, np.nan)
    if usable.any() and not raw.crs.equals(_WGS84, ignore_axis_order=True):
        tr = transformer(raw.crs.to_string(), WGS84)
        lon_t, lat_t = tr.transform(lon[usable], lat[usable])
        lon[usable], lat[usable] = np.asarray(lon_t, dtype=float), np.asarray(lat_t, dtype=float)
        with np.errstate(invalid="ignore"):
            broken = usable & ~(
                np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
            )
        bad(index[broken], xf, "coordonnées impossibles à convertir en WGS 84")
        lon[broken], lat[broken] = np.nan, np.nan
    problems.sort(key=lambda p: p.row or 0)
    return lon, lat, problems
