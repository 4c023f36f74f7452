"""What the API serves from the store, prepared once per store revision (kept in the app's cache).

- :class:`CollectionData`: one feature collection (``qpv`` or ``actors``) with every feature
  written as GeoJSON text once, a shapely STRtree over the located features for ``bbox``, the
  filter columns and the days of the temporal property for ``datetime``. A request then only
  selects row numbers and joins strings.
- :class:`Proximity`: the spatial index with each actor's GeoJSON written once.

Actors carry their schedule as written, its French description and structured form (written
once), and their next pick-up (``next_pickup``, ``next_pickup_description``), which changes with
time: it is kept per actor by :class:`essmap.schedules.NextPickups` and appended to the feature
when answering. Both also keep the actors' weekly slots (:class:`essmap.schedules.WeeklySlots`) for
the filter "open on DAY around TIME".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.filters import BBox, Period
from api.geojson import dumps, feature_json, geometries_json, jsonable, records
from essmap.errors import NotFoundError
from essmap.index import ActorHit, SpatialIndex, build_index
from essmap.labels import CATEGORY_LABELS_FR
from essmap.model import ACTOR_COLUMNS
from essmap.schedules import NextPickups, OpenAround, Pickup, WeeklySlots, describe_pickup, schedule_details
from essmap.settings import Settings
from essmap.store import Store
from essmap.store.base import ActorRecord


@dataclass(frozen=True)
class CollectionSpec:
    """What a collection is: id, French title and description, how to read and identify it."""

    id: str
    title: str
    description: str
    load: Callable[[Store], gpd.GeoDataFrame]
    feature_ids: Callable[[gpd.GeoDataFrame], list[str]]
    properties: Callable[[gpd.GeoDataFrame], list[dict[str, Any]]]  # JSON-ready, one per row
    filters: tuple[str, ...]
    temporal: str | None = None  # the date property that ``datetime`` filters on, if any
    schedules: str | None = None  # the schedule column (next pick-up, open filter), if any


def _qpv_ids(table: gpd.GeoDataFrame) -> list[str]:
    return [f"{g}-{c}" for g, c in zip(table["generation"].tolist(), table["code"].tolist(), strict=True)]


def _qpv_properties(table: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    return records(table)


def _actor_ids(table: gpd.GeoDataFrame) -> list[str]:
    return [str(i) for i in table["id"].tolist()]


def actor_properties(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of one actor as served: its stored fields but the id, JSON-ready, with the
    French label of its category after the category, and the description and structured form of
    its schedule after the schedule."""
    out: dict[str, Any] = {}
    for name in ACTOR_COLUMNS:
        if name == "id":
            continue
        value = out[name] = jsonable(fields.get(name))
        if name == "category":
            out["category_label"] = None if value is None else CATEGORY_LABELS_FR.get(str(value))
        elif name == "schedule":
            out.update(schedule_details(value))
    return out


