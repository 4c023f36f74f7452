"""OGC API - Features collections: ``/collections``, ``/collections/{qpv,actors}``, items and features.

Each collection has its own paths and query model, so the OpenAPI document lists exactly the
property filters it accepts (``generation`` and ``code`` for QPVs, ``category`` for actors). No
``from __future__ import annotations`` here: FastAPI must see the real annotations of the handlers
made in a loop.
"""

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from fastapi import Depends, Path, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.caching import REVALIDATE, actor_etag, cache_headers, conditional, not_modified
from api.deps import HeavySlot, get_collection
from api.factory import BaseFactory
from api.filters import parse_bbox, parse_datetime
from api.geojson import GEOJSON_MEDIA_TYPE, JSON_MEDIA_TYPE, FastJSONResponse, GeoJSONResponse, with_members
from api.layers import COLLECTIONS, CollectionData, CollectionSpec, actor_feature
from api.openapi import NOT_FOUND, NOT_MODIFIED, content, geojson
from api.query import JsonFormat, OpenQuery, PageQuery, QueryModel
from api.schemas import Collection, Collections, Feature, OGCFeatureCollection
from api.urls import link, page_of, url
from essmap.cache import Versioned
from essmap.i18n import N_
from essmap.model import Category
from essmap.schedules import PARIS, OpenAround
from essmap.store.base import ActorRecord

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
BBOX_DESCRIPTION = (
    "Emprise lon/lat WGS 84 : minx,miny,maxx,maxy. minx > maxx désigne une emprise qui "
    "traverse l'antiméridien. Les objets sans localisation n'y répondent jamais."
)
DATETIME_FORMS = (
    "une date (2020-01-01), un instant RFC 3339 (2020-01-01T10:00:00Z) ou un intervalle "
    "(2020-01-01/2021-12-31, 2020-01-01/.., ../2021-12-31)"
)


def collection_json(request: Request, spec: CollectionSpec, data: CollectionData) -> dict[str, Any]:
    """One collection's description, with its extent and links."""
    base = f"/collections/{spec.id}"
    out: dict[str, Any] = {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(url(request, base), "self", JSON_MEDIA_TYPE, spec.title),
            link(url(request, base + "/items"), "items", GEOJSON_MEDIA_TYPE, "Objets (GeoJSON)"),
        ],
    }
    if data.extent is not None:
        out["extent"] = {"spatial": {"bbox": [data.extent], "crs": CRS84}}
    return out


class ItemsQuery(PageQuery):
    bbox: str | None = Field(None, description=BBOX_DESCRIPTION, examples=["-1.52,43.46,-1.44,43.52"])
    datetime: str | None = Field(None, description=f"Filtre temporel OGC : {DATETIME_FORMS}")
    f: JsonFormat = None

    def filters(self) -> dict[str, object]:
        return {}

    def open_filter(self) -> OpenAround | None:
        return None


class QpvItemsQuery(ItemsQuery):
    datetime: str | None = Field(
        None,
        description=(
            f"Filtre temporel OGC : {DATETIME_FORMS}. Accepté et ignoré : les QPV n'ont "
            "pas de propriété temporelle."
        ),
    )
    generation: int | None = Field(None, description="Génération de la liste des QPV (2015 ou 2024)")
    code: str | None = Field(None, description="Code du QPV (ex. QN06401I)")

    def filters(self) -> dict[str, object]:
        return {"generation": self.generation, "code": self.code}


class ActorItemsQuery(OpenQuery, ItemsQuery):
    datetime: str | None = Field(
        None,
        description=(
            f"Acteurs vérifiés (last_verified) à cette date ou dans cet intervalle : {DATETIME_FORMS}. "
            "Un acteur sans date de vérification ne répond jamais à ce filtre."
        ),
    )
    category: Category | None = Field(None, description="Catégorie d'acteur")

    def filters(self) -> dict[str, object]:
        return {"category": self.category.value if self.category is not None else None}


#: The query model of each collection's items.
ITEMS_QUERIES: dict[str, type[ItemsQuery]] = {"qpv": QpvItemsQuery, "actors": ActorItemsQuery}


def _digest(texts: list[str]) -> str:
    """What identifies features whose text changes with time (the next pick-ups), for the ETag."""
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


