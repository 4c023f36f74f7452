"""Benchmark of the proximity and coverage engine on a national-scale scenario.

Scenario, generated with a fixed seed: 1,600 QPV-like polygons (star-shaped, 0.1 to 1 km²)
around 320 towns across mainland France, 100,000 actors (80 % around towns, 20 % anywhere),
20,000 query points. Every essmap figure is printed beside the raw library call it wraps, timed
in the same run (interleaved rounds, best round kept), with their ratio and the peak resident
memory of the process during the step:

- single-point nearest (k=5): ``SpatialIndex.nearest`` vs ``cKDTree.query`` on projected points
  (target: at most 2x);
- bulk nearest: ``nearest_bulk`` per point vs ``nearest`` one by one (target: at least 2x faster);
- locate, within: vs ``STRtree.query`` / ``query_nearest`` and ``cKDTree.query_ball_point``;
- coverage of all QPVs at 400 and 800 m: ``coverage`` vs a direct shapely computation (STRtree
  ``dwithin`` query, union of buffers, intersection, area) on projected arrays (target: at most
  1.5x), then both again with 10x the actors;
- siting of 10 points among 10,000 candidates (target: at most 10 s).

Run: ``python bench/bench_engine.py [--seed 2024] [--rounds 5] [--no-10x]``. Not run by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from essmap.analysis.coverage import QUAD_SEGS, coverage
from essmap.analysis.siting import suggest_sites
from essmap.geo import transformer
from essmap.index import SpatialIndex
from essmap.model import (
    CATEGORIES,
    DEFAULT_SUPPLY_CATEGORIES,
    LAMBERT93,
    WGS84,
    actor_frame,
    neighbourhood_frame,
)

#: A rough outline of mainland France (lon, lat), to keep generated places on land.
FRANCE = shapely.Polygon(
    [
        (-4.6, 48.5),
        (-1.3, 46.2),
        (-1.6, 43.4),
        (3.1, 42.5),
        (7.3, 43.8),
        (6.9, 47.5),
        (8.1, 48.9),
        (4.2, 50.0),
        (2.5, 51.0),
        (-1.6, 49.6),
    ]
)
THRESHOLDS = (400.0, 800.0)


# --- memory ------------------------------------------------------------------------------------


_START_MB = [0.0]


def _status(key: str) -> float:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith(key):
            return int(row.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Reset the process's peak resident memory (Linux: /proc/self/clear_refs) and note the
    resident memory at the start of a step."""
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    _START_MB[0] = _status("VmRSS:")


def peak_mb() -> tuple[float, float]:
    """Peak resident memory since the last reset, and its rise over the step's start, in MB."""
    peak = _status("VmHWM:")
    return peak, peak - _START_MB[0]


# --- scenario ----------------------------------------------------------------------------------


