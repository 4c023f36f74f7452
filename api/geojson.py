"""GeoJSON (RFC 7946) helpers: features serialised once, responses assembled from strings.

Geometries are written with :func:`shapely.to_geojson` (vectorised); a missing or empty geometry
becomes ``null``, which RFC 7946 allows for unlocated features.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from starlette.responses import JSONResponse

from essmap.model import plain_value, plain_values

GEOJSON_MEDIA_TYPE = "application/geo+json"
JSON_MEDIA_TYPE = "application/json"


class FastJSONResponse(JSONResponse):
    """A JSON response: compact, accents kept as UTF-8; bytes are sent as they are."""

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return dumps(content).encode()


class GeoJSONResponse(FastJSONResponse):
    """A GeoJSON response (``application/geo+json``), usually from already-serialised text."""

    media_type = GEOJSON_MEDIA_TYPE


def jsonable(value: Any) -> Any:
    """A JSON-ready Python value: NA/NaN become None, numpy scalars Python numbers, dates text."""
    value = plain_value(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dumps(data: Any) -> str:
    """Compact JSON text, accents kept as UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=jsonable)


def _json_values(column: pd.Series) -> list[Any]:
    """A column as JSON-ready values (:func:`jsonable` of each cell, column-wise where it can)."""
    values = plain_values(column)
    if pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_datetime64_any_dtype(column.dtype):
        return [jsonable(v) for v in values]
    return values


def json_columns(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> dict[str, list[Any]]:
    """Columns of a table as lists of JSON-ready values (missing values are None); by default
    every column but the geometry."""
    cols = list(columns) if columns is not None else [c for c in frame.columns if c != "geometry"]
    return {c: _json_values(frame[c]) for c in cols}


def records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows of a table as JSON-ready dicts (missing values are None)."""
    data = json_columns(frame, columns)
    cols = list(data)
    return [dict(zip(cols, row, strict=True)) for row in zip(*data.values(), strict=True)] if cols else []


def geometries_json(geoms: Iterable[Any] | np.ndarray) -> list[str]:
    """GeoJSON text of each geometry; ``null`` for a missing or empty one."""
    arr = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
    if arr.size == 0:
        return []
    missing = shapely.is_missing(arr)
    empty = np.zeros(arr.shape, dtype=bool)
    empty[~missing] = shapely.is_empty(arr[~missing])
    out = np.full(arr.shape, "null", dtype=object)
    ok = ~missing & ~empty
    if ok.any():
        out[ok] = shapely.to_geojson(arr[ok])
    return [str(s) for s in out]


def feature_json(feature_id: str, geometry: str, properties: Mapping[str, Any] | str) -> str:
    """One GeoJSON Feature as text."""
    props = properties if isinstance(properties, str) else dumps(properties)
    return f'{{"type":"Feature","id":{dumps(feature_id)},"geometry":{geometry},"properties":{props}}}'


def with_members(feature: str, members: Mapping[str, Any]) -> str:
    """Add top-level members (``links``…) to a serialised Feature or FeatureCollection."""
    if not members:
        return feature
    extra = ",".join(f"{dumps(k)}:{dumps(v)}" for k, v in members.items())
    return f"{feature[:-1]},{extra}}}"


def feature_collection(features: Iterable[str], members: Mapping[str, Any] | None = None) -> bytes:
    """A FeatureCollection from serialised features, with extra top-level members."""
    body = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
    return with_members(body, members or {}).encode()


def frame_features(
    frame: pd.DataFrame, ids: Sequence[str], geometries: Sequence[str], columns: Sequence[str]
) -> list[str]:
    """Serialised features of every row of a table (properties are ``columns``)."""
    props = records(frame, columns)
    return [feature_json(i, g, p) for i, g, p in zip(ids, geometries, props, strict=True)]


def geodataframe_collection(
    frame: Any,
    *,
    id_column: str | None = None,
    drop: Sequence[str] = (),
    members: Mapping[str, Any] | None = None,
    decimals: int | None = None,
) -> bytes:
    """A GeoDataFrame (WGS 84) as a FeatureCollection; ids from ``id_column`` or the row number.

    ``drop`` names columns left out of the properties, ``members`` are added at the top level, and
    ``decimals`` rounds the coordinates (6 decimals of a degree: about 10 cm).
    """
    columns = [c for c in frame.columns if c != frame.geometry.name and c not in drop]
    ids = frame[id_column].astype(str).tolist() if id_column else [str(i + 1) for i in range(len(frame))]
    shapes = frame.geometry.to_numpy()
    if decimals is not None and len(shapes):
        shapes = shapely.transform(shapes, lambda xy: np.round(xy, decimals))
    geoms = geometries_json(shapes)
    return feature_collection(frame_features(frame, ids, geoms, columns), members)
