"""Column names, categories, CRS constants and record schemas shared by every layer.

A neighbourhood is a QPV (quartier prioritaire de la politique de la ville) of one generation
(the 2015 or the 2024 list); an actor is a social-economy actor, located or not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

WGS84: Final = "EPSG:4326"
LAMBERT93: Final = "EPSG:2154"

GENERATIONS: Final = (2015, 2024)


class Category(StrEnum):
    """The closed list of actor categories."""

    AMAP_DELIVERY_POINT = "amap_delivery_point"
    COOPERATIVE_GROCERY = "cooperative_grocery"
    URBAN_FARM = "urban_farm"
    COMMUNITY_GARDEN = "community_garden"
    PRODUCER_SHOP = "producer_shop"
    MARKET = "market"
    ASSOCIATION = "association"
    PUBLIC_BODY = "public_body"
    TRAINING = "training"
    OTHER = "other"


CATEGORIES: Final = tuple(c.value for c in Category)

#: Categories that count as short-circuit food supply by default (a setting overrides it).
DEFAULT_SUPPLY_CATEGORIES: Final = (
    "amap_delivery_point",
    "cooperative_grocery",
    "urban_farm",
    "producer_shop",
    "market",
)


class GeometrySource(StrEnum):
    """Where a neighbourhood outline comes from."""

    OFFICIAL = "official"
    SCHEMATIC = "schematic"
    OTHER = "other"


GEOMETRY_SOURCES: Final = tuple(g.value for g in GeometrySource)


class LocationPrecision(StrEnum):
    """How precise an actor's published location is."""

    EXACT = "exact"
    BUILDING = "building"
    STREET = "street"
    NEIGHBOURHOOD = "neighbourhood"
    COMMUNE = "commune"
    UNKNOWN = "unknown"
    NONE = "none"


LOCATION_PRECISIONS: Final = tuple(p.value for p in LocationPrecision)
#: Precisions at which a map must warn that the point is approximate.
APPROXIMATE_PRECISIONS: Final = frozenset({"street", "neighbourhood", "commune", "unknown"})
# ``location_precision`` says how precise the published location is (building, street…);
# ``location_approximate`` says whether the stored point may be off from it (placed by hand,
# geocoded at a coarse level…). It defaults to the precision being in APPROXIMATE_PRECISIONS.

#: Separator of multi-valued text fields (communes of a QPV).
LIST_SEPARATOR: Final = ", "

# --- neighbourhood (QPV) columns -------------------------------------------------------------
QPV_COLUMNS: Final = (
    "code",
    "name",
    "generation",
    "commune_codes",
    "commune_names",
    "population",
    "population_year",
    "population_source",
    "geometry_source",
    "source",
)
QPV_DTYPES: Final[dict[str, str]] = {
    "code": "string",
    "name": "string",
    "generation": "Int64",
    "commune_codes": "string",
    "commune_names": "string",
    "population": "Int64",
    "population_year": "Int64",
    "population_source": "string",
    "geometry_source": "string",
    "source": "string",
}

# --- actor columns ---------------------------------------------------------------------------
ACTOR_COLUMNS: Final = (
    "id",
    "name",
    "category",
    "address",
    "commune",
    "location_precision",
    "location_approximate",
    "coordinates_source",
    "website",
    "email",
    "phone",
    "description",
    "schedule",
    "source",
    "last_verified",
)
ACTOR_DTYPES: Final[dict[str, str]] = {
    c: ("boolean" if c == "location_approximate" else "string") for c in ACTOR_COLUMNS
}


def _typed(
    frame: pd.DataFrame,
    columns: Sequence[str],
    dtypes: dict[str, str],
    geometry: Sequence[object] | np.ndarray,
) -> gpd.GeoDataFrame:
    data = {}
    for col in columns:
        values = frame[col] if col in frame else pd.Series([pd.NA] * len(frame), index=frame.index)
        data[col] = values.astype(dtypes[col])
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry, index=frame.index), crs=WGS84)
    return out.reset_index(drop=True)


def empty_neighbourhoods() -> gpd.GeoDataFrame:
    """An empty neighbourhood table with the right columns and dtypes."""
    return neighbourhood_frame(pd.DataFrame(columns=list(QPV_COLUMNS)), [])


def empty_actors() -> gpd.GeoDataFrame:
    """An empty actor table with the right columns and dtypes."""
    return actor_frame(pd.DataFrame(columns=list(ACTOR_COLUMNS)), [])


def neighbourhood_frame(frame: pd.DataFrame, geometry: Sequence[object] | np.ndarray) -> gpd.GeoDataFrame:
    """Normalise columns and dtypes of a neighbourhood table (geometry in WGS 84)."""
    return _typed(frame, QPV_COLUMNS, QPV_DTYPES, geometry)


def actor_frame(frame: pd.DataFrame, geometry: Sequence[object] | np.ndarray) -> gpd.GeoDataFrame:
    """Normalise columns and dtypes of an actor table (geometry in WGS 84, None if unlocated)."""
    return _typed(frame, ACTOR_COLUMNS, ACTOR_DTYPES, geometry)


_ACTOR_PANDAS_DTYPES: Final = {c: pd.api.types.pandas_dtype(d) for c, d in ACTOR_DTYPES.items()}


def is_actor_frame(table: gpd.GeoDataFrame) -> bool:
    """Whether an actor table has the columns, in order, and the dtypes :func:`actor_frame` gives
    (so that normalising it again would change nothing but cost a copy)."""
    names = [c for c in table.columns if c != table.geometry.name]
    return names == list(ACTOR_COLUMNS) and all(
        table[c].dtype == _ACTOR_PANDAS_DTYPES[c] for c in ACTOR_COLUMNS
    )


def approximate_mask(actors: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean mask of located actors whose point is approximate (maps and lists must say so)."""
    flag = actors["location_approximate"].astype("boolean")
    by_precision = actors["location_precision"].astype("string").isin(APPROXIMATE_PRECISIONS)
    approximate = flag.fillna(by_precision).fillna(False).to_numpy(dtype=bool)
    return approximate & located_mask(actors)


def located_mask(actors: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean mask of actors that have a location."""
    geom = actors.geometry
    return np.asarray(geom.notna() & ~geom.is_empty, dtype=bool)


def plain_values(column: pd.Series) -> list[object]:
    """:func:`plain_value` of every cell of a column, column-wise where its type allows: text,
    numbers and booleans are converted in one pass, other columns cell by cell."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return column.tolist()
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        numbers = column.to_numpy(dtype="float64", na_value=np.nan)
        values = column.to_numpy(dtype=object, na_value=None)
        if pd.api.types.is_integer_dtype(dtype):
            values = np.array([None if v is None else int(v) for v in values], dtype=object)
        else:
            values = numbers.astype(object)
        values[~np.isfinite(numbers)] = None
        return values.tolist()
    if isinstance(dtype, pd.StringDtype):
        return column.to_numpy(dtype=object, na_value=None).tolist()
    return [plain_value(v) for v in column.tolist()]


def plain_value(value: object) -> object:
    """A plain Python scalar: None for a missing value (None, NA, NaT, NaN, infinity), numpy scalars
    as Python numbers and booleans, anything else as it is."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