def _actor_properties(table: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    return [actor_properties(row) for row in records(table, ACTOR_COLUMNS)]


def pickup_json(pickup: Pickup | None) -> str:
    """The next pick-up members of an actor's properties, as JSON text (without braces)."""
    if pickup is None:
        return '"next_pickup":null,"next_pickup_description":null'
    return (
        f'"next_pickup":{dumps(pickup.as_dict())},"next_pickup_description":{dumps(describe_pickup(pickup))}'
    )


def schedule_tables(schedules: list[object]) -> tuple[NextPickups[str], WeeklySlots]:
    """The next pick-ups and weekly slots of a column of schedules (built once per revision)."""
    return NextPickups(schedules, pickup_json), WeeklySlots(schedules)


def open_rows(open_filter: OpenAround, schedules: list[object], weekly: WeeklySlots) -> np.ndarray:
    """A boolean array: which rows are open on the filter's day around its time."""
    return open_filter.mask(schedules, weekly=weekly)


COLLECTIONS: dict[str, CollectionSpec] = {
    "qpv": CollectionSpec(
        id="qpv",
        title="Quartiers prioritaires de la politique de la ville (QPV)",
        description=(
            "Contours des quartiers prioritaires (listes de 2015 et de 2024), avec leur population "
            "et la provenance des contours. Identifiant d'un objet : « génération-code » (ex. 2024-QN06401I)."
        ),
        load=lambda store: store.load_neighbourhoods(),
        feature_ids=_qpv_ids,
        properties=_qpv_properties,
        filters=("generation", "code"),
    ),
    "actors": CollectionSpec(
        id="actors",
        title="Acteurs de l'économie sociale et solidaire et des circuits courts",
        description=(
            "Points de livraison AMAP, épiceries coopératives, fermes urbaines, associations… "
            "Les acteurs sans localisation ont une géométrie nulle et ne répondent jamais à un bbox."
        ),
        load=lambda store: store.load_actors(),
        feature_ids=_actor_ids,
        properties=_actor_properties,
        filters=("category",),
        temporal="last_verified",
        schedules="schedule",
    ),
}


@dataclass
class CollectionData:
    """One collection at one store revision, ready to serve."""

    ids: list[str]
    features: list[str]
    row_of: dict[str, int]
    filter_values: dict[str, np.ndarray]
    tree: shapely.STRtree
    tree_rows: np.ndarray
    extent: list[float] | None
    days: np.ndarray | None  # datetime64[D] of the temporal property (NaT when missing)
    schedules: list[object] | None = None  # the schedule column, when the collection has one
    pickups: NextPickups[str] | None = None
    weekly: WeeklySlots | None = None
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.ids)

    def row(self, feature_id: str) -> int:
        row = self.row_of.get(feature_id)
        if row is None:
            raise NotFoundError(f"aucun objet d'identifiant « {feature_id} » dans cette collection")
        return row

    def texts(self, rows: Sequence[int] | np.ndarray, now: datetime) -> list[str]:
        """The features of ``rows`` as GeoJSON text, with their next pick-up at ``now``."""
        rows = [int(r) for r in rows]
        if self.pickups is None:
            return [self.features[r] for r in rows]
        features = self.features
        return [
            f"{features[r][:-2]},{fragment}}}}}"
            for r, fragment in zip(rows, self.pickups.at(rows, now), strict=True)
        ]

    def select(
        self,
        *,
        bbox: BBox | None,
        filters: Mapping[str, object],
        period: Period | None = None,
        open_filter: OpenAround | None = None,
    ) -> np.ndarray:
        """Row numbers matching the filters, the bbox, the period and the opening times, in store
        order.

        A collection without a temporal property ignores ``period``; a feature without a date
        never matches one. ``open_filter`` keeps the actors open then (a collection without
        schedules has none).
        """
        mask = np.ones(self.size, dtype=bool)
        if open_filter is not None:
            if self.schedules is None or self.weekly is None:
                mask[:] = False
            else:
                mask &= open_rows(open_filter, self.schedules, self.weekly)
        if period is not None and self.days is not None:
            start, end = period
            mask &= ~np.isnat(self.days)
            if start is not None:
                mask &= self.days >= np.datetime64(start, "D")
            if end is not None:
                mask &= self.days <= np.datetime64(end, "D")
        for name, value in filters.items():
            if value is not None:
                mask &= self.filter_values[name] == value
        if bbox is not None:
            in_box = np.zeros(self.size, dtype=bool)
            for box in _boxes(bbox):
                hits = self.tree.query(box, predicate="intersects")
                in_box[self.tree_rows[hits]] = True
            mask &= in_box
        return np.flatnonzero(mask)


def _boxes(bbox: BBox) -> list[shapely.Geometry]:
    """The bbox as rectangles; one crossing the antimeridian (minx > maxx) is split in two."""
    minx, miny, maxx, maxy = bbox
    if minx <= maxx:
        return [shapely.box(minx, miny, maxx, maxy)]
    return [shapely.box(minx, miny, 180.0, maxy), shapely.box(-180.0, miny, maxx, maxy)]


def collection_data(spec: CollectionSpec, store: Store) -> CollectionData:
    """Read one collection from the store and prepare it to serve."""
    table = spec.load(store)
    ids = spec.feature_ids(table)
    geoms = table.geometry.to_numpy()
    props = spec.properties(table)
    geometry_text = geometries_json(geoms)
    features = [feature_json(i, g, p) for i, g, p in zip(ids, geometry_text, props, strict=True)]
    located = ~shapely.is_missing(geoms)
    if len(geoms):
        located[located] = ~shapely.is_empty(geoms[located])
    rows = np.flatnonzero(located)
    extent = None
    if len(rows):
        x0, y0, x1, y1 = shapely.total_bounds(geoms[rows])
        extent = [float(x0), float(y0), float(x1), float(y1)]
    filter_values = {}
    for name in spec.filters:
        column = table[name]
        filter_values[name] = np.asarray(column.astype(object).where(column.notna(), None), dtype=object)
    days = None
    if spec.temporal is not None:
        parsed = pd.to_datetime(table[spec.temporal], errors="coerce", format="%Y-%m-%d")
        days = parsed.to_numpy(dtype="datetime64[D]")
    schedules = pickups = weekly = None
    if spec.schedules is not None:
        schedules = table[spec.schedules].astype(object).where(table[spec.schedules].notna(), None).tolist()
        pickups, weekly = schedule_tables(schedules)
    return CollectionData(
        ids=ids,
        features=features,
        row_of={fid: row for row, fid in enumerate(ids)},
        filter_values=filter_values,
        tree=shapely.STRtree(geoms[rows]),
        tree_rows=rows,
        extent=extent,
        days=days,
        schedules=schedules,
        pickups=pickups,
        weekly=weekly,
    )


