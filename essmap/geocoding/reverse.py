"""Reverse lookup: the imported address nearest to a point (suggested sites get a street address).

Addresses (``store.load_addresses()``) are projected into the metric CRS of their territory
(:func:`essmap.geo.metric_crs`) and searched with a k-d tree; distances are straight lines in
metres. Only addresses with a house number are used: a site is named by the door nearest to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from essmap.geo import metric_crs, transformer
from essmap.model import WGS84

__all__ = ["DEFAULT_REVERSE_DISTANCE_M", "NearbyAddress", "nearest_addresses"]

#: Beyond this distance, a point has no nearest address (it would not help anyone find it).
DEFAULT_REVERSE_DISTANCE_M = 300.0


@dataclass(frozen=True)
class NearbyAddress:
    """The address nearest to a point: its label, its point (WGS 84) and its distance in metres."""

    label: str
    lon: float
    lat: float
    distance_m: float


def nearest_addresses(
    addresses: pd.DataFrame,
    lons: Sequence[float] | np.ndarray,
    lats: Sequence[float] | np.ndarray,
    *,
    max_distance_m: float = DEFAULT_REVERSE_DISTANCE_M,
) -> list[NearbyAddress | None]:
    """The nearest address (with a house number) to each point, within ``max_distance_m``.

    Parameters
    ----------
    addresses
        An address table (``label``, ``housenumber``, ``lon``, ``lat``: the columns of
        :data:`essmap.store.addresses.ADDRESS_COLUMNS`); empty when none was imported.
    lons, lats
        The points, WGS 84.
    max_distance_m
        Straight-line distance beyond which a point gets None.

    Returns
    -------
    list
        One :class:`NearbyAddress` or None per point, in order.
    """
    x = np.asarray(lons, dtype=float)
    y = np.asarray(lats, dtype=float)
    out: list[NearbyAddress | None] = [None] * len(x)
    if addresses.empty or not len(x):
        return out
    usable = addresses["housenumber"].notna() & addresses["lon"].notna() & addresses["lat"].notna()
    numbered = addresses[usable]
    if numbered.empty:
        return out
    a_lon = numbered["lon"].to_numpy(dtype=float)
    a_lat = numbered["lat"].to_numpy(dtype=float)
    a_crs = metric_crs(a_lon, a_lat)
    labels = numbered["label"].astype(str).to_numpy()
    p_crs = metric_crs(x, y)
    for crs in dict.fromkeys(p_crs.tolist()):
        mine = np.flatnonzero(a_crs == crs)
        if not len(mine):
            continue
        to_metric = transformer(WGS84, crs)
        ax, ay = to_metric.transform(a_lon[mine], a_lat[mine])
        tree = cKDTree(np.column_stack([ax, ay]))
        points = np.flatnonzero(p_crs == crs)
        px, py = to_metric.transform(x[points], y[points])
        dist, found = tree.query(np.column_stack([px, py]), k=1, distance_upper_bound=max_distance_m)
        for i, d, j in zip(points.tolist(), dist.tolist(), found.tolist(), strict=True):
            if np.isfinite(d):
                row = int(mine[j])
                out[i] = NearbyAddress(str(labels[row]), float(a_lon[row]), float(a_lat[row]), float(d))
    return out
