"""Geocoding benchmark: the local address index at the size of a département.

In one run, on generated realistic BAN rows (100,000 addresses of the Bayonne area by default,
written as the published semicolon-separated file):

- reading the file (``addresses_from_ban``), importing it into a GeoPackage store, loading it back
  and building the in-memory index, with the index's size;
- geocoding 10,000 addresses written as people write them (abbreviations, no accents, lower case,
  no postcode…): total time (target: at most 10 s) and how many found the right address;
- autocompletion as a resident types: every keystroke of 1,000 addresses from the third character,
  one search per keystroke; p50, p95, p99 (target: at most 20 ms) and max latency, in process.

    python bench/bench_geocoding.py [--addresses 100000] [--queries 10000] [--typed 1000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from essmap.geocoding import LocalGeocoder, fold
from essmap.importing import import_addresses
from essmap.sources.addresses import addresses_from_ban
from essmap.store import GeoPackageStore
from tests.ban_support import synthetic_rows, write_ban

_SHORT = {"Avenue": "av.", "Boulevard": "bd", "Chemin": "ch.", "Place": "pl.", "Allée": "all.", "Rue": "r."}


def as_typed(row: dict[str, str], rng: random.Random) -> str:
    """An address as a person writes it: one of several habits, chosen at random."""
    number = f"{row['numero']} {row['rep']}".strip()
    street, postcode, city = row["nom_voie"], row["code_postal"], row["nom_commune"]
    habit = rng.randrange(5)
    if habit == 0:
        return f"{number} {street} {postcode} {city}"
    if habit == 1:
        kind, _, rest = street.partition(" ")
        return f"{number} {_SHORT.get(kind, kind)} {rest}, {city}"
    if habit == 2:
        return fold(f"{number} {street} {city}")
    if habit == 3:
        return f"{number}, {street.upper()} {postcode}"
    return f"{number} {street} {city}".lower()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--typed", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        rows = synthetic_rows(args.addresses, seed=args.seed)
        path = write_ban(folder / "adresses-64.csv", rows)
        generated = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6

        started = time.perf_counter()
        parsed = addresses_from_ban(path)
        read_s = time.perf_counter() - started
        store = GeoPackageStore(folder / "essmap.gpkg")
        started = time.perf_counter()
        import_addresses(store, path)
        import_s = time.perf_counter() - started
        started = time.perf_counter()
        table = store.load_addresses()
        load_s = time.perf_counter() - started
        store.close()
        started = time.perf_counter()
        geocoder = LocalGeocoder(table)
        build_s = time.perf_counter() - started
        index_mb = geocoder.nbytes / 1e6
        streets = geocoder.street_count

        sample = rng.sample(rows, min(args.queries, len(rows)))
        texts = [as_typed(row, rng) for row in sample]
        started = time.perf_counter()
        found = [geocoder.search(text, limit=1, autocomplete=False) for text in texts]
        batch_s = time.perf_counter() - started
        right = sum(bool(f) and f[0].id == row["id"] for f, row in zip(found, sample, strict=True))

        latencies: list[float] = []
        typed_sample = rng.sample(rows, min(args.typed, len(rows)))
        for row in typed_sample:
            full = f"{row['numero']} {row['nom_voie']} {row['nom_commune']}".lower()
            for end in range(3, len(full) + 1):
                t0 = time.perf_counter()
                geocoder.search(full[:end], limit=5)
                latencies.append(time.perf_counter() - t0)
        ms = np.asarray(latencies) * 1000

    print(
        f"addresses: {len(parsed.table):,} in {streets:,} streets "
        f"({size_mb:.1f} MB BAN file, {generated:.1f} s to generate)"
    )
    print(f"read BAN file        {read_s:8.2f} s")
    print(f"import into store    {import_s:8.2f} s (GeoPackage, read + validate + write)")
    print(f"load from store      {load_s:8.2f} s")
    print(f"build index          {build_s:8.2f} s   index arrays {index_mb:.1f} MB")
    print()
    print(
        f"geocode {len(texts):,} addresses: {batch_s:.2f} s ({1000 * batch_s / len(texts):.3f} ms each), "
        f"right address first: {right:,} ({100 * right / len(texts):.1f} %)"
    )
    print(f"  target at most 10 s: {'met' if batch_s <= 10 else 'MISSED'}")
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    print(
        f"autocomplete, {len(ms):,} keystrokes of {len(typed_sample):,} addresses: "
        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms, max {ms.max():.2f} ms"
    )
    print(f"  target p99 at most 20 ms: {'met' if p99 <= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
