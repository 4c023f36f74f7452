"""Availability under abuse (issue 10): the API keeps answering while it is loaded with the heaviest
requests it allows, and while 100,000 actors are imported into its store.

Separate processes on 127.0.0.1: the server (``essmap serve --workers 2 --no-access-log``), the
heavy load (wrk, 8 connections cycling through the heaviest allowed ``POST /locate`` bodies,
``max_batch_results`` answers each, and ``/within`` at ``max_radius_m`` with the largest page),
a probe measuring ``/health`` and ``/nearest`` (this script, run again as ``--probe``: one request
every few milliseconds on a few connections, latency measured per request), and the import
(``essmap import actors`` into the server's data directory, as a user would do).

1. Heavy phase: the probe's p50/p99/max for /health and /nearest while the 8 heavy clients run.
2. Import phase: wrk loads /nearest (random points) before, during and after the import of
   100,000 actors, until the server's processes have rebuilt what they serve (as their log says)
   and 8 s more; answers per second, second by second.

Targets: p99 at most 100 ms during the heavy phase, no 5xx in either, and no one-second window
with fewer than half the usual answers (the median second before the import).

The import and the server's rebuilds run at the background niceness (``ESSMAP_BACKGROUND_NICENESS``,
10 by default), and the rebuilds take at most the background share of a processor
(``ESSMAP_BACKGROUND_SHARE``, 0.25); ``--background-niceness 0 --background-share 1`` measures
them at the usual priority and unpaced, for comparison.

    python bench/bench_abuse.py [--actors 20000] [--import-actors 100000] [--heavy-seconds 20]
                                [--background-niceness N] [--background-share S]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from bench_api import EAST, LUA_NEAREST, NORTH, SOUTH, WEST, free_port, prepare_data, start_server

from essmap.model import CATEGORIES
from essmap.settings import Settings

TOP = Path(__file__).resolve().parent.parent

LUA_HEAVY = """
local requests = {}
local bodies = {%(bodies)s}
local paths = {%(paths)s}
init = function(args)
  -- formatted here, once wrk knows the Host header (the server refuses a request without one)
  for i = 1, #bodies do
    local headers = {["Content-Type"] = "application/geo+json"}
    requests[#requests + 1] = wrk.format("POST", paths[i], headers, bodies[i])
  end
  %(within)s
end
local n = 0
request = function()
  n = n %% #requests + 1
  return requests[n]
end
"""

LUA_SECONDS = """
counts = {}
fivexx = 0
local threads = {}
setup = function(thread) table.insert(threads, thread) end
response = function(status, headers, body)
  local now = os.time()
  counts[now] = (counts[now] or 0) + 1
  if status >= 500 then fivexx = fivexx + 1 end
end
done = function(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for second, count in pairs(thread:get("counts")) do
      io.write(string.format("SECOND %d %d\\n", second, count))
    end
    io.write(string.format("FIVEXX %d\\n", thread:get("fivexx")))
  end
  io.write(string.format("RESULT %d %d %d %d\\n", summary.requests, summary.errors.status,
    latency:percentile(99), latency.max))
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def points_body(count: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(WEST, EAST, count)
    lat = rng.uniform(SOUTH, NORTH, count)
    features = [
        {
            "type": "Feature",
            "id": f"p{i}",
            "geometry": {"type": "Point", "coordinates": [round(x, 5), round(y, 5)]},
        }
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))


def heavy_script(settings: Settings) -> str:
    """wrk script: the heaviest allowed batches (k x points = max_batch_results) and within pages."""
    most = settings.max_batch_results
    shapes = [(min(settings.max_batch_points, most // k), k) for k in (10, settings.max_k)]
    bodies = [lua_string(points_body(n, seed=k)) for n, k in shapes]
    paths = [lua_string(f"/locate?k={k}") for _, k in shapes]
    centre = ((WEST + EAST) / 2, (SOUTH + NORTH) / 2)
    within = (
        'requests[#requests + 1] = wrk.format("GET", '
        + lua_string(
            f"/within?lon={centre[0]:.4f}&lat={centre[1]:.4f}&radius_m={settings.max_radius_m:g}"
            f"&limit={settings.items_max_limit}"
        )
        + ")\n"
    ) * 2
    return LUA_HEAVY % {"bodies": ",".join(bodies), "paths": ",".join(paths), "within": within}


def start_wrk(
    url: str, script: str, *, connections: int, seconds: int, folder: Path
) -> subprocess.Popen[str]:
    lua = folder / f"script-{time.monotonic_ns()}.lua"
    lua.write_text(script)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", str(lua), url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# --- the probe (run as a separate process) ---------------------------------------------------------
def probe(url: str, seconds: float, interval_s: float, connections: int) -> None:
    """Alternate /health and /nearest every ``interval_s``; print latencies (ms) and statuses as JSON."""
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(connections)]
    rng = random.Random(5)
    out: dict[str, dict[str, list[float]]] = {
        "/health": {"ms": [], "status": []},
        "/nearest": {"ms": [], "status": []},
    }
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        path = "/health" if n % 2 == 0 else "/nearest"
        target = path
        if path == "/nearest":
            target += f"?lon={rng.uniform(WEST, EAST):.5f}&lat={rng.uniform(SOUTH, NORTH):.5f}&k=3"
        started = time.perf_counter()
        try:
            status = clients[n % connections].get(target).status_code
        except httpx.HTTPError:
            status = 0
        out[path]["ms"].append((time.perf_counter() - started) * 1000)
        out[path]["status"].append(status)
        n += 1
        time.sleep(max(0.0, interval_s - (time.perf_counter() - started)))
    print("PROBE " + json.dumps(out))


def start_probe(url: str, seconds: float) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--probe", url, "--probe-seconds", str(seconds)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=TOP)


def probe_result(proc: subprocess.Popen[str]) -> dict[str, dict[str, list[float]]]:
    out, _ = proc.communicate(timeout=600)
    line = next(x for x in out.splitlines() if x.startswith("PROBE "))
    result: dict[str, dict[str, list[float]]] = json.loads(line.removeprefix("PROBE "))
    return result


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# --- the import ---------------------------------------------------------------------------------
def actors_csv(path: Path, count: int) -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "id": [f"import-{i}" for i in range(count)],
            "name": [f"Acteur importé {i}" for i in range(count)],
            "category": rng.choice(list(CATEGORIES), count),
            "lon": rng.uniform(WEST, EAST, count).round(5),
            "lat": rng.uniform(SOUTH, NORTH, count).round(5),
            "location_precision": "exact",
        }
    )
    frame.to_csv(path, index=False)


def wrk_seconds(out: str) -> tuple[dict[int, int], int, list[int]]:
    seconds: dict[int, int] = {}
    fivexx = 0
    result: list[int] = []
    for line in out.splitlines():
        if line.startswith("SECOND "):
            _, second, count = line.split()
            seconds[int(second)] = seconds.get(int(second), 0) + int(count)
        elif line.startswith("FIVEXX "):
            fivexx += int(line.split()[1])
        elif line.startswith("RESULT "):
            result = [int(v) for v in line.split()[1:]]
    return seconds, fivexx, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actors", type=int, default=20_000, help="synthetic actors before the import")
    parser.add_argument("--import-actors", type=int, default=100_000)
    parser.add_argument("--heavy-seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--background-niceness",
        type=int,
        default=None,
        help="ESSMAP_BACKGROUND_NICENESS for the server and the import (default: the setting's, 10)",
    )
    parser.add_argument(
        "--background-share",
        type=float,
        default=None,
        help="ESSMAP_BACKGROUND_SHARE for the server's rebuilds (default: the setting's, 0.25)",
    )
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--probe-seconds", type=float, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe, args.probe_seconds, interval_s=0.01, connections=4)
        return 0
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install -y wrk` (Debian)", file=sys.stderr)
        return 2

    if args.background_niceness is not None:  # the server and the import inherit it
        os.environ["ESSMAP_BACKGROUND_NICENESS"] = str(args.background_niceness)
    if args.background_share is not None:
        os.environ["ESSMAP_BACKGROUND_SHARE"] = str(args.background_share)
    background = Settings()
    folder = Path(tempfile.mkdtemp(prefix="essmap-bench-abuse-"))
    checks: list[tuple[str, bool]] = []
    try:
        settings = prepare_data(folder / "data", args.actors)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server_log = folder / "server.log"  # essmap's log: when each process has built what
        with server_log.open("wb") as log:
            server = start_server(folder / "data", port, args.workers, log=log)
        try:
            print(
                f"essmap availability benchmark: `essmap serve --workers {args.workers}`, "
                f"{os.cpu_count()} cores; demo set + {args.actors} actors; background niceness "
                f"{background.background_niceness} (imports and rebuilds), "
                f"share {background.background_share:g} (rebuilds)"
            )
            # --- 1. heavy requests ---------------------------------------------------------------
            heavy = start_wrk(
                url, heavy_script(settings), connections=8, seconds=args.heavy_seconds, folder=folder
            )
            time.sleep(2)  # the heavy requests are under way
            probed = probe_result(start_probe(url, args.heavy_seconds - 4))
            heavy_out, _ = heavy.communicate(timeout=600)
            print(
                f"\n1. {args.heavy_seconds} s of 8 clients sending the heaviest allowed requests: "
                f"POST /locate with {settings.max_batch_results} answers (points x k) and /within at "
                f"{settings.max_radius_m:g} m, pages of {settings.items_max_limit}"
            )
            heavy_errors = _status_errors(heavy_out)
            print(f"   heavy requests answered: {_count(heavy_out)}; non-2xx/3xx: {heavy_errors}")
            print(f"   {'probe':<10}{'answers':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-200':>9}")
            for path, data in probed.items():
                ms = data["ms"]
                bad = sum(1 for s in data["status"] if s != 200)
                p99 = percentile(ms, 99)
                print(
                    f"   {path:<10}{len(ms):>8}{percentile(ms, 50):>9.1f}{p99:>9.1f}{max(ms):>9.1f}{bad:>9}"
                )
                checks.append((f"{path} p99 = {p99:.1f} ms under heavy load (target <= 100 ms)", p99 <= 100))
                checks.append((f"{path} non-200 answers under heavy load = {bad} (target 0)", bad == 0))
            checks.append((f"heavy requests not answered 2xx = {heavy_errors} (target 0)", heavy_errors == 0))

            # --- 2. import of 100,000 actors into the running server -----------------------------
            csv_path = folder / "import.csv"
            actors_csv(csv_path, args.import_actors)
            expected = httpx.get(f"{url}/collections/actors/items?limit=1").json()["numberMatched"]
            expected += args.import_actors
            load = start_wrk(
                url, LUA_NEAREST % _nearest_params() + LUA_SECONDS, connections=8, seconds=3600, folder=folder
            )
            try:
                time.sleep(8)  # the usual answers per second
                env = {**os.environ, "ESSMAP_DATA_DIR": str(settings.data_dir)}
                indexes_before = _builds(server_log)[2]
                import_start = time.time()
                done = subprocess.run(
                    [sys.executable, "-m", "essmap", "import", "actors", str(csv_path)],
                    env=env, cwd=TOP, capture_output=True, text=True,
                )  # fmt: skip
                import_end = time.time()
                if done.returncode != 0:
                    print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
                served_at = _wait_for_new_data(url, expected, deadline_s=600)
                rebuilt_at = _wait_for_rebuilds(server_log, indexes_before, deadline_s=600)
                time.sleep(8)
            finally:
                load.send_signal(signal.SIGINT)
                load_out, _ = load.communicate(timeout=120)
        finally:
            server.terminate()
            server.wait(timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    seconds, fivexx, result = wrk_seconds(load_out)
    timeline = sorted(seconds.items())[1:-1]  # the first and last seconds are partial
    usual = statistics.median([c for s, c in timeline if s < int(import_start)])
    print(
        f"\n2. import of {args.import_actors} actors (`essmap import actors`, rc {done.returncode}) into the "
        f"running server, /nearest loaded by wrk (8 connections)"
    )
    print(
        f"   import {import_end - import_start:.1f} s; new data answered {served_at - import_end:.1f} s "
        f"after it; the server's processes had rebuilt what they serve {rebuilt_at - import_end:.1f} s "
        "after it"
    )
    print(f"   usual answers per second (before the import): {usual:.0f}")
    print("   second  answers  phase")
    for second, count in timeline:
        phase = "before"
        if second >= int(import_start):
            phase = (
                "import"
                if second <= int(import_end)
                else ("rebuild" if math.isnan(rebuilt_at) or second <= int(rebuilt_at) else "after")
            )
        mark = "  <- below half" if count < usual / 2 else ""
        print(f"   {second - int(import_start):>+6}  {count:>7}  {phase}{mark}")
    low = min(count for _, count in timeline)
    print(
        f"   requests {result[0]}, p99 {result[2] / 1000:.1f} ms, max {result[3] / 1000:.1f} ms, 5xx {fivexx}"
    )
    checks.append(
        (
            f"import: lowest second = {low} answers, {low / usual:.2f} x usual (target >= 0.5)",
            low >= usual / 2,
        )
    )
    checks.append((f"import: 5xx = {fivexx} (target 0)", fivexx == 0))
    checks.append(
        (
            "import: new data answered, and rebuilds ended, within 600 s (NaN: not)",
            not math.isnan(served_at) and not math.isnan(rebuilt_at),
        )
    )
    checks.append((f"import: rc {done.returncode} (target 0)", done.returncode == 0))
    print()
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    return 0 if all(ok for _, ok in checks) else 1


def _nearest_params() -> dict[str, float]:
    return {"seed": 42, "west": WEST, "south": SOUTH, "width": EAST - WEST, "height": NORTH - SOUTH}


def _count(out: str) -> int:
    for line in out.splitlines():
        if "requests in" in line:
            return int(line.split()[0])
    return 0


def _status_errors(out: str) -> int:
    for line in out.splitlines():
        if "Non-2xx or 3xx responses" in line:
            return int(line.split(":")[1])
    return 0


def _builds(log: Path) -> tuple[int, int, int]:
    """Builds the server's processes have started, ended (built or failed), and spatial indexes
    built, from their log."""
    text = log.read_text(errors="replace")
    ended = text.count("INFO:     built ") + text.count("WARNING:  building ")
    return text.count("INFO:     building "), ended, text.count("built ('proximity',) for store revision")


def _wait_for_rebuilds(log: Path, indexes_before: int, deadline_s: float) -> float:
    """When the server's processes have rebuilt a spatial index since ``indexes_before`` were
    built, and have no build under way (a process that nobody asks for /nearest does not rebuild
    its index)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        started, ended, indexes = _builds(log)
        if indexes > indexes_before and ended >= started:
            return time.time()
        time.sleep(0.2)
    return float("nan")


def _wait_for_new_data(url: str, expected: int, deadline_s: float) -> float:
    """When the server first answers with the imported actors (``expected`` actors in all)."""
    end = time.monotonic() + deadline_s
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() < end:
            body = client.get("/collections/actors/items?limit=1").json()
            if body["numberMatched"] >= expected:
                return time.time()
            time.sleep(0.2)
    return float("nan")


if __name__ == "__main__":
    sys.exit(main())
