"""OGC API - Features collections: ``/collections``, ``/collections/{qpv,actors}``, items and features.

Each collection has its own paths, so the OpenAPI document lists exactly the property filters it
accepts (``generation`` and ``code`` for QPVs, ``category`` for actors). No ``from __future__
import annotations`` here: FastAPI must see the real annotations of the handlers made in a loop.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from api.caching import cache_headers, etag_for, not_modified
from api.deps import CheckedRoute, CollectionsDep, SettingsDep, StoreDep
from api.geojson import GEOJSON_MEDIA_TYPE, JSON_MEDIA_TYPE, FastJSONResponse, GeoJSONResponse, with_members
from api.layers import COLLECTIONS, CollectionCache, CollectionData, CollectionSpec, parse_bbox
from api.openapi import NOT_FOUND, NOT_MODIFIED, content, geojson
from api.schemas import Collection, Collections, Feature, OGCFeatureCollection
from api.urls import link, url
from essmap.model import Category

router = APIRouter(tags=["OGC API - Features"], route_class=CheckedRoute)

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

JsonFormat = Annotated[Literal["json"] | None, Query(description="Format : json (GeoJSON pour les objets)")]


def _collection(request: Request, spec: CollectionSpec, data: CollectionData) -> dict[str, Any]:
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


def _cached(request: Request, revision: str, build: Callable[[], Response]) -> Response:
    etag = etag_for(revision, request)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    response = build()
    response.headers.update(cache_headers(etag))
    return response


@router.get(
    "/collections",
    response_class=FastJSONResponse,
    responses={200: content(Collections), **NOT_MODIFIED},
)
def collections(request: Request, store: StoreDep, cache: CollectionsDep, f: JsonFormat = None) -> Response:
    """The feature collections: QPVs and actors."""

    def build() -> Response:
        items = [_collection(request, spec, cache.get(spec.id)) for spec in COLLECTIONS.values()]
        links = [link(url(request, "/collections"), "self", JSON_MEDIA_TYPE, "Collections")]
        return FastJSONResponse({"collections": items, "links": links})

    return _cached(request, store.revision(), build)


# --- one collection, its items and its features ---------------------------------------------
Limit = Annotated[
    int | None,
    Query(
        ge=1,
        description=(
            "Nombre d'objets par page (10 par défaut). Une valeur au-delà du maximum du serveur "
            "(réglage items_max_limit, 1000 par défaut) est ramenée à ce maximum, sans erreur."
        ),
    ),
]
Offset = Annotated[int, Query(ge=0, description="Nombre d'objets à sauter (pagination)")]
BBoxParam = Annotated[
    str | None,
    Query(
        description=(
            "Emprise lon/lat WGS 84 : minx,miny,maxx,maxy. minx > maxx désigne une emprise qui "
            "traverse l'antiméridien. Les objets sans localisation n'y répondent jamais."
        ),
        examples=["-1.52,43.46,-1.44,43.52"],
    ),
]


def _items(
    request: Request,
    spec: CollectionSpec,
    cache: CollectionCache,
    settings: Any,
    *,
    bbox: str | None,
    limit: int | None,
    offset: int,
    filters: Mapping[str, object],
) -> Response:
    box = parse_bbox(bbox)
    data = cache.get(spec.id)
    etag = etag_for(data.revision, request)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    page_size = min(limit or settings.items_default_limit, settings.items_max_limit)
    rows = data.select(bbox=box, filters=filters)
    page = rows[offset : offset + page_size]
    base = f"/collections/{spec.id}/items"
    query = dict(request.query_params)
    query["limit"] = str(page_size)
    links = [
        link(url(request, base, {**query, "offset": offset}), "self", GEOJSON_MEDIA_TYPE, "Cette page"),
        link(url(request, f"/collections/{spec.id}"), "collection", JSON_MEDIA_TYPE, spec.title),
    ]
    if offset + page_size < len(rows):
        links.append(
            link(
                url(request, base, {**query, "offset": offset + page_size}),
                "next",
                GEOJSON_MEDIA_TYPE,
                "Page suivante",
            )
        )
    if offset > 0:
        previous = max(0, offset - page_size)
        links.append(
            link(
                url(request, base, {**query, "offset": previous}),
                "prev",
                GEOJSON_MEDIA_TYPE,
                "Page précédente",
            )
        )
    members = {
        "numberMatched": len(rows),
        "numberReturned": len(page),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    body = '{"type":"FeatureCollection","features":[' + ",".join(data.features[i] for i in page) + "]}"
    return GeoJSONResponse(with_members(body, members).encode(), headers=cache_headers(etag))


def _feature(request: Request, spec: CollectionSpec, cache: CollectionCache, feature_id: str) -> Response:
    data = cache.get(spec.id)
    etag = etag_for(data.revision, request)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    feature = data.feature(feature_id)
    links = [
        link(url(request, f"/collections/{spec.id}/items/{feature_id}"), "self", GEOJSON_MEDIA_TYPE),
        link(url(request, f"/collections/{spec.id}"), "collection", JSON_MEDIA_TYPE, spec.title),
    ]
    return GeoJSONResponse(with_members(feature, {"links": links}).encode(), headers=cache_headers(etag))


def _qpv_filters(
    generation: Annotated[
        int | None, Query(description="Génération de la liste des QPV (2015 ou 2024)")
    ] = None,
    code: Annotated[str | None, Query(description="Code du QPV (ex. QN06401I)")] = None,
) -> dict[str, object]:
    return {"generation": generation, "code": code}


def _actor_filters(
    category: Annotated[Category | None, Query(description="Catégorie d'acteur")] = None,
) -> dict[str, object]:
    return {"category": category.value if category is not None else None}


FILTERS: dict[str, Callable[..., dict[str, object]]] = {"qpv": _qpv_filters, "actors": _actor_filters}


def _register(spec: CollectionSpec) -> None:
    filters_dep = FILTERS[spec.id]
    collection_path = f"/collections/{spec.id}"

    @router.get(
        collection_path,
        response_class=FastJSONResponse,
        responses={200: content(Collection), **NOT_MODIFIED},
        name=f"collection_{spec.id}",
        summary=f"Collection « {spec.id} »",
        description=spec.description,
    )
    def collection(request: Request, cache: CollectionsDep, f: JsonFormat = None) -> Response:
        data = cache.get(spec.id)
        return _cached(request, data.revision, lambda: FastJSONResponse(_collection(request, spec, data)))

    @router.get(
        collection_path + "/items",
        response_class=GeoJSONResponse,
        responses={200: geojson(OGCFeatureCollection), **NOT_MODIFIED},
        name=f"items_{spec.id}",
        summary=f"Objets de la collection « {spec.id} » (GeoJSON, paginés)",
    )
    def items(
        request: Request,
        cache: CollectionsDep,
        settings: SettingsDep,
        filters: Annotated[dict[str, object], Depends(filters_dep)],
        bbox: BBoxParam = None,
        limit: Limit = None,
        offset: Offset = 0,
        f: JsonFormat = None,
    ) -> Response:
        return _items(request, spec, cache, settings, bbox=bbox, limit=limit, offset=offset, filters=filters)

    @router.get(
        collection_path + "/items/{featureId}",
        response_class=GeoJSONResponse,
        responses={200: geojson(Feature), **NOT_FOUND, **NOT_MODIFIED},
        name=f"feature_{spec.id}",
        summary=f"Un objet de la collection « {spec.id} »",
    )
    def feature(
        request: Request,
        cache: CollectionsDep,
        featureId: Annotated[str, Path(description="Identifiant de l'objet")],  # noqa: N803  (OGC name)
        f: JsonFormat = None,
    ) -> Response:
        return _feature(request, spec, cache, featureId)


for _spec in COLLECTIONS.values():
    _register(_spec)
