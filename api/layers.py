"""What the API serves from the store, prepared once per store revision (kept in the app's cache).

- :class:`CollectionSource`: one collection's table as read from the store, with each feature's
  GeoJSON text (:class:`FeatureTexts`, written when first asked for, then kept). The actors'
  source is read once per revision and shared by the two values below.
- :class:`CollectionData`: one feature collection (``qpv`` or ``actors``) ready to serve: a
  shapely STRtree over the located features for ``bbox``, the filter columns and the days of the
  temporal property for ``datetime``. A request then only selects row numbers and joins strings.
- :class:`Proximity`: the spatial index, with the actors' source for their GeoJSON.

Actors carry their schedule as written, its French description and structured form (written
once), and their next pick-up (``next_pickup``, ``next_pickup_description``), which changes with
time: it is kept per actor by :class:`essmap.schedules.NextPickups` and appended to the feature
when answering. Both also keep the actors' weekly slots (:class:`essmap.schedules.WeeklySlots`) for
the filter "open on DAY around TIME".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.filters import BBox, Period
from api.geojson import dumps, feature_json, geometries_json, json_columns, jsonable
from essmap.errors import NotFoundError
from essmap.index import ActorHit, SpatialIndex, build_index
from essmap.labels import CATEGORY_LABELS_FR
from essmap.model import ACTOR_COLUMNS
from essmap.priority import pace
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
    #: A feature's properties from its JSON-ready fields (the ``columns`` of its row).
    properties: Callable[[Mapping[str, Any]], dict[str, Any]]
    columns: tuple[str, ...] | None  # the fields properties are made of (None: every column)
    filters: tuple[str, ...]
    temporal: str | None = None  # the date property that ``datetime`` filters on, if any
    schedules: str | None = None  # the schedule column (next pick-up, open filter), if any


def _qpv_ids(table: gpd.GeoDataFrame) -> list[str]:
    return [f"{g}-{c}" for g, c in zip(table["generation"].tolist(), table["code"].tolist(), strict=True)]


def _qpv_properties(fields: Mapping[str, Any]) -> dict[str, Any]:
    return dict(fields)


def _actor_ids(table: gpd.GeoDataFrame) -> list[str]:
    return [str(i) for i in table["id"].tolist()]


def actor_properties(fields: Mapping[str, Any], *, json_ready: bool = False) -> dict[str, Any]:
    """The properties of one actor as served: its stored fields but the id, JSON-ready, with the
    French label of its category after the category, and the description and structured form of
    its schedule after the schedule. ``json_ready``: the fields are JSON-ready already (as
    :func:`api.geojson.json_columns` makes them), they are not converted again."""
    out: dict[str, Any] = {}
    for name in ACTOR_COLUMNS:
        if name == "id":
            continue
        value = fields.get(name)
        value = out[name] = value if json_ready else jsonable(value)
        if name == "category":
            out["category_label"] = None if value is None else CATEGORY_LABELS_FR.get(str(value))
        elif name == "schedule":
            out.update(schedule_details(value))
    return out


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
        columns=None,
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
        properties=functools.partial(actor_properties, json_ready=True),
        columns=ACTOR_COLUMNS,
        filters=("category",),
        temporal="last_verified",
        schedules="schedule",
    ),
}


class FeatureTexts:
    """Each feature of a table as GeoJSON text, written when first asked for and then kept.

    A request asks for a few features at a time (a page of items, the actors near a point):
    writing every feature when a store revision is loaded took most of the rebuild that follows
    an import (about 1.5 s per 100,000 actors, each time, in each server process), during which
    the process answered fewer requests (bench/bench_abuse.py). Writing a feature is idempotent:
    two threads asking for the same row at once keep the same text.

    Parameters
    ----------
    ids
        Each row's feature id.
    geometries
        Each row's geometry (WGS 84), missing or empty for an unlocated feature.
    columns
        JSON-ready fields, one list per column (see :func:`api.geojson.json_columns`).
    properties
        Makes a feature's properties from its row's fields.
    """

    def __init__(
        self,
        ids: list[str],
        geometries: np.ndarray,
        columns: dict[str, list[Any]],
        properties: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> None:
        self._ids = ids
        self._geometries = geometries
        self._columns = columns
        self._properties = properties
        self._texts = [""] * len(ids)  # "" until written

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, row: int) -> str:
        (text,) = self.many([row])
        return text

    def many(self, rows: Iterable[int]) -> list[str]:
        """The text of each of ``rows`` (the missing ones written together)."""
        rows = [int(r) for r in rows]
        texts = self._texts
        missing = [r for r in rows if not texts[r]]
        if missing:
            columns = self._columns.items()
            for row, geometry in zip(missing, geometries_json(self._geometries[missing]), strict=True):
                fields = {name: values[row] for name, values in columns}
                texts[row] = feature_json(self._ids[row], geometry, self._properties(fields))
        return [texts[r] for r in rows]


@dataclass
class CollectionSource:
    """One collection's table as read from the store at one revision, with its features' text and,
    for a collection with schedules, their next pick-ups and weekly slots."""

    table: gpd.GeoDataFrame
    ids: list[str]
    row_of: dict[str, int]
    texts: FeatureTexts
    schedules: list[object] | None = None
    pickups: NextPickups[str] | None = None
    weekly: WeeklySlots | None = None

    @classmethod
    def load(cls, spec: CollectionSpec, store: Store) -> CollectionSource:
        """Read a collection from the store (its features are written when first asked for)."""
        table = spec.load(store)
        pace()
        ids = spec.feature_ids(table)
        texts = FeatureTexts(
            ids, table.geometry.to_numpy(), json_columns(table, spec.columns), spec.properties
        )
        pace()
        schedules = pickups = weekly = None
        if spec.schedules is not None:
            column = table[spec.schedules]
            schedules = column.astype(object).where(column.notna(), None).tolist()
            pace()
            pickups, weekly = schedule_tables(schedules)
            pace()
        return cls(
            table=table,
            ids=ids,
            row_of={fid: row for row, fid in enumerate(ids)},
            texts=texts,
            schedules=schedules,
            pickups=pickups,
            weekly=weekly,
        )


@dataclass
class CollectionData:
    """One collection at one store revision, ready to serve."""

    source: CollectionSource
    filter_values: dict[str, np.ndarray]
    tree: shapely.STRtree
    tree_rows: np.ndarray
    extent: list[float] | None
    days: np.ndarray | None  # datetime64[D] of the temporal property (NaT when missing)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.source.ids)

    @property
    def pickups(self) -> NextPickups[str] | None:
        return self.source.pickups

    def row(self, feature_id: str) -> int:
        row = self.source.row_of.get(feature_id)
        if row is None:
            raise NotFoundError(f"aucun objet d'identifiant « {feature_id} » dans cette collection")
        return row

    def texts(self, rows: Sequence[int] | np.ndarray, now: datetime) -> list[str]:
        """The features of ``rows`` as GeoJSON text, with their next pick-up at ``now``."""
        rows = [int(r) for r in rows]
        features = self.source.texts.many(rows)
        pickups = self.source.pickups
        if pickups is None:
            return features
        return [
            f"{feature[:-2]},{fragment}}}}}"
            for feature, fragment in zip(features, pickups.at(rows, now), strict=True)
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
            schedules, weekly = self.source.schedules, self.source.weekly
            if schedules is None or weekly is None:
                mask[:] = False
            else:
                mask &= open_rows(open_filter, schedules, weekly)
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


def collection_data(spec: CollectionSpec, source: CollectionSource) -> CollectionData:
    """Prepare one collection, read from the store as ``source``, to serve."""
    table = source.table
    geoms = table.geometry.to_numpy()
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
    return CollectionData(
        source=source,
        filter_values=filter_values,
        tree=shapely.STRtree(geoms[rows]),
        tree_rows=rows,
        extent=extent,
        days=days,
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
    """The spatial index of one store revision, with the actors' source for their GeoJSON.

    An answer appends each actor's next pick-up and distance to its Feature text, written once
    (:class:`FeatureTexts`): nothing is parsed or serialised again.
    """

    index: SpatialIndex
    actors: CollectionSource
    lon: np.ndarray  # each actor's longitude (NaN when it has no location)
    lat: np.ndarray
    schedules: list[object]
    pickups: NextPickups[str]
    weekly: WeeklySlots
    #: Where each QPV's outline comes from, by (generation, code).
    outline_sources: dict[tuple[int, str], str | None]

    @classmethod
    def from_store(cls, store: Store, settings: Settings, *, actors: CollectionSource) -> Proximity:
        """Build the spatial index of the store's QPVs and of ``actors`` (read from the store)."""
        schedules, pickups, weekly = actors.schedules, actors.pickups, actors.weekly
        if schedules is None or pickups is None or weekly is None:
            raise ValueError("the actors' source has no schedules")
        index = build_index(store, settings, actors=actors.table)
        geoms = index.actors.geometry.to_numpy()
        located = ~shapely.is_missing(geoms)
        lon = np.full(len(geoms), np.nan)
        lat = np.full(len(geoms), np.nan)
        lon[located] = shapely.get_x(geoms[located])  # NaN for an empty point
        lat[located] = shapely.get_y(geoms[located])
        qpv = index.neighbourhoods
        outline_sources = {
            (int(g), str(c)): (None if pd.isna(src) else str(src))
            for g, c, src in zip(qpv["generation"], qpv["code"], qpv["geometry_source"], strict=True)
            if not pd.isna(g)
        }
        return cls(
            index=index,
            actors=actors,
            lon=lon,
            lat=lat,
            schedules=schedules,
            pickups=pickups,
            weekly=weekly,
            outline_sources=outline_sources,
        )

    @property
    def row_of(self) -> dict[str, int]:
        """Each actor's row in the index's table, by id."""
        return self.actors.row_of

    def lonlat(self, row: int) -> tuple[float, float] | None:
        """An actor's longitude and latitude, or None when it has no location."""
        lon, lat = float(self.lon[row]), float(self.lat[row])
        return None if math.isnan(lon) or math.isnan(lat) else (lon, lat)

    def prefixes(self, rows: Sequence[int]) -> list[str]:
        """The Feature text of each actor of ``rows`` without the end of its properties object
        (``}}``) and with a comma, for members to be appended."""
        return [f"{text[:-2]}," for text in self.actors.texts.many(rows)]

    def hit_features(self, hits: Sequence[ActorHit], now: datetime) -> list[str]:
        """Actors found by a proximity query, as GeoJSON Features with their next pick-up at
        ``now`` and ``distance_m``."""
        rows = [h.row for h in hits]
        return [
            f'{prefix}{fragment},"distance_m":{h.distance_m:.1f}}}}}'
            for h, prefix, fragment in zip(hits, self.prefixes(rows), self.pickups.at(rows, now), strict=True)
        ]

    def open_mask(self, open_filter: OpenAround) -> np.ndarray:
        """Which actors (rows of the index's table) are open on the filter's day around its time."""
        return open_rows(open_filter, self.schedules, self.weekly)
