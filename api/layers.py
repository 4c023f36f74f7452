"""The two feature collections (``qpv`` and ``actors``), serialised once per store revision.

Each collection is read from the store, every feature is written as GeoJSON text once, and a
shapely STRtree over the located features answers ``bbox`` queries. A request then only filters
row numbers and joins strings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.geojson import feature_json, geometries_json, records
from essmap.errors import InvalidParameterError, NotFoundError
from essmap.index import ActorHit, SpatialIndex
from essmap.labels import CATEGORY_LABELS_FR
from essmap.store import Store

BBox = tuple[float, float, float, float]


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
    ),
}


@dataclass
class CollectionData:
    """One collection at one store revision, ready to serve."""

    revision: str
    ids: list[str]
    features: list[str]
    row_of: dict[str, int]
    filter_values: dict[str, np.ndarray]
    tree: shapely.STRtree
    tree_rows: np.ndarray
    extent: list[float] | None
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.ids)

    def feature(self, feature_id: str) -> str:
        row = self.row_of.get(feature_id)
        if row is None:
            raise NotFoundError(f"aucun objet d'identifiant « {feature_id} » dans cette collection")
        return self.features[row]

    def select(self, *, bbox: BBox | None, filters: Mapping[str, object]) -> np.ndarray:
        """Row numbers matching the filters and the bbox, in store order."""
        mask = np.ones(self.size, dtype=bool)
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


def parse_bbox(text: str | None) -> BBox | None:
    """Parse an OGC ``bbox`` (lon/lat WGS 84: minx,miny,maxx,maxy, or 6 numbers with heights)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameterError(
            "bbox", f"« {text} » : quatre nombres séparés par des virgules attendus (minx,miny,maxx,maxy)"
        ) from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise InvalidParameterError(
            "bbox", f"« {text} » : 4 ou 6 nombres attendus (minx,miny,maxx,maxy), {len(values)} reçus"
        )
    minx, miny, maxx, maxy = values
    if not all(np.isfinite(values)):
        raise InvalidParameterError("bbox", f"« {text} » : les coordonnées doivent être des nombres finis")
    for name, lon in (("minx", minx), ("maxx", maxx)):
        if not -180 <= lon <= 180:
            raise InvalidParameterError("bbox", f"{name} {lon} est hors de [-180, 180] (longitude)")
    for name, lat in (("miny", miny), ("maxy", maxy)):
        if not -90 <= lat <= 90:
            raise InvalidParameterError("bbox", f"{name} {lat} est hors de [-90, 90] (latitude)")
    if miny > maxy:
        raise InvalidParameterError("bbox", f"miny {miny} est supérieur à maxy {maxy}")
    return (minx, miny, maxx, maxy)


def _build(spec: CollectionSpec, table: gpd.GeoDataFrame, revision: str) -> CollectionData:
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
    return CollectionData(
        revision=revision,
        ids=ids,
        features=features,
        row_of={fid: row for row, fid in enumerate(ids)},
        filter_values=filter_values,
        tree=shapely.STRtree(geoms[rows]),
        tree_rows=rows,
        extent=extent,
    )


class CollectionCache:
    """Serialised collections of a store, rebuilt when the store revision changes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._data: dict[str, CollectionData] = {}

    def get(self, collection_id: str) -> CollectionData:
        spec = COLLECTIONS[collection_id]
        revision = self.store.revision()
        data = self._data.get(collection_id)
        if data is not None and data.revision == revision:
            return data
        with self._lock:
            data = self._data.get(collection_id)
            if data is None or data.revision != revision:
                data = _build(spec, spec.load(self.store), revision)
                self._data[collection_id] = data
        return data


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

    @classmethod
    def build(cls, index: SpatialIndex) -> Proximity:
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
        return cls(index=index, prefix=prefix, lonlat=lonlat)

    def hit_feature(self, hit: ActorHit) -> str:
        """One actor found by a proximity query, as a GeoJSON Feature with ``distance_m``."""
        return f'{self.prefix[hit.row]}"distance_m":{hit.distance_m:.1f}}}}}'
