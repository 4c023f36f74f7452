"""Proximity: ``/nearest``, ``/within`` and ``/locate`` (one point, or many with POST).

The query models are made from the settings, so that the OpenAPI document states the maxima the
server applies (``max_k``, ``max_radius_m``, page sizes, batch sizes). No ``from __future__
import annotations``: FastAPI reads the handlers' annotations at run time.

``/nearest`` and ``GET /locate`` answer one point in well under a millisecond, on the event loop.
``/within`` (a radius may hold every actor) computes in a worker thread holding a heavy-work slot,
and answers one page. ``POST /locate`` computes and streams its answer chunk by chunk, each chunk
in a heavy-work slot (:mod:`api.batch`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Query, Request
from pydantic import Field
from starlette.responses import Response, StreamingResponse

from api.batch import (
    CSV_TYPES,
    GEOJSON_TYPES,
    POINTS_SCHEMA,
    Batch,
    check_batch,
    geocode_points,
    locate_one,
    media_type,
    points_from_csv,
    points_from_geojson,
    read_body,
    stream,
)
from api.deps import ProximityDep, get_proximity, run_heavy
from api.errors import problem_response
from api.factory import BaseFactory
from api.geojson import GEOJSON_MEDIA_TYPE, FastJSONResponse, GeoJSONResponse, with_members
from api.layers import Proximity
from api.openapi import GEOCODER_UNAVAILABLE, NOT_FOUND, TOO_LARGE, UNSUPPORTED, content, geojson
from api.places import get_geocoder, query_point
from api.query import (
    Categories,
    Lat,
    Lon,
    ModeQuery,
    OpenQuery,
    PageQuery,
    PointQuery,
    QueryModel,
    category_values,
)
from api.schemas import ActorHitPage, LocateBatch, LocateResult, NearestCollection
from api.urls import page_of
from api.walking import get_walking, walk_collection, walk_features, walk_open_nearest
from essmap.errors import InvalidParameterError
from essmap.index import ActorHit, NearestAnswer
from essmap.labels import nothing_within_fr
from essmap.network import WalkHit
from essmap.schedules import PARIS, OpenAround
from essmap.settings import Settings


def hits_collection(
    proximity: Proximity, hits: list[ActorHit], members: dict[str, Any] | None = None
) -> bytes:
    """Actors found by a proximity query, as a FeatureCollection sorted by distance, each with its
    next pick-up from now.

    ``members`` are added at the top level (``numberReturned`` alone when not given).
    """
    features = ",".join(proximity.hit_features(hits, datetime.now(PARIS)))
    if members is None:
        return f'{{"type":"FeatureCollection","features":[{features}],"numberReturned":{len(hits)}}}'.encode()
    return with_members(f'{{"type":"FeatureCollection","features":[{features}]}}', members).encode()


def nearest_members(answer: NearestAnswer) -> dict[str, Any]:
    """Top-level members of a nearest answer: the bound searched within, and, when nothing is
    within it, how far the nearest actor is and a sentence saying so."""
    members: dict[str, Any] = {
        "numberReturned": len(answer.hits),
        "max_distance_m": answer.max_distance_m,
    }
    if not answer.hits:
        members["beyond_m"] = None if answer.beyond_m is None else round(answer.beyond_m, 1)
        members["detail"] = nothing_within_fr(answer.max_distance_m, answer.beyond_m)
    return members


def open_nearest(
    proximity: Proximity,
    lon: float,
    lat: float,
    *,
    k: int,
    categories: list[str] | None,
    max_distance_m: float | None,
    open_filter: OpenAround,
) -> NearestAnswer:
    """The k nearest actors open on the filter's day around its time (every actor within the
    bound is looked at: run it in a heavy-work slot)."""
    index = proximity.index
    bound = max_distance_m if max_distance_m is not None else index.default_max_distance_m
    is_open = proximity.open_mask(open_filter)
    hits = [h for h in index.within(lon, lat, radius_m=bound, categories=categories) if is_open[h.row]]
    return NearestAnswer(hits[:k], bound, None)


async def walk_nearest(
    request: Request,
    q: Any,
    proximity: Proximity,
    lon: float,
    lat: float,
    categories: list[str] | None,
    address: dict[str, Any] | None,
) -> Response:
    """``/nearest?mode=walk``: the k actors nearest on foot (computed off the event loop)."""
    settings: Settings = request.app.state.settings
    walking = await get_walking(request)
    open_filter = q.open_filter()

    def answer() -> tuple[list[WalkHit], float, float | None, str, float | None]:
        if open_filter is not None:
            hits = walk_open_nearest(
                walking,
                proximity,
                lon,
                lat,
                k=q.k,
                categories=categories,
                max_distance_m=q.max_distance_m,
                open_filter=open_filter,
            )
            bound = q.max_distance_m if q.max_distance_m is not None else walking.options.max_distance_m
            return hits, bound, None, walking.point_method(lon, lat), None
        found = walking.nearest_answer(
            lon, lat, k=q.k, categories=categories, max_distance_m=q.max_distance_m
        )
        return found.hits, found.max_distance_m, found.beyond_m, found.distance_method, found.snap_m

    hits, bound, beyond, method, snap = await run_heavy(request, answer)
    members = nearest_members(NearestAnswer(hits, bound, beyond)) | q.open_members()  # type: ignore[arg-type]
    members |= {"mode": "walk", "distance_method": method, "snap_m": None if snap is None else round(snap, 1)}
    if address is not None:
        members["address"] = address
    features = walk_features(
        proximity, walking, hits, now=datetime.now(PARIS), settings=settings, origin=(lon, lat)
    )
    return GeoJSONResponse(walk_collection(features, members))


async def walk_within(
    request: Request,
    q: Any,
    proximity: Proximity,
    lon: float,
    lat: float,
    address: dict[str, Any] | None,
) -> Response:
    """``/within?mode=walk``: the actors within a walking distance, one page at a time."""
    settings: Settings = request.app.state.settings
    walking = await get_walking(request)
    open_filter = q.open_filter()

    def found() -> tuple[list[WalkHit], str]:
        hits = walking.within(lon, lat, radius_m=q.radius_m, categories=category_values(q.category))
        if open_filter is not None:
            is_open = proximity.open_mask(open_filter)
            hits = [h for h in hits if is_open[h.row]]
        return hits, walking.point_method(lon, lat)

    hits, method = await run_heavy(request, found)
    page, members = page_of(request, hits, limit=q.limit, offset=q.offset, media_type=GEOJSON_MEDIA_TYPE)
    members |= q.open_members() | {"mode": "walk", "distance_method": method}
    if address is not None:
        members["address"] = address

    def body() -> bytes:  # a page of up to items_max_limit features, some written for the first time
        features = walk_features(
            proximity, walking, page, now=datetime.now(PARIS), settings=settings, origin=(lon, lat)
        )
        return walk_collection(features, members)

    return GeoJSONResponse(await run_heavy(request, body))


@dataclass
class ProximityFactory(BaseFactory):
    """``/nearest``, ``/within``, ``GET /locate`` and ``POST /locate``."""

    tags: ClassVar[list[str]] = ["proximité"]

    def register_routes(self) -> None:
        settings = self.settings
        router = self.router

        class NearestQuery(PointQuery, OpenQuery, ModeQuery):
            k: int = Field(3, ge=1, le=settings.max_k, description="Nombre d'acteurs")
            category: Categories = None
            max_distance_m: float | None = Field(
                None, gt=0, le=settings.max_radius_m, description="Distance maximale, en mètres"
            )

        class WithinQuery(PageQuery, PointQuery, OpenQuery, ModeQuery):
            radius_m: float = Field(gt=0, le=settings.max_radius_m, description="Rayon, en mètres")
            category: Categories = None

        class LocateQuery(QueryModel):
            lon: Lon
            lat: Lat
            k: int = Field(
                3,
                ge=1,
                le=settings.max_k,
                description="Nombre de points d'approvisionnement les plus proches",
            )

        class BatchQuery(QueryModel):
            k: int = Field(
                1,
                ge=1,
                le=settings.max_k,
                description=(
                    "Nombre de points d'approvisionnement par point ; points × k au plus "
                    f"{settings.max_batch_results}"
                ),
            )
            f: Literal["json", "csv"] = Field("json", description="Format de la réponse")
            crs: str | None = Field(
                None,
                max_length=100,
                description=(
                    "CSV : système de coordonnées des colonnes x et y (par exemple EPSG:2154) ; "
                    "les colonnes lon et lat sont en WGS 84. Sans objet en GeoJSON (WGS 84, RFC 7946)."
                ),
            )

        # The one-point GETs take the index with get_proximity rather than as a dependency:
        # FastAPI's resolution of one more dependency cost about a fifth of a /nearest request
        # (bench/bench_api.py).
        @router.get(
            "/nearest",
            response_class=GeoJSONResponse,
            responses={200: geojson(NearestCollection), **NOT_FOUND, **GEOCODER_UNAVAILABLE},
        )
        async def nearest(request: Request, q: Annotated[NearestQuery, Query()]) -> Response:
            """The k actors nearest to a point or an address, sorted by straight-line distance (metres)."""
            proximity = await get_proximity(request)
            categories = category_values(q.category)
            lon, lat, address = await query_point(request, q)
            open_filter = q.open_filter()
            if q.mode == "walk":
                return await walk_nearest(request, q, proximity, lon, lat, categories, address)
            if open_filter is None:
                answer = proximity.index.nearest_answer(
                    lon, lat, k=q.k, categories=categories, max_distance_m=q.max_distance_m
                )
            else:
                answer = await run_heavy(
                    request,
                    lambda: open_nearest(
                        proximity,
                        lon,
                        lat,
                        k=q.k,
                        categories=categories,
                        max_distance_m=q.max_distance_m,
                        open_filter=open_filter,
                    ),
                )
            members = nearest_members(answer) | q.open_members()
            if address is not None:
                members["address"] = address
            return GeoJSONResponse(hits_collection(proximity, answer.hits, members))

        @router.get(
            "/within",
            response_class=GeoJSONResponse,
            responses={200: geojson(ActorHitPage), **NOT_FOUND, **GEOCODER_UNAVAILABLE},
        )
        async def within(
            request: Request, q: Annotated[WithinQuery, Query()], proximity: ProximityDep
        ) -> Response:
            """Actors within a radius of a point or an address, sorted by distance (metres), one page
            at a time."""
            lon, lat, address = await query_point(request, q)
            open_filter = q.open_filter()
            if q.mode == "walk":
                return await walk_within(request, q, proximity, lon, lat, address)

            def found() -> list[ActorHit]:
                hits = proximity.index.within(
                    lon, lat, radius_m=q.radius_m, categories=category_values(q.category)
                )
                if open_filter is None:
                    return hits
                is_open = proximity.open_mask(open_filter)
                return [h for h in hits if is_open[h.row]]

            hits = await run_heavy(request, found)
            page, members = page_of(
                request, hits, limit=q.limit, offset=q.offset, media_type=GEOJSON_MEDIA_TYPE
            )
            members |= q.open_members()
            if address is not None:
                members["address"] = address
            # a page of up to items_max_limit features, some written for the first time (FeatureTexts)
            return GeoJSONResponse(await run_heavy(request, hits_collection, proximity, page, members))

        @router.get("/locate", response_class=FastJSONResponse, responses={200: content(LocateResult)})
        async def locate(request: Request, q: Annotated[LocateQuery, Query()]) -> Response:
            """The QPV relation of a point for each generation, and its nearest supply points."""
            proximity = await get_proximity(request)
            relations = proximity.index.locate(q.lon, q.lat)
            hits = proximity.index.nearest(q.lon, q.lat, k=q.k, categories=settings.supply_categories)
            return FastJSONResponse(locate_one(proximity, q.lon, q.lat, relations, hits))

        @router.post(
            "/locate",
            response_class=FastJSONResponse,
            responses={
                200: {"model": LocateBatch, "content": {"application/json": {}, "text/csv": {}}},
                **TOO_LARGE,
                **UNSUPPORTED,
                **GEOCODER_UNAVAILABLE,
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "description": (
                        "Les points à situer : GeoJSON (FeatureCollection de points, lon/lat WGS 84 ; "
                        "l'identifiant de chaque point est son « id », ou properties.id ; une géométrie "
                        "nulle et une propriété « address » donnent une adresse à la place du point) ou "
                        "CSV avec des colonnes lon et lat, ou une colonne address (et id). Les adresses "
                        "sont cherchées (la meilleure réponse ; la réponse dit l'adresse comprise) ; une "
                        "adresse introuvable refuse la requête en nommant sa ligne. Au plus "
                        f"{settings.max_batch_points} points, {settings.max_request_bytes} octets, "
                        f"et {settings.max_batch_results} réponses (points × k)."
                    ),
                    "content": {
                        "application/geo+json": {"schema": POINTS_SCHEMA},
                        "text/csv": {
                            "schema": {"type": "string"},
                            "example": "id,lon,lat\na,-1.4748,43.4929\n",
                        },
                    },
                }
            },
        )
        async def locate_many(
            request: Request,
            q: Annotated[BatchQuery, Query()],
            proximity: ProximityDep,
        ) -> Response:
            """Batch check: the QPV relation and nearest supply of many points (GeoJSON or CSV body)."""
            media = media_type(request)
            if media not in GEOJSON_TYPES | CSV_TYPES:
                return _unsupported(request, media)
            body = await read_body(request, settings)
            if media in GEOJSON_TYPES:
                if q.crs is not None:
                    raise InvalidParameterError("crs", "sans objet en GeoJSON : les positions sont en WGS 84")
                points = await run_heavy(request, points_from_geojson, body)
            else:
                points = await run_heavy(request, points_from_csv, body, q.crs)
            if points.to_geocode():
                points = await run_heavy(request, geocode_points, points, await get_geocoder(request))
            check_batch(points, k=q.k, settings=settings, proximity=proximity)
            batch = Batch(proximity, points, q.k, settings.supply_categories, csv=q.f == "csv")
            chunks = await stream(batch, lambda answer, rows: run_heavy(request, answer, rows))
            kind = "text/csv; charset=utf-8" if batch.csv else "application/json"
            return StreamingResponse(chunks, media_type=kind)


def _unsupported(request: Request, media: str) -> Response:
    shown = media or "absent"
    return problem_response(
        415,
        f"type de contenu « {shown} » non pris en charge : application/geo+json ou text/csv",
        instance=request.url.path,
    )
