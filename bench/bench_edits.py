"""Edit round trips through the API at 4 concurrent writers, on both stores, with lost updates
counted by reading back.

For the embedded GeoPackage store and the PostGIS store, one ``essmap serve`` process each (a real
server process, on 127.0.0.1) holding the Bayonne demo set. Each writer has an editor key of its
own and repeats, for the duration:

- an edit of an actor of its own (read it, PATCH it with If-Match): no contention;
- an increment of a counter kept in one shared actor (read it, PATCH ``description`` to the next
  value with If-Match; on 412, read again and retry): every writer contends for it.

Round trips are the PATCH requests that were answered 200 (each includes the server refreshing
what its reads answer from). At the end everything is read back: the shared counter must equal the
number of increments acknowledged, and each writer's own actor its last acknowledged value; any
difference is a lost update (expected: 0).

    python bench/bench_edits.py [--duration 15] [--writers 4] [--store gpkg|postgis|both]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench_api import free_port, wait_for
from bench_store import drop_databases, postgis_databases

from essmap.importing import open_seeded_store
from essmap.keys import create_key
from essmap.settings import Settings

TOP = Path(__file__).resolve().parent.parent
ITEMS = "/collections/actors/items"
SHARED = "otsokop"
#: Demo actors each writer edits alone (one per writer).
OWN = ("amap-saint-esprit", "amap-breuer", "amap-polo-beyris", "amap-patxoki", "amap-mvc-balichon")


@dataclass
class Writer:
    """What one writer did: round trips of its acknowledged edits, conflicts, last values."""

    own: str
    round_trips_s: list[float] = field(default_factory=list)
    increments: int = 0
    conflicts: int = 0
    errors: int = 0
    last_own: str | None = None


def prepare(settings: Settings, writers: int) -> list[str]:
    """Seed the store with the demo set; one editor key per writer (their secrets)."""
    store = open_seeded_store(settings)
    try:
        secrets = [create_key(store, name=f"bench-writer-{w}", role="editor")[1] for w in range(writers)]
        store.patch_actor(SHARED, {"description": "0"}, expected_version=None, author="bench")
    finally:
        store.close()
    return secrets


def start(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(settings.data_dir), "ESSMAP_WRITES_PER_MINUTE": "1000000"}
    if settings.database_url:
        env["ESSMAP_DATABASE_URL"] = settings.database_url
    cmd = [
        sys.executable,
        "-m",
        "essmap",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    return wait_for(subprocess.Popen(cmd, env=env, cwd=TOP, stdout=subprocess.DEVNULL), port)


def patch(
    http: httpx.Client, actor_id: str, properties: dict[str, str], etag: str, auth: str
) -> httpx.Response:
    return http.patch(
        f"{ITEMS}/{actor_id}",
        json={"properties": properties},
        headers={"Authorization": f"Bearer {auth}", "If-Match": etag},
    )


def write(url: str, secret: str, writer: Writer, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        n = 0
        while not stop.is_set():
            n += 1
            # an edit of its own actor
            etag = http.get(f"{ITEMS}/{writer.own}").headers["etag"]
            value = f"édition {n} de {writer.own}"
            t0 = time.perf_counter()
            answer = patch(http, writer.own, {"description": value}, etag, secret)
            if answer.status_code == 200:
                writer.round_trips_s.append(time.perf_counter() - t0)
                writer.last_own = value
            else:
                writer.errors += 1
            # an increment of the shared counter, retried after a conflict
            while not stop.is_set():
                read = http.get(f"{ITEMS}/{SHARED}")
                count = int(read.json()["properties"]["description"])
                t0 = time.perf_counter()
                answer = patch(http, SHARED, {"description": str(count + 1)}, read.headers["etag"], secret)
                if answer.status_code == 200:
                    writer.round_trips_s.append(time.perf_counter() - t0)
                    writer.increments += 1
                    break
                if answer.status_code == 412:
                    writer.conflicts += 1
                    continue
                writer.errors += 1
                break


def run(kind: str, settings: Settings, writers: int, duration_s: float) -> dict[str, float]:
    secrets = prepare(settings, writers)
    port = free_port()
    server = start(settings, port)
    url = f"http://127.0.0.1:{port}"
    try:
        state = [Writer(OWN[w]) for w in range(writers)]
        stop = threading.Event()
        threads = [
            threading.Thread(target=write, args=(url, secrets[w], state[w], stop)) for w in range(writers)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(duration_s)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with httpx.Client(base_url=url, timeout=60) as http:
            counter = int(http.get(f"{ITEMS}/{SHARED}").json()["properties"]["description"])
            own_lost = sum(
                1
                for w in state
                if w.last_own is not None
                and http.get(f"{ITEMS}/{w.own}").json()["properties"]["description"] != w.last_own
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    trips = sorted(t for w in state for t in w.round_trips_s)
    increments = sum(w.increments for w in state)
    return {
        "edits": len(trips),
        "edits_per_s": len(trips) / elapsed,
        "p50_ms": statistics.median(trips) * 1000,
        "p99_ms": trips[min(len(trips) - 1, int(0.99 * len(trips)))] * 1000,
        "conflicts": sum(w.conflicts for w in state),
        "errors": sum(w.errors for w in state),
        "increments": increments,
        "counter": counter,
        "lost": abs(increments - counter) + own_lost,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of writing per store")
    parser.add_argument("--writers", type=int, default=4, choices=range(1, len(OWN) + 1))
    parser.add_argument("--store", choices=("gpkg", "postgis", "both"), default="both")
    args = parser.parse_args()
    kinds = ["gpkg", "postgis"] if args.store == "both" else [args.store]
    folder = Path(tempfile.mkdtemp(prefix="essmap-bench-edits-"))
    pg_urls: list[str] = []
    pg_folder = None
    results = {}
    try:
        for kind in kinds:
            if kind == "gpkg":
                settings = Settings(data_dir=folder / "gpkg")
            else:
                pg_urls, pg_folder = postgis_databases(1)
                settings = Settings(data_dir=folder / "pg", database_url=pg_urls[0])
            print(f"{kind}: {args.writers} writers for {args.duration:.0f} s…", flush=True)
            results[kind] = run(kind, settings, args.writers, args.duration)
    finally:
        if pg_urls:
            drop_databases(pg_urls)
        if pg_folder:
            subprocess.run(["bash", str(TOP / "scripts" / "pg_cluster.sh"), "stop", pg_folder], check=False)
        shutil.rmtree(folder, ignore_errors=True)

    print()
    print(
        f"edit round trips through `essmap serve` (1 process), {args.writers} concurrent writers, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'store':8}{'edits':>7}{'edits/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'412s':>7}{'errors':>8}"
        f"{'counter':>9}{'lost':>6}"
    )
    ok = True
    for kind, r in results.items():
        print(
            f"{kind:8}{r['edits']:>7.0f}{r['edits_per_s']:>9.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['conflicts']:>7.0f}{r['errors']:>8.0f}{r['counter']:>5.0f}/{r['increments']:<3.0f}{r['lost']:>6.0f}"
        )
        ok &= r["lost"] == 0 and r["errors"] == 0
    print(f"lost updates (read back; target 0): {'none' if ok else 'SOME'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
