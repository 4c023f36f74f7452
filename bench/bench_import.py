"""Benchmark of actor imports with many actors of one name (likely-duplicate detection).

Each scenario writes a CSV of actors around Bayonne (fixed seed) and imports it with
``essmap.importing.import_actors`` into a new GeoPackage store, timing the whole import and,
separately, ``find_duplicates`` on the same table, with the peak resident memory of the process:

- 10,000 actors of one name spread over 10 km (the issue's 55 s import);
- 5,000 actors of one name within 50 m of one another (the issue's 300 s and 7.3 GB);
- 20,000 actors of one name within 50 m (200 million pairs: only a method that never lists
  pairs can do it);
- 100,000 actors of 20,000 names (five of each), spread over 30 km.

Run: ``python bench/bench_import.py [--only NAME ...]``. Not run by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from essmap.geo import transformer
from essmap.importing import find_duplicates, import_actors
from essmap.model import LAMBERT93, WGS84
from essmap.store import GeoPackageStore

BAYONNE_L93 = (342_000.0, 6_278_000.0)


def _status(key: str) -> float:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith(key):
            return int(row.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def actors_csv(path: Path, names: list[str], xy: np.ndarray) -> None:
    """Actors at metric offsets from Bayonne (Lambert-93), written as a lon/lat CSV."""
    x0, y0 = BAYONNE_L93
    lon, lat = transformer(LAMBERT93, WGS84).transform(x0 + xy[:, 0], y0 + xy[:, 1])
    lines = ["id,name,category,lon,lat"]
    lines += [
        f"a{i:06d},{n},market,{a:.7f},{b:.7f}"
        for i, (n, a, b) in enumerate(zip(names, lon, lat, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def scenarios(seed: int) -> dict[str, Callable[[], tuple[list[str], np.ndarray]]]:
    """Each scenario with its own generator: the same data whichever are run."""

    def rng(n: int) -> np.random.Generator:
        return np.random.default_rng([seed, n])

    return {
        "10k-one-name-10km": lambda: (["Marché bio"] * 10_000, rng(1).uniform(0, 10_000, (10_000, 2))),
        "5k-one-name-50m": lambda: (["Marché bio"] * 5_000, rng(2).uniform(0, 35, (5_000, 2))),
        "20k-one-name-50m": lambda: (["Marché bio"] * 20_000, rng(3).uniform(0, 35, (20_000, 2))),
        "100k-20k-names-30km": lambda: (
            [f"Acteur {i % 20_000}" for i in range(100_000)],
            rng(4).uniform(0, 30_000, (100_000, 2)),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--only", nargs="*", help="scenario names to run (all by default)")
    args = parser.parse_args()
    for name, make in scenarios(args.seed).items():
        if args.only and name not in args.only:
            continue
        names, xy = make()
        with tempfile.TemporaryDirectory() as folder:
            csv = Path(folder) / "actors.csv"
            actors_csv(csv, names, xy)
            store = GeoPackageStore(Path(folder) / "essmap.gpkg")
            reset_peak()
            t0 = time.perf_counter()
            report = import_actors(store, csv)
            import_s = time.perf_counter() - t0
            peak = _status("VmHWM:")
            table = store.load_actors()
            t0 = time.perf_counter()
            groups = find_duplicates(table)
            dup_s = time.perf_counter() - t0
            store.close()
        print(
            f"{name:<22} {len(names):>7} actors  import {import_s:7.2f} s  find_duplicates {dup_s:6.2f} s  "
            f"groups {len(groups):>6}  warnings {len(report.warnings):>3}  peak RSS {peak:6.0f} MB"
        )


if __name__ == "__main__":
    main()
