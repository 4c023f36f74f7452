"""The Store protocol, and the merge rules every store applies (update by key, never duplicate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import geopandas as gpd
import pandas as pd

from essmap.model import WGS84

QPV_KEY = ["generation", "code"]
ACTOR_KEY = ["id"]

#: Columns of the population grid layer (INSEE 200 m squares).
GRID_COLUMNS = ("id", "population")


@dataclass(frozen=True)
class UpsertCounts:
    """How many records an upsert created and updated."""

    created: int
    updated: int


@runtime_checkable
class Store(Protocol):
    """Where essmap's data lives: an embedded GeoPackage, or a PostGIS database.

    Tables are GeoDataFrames in WGS 84 with the columns of :mod:`essmap.model`. Every write is
    atomic: it happens completely or not at all.
    """

    def load_neighbourhoods(self) -> gpd.GeoDataFrame:
        """All neighbourhoods (QPV) of every generation."""
        ...

    def load_actors(self) -> gpd.GeoDataFrame:
        """All actors; unlocated ones have a missing geometry."""
        ...

    def load_population_grid(self) -> gpd.GeoDataFrame:
        """The imported population grid squares (empty when none was imported)."""
        ...

    def upsert_neighbourhoods(self, table: gpd.GeoDataFrame) -> UpsertCounts:
        """Insert or update neighbourhoods by (generation, code)."""
        ...

    def upsert_actors(self, table: gpd.GeoDataFrame) -> UpsertCounts:
        """Insert or update actors by id."""
        ...

    def replace_population_grid(self, table: gpd.GeoDataFrame) -> int:
        """Replace the population grid; returns the number of squares."""
        ...

    def revision(self) -> str:
        """A token that changes whenever the stored data changes."""
        ...

    def exists(self) -> bool:
        """Whether the store holds data already (False for a store never written)."""
        ...

    def initialise(self, neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame) -> None:
        """Fill a new store with these tables in one write; does nothing if the store exists."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


def merge(
    existing: gpd.GeoDataFrame, new: gpd.GeoDataFrame, key: list[str]
) -> tuple[gpd.GeoDataFrame, UpsertCounts]:
    """Replace rows of ``existing`` whose key is in ``new`` and append the others, keeping order."""
    if existing.empty:
        return new.reset_index(drop=True), UpsertCounts(created=len(new), updated=0)
    old_keys = pd.MultiIndex.from_frame(existing[key].astype("string"))
    new_keys = pd.MultiIndex.from_frame(new[key].astype("string"))
    is_update = new_keys.isin(old_keys)
    new_by_key = new.set_axis(new_keys)
    replaced = old_keys.isin(new_keys)
    kept = existing.copy()
    if replaced.any():
        rows = new_by_key.loc[old_keys[replaced]]
        kept.loc[replaced, :] = rows.to_numpy()
    merged = pd.concat([kept, new[~is_update]], ignore_index=True)
    out = gpd.GeoDataFrame(merged, geometry="geometry", crs=WGS84)
    for col, dtype in existing.dtypes.items():
        if col != "geometry":
            out[col] = out[col].astype(dtype)
    return out, UpsertCounts(created=int((~is_update).sum()), updated=int(is_update.sum()))