def actor_feature(record: ActorRecord, now: datetime) -> tuple[str, str]:
    """One stored actor as a GeoJSON Feature written as in its collection's items, with its next
    pick-up at ``now``; and the pick-up members alone ("" for an actor without a schedule)."""
    (geometry,) = geometries_json([record.geometry])
    text = feature_json(record.id, geometry, actor_properties(record.fields))
    schedule = record.fields.get("schedule")
    if not schedule:  # no pick-up, ever: the same members as in the items, and no variant
        return f"{text[:-2]},{pickup_json(None)}}}}}", ""
    pickups, _ = schedule_tables([schedule])
    (fragment,) = pickups.at([0], now)
    return f"{text[:-2]},{fragment}}}}}", fragment


# --- actors as GeoJSON for proximity answers ----------------------------------------------------
@dataclass
class Proximity:
    """The spatial index of one store revision, with each actor's GeoJSON written once.

    ``prefix[row]`` is the actor's whole Feature without the end of its properties object, so that
    answering a query only appends its next pick-up and a distance: nothing is parsed or
    serialised again.
    """

    index: SpatialIndex
    prefix: list[str]
    lonlat: list[tuple[float, float] | None]
    row_of: dict[str, int]
    schedules: list[object]
    pickups: NextPickups[str]
    weekly: WeeklySlots
    #: Where each QPV's outline comes from, by (generation, code).
    outline_sources: dict[tuple[int, str], str | None]

    @classmethod
    def from_store(cls, store: Store, settings: Settings) -> Proximity:
        """Build the spatial index of the store's content and write each actor's GeoJSON."""
        index = build_index(store, settings)
        actors = index.actors
        geoms = actors.geometry.to_numpy()
        ids = [str(i) for i in actors["id"].tolist()]
        props = _actor_properties(actors)
        prefix = []
        for fid, geometry, prop in zip(ids, geometries_json(geoms), props, strict=True):
            text = feature_json(fid, geometry, prop)[:-2]  # without the closing "}}"
            prefix.append(text + ("," if prop else ""))
        lonlat: list[tuple[float, float] | None] = [None] * len(actors)
        for row, geom in enumerate(geoms):
            if geom is not None and not geom.is_empty:
                lonlat[row] = (float(geom.x), float(geom.y))
        column = actors["schedule"]
        schedules = column.astype(object).where(column.notna(), None).tolist()
        pickups, weekly = schedule_tables(schedules)
        qpv = index.neighbourhoods
        outline_sources = {
            (int(g), str(c)): (None if pd.isna(src) else str(src))
            for g, c, src in zip(qpv["generation"], qpv["code"], qpv["geometry_source"], strict=True)
            if not pd.isna(g)
        }
        return cls(
            index=index,
            prefix=prefix,
            lonlat=lonlat,
            row_of={fid: row for row, fid in enumerate(ids)},
            schedules=schedules,
            pickups=pickups,
            weekly=weekly,
            outline_sources=outline_sources,
        )

    def hit_features(self, hits: Sequence[ActorHit], now: datetime) -> list[str]:
        """Actors found by a proximity query, as GeoJSON Features with their next pick-up at
        ``now`` and ``distance_m``."""
        fragments = self.pickups.at([h.row for h in hits], now)
        return [
            f'{self.prefix[h.row]}{fragment},"distance_m":{h.distance_m:.1f}}}}}'
            for h, fragment in zip(hits, fragments, strict=True)
        ]

    def open_mask(self, open_filter: OpenAround) -> np.ndarray:
        """Which actors (rows of the index's table) are open on the filter's day around its time."""
        return open_rows(open_filter, self.schedules, self.weekly)
