"""Imports: read a file with :mod:`essmap.sources`, check it, and upsert it into a store.

Each import is all or nothing: everything is read and validated before one atomic write.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from essmap.errors import Problem
from essmap.geo import TERRITORY_BY_KEY, territory_keys, transformer
from essmap.model import WGS84, located_mask
from essmap.settings import Settings
from essmap.sources import (
    Progress,
    actors_from_file,
    grid_from_csv,
    no_progress,
    normalise_name,
    population_from_csv,
    qpv_from_file,
)
from essmap.sources.addresses import addresses_from_ban
from essmap.store import Store, open_store


@dataclass
class ImportReport:
    """What an import did, for the CLI and the API."""

    kind: str
    file: str
    read: int
    created: int = 0
    updated: int = 0
    repaired: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    unchanged: int = 0  # records already stored exactly as in the file

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["warnings"] = [w.as_dict() for w in self.warnings]
        return out


def demo_data_dir() -> Path:
    """Folder of the shipped Bayonne demo set (inside the wheel, or the source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_geodata", here.parent / "geodata"):
        if (candidate / "actors_demo.csv").exists():
            return candidate
    raise FileNotFoundError("the shipped demo data (geodata/) is missing from this installation")


def seed_demo(store: Store) -> None:
    """Fill a new store with the shipped Bayonne demo set (schematic QPVs, 15 actors)."""
    folder = demo_data_dir()
    qpv = qpv_from_file(folder / "qpv_schematic.geojson", source="essmap demo set (schematic)")
    actors = actors_from_file(folder / "actors_demo.csv")
    store.initialise(qpv.table, actors.table)


def open_seeded_store(settings: Settings) -> Store:
    """Open the store the settings select; a new one is filled with the demo set first.

    Seeding is skipped when ``settings.init_from_demo`` is false (the store stays empty).
    """
    store = open_store(settings)
    if settings.init_from_demo and not store.exists():
        seed_demo(store)
    return store


def import_qpv(
    store: Store,
    path: Path | str,
    *,
    generation: int | None = None,
    geometry_source: str | None = None,
    source: str | None = None,
    population: Path | str | None = None,
    encoding: str | None = None,
    progress: Progress = no_progress,
) -> ImportReport:
    """Import QPV outlines (and optionally a population table joined by code)."""
    parsed = qpv_from_file(
        path,
        generation=generation,
        geometry_source=geometry_source,
        source=source,
        encoding=encoding,
        progress=progress,
    )
    table = parsed.table
    warnings = list(parsed.warnings)
    if population is not None:
        pop = population_from_csv(population, known_codes=set(table["code"].dropna()), warnings=warnings)
        table = _join_population(table, pop)
    progress("écriture")
    counts = store.upsert_neighbourhoods(table)
    return ImportReport(
        "qpv",
        parsed.file,
        parsed.features_read,
        counts.created,
        counts.updated,
        parsed.repaired,
        parsed.merged,
        warnings=warnings,
        unchanged=counts.unchanged,
    )


def _join_population(table: gpd.GeoDataFrame, pop: pd.DataFrame) -> gpd.GeoDataFrame:
    """The neighbourhoods with the population figures of their code (every code of ``pop`` is known)."""
    by_code = pop.set_index("code")
    out = table.copy()
    hit = out["code"].isin(by_code.index)
    codes = out.loc[hit, "code"]
    for col in ("population", "population_year", "population_source"):
        out.loc[hit, col] = by_code.loc[codes, col].to_numpy()
    return out


def import_population(
    store: Store, path: Path | str, *, reference: str | None = None, year: int | None = None
) -> ImportReport:
    """Join a population table (CSV: QPV code, population, reference) to the stored QPVs.

    Every bad row is named at once, rows of a code absent from the store included.
    """
    current = store.load_neighbourhoods()
    warnings: list[Problem] = []
    pop = population_from_csv(
        path, reference=reference, year=year, known_codes=set(current["code"].dropna()), warnings=warnings
    )
    table = _join_population(current, pop)
    changed = table[table["code"].isin(pop["code"])]
    counts = store.upsert_neighbourhoods(changed)
    return ImportReport(
        "population",
        str(path),
        len(pop),
        counts.created,
        counts.updated,
        warnings=warnings,
        unchanged=counts.unchanged,
    )


def find_duplicates(actors: gpd.GeoDataFrame, *, distance_m: float = 50.0) -> list[dict[str, Any]]:
    """Pairs of located actors with the same name (accents and case ignored) within a distance."""
    located = actors[located_mask(actors)]
    if located.empty:
        return []
    keys = located["name"].fillna("").map(normalise_name).to_numpy()
    lon = located.geometry.x.to_numpy()
    lat = located.geometry.y.to_numpy()
    terr = territory_keys(lon, lat)
    x = np.full(len(located), np.nan)
    y = np.full(len(located), np.nan)
    for key in set(terr):
        crs = TERRITORY_BY_KEY[key].metric_crs if key else "EPSG:3857"
        sel = terr == key
        x[sel], y[sel] = transformer(WGS84, crs).transform(lon[sel], lat[sel])
    ids = located["id"].to_numpy()
    names = located["name"].to_numpy()
    pairs: list[dict[str, Any]] = []
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
    for start, stop in itertools.pairwise(bounds):
        if stop - start < 2:
            continue
        members = order[start:stop]
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                d = float(np.hypot(x[a] - x[b], y[a] - y[b]))
                if d <= distance_m and terr[a] == terr[b]:
                    pairs.append({"ids": [ids[a], ids[b]], "name": names[a], "distance_m": round(d, 1)})
    return pairs


def import_actors(
    store: Store,
    path: Path | str,
    *,
    crs: str | None = None,
    allow_anywhere: bool = False,
    duplicate_distance_m: float = 50.0,
    progress: Progress = no_progress,
) -> ImportReport:
    """Import actors; likely duplicates (same name within ``duplicate_distance_m``) are reported."""
    parsed = actors_from_file(path, crs=crs, allow_anywhere=allow_anywhere, progress=progress)
    progress("doublons")
    existing = store.load_actors()
    others = existing[~existing["id"].isin(parsed.table["id"])]
    combined = pd.concat([others, parsed.table], ignore_index=True)
    new_ids = set(parsed.table["id"])
    dups = [
        d
        for d in find_duplicates(
            gpd.GeoDataFrame(combined, geometry="geometry", crs=WGS84), distance_m=duplicate_distance_m
        )
        if set(d["ids"]) & new_ids
    ]
    progress("écriture")
    counts = store.upsert_actors(parsed.table)
    warnings = list(parsed.warnings)
    for d in dups:
        a, b = d["ids"]
        warnings.append(
            Problem(
                f"doublon probable : « {d['name']} » ({a} et {b}) à {d['distance_m']} m l'un de l'autre",
                file=parsed.file,
                field="name",
            )
        )
    return ImportReport(
        "actors",
        parsed.file,
        parsed.rows_read,
        counts.created,
        counts.updated,
        duplicates=dups,
        warnings=warnings,
        unchanged=counts.unchanged,
    )


def import_grid(store: Store, path: Path | str, *, progress: Progress = no_progress) -> ImportReport:
    """Replace the population grid with an INSEE Filosofi 200 m grid read from a CSV file."""
    warnings: list[Problem] = []
    table = grid_from_csv(path, progress=progress, warnings=warnings)
    progress("écriture")
    count = store.replace_population_grid(table)
    return ImportReport("grid", str(path), len(table), created=count, warnings=warnings)


def import_addresses(store: Store, path: Path | str, *, progress: Progress = no_progress) -> ImportReport:
    """Replace the addresses of the local geocoder with a BAN address file (CSV of a département).

    All or nothing: a file with a bad row leaves the stored addresses as they were.
    """
    parsed = addresses_from_ban(path, progress=progress)
    progress("écriture")
    count = store.replace_addresses(parsed.table)
    return ImportReport("addresses", parsed.file, parsed.rows_read, created=count, warnings=parsed.warnings)
