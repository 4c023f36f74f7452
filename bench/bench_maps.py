"""Benchmark: the resident map for 50,000 actors, built and loaded in Chromium.

Targets: build at most 1 s, HTML at most 3 MB, load at most 2 s. Printed beside the same figures
for a plain folium map of 1,000 default markers (made offline the same way, so that it loads with
no network), measured in the same run.

Run: ``python bench/bench_maps.py [--actors 50000] [--baseline 1000] [--runs 3]``
(needs Debian's Chromium at /usr/bin/chromium, Playwright, and ``scripts/assets.sh`` run once).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import shapely
from playwright.sync_api import Page, sync_playwright

from essmap.importing import open_seeded_store
from essmap.maps.assets import make_offline
from essmap.maps.resident import render_resident_map
from essmap.model import CATEGORIES, actor_frame
from essmap.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STREETS = [
    "rue Pannecau",
    "rue des Tonneliers",
    "avenue du Maréchal Foch",
    "quai Amiral Jauréguiberry",
    "rue Maubec",
    "boulevard Alsace-Lorraine",
    "rue Sainte-Catherine",
    "allée de Glain",
    "chemin de Loustaounaou",
    "avenue de Lattre de Tassigny",
]
COMMUNES = ["Bayonne", "Anglet", "Biarritz", "Boucau", "Tarnos", "Saint-Pierre-d'Irube"]
WHAT = [
    "Distribution hebdomadaire de paniers de légumes bio.",
    "Épicerie coopérative et participative, produits locaux.",
    "Jardin partagé ouvert aux habitants du quartier.",
    "Marché de producteurs locaux.",
    "Association d'éducation populaire, ateliers cuisine.",
    "Vente directe à la ferme : œufs, volailles, légumes.",
]
WHEN = [
    "Mardi 18 h – 19 h 30",
    "Jeudi 17 h 30 – 19 h",
    "Samedi 8 h – 13 h",
    "Du lundi au samedi, 9 h – 19 h",
    None,
]


def synthetic_actors(n: int, seed: int = 2024) -> object:
    """``n`` actors spread over the Bayonne agglomeration, with realistic text in every field."""
    rng = np.random.default_rng(seed)
    lon = -1.56 + rng.random(n) * 0.16
    lat = 43.44 + rng.random(n) * 0.12
    frame = pd.DataFrame(
        {
            "id": [f"actor-{k}" for k in range(n)],
            "name": [f"{['AMAP', 'Épicerie', 'Jardin', 'Marché', 'Ferme'][k % 5]} n° {k}" for k in range(n)],
            "category": rng.choice(list(CATEGORIES), n),
            "address": [
                f"{rng.integers(1, 120)} {STREETS[k % len(STREETS)]}, {COMMUNES[k % len(COMMUNES)]}"
                for k in range(n)
            ],
            "commune": [COMMUNES[k % len(COMMUNES)] for k in range(n)],
            "location_precision": rng.choice(["exact", "building", "street", "neighbourhood"], n),
            "description": rng.choice(WHAT, n),
            "schedule": [WHEN[k % len(WHEN)] for k in range(n)],
            "source": rng.choice(["annuaire des circuits courts 2025", "recensement GIP-DSU 2024"], n),
        }
    )
    return actor_frame(frame, shapely.points(lon, lat))


def folium_baseline(n: int, seed: int = 7) -> str:
    """A folium map of ``n`` plain markers (default icon and a tooltip), with the same offline assets.

    No popups: folium builds popups with jQuery, which essmap does not ship.
    """
    rng = np.random.default_rng(seed)
    m = folium.Map(location=[43.49, -1.48], zoom_start=13, tiles=None)
    for k in range(n):
        folium.Marker(
            [43.44 + rng.random() * 0.12, -1.56 + rng.random() * 0.16],
            tooltip=f"Acteur {k}",
        ).add_to(m)
    root = m.get_root()
    make_offline(root)  # type: ignore[arg-type]
    return str(root.render())


def timed(fn: Callable[[], str], runs: int) -> tuple[str, list[float]]:
    times = []
    out = ""
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, times


def load_times(page: Page, path: Path, ready_js: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock seconds from navigation to ready, and the page's own performance.now() at ready."""
    walls, perfs = [], []
    for _ in range(runs):
        page.goto("about:blank")
        start = time.perf_counter()
        page.goto(path.as_uri(), wait_until="commit")
        page.wait_for_function(ready_js, timeout=60_000, polling=10)
        walls.append(time.perf_counter() - start)
        perfs.append(float(page.evaluate("window.__ready_ms || performance.now()")) / 1000)
    return walls, perfs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--actors", type=int, default=50_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), tile_url=None)
        store = open_seeded_store(settings)  # seeded with the Bayonne demo set: its QPV outlines
        qpv = store.load_neighbourhoods()
        store.close()
    actors = synthetic_actors(args.actors)

    ours_html, ours_build = timed(
        lambda: render_resident_map(qpv, actors, settings=settings),  # type: ignore[arg-type]
        args.runs,
    )
    base_html, base_build = timed(lambda: folium_baseline(args.baseline), args.runs)

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        ours_path = folder / "resident.html"
        base_path = folder / "folium.html"
        ours_path.write_text(ours_html, encoding="utf-8")
        base_path.write_text(base_html, encoding="utf-8")
        context = pw.chromium.launch_persistent_context(
            str(folder / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 800},
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        ours_wall, ours_perf = load_times(
            page,
            ours_path,
            "window.essmapReady === true && (window.__ready_ms = window.essmapReadyMs)",
            args.runs,
        )
        ours_markers = page.evaluate("document.querySelectorAll('.leaflet-marker-icon').length")
        shown = page.evaluate(
            """() => document.querySelectorAll('.essmap-pin').length
                 + Array.from(document.querySelectorAll('.essmap-cluster[data-count]'))
                        .reduce((s, e) => s + +e.dataset.count, 0)"""
        )
        base_wall, base_perf = load_times(
            page,
            base_path,
            f"document.querySelectorAll('.leaflet-marker-icon').length >= {args.baseline}"
            " && (window.__ready_ms = performance.now())",
            args.runs,
        )
        base_markers = page.evaluate("document.querySelectorAll('.leaflet-marker-icon').length")
        context.close()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    mb = 1024 * 1024
    rows = [
        ("actors / markers in the data", f"{args.actors:,}", f"{args.baseline:,}", ""),
        ("build, first run (s)", f"{ours_build[0]:.3f}", f"{base_build[0]:.3f}", "≤ 1"),
        (f"build, median of {args.runs} (s)", f"{med(ours_build):.3f}", f"{med(base_build):.3f}", "≤ 1"),
        (
            "HTML size (MB)",
            f"{len(ours_html.encode()) / mb:.2f}",
            f"{len(base_html.encode()) / mb:.2f}",
            "≤ 3",
        ),
        (
            f"load to ready, wall clock, median of {args.runs} (s)",
            f"{med(ours_wall):.3f}",
            f"{med(base_wall):.3f}",
            "≤ 2",
        ),
        ("load to ready, page clock, median (s)", f"{med(ours_perf):.3f}", f"{med(base_perf):.3f}", "≤ 2"),
        ("Leaflet markers in the DOM after load", f"{ours_markers:,}", f"{base_markers:,}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':<{width}}  {'essmap resident':>16}  {'folium plain':>14}  target (essmap)")
    for label, ours, base, target in rows:
        print(f"{label:<{width}}  {ours:>16}  {base:>14}  {target}")
    print(f"actors accounted for in the first view (markers + cluster counts): {shown:,} of {args.actors:,}")

    def per_k(seconds: float, n: int) -> str:
        return f"{seconds / n * 1_000_000:.1f} ms"

    print(
        "per 1,000 points: build "
        f"{per_k(med(ours_build), args.actors)} vs {per_k(med(base_build), args.baseline)};"
        f" load {per_k(med(ours_wall), args.actors)} vs {per_k(med(base_wall), args.baseline)}"
    )
    if errors:
        print(f"console errors: {errors[:5]}")
    ok = med(ours_build) <= 1 and len(ours_html.encode()) <= 3 * mb and med(ours_wall) <= 2
    print("targets met" if ok else "TARGETS NOT MET")


if __name__ == "__main__":
    main()