def inside_france(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = FRANCE.bounds
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < n:
        a = rng.uniform(x0, x1, 2 * n)
        b = rng.uniform(y0, y1, 2 * n)
        ok = shapely.contains_xy(FRANCE, a, b)
        lon, lat = np.r_[lon, a[ok]], np.r_[lat, b[ok]]
    return lon[:n], lat[:n]


def scenario(seed: int, n_qpv: int, n_actors: int, n_queries: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    to_l93 = transformer(WGS84, LAMBERT93)
    to_wgs = transformer(LAMBERT93, WGS84)
    towns = np.column_stack(to_l93.transform(*inside_france(rng, 320)))
    # QPVs: star-shaped polygons 0.3 to 4 km from a town centre
    home = rng.integers(0, len(towns), n_qpv)
    angle = rng.uniform(0, 2 * np.pi, n_qpv)
    dist = rng.uniform(300, 4000, n_qpv)
    centres = towns[home] + np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None]
    polys = []
    for cx, cy in centres:
        k = int(rng.integers(10, 20))
        theta = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = rng.uniform(180, 560) * rng.uniform(0.6, 1.0, k)
        polys.append(
            shapely.Polygon(np.column_stack([cx + radius * np.cos(theta), cy + radius * np.sin(theta)]))
        )
    metric_qpv = np.array(polys, dtype=object)
    qpv_wgs = gpd.GeoSeries(metric_qpv, crs=LAMBERT93).to_crs(WGS84).to_numpy()
    qpv = neighbourhood_frame(
        pd.DataFrame(
            {
                "code": [f"QN{i:06d}" for i in range(n_qpv)],
                "name": [f"Quartier {i}" for i in range(n_qpv)],
                "generation": 2024,
                "population": rng.integers(1000, 12000, n_qpv),
            }
        ),
        qpv_wgs,
    )
    actors, metric_actors = make_actors(rng, towns, n_actors, to_l93)
    # queries: 70 % around QPVs, 30 % anywhere
    near = int(0.7 * n_queries)
    q = centres[rng.integers(0, n_qpv, near)] + rng.normal(0, 1000, (near, 2))
    qlon, qlat = to_wgs.transform(q[:, 0], q[:, 1])
    flon, flat = inside_france(rng, n_queries - near)
    qlon, qlat = np.r_[qlon, flon], np.r_[qlat, flat]
    cands = centres[rng.integers(0, n_qpv, 10_000)] + rng.normal(0, 500, (10_000, 2))
    clon, clat = to_wgs.transform(cands[:, 0], cands[:, 1])
    candidates = gpd.GeoDataFrame(
        {"id": [f"c{i}" for i in range(len(clon))]}, geometry=shapely.points(clon, clat), crs=WGS84
    )
    return {
        "rng": rng,
        "towns": towns,
        "qpv": qpv,
        "metric_qpv": shapely.make_valid(metric_qpv),
        "actors": actors,
        "metric_actors": metric_actors,
        "qlon": qlon,
        "qlat": qlat,
        "candidates": candidates,
    }


def make_actors(
    rng: np.random.Generator, towns: np.ndarray, n: int, to_l93: Any
) -> tuple[gpd.GeoDataFrame, dict[str, np.ndarray]]:
    around = int(0.8 * n)
    xy = towns[rng.integers(0, len(towns), around)] + rng.normal(0, 2500, (around, 2))
    lon, lat = transformer(LAMBERT93, WGS84).transform(xy[:, 0], xy[:, 1])
    flon, flat = inside_france(rng, n - around)
    lon, lat = np.r_[lon, flon], np.r_[lat, flat]
    weights = np.array([3, 1, 1, 2, 1, 2, 4, 1, 1, 1], dtype=float)
    cats = rng.choice(np.array(CATEGORIES), n, p=weights / weights.sum())
    frame = pd.DataFrame(
        {"id": [f"a{i:07d}" for i in range(n)], "name": [f"Acteur {i}" for i in range(n)], "category": cats}
    )
    actors = actor_frame(frame, shapely.points(lon, lat))
    x, y = to_l93.transform(lon, lat)
    xy = np.column_stack([x, y])
    supply = np.isin(cats, list(DEFAULT_SUPPLY_CATEGORIES))
    return actors, {"xy": xy, "supply_xy": xy[supply]}


# --- the raw library calls -------------------------------------------------------------------


def direct_coverage(
    polys: np.ndarray, supply_xy: np.ndarray, thresholds: tuple[float, ...]
) -> list[np.ndarray]:
    """Covered share of each polygon at each threshold, straight with shapely 2 (the baseline)."""
    points = shapely.points(supply_xy)
    tree = shapely.STRtree(points)
    areas = shapely.area(polys)
    shares = []
    for t in thresholds:
        qi, pi = tree.query(polys, predicate="dwithin", distance=t)
        buffers = shapely.buffer(points[pi], t, quad_segs=QUAD_SEGS)
        unions = np.full(len(polys), None, dtype=object)
        bounds = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1], True])
        for start, stop in itertools.pairwise(bounds):
            unions[qi[start]] = shapely.union_all(buffers[start:stop])
        has = ~shapely.is_missing(unions)
        covered = np.zeros(len(polys))
        covered[has] = shapely.area(shapely.intersection(polys[has], unions[has]))
        shares.append(covered / areas)
    return shares


# --- timing ------------------------------------------------------------------------------------


