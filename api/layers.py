"""What the API serves from the store, prepared once per store revision (kept in the app's cache).

- :class:`CollectionData`: one feature collection (``qpv`` or ``actors``) with every feature
  written as GeoJSON text once, a shapely STRtree over the located features for ``bbox``, the
  filter columns and the days of the temporal property for ``datetime``. A request then only
  selects row numbers and joins strings.
- :class:`Proximity`: the spatial index with each actor's GeoJSON written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.filters import BBox, Period
from api.geojson import feature_json, geometries_json, records
from essmap.errors import NotFoundError
from essmap.index import ActorHit, SpatialIndex, build_index
from essmap.labels import CATEGORY_LABELS_FR
from essmap.settings import Settings
from essmap.store import Store


@dataclass(frozen=True)
class CollectionSpec:
    """What a collection is: id, French title and description, how to read and identify it."""

    id: str
    title: str
    description: str
    load: Callable[[Store], gpd.GeoDataFrame]
    feature_ids: Callable[[gpd.GeoDataFrame], list[str]]
    properties: Callable[[gpd.GeoDataFrame], pd.DataFrame]
    filters: tuple[str, ...]
    temporal: str | None = None  # the date property that ``datetime`` filters on, if any


def _qpv_ids(table: gpd.GeoDataFrame) -> list[str]:
    return [f"{g}-{c}" for g, c in zip(table["generation"].tolist(), table["code"].tolist(), strict=True)]


def _qpv_properties(table: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(table.drop(columns=table.geometry.name))


def _actor_ids(table: gpd.GeoDataFrame) -> list[str]:
    return [str(i) for i in table["id"].tolist()]


def _actor_properties(table: gpd.GeoDataFrame) -> pd.DataFrame:
    props = pd.DataFrame(table.drop(columns=[table.geometry.name, "id"]))
    labels = props["category"].map(lambda c: CATEGORY_LABELS_FR.get(str(c)) if pd.notna(c) else None)
    props.insert(props.columns.get_loc("category") + 1, "category_label", labels.astype("string"))
    return props


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
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.ids)

    def feature(self, feature_id: str) -> str:
        row = self.row_of.get(feature_id)
        if row is None:
            raise NotFoundError(f"aucun objet d'identifiant « {feature_id} » dans cette collection")
        return self.features[row]

    def select(
        self, *, bbox: BBox | None, filters: Mapping[str, object], period: Period | None = None
    ) -> np.ndarray:
        """Row numbers matching the filters, the bbox and the period, in store order.

        A collection without a temporal property ignores ``period``; a feature without a date
        never matches one.
        """
        mask = np.ones(self.size, dtype=bool)
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
    features = [feature_json(i, g, p) for i, g, p in zip(ids, geometry_text, records(props), strict=True)]
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
        ids=ids,
        features=features,
        row_of={fid: row for row, fid in enumerate(ids)},
        filter_values=filter_values,
        tree=shapely.STRtree(geoms[rows]),
        tree_rows=rows,
        extent=extent,
        days=days,
    )


# --- actors as GeoJSON for proximity answers ----------------------------------------------------
@dataclass
class Proximity:
    """The spatial index of one store revision, with each actor's GeoJSON written once.

    ``prefix[row]`` is the actor's whole Feature without the end of its properties object, so that
    answering a query only appends a distance: nothing is parsed or serialised again.
    """

    index: SpatialIndex
    prefix: list[str]
    lonlat: list[tuple[float, float] | None]
    #: Where each QPV's outline comes from, by (generation, code).
    outline_sources: dict[tuple[int, str], str | None]

    @classmethod
    def from_store(cls, store: Store, settings: Settings) -> Proximity:
        """Build the spatial index of the store's content and write each actor's GeoJSON."""
        index = build_index(store, settings)
        actors = index.actors
        geoms = actors.geometry.to_numpy()
        ids = [str(i) for i in actors["id"].tolist()]
        props = records(_actor_properties(actors))
        prefix = []
        for fid, geometry, prop in zip(ids, geometries_json(geoms), props, strict=True):
            text = feature_json(fid, geometry, prop)[:-2]  # without the closing "}}"
            prefix.append(text + ("," if prop else ""))
        lonlat: list[tuple[float, float] | None] = [None] * len(actors)
        for row, geom in enumerate(geoms):
            if geom is not None and not geom.is_empty:
                lonlat[row] = (float(geom.x), float(geom.y))
        qpv = index.neighbourhoods
        outline_sources = {
            (int(g), str(c)): (None if pd.isna(src) else str(src))
            for g, c, src in zip(qpv["generation"], qpv["code"], qpv["geometry_source"], strict=True)
            if not pd.isna(g)
        }
        return cls(index=index, prefix=prefix, lonlat=lonlat, outline_sources=outline_sources)

    def hit_feature(self, hit: ActorHit) -> str:
        """One actor found by a proximity query, as a GeoJSON Feature with ``distance_m``."""
        return f'{self.prefix[hit.row]}"distance_m":{hit.distance_m:.1f}}}}}'
