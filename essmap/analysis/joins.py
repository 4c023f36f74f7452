"""Join actors with QPVs: inside, in the band around (the "quartier vécu"), or outside.

An actor serves every QPV it lies in or within ``band_m`` of, so it can have several rows per
generation; an actor that serves none gets one row with its nearest QPV, relation ``outside``.
Distances are to the QPV boundary, in metres, measured in the metric CRS of the territory.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.analysis.zones import (
    as_wgs84,
    check_distance,
    polygon_zones,
    present_points,
    project_xy,
    to_metric_geoms,
)
from essmap.geo import metric_crs

__all__ = ["JOIN_COLUMNS", "counts_by_qpv", "join_actors_qpv"]

JOIN_COLUMNS = ("id", "generation", "code", "relation", "distance_m")


def join_actors_qpv(
    neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame, *, band_m: float = 300.0
) -> pd.DataFrame:
    """Relation of each located actor to the QPVs of each generation of its territory.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`JOIN_COLUMNS`, sorted by actor (table order), generation, distance and
        code. ``relation`` is ``inside`` (distance 0), ``band`` or ``outside``.
    """
    band = check_distance(band_m, "band_m", None)
    neighbourhoods = as_wgs84(neighbourhoods, "des quartiers")
    actors = as_wgs84(actors, "des acteurs")
    qrows, qcrs = polygon_zones(neighbourhoods)
    arows, lon, lat = present_points(actors)
    acrs = metric_crs(lon, lat)
    gens = pd.to_numeric(neighbourhoods["generation"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    geoms = neighbourhoods.geometry.to_numpy()
    parts: list[
        tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    ] = []  # actor row, qpv row, dist, inside
    for crs in dict.fromkeys(qcrs.tolist()):
        sel = acrs == crs
        if not sel.any():
            continue
        rows = qrows[qcrs == crs]
        polys = to_metric_geoms(geoms[rows], crs, polygons=True)
        x, y = project_xy(lon[sel], lat[sel], crs)
        points = shapely.points(x, y)
        zone_actor_rows = arows[sel]
        for gen in sorted(set(gens[rows][np.isfinite(gens[rows])].tolist())):
            gsel = gens[rows] == gen
            gpolys, grows = polys[gsel], rows[gsel]
            tree = shapely.STRtree(gpolys)
            pi, ti = tree.query(points, predicate="dwithin", distance=band)
            dist = shapely.distance(points[pi], gpolys[ti])
            parts.append((zone_actor_rows[pi], grows[ti], dist, dist <= 0))
            alone = np.setdiff1d(np.arange(len(points)), pi)
            if len(alone):
                (pj, tj), dj = tree.query_nearest(points[alone], return_distance=True, all_matches=False)
                parts.append((zone_actor_rows[alone[pj]], grows[tj], dj, np.zeros(len(pj), dtype=bool)))
    if not parts:
        return _frame([], [], [], [], [])
    actor_row = np.concatenate([p[0] for p in parts])
    qpv_row = np.concatenate([p[1] for p in parts])
    dist = np.concatenate([p[2] for p in parts])
    inside = np.concatenate([p[3] for p in parts])
    relation = np.where(inside, "inside", np.where(dist <= band, "band", "outside"))
    dist = np.where(inside, 0.0, dist)
    codes = neighbourhoods["code"].astype("string").to_numpy()[qpv_row]
    order = np.lexsort((codes.astype(str), dist, gens[qpv_row], actor_row))
    return _frame(
        actors["id"].to_numpy()[actor_row][order],
        gens[qpv_row][order],
        codes[order],
        relation[order],
        dist[order],
    )


def _frame(ids: object, gens: object, codes: object, relation: object, dist: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.array(ids, dtype="string"),
            "generation": pd.array(np.asarray(gens, dtype=float), dtype="Int64"),
            "code": pd.array(codes, dtype="string"),
            "relation": pd.array(relation, dtype="string"),
            "distance_m": np.asarray(dist, dtype=float),
        }
    )


def counts_by_qpv(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    join: pd.DataFrame | None = None,
    *,
    band_m: float = 300.0,
) -> pd.DataFrame:
    """Actors per QPV and category: how many inside, how many in the band.

    Returns one row per QPV (every QPV, in table order) and category with at least one actor
    inside or in the band, plus columns ``inside``, ``band`` and ``serving`` (their sum).
    """
    if join is None:
        join = join_actors_qpv(neighbourhoods, actors, band_m=band_m)
    serving = join[join["relation"].isin(["inside", "band"])]
    category = actors.set_index(actors["id"].astype("string"))["category"].astype("string")
    serving = serving.assign(category=category.reindex(serving["id"]).to_numpy())
    counts = (
        serving.groupby(["generation", "code", "category", "relation"], observed=True)
        .size()
        .unstack("relation", fill_value=0)
        .reindex(columns=["inside", "band"], fill_value=0)
        .reset_index()
    )
    counts["serving"] = counts["inside"] + counts["band"]
    order = neighbourhoods[["generation", "code"]].astype({"code": "string"}).reset_index(drop=True)
    order["_pos"] = np.arange(len(order))
    counts = counts.merge(order, on=["generation", "code"], how="left").sort_values(["_pos", "category"])
    out = counts.drop(columns="_pos").reset_index(drop=True)
    out.columns.name = None
    for col in ("inside", "band", "serving"):
        out[col] = out[col].astype("int64")
    return out
