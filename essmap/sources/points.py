"""Reader of points: query points of a batch, candidate sites."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.errors import InvalidInputError, Problem
from essmap.model import WGS84
from essmap.sources.common import clean_text, control_character_problems, find_column
from essmap.sources.coordinates import ID_ALIASES, csv_coordinates, point_coordinates, to_wgs84
from essmap.sources.inputs import InputFormat, Source, input_format, open_input, read_csv_table, read_geo_file

#: Names of the address column of query points (rows that carry an address instead of a point).
ADDRESS_ALIASES = ("address", "adresse")


def points_from_file(
    file: Source,
    *,
    name: str | None = None,
    crs: str | None = None,
    fmt: InputFormat | None = None,
    warnings: list[Problem] | None = None,
    addresses: bool = False,
    crs_parameter: str = "--crs",
) -> gpd.GeoDataFrame:
    """Read points: a CSV with lon/lat (or x/y and ``crs``) columns, or a geodata file of points.

    Parameters
    ----------
    file
        A path or a binary file-like object, for example ``io.BytesIO(body)``.
    name
        The name of the input in messages (for example ``"corps de la requête"``).
    crs
        CRS of the x/y columns of a CSV (for example ``EPSG:2154``).
    fmt
        ``"csv"`` or ``"geodata"``; by default from the suffix of the path or name, else from the
        first bytes.
    warnings
        A list that receives the warnings (a CSV read as Windows-1252…).
    addresses
        Accept rows that give an address (column ``address`` or ``adresse``) instead of a point:
        they get a missing geometry, to geocode.
    crs_parameter
        How the caller names ``crs`` in messages (the CLI's ``--crs``, an API's parameter).

    Returns
    -------
    geopandas.GeoDataFrame
        WGS 84 points with an ``id`` column (the file's, else the line or feature number), and
        with ``addresses`` an ``address`` column; its index, ``row``, is the row as messages name
        it (the line of a CSV file, the feature number from 1 of a geodata file).

    Raises
    ------
    InvalidInputError
        Naming every bad row and the field at fault (a latitude of 95 is blamed on ``lat``).
    """
    data = open_input(file, name=name)
    if input_format(data, fmt) == "csv":
        table = read_csv_table(data)
        frame, fname, problems = table.frame, table.file, list(table.problems)
        if warnings is not None:
            warnings.extend(table.warnings)
        raw = csv_coordinates(frame, file=fname, crs=crs, crs_parameter=crs_parameter)
        columns = list(frame.columns)
    else:
        gdf, fname = read_geo_file(data)
        raw, problems = point_coordinates(gdf, file=fname, required=not addresses)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        columns = list(frame.columns)
    id_col = find_column(columns, ID_ALIASES)
    ids = frame[id_col].astype("string") if id_col else None
    address_col = find_column(columns, ADDRESS_ALIASES) if addresses else None
    texts = clean_text(frame[address_col].astype("string")) if address_col else None
    lon, lat, coordinate_problems = to_wgs84(raw, file=fname, required=texts is None)
    problems += coordinate_problems
    if texts is not None and address_col is not None:
        problems += control_character_problems(texts, file=fname, field=address_col)
        lonlat_missing = pd.Series(np.isnan(np.asarray(lon, dtype=float)), index=texts.index)
        neither = lonlat_missing & texts.isna()
        problems += [
            Problem("ni point (lon, lat) ni adresse", file=fname, row=int(r), field=address_col)
            for r in texts.index[neither.to_numpy()]
        ]
    numbers = pd.Series(raw.xs.index.astype(str), index=raw.xs.index, dtype="string")
    if ids is not None and id_col is not None:
        problems += control_character_problems(ids, file=fname, field=id_col)
        numbers = clean_text(ids).fillna(numbers)
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(problems)
    lons, lats = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    geometry = shapely.points(lons, lats)
    columns_out: dict[str, object] = {"id": numbers.to_numpy()}
    if addresses:
        located = ~(np.isnan(lons) | np.isnan(lats))
        geometry = np.where(located, geometry, None)
        address_values = texts if texts is not None else pd.Series(pd.NA, index=numbers.index, dtype="string")
        columns_out["address"] = address_values.where(~located, pd.NA).to_numpy()
    index = pd.Index(numbers.index.astype(int), name="row")
    out = gpd.GeoDataFrame(columns_out, geometry=geometry, crs=WGS84, index=index).astype({"id": "string"})
    return out.astype({"address": "string"}) if addresses else out
