"""Load benchmark of the HTTP API: /nearest against a trivial endpoint (/health) of the same app.

The server (``essmap serve``: uvicorn, one process per core unless ``--workers`` says otherwise)
and the load generator (wrk, from Debian: ``apt-get install -y wrk``) run as separate processes
on 127.0.0.1. The data directory is temporary: the Bayonne demo set plus synthetic actors spread
over the Pays Basque. Each /nearest request asks for a different random point (k=3, one request
in four with a category filter). /health and /nearest are both ordinary routes of the app (an
included router, a query parameter model, the repeated-parameter check, the index from the app's
cache). For reference, the same uvicorn also serves a bare ASGI app: the server's own per-request
floor.

Prints, in one run, req/s and p50/p99 latency of every round for the three (alternated, so that
background load hits all alike), and whether the targets hold on the medians of the rounds:
/nearest at least 0.6x the trivial endpoint's req/s, p99 at most 10 ms at 16 connections, zero
errors.

With ``--store postgis`` (or ``both``), the same data is also loaded into a PostGIS database
(``ESSMAP_TEST_DATABASE_URL``, or a throwaway cluster started with ``scripts/pg_cluster.sh``) and a
second ``essmap serve`` answers /nearest from it, alternated with the others: its req/s against the
embedded store's (target: at least 0.5x).

    python bench/bench_api.py [--actors 5000] [--duration 10] [--connections 16] [--workers N]
                              [--store gpkg|postgis|both]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx
import numpy as np
import pandas as pd
import shapely

from essmap.importing import open_seeded_store
from essmap.model import CATEGORIES, actor_frame
from essmap.settings import Settings

TOP = Path(__file__).resolve().parent.parent
NEAREST_PG = "/nearest (PostGIS)"

# Pays Basque and southern Landes, lon/lat WGS 84
WEST, SOUTH, EAST, NORTH = -1.80, 43.25, -1.10, 43.60

LUA_COMMON = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    "RESULT {\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, \\"status_errors\\": %d, "
    .. "\\"p50_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d}\\n",
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""

LUA_NEAREST = """
math.randomseed(%(seed)d)
local paths = {}
local categories = {"amap_delivery_point", "market", "cooperative_grocery", "urban_farm"}
for i = 1, 4096 do
  local lon = %(west)f + math.random() * %(width)f
  local lat = %(south)f + math.random() * %(height)f
  local path = string.format("/nearest?lon=%%.5f&lat=%%.5f&k=3", lon, lat)
  if i %% 4 == 0 then
    path = path .. "&category=" .. categories[(i / 4) %% #categories + 1]
  end
  paths[i] = path
end
local n = 0
request = function()
  n = n %% #paths + 1
  return wrk.format("GET", paths[n])
end
"""


def synthetic_actors(count: int, seed: int = 7) -> tuple[pd.DataFrame, list[shapely.Point]]:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(WEST, EAST, count)
    lat = rng.uniform(SOUTH, NORTH, count)
    frame = pd.DataFrame(
        {
            "id": [f"bench-{i}" for i in range(count)],
            "name": [f"Acteur {i}" for i in range(count)],
            "category": rng.choice(list(CATEGORIES), count),
            "location_precision": "exact",
        }
    )
    return frame, [shapely.Point(x, y) for x, y in zip(lon, lat, strict=True)]


def prepare_data(folder: Path, actors: int, database_url: str | None = None) -> Settings:
    settings = Settings(data_dir=folder, database_url=database_url)
    store = open_seeded_store(settings)  # seeded with the demo set
    frame, points = synthetic_actors(actors)
    store.upsert_actors(actor_frame(frame, points))
    store.close()
    return settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FLOOR_APP = """
BODY = b'{"status":"ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
"""


def start_floor(folder: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """The same uvicorn serving a bare ASGI app: the per-request floor of the server itself."""
    cmd = [
        sys.executable, "-m", "uvicorn", "floor:app", "--app-dir", str(folder),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return wait_for(subprocess.Popen(cmd, cwd=folder), port)


def start_server(
    data_dir: Path, port: int, workers: int, database_url: str | None = None, log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """``essmap serve`` as a user runs it, without the access log (one line per request); its
    log goes to ``log`` (this process's standard error by default)."""
    env = {**os.environ, "ESSMAP_DATA_DIR": str(data_dir)}
    if database_url:
        env["ESSMAP_DATABASE_URL"] = database_url
    cmd = [
        sys.executable, "-m", "essmap", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
    ]  # fmt: skip
    return wait_for(subprocess.Popen(cmd, env=env, cwd=TOP, stdout=subprocess.DEVNULL, stderr=log), port)


def wait_for(proc: subprocess.Popen[bytes], port: int) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def run_wrk(url: str, script: str, *, connections: int, threads: int, duration: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + LUA_COMMON)
    try:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s"]
        out = subprocess.run(
            [*command, "-s", lua.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(lua.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actors", type=int, default=5000, help="synthetic actors added to the demo set")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server processes (default: one per core)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternate the endpoints this many times")
    parser.add_argument(
        "--store",
        choices=("gpkg", "postgis", "both"),
        default="gpkg",
        help="also serve /nearest from a PostGIS store (postgis and both are the same)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install -y wrk` (Debian)", file=sys.stderr)
        return 2

    folder = Path(tempfile.mkdtemp(prefix="essmap-bench-api-"))
    postgis = args.store != "gpkg"
    names: tuple[str, ...] = ("trivial (/health)", "/nearest", "uvicorn floor")
    if postgis:
        names += (NEAREST_PG,)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    pg_urls: list[str] = []
    pg_folder = None
    try:
        prepare_data(folder / "data", args.actors)
        (folder / "floor.py").write_text(FLOOR_APP)
        essmap_port, floor_port, pg_port = free_port(), free_port(), free_port()
        servers = [
            start_server(folder / "data", essmap_port, args.workers),
            start_floor(folder, floor_port, args.workers),
        ]
        if postgis:
            from bench_store import postgis_databases

            pg_urls, pg_folder = postgis_databases(1)
            prepare_data(folder / "pg", args.actors, pg_urls[0])
            servers.append(start_server(folder / "pg", pg_port, args.workers, pg_urls[0]))
        try:
            nearest_script = LUA_NEAREST % {
                "seed": 42, "west": WEST, "south": SOUTH, "width": EAST - WEST, "height": NORTH - SOUTH,
            }  # fmt: skip
            trivial_script = 'request = function() return wrk.format("GET", "/health") end\n'
            targets = {
                "trivial (/health)": (f"http://127.0.0.1:{essmap_port}", trivial_script),
                "/nearest": (f"http://127.0.0.1:{essmap_port}", nearest_script),
                "uvicorn floor": (f"http://127.0.0.1:{floor_port}", trivial_script),
            }
            if postgis:
                targets[NEAREST_PG] = (f"http://127.0.0.1:{pg_port}", nearest_script)
            # warm-up pass of each (not counted): first-use caches, interpreter, TCP
            for url, script in targets.values():
                run_wrk(url, script, connections=args.connections, threads=args.threads, duration=2)
            for _ in range(args.rounds):  # alternate, so that background load hits all alike
                for name, (url, script) in targets.items():
                    load = {"connections": args.connections, "threads": args.threads}
                    runs[name].append(run_wrk(url, script, duration=args.duration, **load))
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    finally:
        if pg_folder:
            subprocess.run(["bash", str(TOP / "scripts" / "pg_cluster.sh"), "stop", pg_folder], check=False)
        elif pg_urls:
            from bench_store import drop_databases

            drop_databases(pg_urls)
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"essmap API load benchmark: `essmap serve --workers {args.workers}` and wrk ({args.threads} thread) "
        f"on 127.0.0.1, {os.cpu_count()} cores"
    )
    print(
        f"data: demo set + {args.actors} synthetic actors; {args.connections} connections; "
        f"{args.rounds} rounds of {args.duration} s per endpoint, alternated"
    )
    print("uvicorn floor: a bare ASGI app answering the /health body under the same uvicorn, for reference")
    header = ("req/s", "p50 ms", "p99 ms", "max ms")
    columns = "".join(f"{h:>10}" for h in header)
    print(f"{'endpoint':<20}{'round':>6}{columns}{'requests':>11}{'errors':>8}")
    for name in names:
        for n, r in enumerate(runs[name], 1):
            print(
                f"{name:<20}{n:>6}{r['rps']:>10.0f}{r['p50_us'] / 1000:>10.2f}{r['p99_us'] / 1000:>10.2f}"
                f"{r['max_us'] / 1000:>10.2f}{int(r['requests']):>11}{int(r['errors']):>8}"
            )
    ratios = [n["rps"] / t["rps"] for n, t in zip(runs["/nearest"], runs["trivial (/health)"], strict=True)]
    floor = [n["rps"] / f["rps"] for n, f in zip(runs["/nearest"], runs["uvicorn floor"], strict=True)]
    p99s = [r["p99_us"] / 1000 for r in runs["/nearest"]]
    ratio, p99_ms = statistics.median(ratios), statistics.median(p99s)
    errors = sum(int(r["errors"]) for results in runs.values() for r in results)
    print(f"/nearest req/s = {statistics.median(floor):.2f} x the uvicorn floor (median of the rounds)")
    checks = [
        (f"/nearest req/s = {ratio:.2f} x trivial, median of the rounds (target >= 0.6)", ratio >= 0.6),
        (
            f"/nearest p99 = {p99_ms:.2f} ms at {args.connections} connections, median of the rounds "
            f"(worst {max(p99s):.2f} ms; target <= 10 ms)",
            p99_ms <= 10,
        ),
        (f"errors = {errors} (target 0)", errors == 0),
    ]
    if postgis:
        pairs = zip(runs[NEAREST_PG], runs["/nearest"], strict=True)
        pg = statistics.median(p["rps"] / e["rps"] for p, e in pairs)
        text = f"/nearest req/s with PostGIS = {pg:.2f} x the embedded store, median (target >= 0.5)"
        checks.append((text, pg >= 0.5))
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
