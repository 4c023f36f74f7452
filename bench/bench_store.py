"""Store benchmark: writes that do not depend on the size of the store, on both stores.

For the embedded GeoPackage store and the PostGIS store, in one run:

- the import of a generated national-size population grid (2.3 million 200 m squares by default,
  laid over mainland France), its time and the peak memory of the importing process;
- the time of one actor upsert into the store holding that grid, next to the same upsert into a
  store without a grid (target: at most 1.5x), as medians of repeated upserts.

Each measured phase runs in a fresh Python process, so that the peak memory (``ru_maxrss``) is the
phase's own. PostGIS comes from ``ESSMAP_TEST_DATABASE_URL`` or a throwaway cluster started with
``scripts/pg_cluster.sh`` (Debian's postgresql and postgis packages). The API's /nearest throughput
on both stores is measured by ``bench/bench_api.py --store postgis``.

    python bench/bench_store.py [--squares 2300000] [--upserts 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent

PHASE = r"""
import json, resource, statistics, sys, time
import numpy as np, pandas as pd, shapely, geopandas as gpd
from essmap.model import actor_frame
from essmap.settings import Settings
from essmap.store import open_store

kind, where, action, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
settings = Settings(data_dir=where) if kind == "gpkg" else Settings(database_url=where)
store = open_store(settings)
out = {}
if action == "grid":
    # n squares of 200 m in EPSG:3035 over mainland France, as INSEE's grid lays them
    t0 = time.perf_counter()
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x = 3_300_000 + (i % side) * 200.0
    y = 2_100_000 + (i // side) * 200.0
    squares = shapely.box(x, y, x + 200.0, y + 200.0)
    grid = gpd.GeoDataFrame(
        {"id": [f"CRS3035RES200mN{int(b)}E{int(a)}" for a, b in zip(x, y)],
         "population": np.random.default_rng(1).uniform(0, 40, n).round(1)},
        geometry=squares, crs="EPSG:3035").to_crs("EPSG:4326")
    out["generate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.replace_population_grid(grid)
    out["import_s"] = time.perf_counter() - t0
elif action == "upserts":
    times = []
    for k in range(n):
        row = pd.DataFrame([{"id": f"bench-{k % 5}", "name": f"Marché {k}", "category": "market"}])
        one = actor_frame(row, [shapely.Point(-1.47 + k * 1e-5, 43.49)])
        t0 = time.perf_counter()
        store.upsert_actors(one)
        times.append(time.perf_counter() - t0)
    out["upsert_ms"] = statistics.median(times) * 1000
    out["upsert_p90_ms"] = sorted(times)[int(0.9 * len(times))] * 1000
store.close()
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""


def phase(kind: str, where: str, action: str, n: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", PHASE, kind, where, action, str(n)],
        capture_output=True,
        text=True,
        env={**os.environ, "ESSMAP_INIT_FROM_DEMO": "false"},
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])  # type: ignore[no-any-return]
    raise SystemExit(f"phase {kind} {action} failed:\n{proc.stderr[-3000:]}")


def postgis_databases(count: int) -> tuple[list[str], str | None]:
    """URLs of ``count`` new databases, and the folder of a cluster started here (or None)."""
    import psycopg
    from psycopg import sql

    url = os.environ.get("ESSMAP_TEST_DATABASE_URL")
    folder = None
    if not url:
        folder = tempfile.mkdtemp(prefix="essmap-bench-pg-")
        started = subprocess.run(
            ["bash", str(TOP / "scripts" / "pg_cluster.sh"), "start", folder],
            capture_output=True,
            text=True,
            check=True,
        )
        url = started.stdout.strip().splitlines()[-1]
    urls = []
    with psycopg.connect(url, autocommit=True) as conn:
        for k in range(count):
            name = f"essmap_bench_{os.getpid()}_{k}"
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            info = psycopg.conninfo.conninfo_to_dict(url)
            info["dbname"] = name
            urls.append(psycopg.conninfo.make_conninfo(**{k2: str(v) for k2, v in info.items()}))
    return urls, folder


def drop_databases(urls: list[str]) -> None:
    import psycopg
    from psycopg import sql

    for url in urls:
        info = psycopg.conninfo.conninfo_to_dict(url)
        name = str(info["dbname"])
        info["dbname"] = "postgres"
        with psycopg.connect(
            psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()}), autocommit=True
        ) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squares", type=int, default=2_300_000)
    parser.add_argument("--upserts", type=int, default=40)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="essmap-bench-store-"))
    pg_urls, pg_folder = postgis_databases(2)
    targets = {
        "gpkg": (str(tmp / "with-grid"), str(tmp / "without-grid")),
        "postgis": (pg_urls[0], pg_urls[1]),
    }
    rows = []
    try:
        for kind, (with_grid, without_grid) in targets.items():
            print(f"{kind}: importing a grid of {args.squares:,} squares…", flush=True)
            grid = phase(kind, with_grid, "grid", args.squares)
            # the two stores hold the same few actors; one also holds the grid
            small = phase(kind, without_grid, "upserts", args.upserts)
            big = phase(kind, with_grid, "upserts", args.upserts)
            rows.append((kind, grid, small, big))
    finally:
        if pg_folder:
            subprocess.run(["bash", str(TOP / "scripts" / "pg_cluster.sh"), "stop", pg_folder], check=False)

    print()
    header = ("store", "grid import", "peak RSS", "upsert, no grid", "upsert, grid", "ratio")
    print("{:8} {:>12} {:>9} {:>16} {:>13} {:>6}".format(*header))
    ok = True
    for kind, grid, small, big in rows:
        ratio = big["upsert_ms"] / small["upsert_ms"]
        ok &= ratio <= 1.5
        print(
            f"{kind:8} {grid['import_s']:>10.1f} s {grid['peak_rss_mb']:>6.0f} MB "
            f"{small['upsert_ms']:>13.2f} ms {big['upsert_ms']:>10.2f} ms {ratio:>5.2f}x"
        )
    print()
    print(f"grid generated in {statistics.mean(r[1]['generate_s'] for r in rows):.1f} s (not counted)")
    print(f"target (one upsert with the grid at most 1.5x without): {'met' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.0f} s")