def best_of(rounds: int, *fns: Callable[[], object], collect: bool = True) -> list[float]:
    """Best wall time of each function over interleaved rounds."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            if collect:
                gc.collect()
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def line(
    label: str,
    essmap_s: float,
    raw_s: float,
    unit: str,
    scale: float,
    target: str = "",
    mem: tuple[float, float] | None = None,
) -> None:
    ratio = essmap_s / raw_s if raw_s > 0 else float("nan")
    mem_text = f"  peak RSS {mem[0]:5.0f} MB (+{mem[1]:.0f})" if mem is not None else ""
    print(
        f"{label:<44} essmap {essmap_s * scale:10.2f} {unit:<6} raw {raw_s * scale:10.2f} {unit:<6} "
        f"ratio {ratio:5.2f}  {target}{mem_text}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--qpv", type=int, default=1600)
    parser.add_argument("--actors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--no-10x", action="store_true", help="skip the coverage run with 10x the actors")
    args = parser.parse_args()

    t0 = time.perf_counter()
    sc = scenario(args.seed, args.qpv, args.actors, args.queries)
    print(
        f"scenario (seed {args.seed}): {len(sc['qpv'])} QPVs, {len(sc['actors'])} actors, "
        f"{len(sc['qlon'])} query points, generated in {time.perf_counter() - t0:.1f} s"
    )
    qpv, actors = sc["qpv"], sc["actors"]
    qlon, qlat = sc["qlon"], sc["qlat"]
    to_l93 = transformer(WGS84, LAMBERT93)
    qx, qy = to_l93.transform(qlon, qlat)
    qxy = np.column_stack([qx, qy])
    metric_qpv = sc["metric_qpv"]

    # --- build
    reset_peak()
    t0 = time.perf_counter()
    index = SpatialIndex.build(qpv, actors)
    build_s = time.perf_counter() - t0
    build_mem = peak_mb()
    t0 = time.perf_counter()
    kd = cKDTree(sc["metric_actors"]["xy"])
    strtree = shapely.STRtree(metric_qpv)
    raw_build = time.perf_counter() - t0
    print()
    line(
        "index build (cKDTree + STRtree)",
        build_s,
        raw_build,
        "s",
        1,
        "(essmap also projects and repairs)",
        build_mem,
    )

    # --- single nearest
    n_single = 5000
    lons, lats = qlon[:n_single].tolist(), qlat[:n_single].tolist()
    xys = [qxy[i] for i in range(n_single)]

    # batches of 250 points, essmap and raw alternating, the best time of each batch kept:
    # the machine is shared, and this keeps a busy moment from landing on one side only
    reset_peak()
    ess = raw = 0.0
    for start in range(0, n_single, 250):
        batch = slice(start, start + 250)

        def ess_single(batch: slice = batch) -> None:
            for a, b in zip(lons[batch], lats[batch], strict=True):
                index.nearest(a, b, k=5)

        def raw_single(batch: slice = batch) -> None:
            for p in xys[batch]:
                kd.query(p, k=5)

        e, r = best_of(args.rounds, ess_single, raw_single, collect=False)
        ess, raw = ess + e, raw + r
    line("nearest k=5, one point", ess / n_single, raw / n_single, "us", 1e6, "target <= 2.00", peak_mb())

    supply = list(DEFAULT_SUPPLY_CATEGORIES)

    kd_supply = cKDTree(sc["metric_actors"]["supply_xy"])
    index.nearest(lons[0], lats[0], k=5, categories=supply)  # the category-set tree is built once

    def ess_single_cat() -> None:
        for a, b in zip(lons[:2000], lats[:2000], strict=True):
            index.nearest(a, b, k=5, categories=supply)

    def raw_single_cat() -> None:
        for p in xys[:2000]:
            kd_supply.query(p, k=5)

    ess_cat, raw_cat = best_of(args.rounds, ess_single_cat, raw_single_cat, collect=False)
    line("nearest k=5, one point, 5 supply categories", ess_cat / 2000, raw_cat / 2000, "us", 1e6)

    # --- bulk nearest
    reset_peak()
    bulk, raw_bulk = best_of(
        max(1, args.rounds // 2),
        lambda: index.nearest_bulk(qlon, qlat, k=5),
        lambda: kd.query(qxy, k=5),
    )
    n = len(qlon)
    line("nearest k=5, bulk of 20,000 (per point)", bulk / n, raw_bulk / n, "us", 1e6, "", peak_mb())
    speedup = (ess / n_single) / (bulk / n)
    print(f"{'  bulk speed-up over one by one':<44} {speedup:.2f}x   target >= 2.00")

    # --- within
    def ess_within() -> None:
        for a, b in zip(lons[:2000], lats[:2000], strict=True):
            index.within(a, b, radius_m=1000)

    def raw_within() -> None:
        for p in xys[:2000]:
            kd.query_ball_point(p, 1000)

    ess_w, raw_w = best_of(args.rounds, ess_within, raw_within)
    line("within 1 km, one point (sorted vs unsorted)", ess_w / 2000, raw_w / 2000, "us", 1e6)

    # --- locate
    pts = [shapely.Point(p) for p in xys[:2000]]

    def ess_locate() -> None:
        for a, b in zip(lons[:2000], lats[:2000], strict=True):
            index.locate(a, b)

    def raw_locate() -> None:
        for p in pts:
            if not len(strtree.query(p, predicate="intersects")):
                strtree.query_nearest(p, return_distance=True, all_matches=True)

    ess_l, raw_l = best_of(args.rounds, ess_locate, raw_locate)
    line("locate, one point", ess_l / 2000, raw_l / 2000, "us", 1e6)
    all_pts = shapely.points(qxy)

    def raw_locate_bulk() -> None:
        p, _ = strtree.query(all_pts, predicate="intersects")
        rest = np.setdiff1d(np.arange(len(all_pts)), p)
        strtree.query_nearest(all_pts[rest], return_distance=True, all_matches=True)

    reset_peak()
    ess_lb, raw_lb = best_of(max(1, args.rounds // 2), lambda: index.locate_bulk(qlon, qlat), raw_locate_bulk)
    line("locate, bulk of 20,000 (per point)", ess_lb / n, raw_lb / n, "us", 1e6, "", peak_mb())

    # --- coverage
    print()
    supply_xy = sc["metric_actors"]["supply_xy"]
    kwargs = {"thresholds_m": list(THRESHOLDS), "supply_categories": supply}
    table = coverage(qpv, actors, **kwargs)  # warm-up, and the check below
    shares = direct_coverage(metric_qpv, supply_xy, THRESHOLDS)
    for t, share in zip(THRESHOLDS, shares, strict=True):
        diff = np.abs(table.loc[table["threshold_m"] == t, "area_share"].to_numpy() - share).max()
        print(f"  check: largest share difference essmap vs direct at {t:.0f} m: {diff:.2e}")
    reset_peak()
    cov_rounds = max(1, min(3, args.rounds))
    cov, raw_cov = best_of(
        cov_rounds,
        lambda: coverage(qpv, actors, **kwargs),
        lambda: direct_coverage(metric_qpv, supply_xy, THRESHOLDS),
    )
    mem = peak_mb()
    line(f"coverage {len(qpv)} QPVs x 2 thresholds", cov, raw_cov, "s", 1, "target <= 1.50", mem)
    print(f"{'  direct shapely, per threshold':<44} {raw_cov / 2:.2f} s")
    low = int(table["low_access"].sum())
    print(f"  {len(table)} rows; mean share {table['area_share'].mean():.3f}; low access: {low} rows")

    if not args.no_10x:
        big, big_metric = make_actors(sc["rng"], sc["towns"], 10 * args.actors, to_l93)
        reset_peak()
        big_cov, big_raw = best_of(
            1,
            lambda: coverage(qpv, big, **kwargs),
            lambda: direct_coverage(metric_qpv, big_metric["supply_xy"], THRESHOLDS),
        )
        line(
            f"coverage with {len(big):,} actors (10x)".replace(",", " "),
            big_cov,
            big_raw,
            "s",
            1,
            "",
            peak_mb(),
        )
        growth = f"essmap x{big_cov / cov:.1f}, direct shapely x{big_raw / raw_cov:.1f}"
        print(f"  growth with 10x the actors: {growth}")
        del big, big_metric

    # --- siting
    print()
    reset_peak()
    t0 = time.perf_counter()
    sites = suggest_sites(
        qpv, actors, count=10, threshold_m=400, supply_categories=supply, candidates=sc["candidates"]
    )
    siting_s = time.perf_counter() - t0
    print(
        f"{'siting: 10 among 10,000 candidates':<44} essmap {siting_s:10.2f} s      target <= 10 s"
        f"  peak RSS {peak_mb()[0]:5.0f} MB (+{peak_mb()[1]:.0f})"
    )
    gains = sites["gain_residents"]
    print(
        f"  picks: {len(sites)}, first gain {gains.iloc[0]:.0f}, last gain {gains.iloc[-1]:.0f}, "
        f"total {sites['cumulative_residents'].iloc[-1]:.0f} residents"
    )


if __name__ == "__main__":
    main()
