"""Imports: read a file with :mod:`essmap.sources`, check it, and upsert it into a store.

Each import is all or nothing: everything is read and validated before one atomic write.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from essmap.errors import Problem
from essmap.geo import metric_crs, transformer
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
from essmap.sources.communes import communes_from_file
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


#: The shipped extract of the ANCT commune file around the demo set (geodata/README.md).
DEMO_COMMUNES = "communes_demo.geojson"
DEMO_COMMUNES_SOURCE = "communes ANCT (Licence Ouverte)"


def seed_demo(store: Store) -> None:
    """Fill a new store with the shipped Bayonne demo set (schematic QPVs, 15 actors, and the
    outline of the commune for the maps' backdrop)."""
    folder = demo_data_dir()
    if store.load_communes().empty:
        communes = communes_from_file(folder / DEMO_COMMUNES, source=DEMO_COMMUNES_SOURCE)
        store.replace_communes(communes.table)
    qpv = qpv_from_file(
        folder / "qpv_schematic.geojson", source="jeu de démonstration essmap (contours schématiques)"
    )
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


#: Groups of likely duplicates an import names in its warnings; one more warning counts the rest.
DUPLICATE_GROUPS_LISTED = 20
#: Ids named in the warning of one group of likely duplicates.
_IDS_LISTED = 5
#: Cell neighbours (dx, dy) to compare, each pair of cells once: ±2 cells span ``distance_m``.
_FORWARD = tuple((dx, dy) for dx in range(3) for dy in range(-2, 3) if dx > 0 or dy > 0)


def find_duplicates(
    actors: gpd.GeoDataFrame, *, distance_m: float = 50.0, ids: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Groups of likely duplicates: located actors of the same name close to one another.

    Two actors are linked when their names are equal with accents and case ignored and they are at
    most ``distance_m`` apart, measured in the metric CRS of their zone
    (:func:`essmap.geo.metric_crs`); a group is a set of actors linked from one to the next. The
    search goes through a grid of cells (cells whose diagonal is ``distance_m``, so that actors of
    one cell are linked to one another): time and memory grow with the number of actors, never
    with the number of pairs (5,000 actors at one place make one group, not 12.5 million pairs).

    Parameters
    ----------
    distance_m
        Largest distance between two linked actors, in metres.
    ids
        Only the groups holding one of these actor ids (for example those just imported).

    Returns
    -------
    list of dict
        One per group, by name then first id: ``ids`` (sorted), ``name`` (the first actor's),
        ``size``, ``max_distance_m`` (the largest distance between two of its actors) and
        ``typical_distance_m`` (the median distance from an actor to its nearest in the group),
        both rounded to 0.1 m.
    """
    located = actors[located_mask(actors)]
    if located.empty:
        return []
    keys = located["name"].fillna("").map(normalise_name).to_numpy(dtype=object)
    lon = located.geometry.x.to_numpy()
    lat = located.geometry.y.to_numpy()
    zone = metric_crs(lon, lat)
    code = pd.factorize(pd.Series(zone, dtype=object) + "\n" + pd.Series(keys, dtype=object))[0]
    repeated = np.flatnonzero(np.bincount(code)[code] > 1)  # names that occur once link nothing
    label = np.full(len(located), -1, dtype=np.int64)
    xy = np.full((len(located), 2), np.nan)
    for crs in dict.fromkeys(zone[repeated].tolist()):
        rows = repeated[zone[repeated] == crs]
        x, y = transformer(WGS84, crs).transform(lon[rows], lat[rows])
        xy[rows] = np.column_stack([x, y])
        rows = rows[np.isfinite(xy[rows]).all(axis=1)]
        if not len(rows):
            continue
        label[rows] = _linked(xy[rows], code[rows], distance_m) + label.max() + 1
    all_ids = located["id"].astype(str).to_numpy()
    names = located["name"].to_numpy()
    wanted = None if ids is None else pd.Series(all_ids).isin(set(ids)).to_numpy()  # hashed
    order = np.argsort(label, kind="stable")
    bounds = np.flatnonzero(np.r_[True, label[order][1:] != label[order][:-1], True])
    groups = []
    for start, stop in itertools.pairwise(bounds):
        members = order[start:stop]
        if stop - start < 2 or label[members[0]] < 0 or (wanted is not None and not wanted[members].any()):
            continue
        members = members[np.argsort(all_ids[members], kind="stable")]
        largest, typical = _spread(xy[members])
        groups.append(
            {
                "ids": all_ids[members].tolist(),
                "name": str(names[members[0]]),
                "size": len(members),
                "max_distance_m": round(largest, 1),
                "typical_distance_m": round(typical, 1),
            }
        )
    groups.sort(key=lambda g: (normalise_name(g["name"]), g["ids"][0]))
    return groups


def _linked(xy: np.ndarray, key: np.ndarray, distance_m: float) -> np.ndarray:
    """Group number of each point: points of one key linked when at most ``distance_m`` apart.

    Points share a cell of side ``distance_m / √2`` only if they are closer than ``distance_m``,
    so each cell is linked whole; two cells of one key at most two cells apart are linked when
    their closest points are. The groups are the connected parts of that graph of cells.
    """
    side = distance_m / math.sqrt(2) * (1 - 1e-9)
    ij = np.floor(xy / side).astype(np.int64)
    frame = pd.DataFrame({"key": key, "i": ij[:, 0], "j": ij[:, 1]})
    cell_of = frame.groupby(["key", "i", "j"], sort=False).ngroup().to_numpy()
    cells = frame.assign(cell=cell_of).drop_duplicates("cell")
    counts = np.bincount(cell_of)
    order = np.argsort(cell_of, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    first = xy[order[starts]]
    links: list[np.ndarray] = []
    for di, dj in _FORWARD:
        pairs = cells.assign(i=cells["i"] + di, j=cells["j"] + dj).merge(cells, on=["key", "i", "j"])
        a, b = pairs["cell_x"].to_numpy(), pairs["cell_y"].to_numpy()
        single = (counts[a] == 1) & (counts[b] == 1)  # the common case, compared at once
        near = single & (np.hypot(*(first[a] - first[b]).T) <= distance_m)
        for n in np.flatnonzero(~single).tolist():
            pa = xy[order[starts[a[n]] : starts[a[n]] + counts[a[n]]]]
            pb = xy[order[starts[b[n]] : starts[b[n]] + counts[b[n]]]]
            near[n] = _closest(pa, pb) <= distance_m
        links.append(np.column_stack([a[near], b[near]]))
    edges = np.vstack(links)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(counts), len(counts)))
    return connected_components(graph, directed=False)[1][cell_of]


def _closest(pa: np.ndarray, pb: np.ndarray) -> float:
    """The smallest distance between a point of ``pa`` and one of ``pb``."""
    if len(pa) * len(pb) <= 4096:
        return float(np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(axis=2)).min())
    return float(cKDTree(pb).query(pa, k=1)[0].min())


def _spread(xy: np.ndarray) -> tuple[float, float]:
    """The largest distance between two points, and the median distance to the nearest other."""
    nearest = cKDTree(xy).query(xy, k=2)[0][:, 1]
    hull = shapely.get_coordinates(shapely.convex_hull(shapely.multipoints(xy)))  # holds the farthest pair
    largest = max(
        float(((hull[i : i + 256, None, :] - hull[None, :, :]) ** 2).sum(axis=2).max())
        for i in range(0, len(hull), 256)
    )
    return math.sqrt(largest), float(np.median(nearest))


def import_actors(
    store: Store,
    path: Path | str,
    *,
    crs: str | None = None,
    allow_anywhere: bool = False,
    duplicate_distance_m: float = 50.0,
    max_duplicates_listed: int = DUPLICATE_GROUPS_LISTED,
    progress: Progress = no_progress,
) -> ImportReport:
    """Import actors; likely duplicates (same name within ``duplicate_distance_m``) are reported.

    ``duplicates`` in the report holds every group of likely duplicates (see
    :func:`find_duplicates`) that includes an imported actor; the warnings name the first
    ``max_duplicates_listed`` groups and count the others.
    """
    parsed = actors_from_file(path, crs=crs, allow_anywhere=allow_anywhere, progress=progress)
    progress("doublons")
    existing = store.load_actors()
    others = existing[~existing["id"].isin(parsed.table["id"])]
    combined = pd.concat([others, parsed.table], ignore_index=True)
    groups = find_duplicates(
        gpd.GeoDataFrame(combined, geometry="geometry", crs=WGS84),
        distance_m=duplicate_distance_m,
        ids=parsed.table["id"].astype(str),
    )
    progress("écriture")
    counts = store.upsert_actors(parsed.table)
    warnings = list(parsed.warnings)
    warnings += [
        Problem(_duplicate_text(g), file=parsed.file, field="name") for g in groups[:max_duplicates_listed]
    ]
    if len(groups) > max_duplicates_listed:
        more = len(groups) - max_duplicates_listed
        warnings.append(
            Problem(
                f"et {more} autre(s) groupe(s) de doublons probables, non listés ici (voir le rapport JSON)",
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
        duplicates=groups,
        warnings=warnings,
        unchanged=counts.unchanged,
    )


def _duplicate_text(group: dict[str, Any]) -> str:
    """A warning about one group of likely duplicates, in French."""
    ids = group["ids"]
    if group["size"] == 2:
        return (
            f"doublon probable : « {group['name']} » ({ids[0]} et {ids[1]}) "
            f"à {group['max_distance_m']} m l'un de l'autre"
        )
    named = ", ".join(ids[:_IDS_LISTED])
    if len(ids) > _IDS_LISTED:
        named += f" et {len(ids) - _IDS_LISTED} autres"
    return (
        f"doublons probables : « {group['name']} », {group['size']} acteurs proches ({named}), "
        f"à {group['typical_distance_m']} m de leur plus proche voisin (médiane) "
        f"et jusqu'à {group['max_distance_m']} m les uns des autres"
    )


def import_grid(store: Store, path: Path | str, *, progress: Progress = no_progress) -> ImportReport:
    """Replace the population grid with an INSEE Filosofi 200 m grid read from a CSV file."""
    warnings: list[Problem] = []
    table = grid_from_csv(path, progress=progress, warnings=warnings)
    progress("écriture")
    count = store.replace_population_grid(table)
    return ImportReport("grid", str(path), len(table), created=count, warnings=warnings)


def import_communes(
    store: Store, path: Path | str, *, source: str | None = None, progress: Progress = no_progress
) -> ImportReport:
    """Replace the communes of the maps' backdrop with those of a file (the ANCT commune file,
    IGN Admin Express…). All or nothing: a file with a bad feature leaves them as they were."""
    parsed = communes_from_file(path, source=source, progress=progress)
    progress("écriture")
    count = store.replace_communes(parsed.table)
    return ImportReport(
        "communes", parsed.file, parsed.features_read, created=count, warnings=parsed.warnings
    )


def import_addresses(store: Store, path: Path | str, *, progress: Progress = no_progress) -> ImportReport:
    """Replace the addresses of the local geocoder with a BAN address file (CSV of a département).

    All or nothing: a file with a bad row leaves the stored addresses as they were.
    """
    parsed = addresses_from_ban(path, progress=progress)
    progress("écriture")
    count = store.replace_addresses(parsed.table)
    return ImportReport("addresses", parsed.file, parsed.rows_read, created=count, warnings=parsed.warnings)


def import_network(store: Store, path: Path | str, *, progress: Progress = no_progress) -> ImportReport:
    """Replace the street network with the walkable ways of an OpenStreetMap extract.

    The extract (``.osm``, ``.osm.pbf``, or a zip archive holding one) is read with
    :func:`essmap.sources.osm.walkable_ways_from_osm`, prepared in the metric CRS of its place
    (:func:`essmap.network.network_from_ways`) and stored in one transaction (the revision
    changes, so that caches refresh). ``read`` counts the walkable ways, ``created`` the segments
    of the network; the description of the network is :func:`essmap.network.network_info`.
    """
    from essmap.network.graph import network_from_ways, save_network
    from essmap.sources.osm import walkable_ways_from_osm

    ways = walkable_ways_from_osm(path, progress=progress)
    progress("réseau")
    network = network_from_ways(ways)
    warnings = list(ways.warnings)
    if network.info.components_dropped:
        warnings.append(
            Problem(
                f"{network.info.components_dropped} partie(s) du réseau sans lien avec le reste (moins "
                "de 1 % de sa longueur) laissée(s) de côté : un point n'y mènerait nulle part",
                file=ways.file,
            )
        )
    progress("écriture")
    save_network(store, network)
    return ImportReport(
        "network", ways.file, ways.walkable_ways, created=network.info.segments, warnings=warnings
    )
