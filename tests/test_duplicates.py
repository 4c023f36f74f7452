"""Likely duplicates at import: same-name actors close together, found by zone and reported as groups."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from essmap.geo import transformer
from essmap.importing import DUPLICATE_GROUPS_LISTED, find_duplicates, import_actors
from essmap.model import LAMBERT93, WGS84, actor_frame
from essmap.store import GeoPackageStore
from tests.engine_support import BAYONNE_L93

MONTREAL_UTM = "EPSG:32618"  # WGS 84 / UTM zone 18N
MONTREAL = transformer(WGS84, MONTREAL_UTM).transform(-73.5673, 45.5017)


def write_actors(path: Path, rows: list[tuple[str, str, float, float]]) -> Path:
    """A CSV of actors (id, name, lon, lat), coordinates written exactly (shortest round-trip form)."""
    lines = ["id,name,category,lon,lat"] + [f"{i},{n},market,{lon!r},{lat!r}" for i, n, lon, lat in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def metric_rows(crs: str, points: list[tuple[str, str, float, float]]) -> list[tuple[str, str, float, float]]:
    """(id, name, x, y) in ``crs`` → (id, name, lon, lat)."""
    x = np.array([p[2] for p in points])
    y = np.array([p[3] for p in points])
    lon, lat = transformer(crs, WGS84).transform(x, y)
    return [(p[0], p[1], float(a), float(b)) for p, a, b in zip(points, lon, lat, strict=True)]


@pytest.mark.parametrize(
    ("crs", "origin"),
    [(LAMBERT93, BAYONNE_L93), (MONTREAL_UTM, MONTREAL)],
    ids=["bayonne", "montreal"],
)
def test_same_name_actors_40_m_apart_are_likely_duplicates_in_and_outside_france(
    empty_store: GeoPackageStore, tmp_path: Path, crs: str, origin: tuple[float, float]
) -> None:
    x0, y0 = origin
    rows = metric_rows(
        crs,
        [
            ("p1", "Épicerie du Port", x0, y0),
            ("p2", "EPICERIE DU PORT", x0 + 40.0, y0),  # 40 m east: linked
            ("p3", "Épicerie du port", x0 + 40.0, y0 + 60.0),  # 60 m north of p2: too far
            ("q1", "Marché", x0 + 10.0, y0 + 10.0),  # another name, next to p1
        ],
    )
    report = import_actors(empty_store, write_actors(tmp_path / "a.csv", rows), allow_anywhere=True)
    assert report.created == 4
    assert report.duplicates == [
        {
            "ids": ["p1", "p2"],
            "name": "Épicerie du Port",
            "size": 2,
            "max_distance_m": 40.0,
            "typical_distance_m": 40.0,
        }
    ]
    (warning,) = [w for w in report.warnings if "doublon" in w.message]
    assert warning.message == "doublon probable : « Épicerie du Port » (p1 et p2) à 40.0 m l'un de l'autre"
    assert warning.field == "name"


def test_only_groups_touching_the_imported_actors_are_reported(
    empty_store: GeoPackageStore, tmp_path: Path
) -> None:
    x0, y0 = BAYONNE_L93
    old = metric_rows(LAMBERT93, [("o1", "AMAP", x0, y0), ("o2", "AMAP", x0 + 5, y0)])
    assert len(import_actors(empty_store, write_actors(tmp_path / "old.csv", old)).duplicates) == 1
    new = metric_rows(LAMBERT93, [("n1", "Marché", x0 + 3000, y0), ("n2", "AMAP", x0 + 3000, y0 + 20)])
    assert import_actors(empty_store, write_actors(tmp_path / "new.csv", new)).duplicates == []
    # a third AMAP 30 m from o2 joins the stored pair: the group holds all three
    third = metric_rows(LAMBERT93, [("n3", "amap", x0 + 35, y0)])
    (group,) = import_actors(empty_store, write_actors(tmp_path / "third.csv", third)).duplicates
    assert group["ids"] == ["n3", "o1", "o2"]
    assert group["max_distance_m"] == 35.0
    assert group["typical_distance_m"] == 5.0  # nearest neighbours: 5, 5 and 30 m


def test_five_thousand_same_name_actors_within_50_m_make_one_group(
    empty_store: GeoPackageStore, tmp_path: Path
) -> None:
    # all in a 30 m square: 12.5 million pairs within 50 m, one group, one warning
    rng = np.random.default_rng(7)
    x0, y0 = BAYONNE_L93
    xy = rng.uniform(0, 30, (5000, 2))
    rows = metric_rows(
        LAMBERT93, [(f"m{i:04d}", "Marché bio", x0 + x, y0 + y) for i, (x, y) in enumerate(xy)]
    )
    report = import_actors(empty_store, write_actors(tmp_path / "many.csv", rows))
    assert report.created == 5000
    (group,) = report.duplicates
    assert group["size"] == 5000
    assert group["ids"] == [f"m{i:04d}" for i in range(5000)]
    assert 30 < group["max_distance_m"] <= 30 * math.sqrt(2) + 0.1
    assert group["typical_distance_m"] < 1.0
    duplicate_warnings = [w.message for w in report.warnings if "doublon" in w.message]
    assert duplicate_warnings == [
        "doublons probables : « Marché bio », 5000 acteurs proches (m0000, m0001, m0002, m0003, m0004 "
        f"et 4995 autres), à {group['typical_distance_m']} m de leur plus proche voisin (médiane) "
        f"et jusqu'à {group['max_distance_m']} m les uns des autres"
    ]


def test_many_groups_are_counted_beyond_the_listed_ones(empty_store: GeoPackageStore, tmp_path: Path) -> None:
    # 1,000 pairs of one name, each pair 10 m apart, pairs 500 m from one another
    x0, y0 = BAYONNE_L93
    points = []
    for n in range(1000):
        x, y = x0 + 500.0 * (n % 40), y0 + 500.0 * (n // 40)
        points += [(f"g{n:04d}a", "Ruche", x, y), (f"g{n:04d}b", "Ruche", x + 10.0, y)]
    report = import_actors(empty_store, write_actors(tmp_path / "pairs.csv", metric_rows(LAMBERT93, points)))
    assert len(report.duplicates) == 1000
    assert {g["size"] for g in report.duplicates} == {2}
    assert {g["max_distance_m"] for g in report.duplicates} == {10.0}
    messages = [w.message for w in report.warnings if "doublon" in w.message]
    assert len(messages) == DUPLICATE_GROUPS_LISTED + 1
    assert messages[0] == "doublon probable : « Ruche » (g0000a et g0000b) à 10.0 m l'un de l'autre"
    assert messages[-1] == (
        f"et {1000 - DUPLICATE_GROUPS_LISTED} autre(s) groupe(s) de doublons probables, "
        "non listés ici (voir le rapport JSON)"
    )
    assert len(report.as_dict()["duplicates"]) == 1000  # type: ignore[arg-type]


def brute_groups(xy: np.ndarray, names: list[str], distance_m: float) -> list[set[int]]:
    """Groups by comparing every pair (union-find), for small sets."""
    parent = list(range(len(xy)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(xy)), 2):
        if names[i] == names[j] and math.dist(xy[i], xy[j]) <= distance_m:
            parent[root(i)] = root(j)
    groups: dict[int, set[int]] = {}
    for i in range(len(xy)):
        groups.setdefault(root(i), set()).add(i)
    return [g for g in groups.values() if len(g) > 1]


# 7 m steps: no two lattice points are exactly 50 m apart, so rounding cannot flip a link
steps = st.integers(min_value=-30, max_value=30).map(lambda v: v * 7.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=st.lists(st.tuples(steps, steps, st.sampled_from(["A", "a", "B", "C"])), max_size=60))
def test_groups_equal_a_comparison_of_every_pair(points: list[tuple[float, float, str]]) -> None:
    x0, y0 = BAYONNE_L93
    lon, lat = transformer(LAMBERT93, WGS84).transform(
        np.array([x0 + p[0] for p in points]), np.array([y0 + p[1] for p in points])
    )
    frame = pd.DataFrame(
        {
            "id": [f"i{n:03d}" for n in range(len(points))],
            "name": [p[2] for p in points],
            "category": "market",
        }
    )
    actors = actor_frame(frame, shapely.points(lon, lat))
    groups = find_duplicates(actors, distance_m=50.0)
    x, y = transformer(WGS84, LAMBERT93).transform(np.asarray(lon), np.asarray(lat))
    xy = np.column_stack([x, y])
    names = [p[2].lower() for p in points]
    expected = brute_groups(xy, names, 50.0)
    assert sorted(sorted(g["ids"]) for g in groups) == sorted(
        sorted(f"i{n:03d}" for n in g) for g in expected
    )
    for g in groups:
        members = [int(i[1:]) for i in g["ids"]]
        dist = [[math.dist(xy[a], xy[b]) for b in members if b != a] for a in members]
        assert g["size"] == len(members)
        assert g["max_distance_m"] == pytest.approx(max(max(d) for d in dist), abs=0.051)
        assert g["typical_distance_m"] == pytest.approx(float(np.median([min(d) for d in dist])), abs=0.051)
    assert find_duplicates(actors, distance_m=50.0, ids=[]) == []


def test_links_across_grid_cells_in_every_direction() -> None:
    # pairs 49 m apart (linked) and 51 m apart (not) at every angle, from origins that fall
    # anywhere in a grid cell: a pair can span up to three cells in each direction
    rng = np.random.default_rng(11)
    x0, y0 = BAYONNE_L93
    rows = []
    for n, angle in enumerate(np.radians(np.arange(0, 360, 5))):
        for gap, tag in ((49.0, "near"), (51.0, "far")):
            ox, oy = x0 + 1000.0 * n + rng.uniform(0, 40), y0 + 1000.0 * (tag == "far") + rng.uniform(0, 40)
            name = f"{tag}{n}"
            rows += [
                (f"{name}a", name, ox, oy),
                (f"{name}b", name, ox + gap * np.cos(angle), oy + gap * np.sin(angle)),
            ]
    lon, lat = transformer(LAMBERT93, WGS84).transform(
        np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    )
    frame = pd.DataFrame({"id": [r[0] for r in rows], "name": [r[1] for r in rows], "category": "market"})
    groups = find_duplicates(actor_frame(frame, shapely.points(lon, lat)), distance_m=50.0)
    assert sorted(g["ids"][0] for g in groups) == sorted(f"near{n}a" for n in range(72))
    assert {g["max_distance_m"] for g in groups} == {49.0}
