"""Benchmark of walking on the street network, on a generated city (and, on demand, a département).

Scenario, generated with a fixed seed around Bayonne (Lambert-93): a city of streets on a
perturbed grid (48 m blocks, some streets missing), cut by a river 120 m wide that only a few
bridges cross, with a motorway (not walkable) and buildings (ways that are not streets) as in a
real extract, written as an OpenStreetMap ``.osm.pbf`` file by pyosmium. Figures, all in the
same run:

- import: ``essmap.importing.import_network`` into a new GeoPackage store, in a child process,
  with its time and its peak resident memory;
- network nearest: ``WalkingIndex.nearest`` (k=3, 2,000 actors) per query, beside the
  straight-line ``SpatialIndex.nearest``;
- isochrones at 5, 10 and 15 minutes for 1,000 supply points (``supply_isochrones``);
- coverage of 30 QPVs at 400 and 800 m with isochrones (``coverage(mode="walk")``) against
  coverage with rings (``coverage``), same QPVs and supply points (target: at most 3x slower).

``--departement`` also imports a generated extract of the size of a French département (about
13 million nodes and 1.8 million ways, like a 100 MB ``.osm.pbf`` of Pyrénées-Atlantiques),
which must import on a 2-core, 24 GB machine.

Run: ``python bench/bench_network.py [--seed 15] [--rounds 3] [--departement]``. Not run by pytest.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from osmium.osm.mutable import Node, Way

from essmap.analysis.catchments import supply_isochrones
from essmap.analysis.coverage import coverage
from essmap.geo import transformer
from essmap.index import SpatialIndex
from essmap.model import LAMBERT93, WGS84, actor_frame, empty_neighbourhoods, neighbourhood_frame
from essmap.network import WalkingIndex, WalkOptions, network_from_store
from essmap.store import GeoPackageStore

ORIGIN = (330_000.0, 6_270_000.0)  # south-west corner, Lambert-93 (near Bayonne)


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = transformer(LAMBERT93, WGS84).transform(ORIGIN[0] + x, ORIGIN[1] + y)
    return np.asarray(lon), np.asarray(lat)


def write_city(
    path: Path,
    *,
    side: int,
    block_m: float,
    seed: int,
    buildings_per_block: float = 0.0,
    river_every: int = 0,
) -> dict[str, Any]:
    """Write a generated city as an OpenStreetMap extract; returns its counts.

    Streets run along the rows and columns of a ``side`` x ``side`` grid of nodes (perturbed by a
    tenth of a block), 5 % of the street pieces are missing; a river 120 m wide crosses the
    city at mid-height (every ``river_every``-th column has a bridge; by default 4 bridges), a
    motorway runs along the west edge, and closed building ways (4 nodes of their own) stand in
    some blocks.
    """
    rng = np.random.default_rng(seed)
    n = side * side
    gx, gy = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = gx.ravel() * block_m + rng.uniform(-0.1, 0.1, n) * block_m
    y = gy.ravel() * block_m + rng.uniform(-0.1, 0.1, n) * block_m
    river_row = side // 2
    y[gy.ravel() > river_row] += 120.0  # the river between rows river_row and river_row + 1
    lon, lat = _lonlat(x, y)
    ids = np.arange(1, n + 1).reshape(side, side)
    bridges = river_every or max(side // 4, 1)
    next_id = n + 1
    ways = streets = 0
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for i in range(n):
            writer.add_node(Node(id=i + 1, location=(float(lon[i]), float(lat[i]))))
        # buildings: their own nodes, written after the street nodes (ids must grow)
        building_nodes: list[list[int]] = []
        if buildings_per_block:
            count = int(buildings_per_block * (side - 1) ** 2)
            bx = rng.uniform(0, (side - 1) * block_m, count)
            by = rng.uniform(0, (side - 1) * block_m, count)
            corners = np.array([[0, 0], [12, 0], [12, 9], [0, 9]], dtype=float)
            for k in range(count):
                cx, cy = _lonlat(bx[k] + corners[:, 0] + 14, by[k] + corners[:, 1] + 14)
                refs = []
                for c in range(4):
                    writer.add_node(Node(id=next_id, location=(float(cx[c]), float(cy[c]))))
                    refs.append(next_id)
                    next_id += 1
                building_nodes.append(refs)
        way_id = 1
        keep = rng.uniform(size=(2, side, side)) > 0.05
        for i in range(side):  # rows (west-east) and columns (south-north), cut where pieces are missing
            for axis in (0, 1):
                line = ids[:, i] if axis == 0 else ids[i, :]
                run: list[int] = []
                for j in range(side):
                    crossing = axis == 1 and j == river_row + 1 and i % bridges != bridges // 2
                    missing = j > 0 and not keep[axis, i, j]
                    if run and (crossing or missing):
                        if len(run) >= 2:
                            tags = {"highway": "residential" if i % 5 else "secondary"}
                            if axis == 1 and run[0] <= ids[i, river_row] < run[-1]:
                                tags["bridge"] = "yes"
                            writer.add_way(Way(id=way_id, nodes=run, tags=tags))
                            way_id += 1
                            streets += 1
                        run = []
                    run.append(int(line[j]))
                if len(run) >= 2:
                    writer.add_way(Way(id=way_id, nodes=run, tags={"highway": "residential"}))
                    way_id += 1
                    streets += 1
        writer.add_way(Way(id=way_id, nodes=[int(v) for v in ids[0, :]], tags={"highway": "motorway"}))
        way_id += 1
        for refs in building_nodes:
            writer.add_way(Way(id=way_id, nodes=[*refs, refs[0]], tags={"building": "yes"}))
            way_id += 1
        ways = way_id - 1
    extent = ((side - 1) * block_m, (side - 1) * block_m + 120.0)
    return {
        "nodes": next_id - 1,
        "ways": ways,
        "streets": streets,
        "extent_m": extent,
        "bytes": path.stat().st_size,
    }


def import_in_child(extract: Path, data_dir: Path) -> dict[str, float]:
    """Import the extract into a new store in a child process: its time and peak memory."""
    code = (
        "import json, resource, sys, time\n"
        "from essmap.importing import import_network\n"
        "from essmap.store import GeoPackageStore\n"
        "store = GeoPackageStore(sys.argv[2])\n"
        "start = time.perf_counter()\n"
        "report = import_network(store, sys.argv[1])\n"
        "elapsed = time.perf_counter() - start\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "figures = {'seconds': elapsed, 'peak_mb': peak, 'segments': report.created, 'ways': report.read}\n"
        "print(json.dumps(figures))\n"
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", code, str(extract), str(data_dir / "essmap.gpkg")],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def best_of(rounds: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The best time of ``rounds`` calls (seconds), and the last result."""
    best, out = float("inf"), None
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def points_in(rng: np.random.Generator, n: int, extent: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(100, extent[0] - 100, n)
    y = rng.uniform(100, extent[1] - 100, n)
    return _lonlat(x, y)


def make_qpvs(rng: np.random.Generator, n: int, extent: tuple[float, float]) -> gpd.GeoDataFrame:
    polys = []
    for _ in range(n):
        cx, cy = rng.uniform(800, extent[0] - 800), rng.uniform(800, extent[1] - 800)
        w, h = rng.uniform(400, 1000, 2)
        polys.append(shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    metric = gpd.GeoSeries(polys, crs=LAMBERT93).translate(*ORIGIN).to_crs(WGS84)
    frame = pd.DataFrame(
        {
            "code": [f"QN{i:04d}" for i in range(n)],
            "name": [f"Quartier {i}" for i in range(n)],
            "generation": 2024,
            "population": rng.integers(1000, 8000, n),
        }
    )
    return neighbourhood_frame(frame, metric.to_numpy())


def make_actors(lon: np.ndarray, lat: np.ndarray, category: str = "market") -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {"id": [f"a{i:06d}" for i in range(len(lon))], "name": [f"Acteur {i}" for i in range(len(lon))]}
    )
    frame["category"] = category
    return actor_frame(frame, shapely.points(lon, lat))


def compare_coverage(
    qpv: gpd.GeoDataFrame, supply: gpd.GeoDataFrame, store: GeoPackageStore, walk: WalkOptions, rounds: int
) -> None:
    """Coverage with rings and with isochrones, same QPVs and supply points. The first walk-mode
    call is made on a network just loaded from the store (its raster cells not yet snapped, as
    after an import); the next ones reuse them, as a long-lived process does."""
    common: dict[str, Any] = {"thresholds_m": [400, 800], "supply_categories": ["market"]}
    rings_s, rings = best_of(rounds, lambda: coverage(qpv, supply, **common))
    fresh = network_from_store(store)
    first_s, _ = best_of(1, lambda: coverage(qpv, supply, mode="walk", network=fresh, walk=walk, **common))
    walk_s, walked = best_of(
        rounds, lambda: coverage(qpv, supply, mode="walk", network=fresh, walk=walk, **common)
    )
    ratio = walk_s / rings_s
    verdict = "met" if ratio <= 3 else "MISSED"
    print(
        f"coverage of {len(qpv)} QPVs at 400 and 800 m, {len(supply):,} supply points: rings "
        f"{rings_s * 1000:.0f} ms, isochrones {walk_s * 1000:.0f} ms: {ratio:.1f}x (target at most 3x: "
        f"{verdict}); first call on a freshly loaded network {first_s * 1000:.0f} ms "
        f"({first_s / rings_s:.1f}x)"
    )
    shares = pd.DataFrame(
        {"rings": rings["area_share"], "walk": walked["area_share"], "t": rings["threshold_m"]}
    )
    for t, row in shares.groupby("t")[["rings", "walk"]].mean().iterrows():
        print(f"  mean covered share at {t:.0f} m: rings {row['rings']:.2f}, on foot {row['walk']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--side", type=int, default=220, help="streets per side of the city grid")
    parser.add_argument("--departement", action="store_true", help="also import a département-sized extract")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    walk = WalkOptions()
    with tempfile.TemporaryDirectory(prefix="essmap-bench-network-") as tmp:
        folder = Path(tmp)
        extract = folder / "city.osm.pbf"
        start = time.perf_counter()
        city = write_city(extract, side=args.side, block_m=48.0, seed=args.seed, buildings_per_block=0.5)
        print(
            f"generated city: {city['nodes']:,} nodes, {city['ways']:,} ways ({city['streets']:,} streets), "
            f"{city['extent_m'][0] / 1000:.1f} x {city['extent_m'][1] / 1000:.1f} km, "
            f"{city['bytes'] / 1e6:.1f} MB of .osm.pbf, in {time.perf_counter() - start:.1f} s"
        )
        imported = import_in_child(extract, folder / "city")
        print(
            f"import network (city): {imported['seconds']:.2f} s, peak memory {imported['peak_mb']:.0f} MB "
            f"(child process), {imported['segments']:,.0f} segments from {imported['ways']:,.0f} "
            "walkable ways"
        )
        store = GeoPackageStore(folder / "city" / "essmap.gpkg")
        load_s, network = best_of(1, lambda: network_from_store(store))
        assert network is not None
        print(f"load network from the store: {load_s * 1000:.0f} ms ({len(network):,} segments)")
        assert len(network) >= 50_000, "the city must have at least 50,000 edges"

        # --- nearest ---------------------------------------------------------------------------
        actors = make_actors(*points_in(rng, 2000, city["extent_m"]))
        index = SpatialIndex.build(empty_neighbourhoods(), actors)
        build_s, walking = best_of(1, lambda: WalkingIndex(index, network, walk))
        qlon, qlat = points_in(rng, 1000, city["extent_m"])
        pairs = list(zip(qlon.tolist(), qlat.tolist(), strict=True))
        walking.nearest(*pairs[0], k=3)  # first use builds the trees
        straight_s, _ = best_of(args.rounds, lambda: [index.nearest(x, y, k=3) for x, y in pairs])
        walk_s, answers = best_of(args.rounds, lambda: [walking.nearest_answer(x, y, k=3) for x, y in pairs])
        methods = pd.Series([a.distance_method for a in answers]).value_counts().to_dict()
        per_walk, per_straight = walk_s / len(pairs) * 1000, straight_s / len(pairs) * 1000
        print(
            f"nearest k=3 on the network: {per_walk:.2f} ms per query "
            f"(straight line: {per_straight:.3f} ms; walking index built in {build_s * 1000:.0f} ms; "
            f"{methods})"
        )

        # --- isochrones ------------------------------------------------------------------------
        supply = make_actors(*points_in(rng, 1000, city["extent_m"]))
        iso_s, iso = best_of(
            1, lambda: supply_isochrones(supply, network=network, walk=walk, supply_categories=["market"])
        )
        print(
            f"isochrones 5/10/15 min for {len(supply):,} supply points: {iso_s:.1f} s "
            f"({iso_s / len(supply) * 1000:.1f} ms a point, {len(iso):,} polygons, "
            f"{(iso['distance_method'] == 'network').mean() * 100:.0f} % on the network)"
        )

        # --- coverage ---------------------------------------------------------------------------
        qpv = make_qpvs(rng, 30, city["extent_m"])
        for n_supply in (1000, 100):
            points = supply.iloc[:n_supply]
            compare_coverage(qpv, points, store, walk, args.rounds)
        store.close()

        if args.departement:
            big = folder / "departement.osm.pbf"
            start = time.perf_counter()
            counts = write_city(big, side=1700, block_m=40.0, seed=args.seed + 1, buildings_per_block=0.55)
            print(
                f"generated département: {counts['nodes']:,} nodes, {counts['ways']:,} ways "
                f"({counts['streets']:,} streets), {counts['extent_m'][0] / 1000:.0f} km a side, "
                f"{counts['bytes'] / 1e6:.0f} MB of .osm.pbf, in {time.perf_counter() - start:.0f} s"
            )
            imported = import_in_child(big, folder / "departement")
            print(
                f"import network (département): {imported['seconds']:.1f} s, peak memory "
                f"{imported['peak_mb']:.0f} MB (child process), {imported['segments']:,.0f} segments"
            )
            big_store = GeoPackageStore(folder / "departement" / "essmap.gpkg")
            load_s, big_network = best_of(1, lambda: network_from_store(big_store))
            print(f"load network from the store: {load_s:.2f} s")
            del big_network
            big_store.close()
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