def items_page(
    request: Request, spec: CollectionSpec, data: Versioned[CollectionData], q: ItemsQuery
) -> Response:
    """One page of a collection's items, filtered by bbox, datetime, properties and opening times
    (GeoJSON); actors carry their next pick-up from now."""
    value = data.value
    rows = value.select(
        bbox=parse_bbox(q.bbox),
        filters=q.filters(),
        period=parse_datetime(q.datetime),
        open_filter=q.open_filter(),
    )
    page, members = page_of(request, rows, limit=q.limit, offset=q.offset, media_type=GEOJSON_MEDIA_TYPE)
    features = value.texts(page, dt.datetime.now(PARIS))

    def build() -> Response:
        collection = link(url(request, f"/collections/{spec.id}"), "collection", JSON_MEDIA_TYPE, spec.title)
        members["links"].insert(1, collection)
        members["timeStamp"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        body = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
        return GeoJSONResponse(with_members(body, members).encode())

    variant = _digest(features) if value.pickups is not None else ""
    return conditional(request, data.revision, build, variant=variant)


def feature_json(
    request: Request, spec: CollectionSpec, data: Versioned[CollectionData], feature_id: str
) -> Response:
    """One feature with its links (404 when the collection has no such feature)."""
    value = data.value
    (feature,) = value.texts([value.row(feature_id)], dt.datetime.now(PARIS))

    def build() -> Response:
        links = [
            link(url(request, f"/collections/{spec.id}/items/{feature_id}"), "self", GEOJSON_MEDIA_TYPE),
            link(url(request, f"/collections/{spec.id}"), "collection", JSON_MEDIA_TYPE, spec.title),
        ]
        return GeoJSONResponse(with_members(feature, {"links": links}).encode())

    variant = _digest([feature]) if value.pickups is not None else ""
    return conditional(request, data.revision, build, variant=variant)


class CollectionsQuery(QueryModel):
    f: JsonFormat = None


def _collection_dependency(spec: CollectionSpec) -> Callable[..., Any]:
    async def collection(request: Request) -> Versioned[CollectionData]:
        return await get_collection(request, spec.id)

    return collection


@dataclass
class CollectionsFactory(BaseFactory):
    """``/collections`` and, for each collection, its description, items and features."""

    tags: ClassVar[list[str]] = ["OGC API - Features"]

    def register_routes(self) -> None:
        @self.router.get(
            "/collections",
            response_class=FastJSONResponse,
            responses={200: content(Collections), **NOT_MODIFIED},
        )
        async def collections(request: Request, q: Annotated[CollectionsQuery, Query()]) -> Response:
            """The feature collections: QPVs and actors."""
            found = {cid: await get_collection(request, cid) for cid in COLLECTIONS}
            revision = "+".join(v.revision for v in found.values())

            def build() -> Response:
                items = [collection_json(request, COLLECTIONS[cid], v.value) for cid, v in found.items()]
                links = [link(url(request, "/collections"), "self", JSON_MEDIA_TYPE, "Collections")]
                return FastJSONResponse({"collections": items, "links": links})

            return conditional(request, revision, build)

        for spec in COLLECTIONS.values():
            self._register(spec, ITEMS_QUERIES[spec.id])

    def _register(self, spec: CollectionSpec, items_query: type[ItemsQuery]) -> None:
        path = f"/collections/{spec.id}"
        data_dep = Annotated[Versioned[CollectionData], Depends(_collection_dependency(spec))]

        @self.router.get(
            path,
            response_class=FastJSONResponse,
            responses={200: content(Collection), **NOT_MODIFIED},
            name=f"collection_{spec.id}",
            summary=N_("Collection « {id} »").format(id=spec.id),
            description=spec.description,
        )
        async def collection(
            request: Request, q: Annotated[CollectionsQuery, Query()], data: data_dep
        ) -> Response:
            return conditional(
                request, data.revision, lambda: FastJSONResponse(collection_json(request, spec, data.value))
            )

        @self.router.get(
            path + "/items",
            response_class=GeoJSONResponse,
            responses={200: geojson(OGCFeatureCollection), **NOT_MODIFIED},
            name=f"items_{spec.id}",
            summary=N_("Objets de la collection « {id} » (GeoJSON, paginés)").format(id=spec.id),
            dependencies=[HeavySlot],
        )
        def items(request: Request, q: Annotated[items_query, Query()], data: data_dep) -> Response:  # type: ignore[valid-type]
            return items_page(request, spec, data, q)

        feature_route = self.router.get(
            path + "/items/{featureId}",
            response_class=GeoJSONResponse,
            responses={200: geojson(Feature), **NOT_FOUND, **NOT_MODIFIED},
            name=f"feature_{spec.id}",
            summary=N_("Un objet de la collection « {id} »").format(id=spec.id),
        )
        if spec.id == "actors":
            # read from the store: the ETag is the actor's version (If-Match of the changes), and
            # a change made through any process is answered at once
            @feature_route
            async def actor(
                request: Request,
                q: Annotated[CollectionsQuery, Query()],
                featureId: Annotated[str, Path(description="Identifiant de l'acteur")],  # noqa: N803
            ) -> Response:
                record = await run_in_threadpool(request.app.state.store.get_actor, featureId)
                return actor_response(request, record)

            return

        @feature_route
        async def feature(
            request: Request,
            q: Annotated[CollectionsQuery, Query()],
            data: data_dep,
            featureId: Annotated[str, Path(description="Identifiant de l'objet")],  # noqa: N803  (OGC name)
        ) -> Response:
            return feature_json(request, spec, data, featureId)


def actor_response(request: Request, record: ActorRecord, *, status_code: int = 200) -> Response:
    """One actor as a GeoJSON Feature with its links, its next pick-up from now, and an ETag made of
    its version (what ``If-Match`` compares) and of the pick-up shown."""
    base = url(request, "/collections/actors")
    links = [
        link(f"{base}/items/{quote(record.id, safe='')}", "self", GEOJSON_MEDIA_TYPE),
        link(base, "collection", JSON_MEDIA_TYPE, COLLECTIONS["actors"].title),
        link(f"{base}/items/{quote(record.id, safe='')}/history", "version-history", JSON_MEDIA_TYPE),
    ]
    feature, pickup = actor_feature(record, dt.datetime.now(PARIS))
    variant = hashlib.sha256(pickup.encode()).hexdigest()[:8] if pickup else ""
    etag = actor_etag(record.version, record.updated_at, variant=variant)
    if request.method in ("GET", "HEAD"):
        unchanged = not_modified(request, etag, cache_control=REVALIDATE)
        if unchanged is not None:
            return unchanged
    body = with_members(feature, {"links": links}).encode()
    return GeoJSONResponse(body, status_code=status_code, headers=cache_headers(etag, REVALIDATE))
