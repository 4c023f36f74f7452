"""A summary of the stored data: counts, extent and provenance; actors whose record is stale."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from essmap.model import CATEGORIES, approximate_mask, located_mask


def _counts(series: pd.Series) -> dict[str, int]:
    values = series.astype("string").fillna("(non renseigné)")
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}


def summarise(
    neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame, grid: gpd.GeoDataFrame | None = None
) -> dict[str, object]:
    """Counts per generation and category, located vs not, bounding box and provenance.

    Returns a JSON-ready dict with at least ``neighbourhoods``, ``actors``, ``located_actors``.
    """
    located = located_mask(actors)
    by_category = {c: 0 for c in CATEGORIES}
    by_category.update(_counts(actors["category"]))
    located_by_category = {c: 0 for c in CATEGORIES}
    located_by_category.update(_counts(actors.loc[located, "category"]))
    bounds = []
    for gdf in (neighbourhoods, actors[located]):
        if len(gdf):
            bounds.append(gdf.total_bounds)
    bbox = None
    if bounds:
        stack = np.vstack(bounds)
        bbox = [
            float(stack[:, 0].min()),
            float(stack[:, 1].min()),
            float(stack[:, 2].max()),
            float(stack[:, 3].max()),
        ]
    return {
        "neighbourhoods": len(neighbourhoods),
        "neighbourhoods_by_generation": _counts(neighbourhoods["generation"]),
        "neighbourhoods_with_population": int(neighbourhoods["population"].notna().sum()),
        "actors": len(actors),
        "located_actors": int(located.sum()),
        "unlocated_actors": int((~located).sum()),
        "approximate_locations": int(approximate_mask(actors).sum()),
        "actors_by_category": {k: v for k, v in by_category.items() if v},
        "located_actors_by_category": {k: v for k, v in located_by_category.items() if v},
        "bbox": bbox,
        "provenance": {
            "geometry_source": _counts(neighbourhoods["geometry_source"]),
            "neighbourhood_sources": _counts(neighbourhoods["source"]),
            "population_sources": _counts(neighbourhoods["population_source"].dropna()),
            "location_precision": _counts(actors["location_precision"]),
            "coordinates_source": _counts(actors.loc[located, "coordinates_source"]),
            "actor_sources": _counts(actors["source"]),
        },
        "population_grid_squares": 0 if grid is None else len(grid),
    }


#: Columns of :func:`stale_actors`.
STALE_COLUMNS = ("id", "name", "category", "commune", "last_verified", "days_since_verified")


def stale_actors(actors: gpd.GeoDataFrame, *, today: date, stale_after_days: int) -> pd.DataFrame:
    """Actors whose record was not confirmed for more than ``stale_after_days`` days, or never.

    Parameters
    ----------
    actors
        An actor table (:mod:`essmap.model`); ``last_verified`` is an ISO date (``2025-03-14``) or
        missing.
    today
        The date the ages are counted from.
    stale_after_days
        Age beyond which a record is stale (``settings.stale_after_days``, 365 by default).

    Returns
    -------
    pandas.DataFrame
        :data:`STALE_COLUMNS`, one row per stale actor: never verified first, then the oldest
        verification first. ``days_since_verified`` is missing for a record never verified.
    """
    verified = pd.to_datetime(actors["last_verified"], errors="coerce", format="%Y-%m-%d")
    age = (pd.Timestamp(today) - verified).dt.days.astype("Int64")
    stale = age.isna() | (age > stale_after_days)
    out = pd.DataFrame(
        {
            "id": actors["id"].astype("string"),
            "name": actors["name"].astype("string"),
            "category": actors["category"].astype("string"),
            "commune": actors["commune"].astype("string"),
            "last_verified": actors["last_verified"].astype("string").where(verified.notna(), pd.NA),
            "days_since_verified": age,
        }
    )[stale.to_numpy()]
    order = out["days_since_verified"].fillna(np.iinfo(np.int64).max).to_numpy()
    return out.iloc[np.argsort(-order, kind="stable")].reset_index(drop=True)
