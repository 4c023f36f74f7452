"""Proximity: ``/nearest``, ``/within`` and ``/locate`` (one point, or many with POST).

The routes are made by :func:`make_router` from the settings, so that the OpenAPI document
states the maxima the server applies (``max_k``, ``max_radius_m``, ``max_batch_points``). No
``from __future__ import annotations``: FastAPI reads the handlers' annotations at run time.

The three GET handlers are the API's hot path (bench/bench_api.py), :func:`api.direct.direct`
routes: they take the request and parse its query with one pydantic model
(:func:`api.query.parse_direct`, whose parameters are in the OpenAPI document), and get the
spatial index with :func:`api.deps.get_proximity`, instead of declaring them as FastAPI parameters
and dependencies. Each declared parameter or dependency costs FastAPI more per request (about 10
to 20 µs) than the spatial query itself.
"""

import csv
import io
import json
import math
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import CheckedRoute, ProximityDep, SettingsDep, get_proximity
from api.direct import direct
from api.errors import PayloadTooLargeError
from api.geojson import FastJSONResponse, GeoJSONResponse, dumps
from api.layers import Proximity
from api.openapi import TOO_LARGE, UNSUPPORTED, content, geojson
from api.query import QueryModel, parameters, parse_direct
from api.schemas import ActorHitCollection, LocateBatch, LocateResult
from essmap.errors import InvalidInputError, Problem
from essmap.index import ActorHit, QPVRelation
from essmap.model import Category
from essmap.settings import Settings

LonField = Annotated[float, Field(ge=-180, le=180, description="Longitude WGS 84 (ex. -1.4748)")]
LatField = Annotated[float, Field(ge=-90, le=90, description="Latitude WGS 84 (ex. 43.4929)")]
CategoriesField = Annotated[
    list[Category] | None,
    Field(description="Catégorie d'acteurs (répétable : category=a&category=b) ; toutes par défaut"),
]


def _categories(category: list[Category] | None) -> list[str] | None:
    return [c.value for c in category] if category else None


def hits_collection(proximity: Proximity, hits: list[ActorHit]) -> bytes:
    """Actors found by a proximity query, as a FeatureCollection sorted by distance."""
    features = ",".join([proximity.hit_feature(h) for h in hits])
    body = f'{{"type":"FeatureCollection","features":[{features}],"numberReturned":{len(hits)}}}'
    return body.encode()


def _relation(generation: int, rel: QPVRelation | None) -> dict[str, Any]:
    if rel is None:
        return {"generation": generation, "relation": None, "code": None, "name": None, "distance_m": None}
    return {
        "generation": generation,
        "relation": rel.relation,
        "code": rel.code,
        "name": rel.name,
        "distance_m": round(rel.distance_m, 1),
    }


def _supply(proximity: Proximity, hit: ActorHit) -> dict[str, Any]:
    lonlat = proximity.lonlat[hit.row] or (math.nan, math.nan)
    return {
        "id": hit.id,
        "name": hit.name,
        "category": hit.category,
        "distance_m": round(hit.distance_m, 1),
        "lon": lonlat[0],
        "lat": lonlat[1],
    }


def locate_one(
    proximity: Proximity,
    lon: float,
    lat: float,
    relations: dict[int, QPVRelation | None],
    hits: list[ActorHit],
) -> dict[str, Any]:
    return {
        "lon": lon,
        "lat": lat,
        "band_m": proximity.index.band_m,
        "neighbourhoods": [_relation(g, r) for g, r in relations.items()],
        "nearest_supply": [_supply(proximity, h) for h in hits],
    }


# --- batch input ----------------------------------------------------------------------------------
GEOJSON_TYPES = {"application/geo+json", "application/json"}
CSV_TYPES = {"text/csv", "text/plain", "application/csv"}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, settings: Settings) -> bytes:
    """The request body, refused beyond ``max_request_bytes`` (before and while reading it)."""
    limit = settings.max_request_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"le corps de la requête dépasse {limit} octets ({declared} annoncés)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"le corps de la requête dépasse {limit} octets")
        chunks.append(chunk)
    return b"".join(chunks)


def _bad(message: str, row: int | None = None, field: str | None = None) -> InvalidInputError:
    return InvalidInputError(Problem(message, file="corps de la requête", row=row, field=field))


def points_from_geojson(body: bytes) -> tuple[list[float], list[float], list[str | None]]:
    """Points of a GeoJSON FeatureCollection of Point features (lon/lat WGS 84, RFC 7946).

    Exactly what :data:`POINTS_SCHEMA` documents is accepted; anything else is a 400.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"JSON illisible : {exc}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise _bad("une FeatureCollection GeoJSON de points est attendue", field="type")
    features = data.get("features")
    if not isinstance(features, list):
        raise _bad("« features » doit être une liste", field="features")
    lons: list[float] = []
    lats: list[float] = []
    refs: list[str | None] = []
    for n, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise _bad("un objet Feature est attendu", row=n, field="type")
        ref = feature.get("id")
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
            raise _bad("l'identifiant doit être un texte ou un entier", row=n, field="id")
        props = feature.get("properties")
        if props is not None and not isinstance(props, dict):
            raise _bad("« properties » doit être un objet ou null", row=n, field="properties")
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            raise _bad("un point est attendu", row=n, field="geometry")
        position = geometry.get("coordinates")
        if (
            not isinstance(position, list)
            or len(position) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
        ):
            raise _bad("une position [lon, lat] est attendue", row=n, field="coordinates")
        if ref is None and props:
            ref = props.get("id")
        lons.append(float(position[0]))
        lats.append(float(position[1]))
        refs.append(None if ref is None else str(ref))
    return lons, lats, refs


def points_from_csv(body: bytes) -> tuple[list[float], list[float], list[str | None]]:
    """Points of a CSV with lon/lat columns (read like ``essmap`` reads point files)."""
    from essmap.sources import points_from_file

    with tempfile.TemporaryDirectory(prefix="essmap-locate-") as folder:
        path = Path(folder) / "points.csv"
        path.write_bytes(body)
        try:
            points = points_from_file(path)
        except InvalidInputError as exc:
            problems = [replace(p, file="corps de la requête") for p in exc.problems]
            raise InvalidInputError(problems) from None
    geoms = points.geometry
    return geoms.x.tolist(), geoms.y.tolist(), [None if r is None else str(r) for r in points["id"].tolist()]


def batch_csv(results: list[dict[str, Any]], generations: list[int]) -> str:
    """Batch results as CSV: one line per point, columns per generation and nearest supply."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["index", "ref", "lon", "lat"]
    for g in generations:
        header += [f"qpv{g}_relation", f"qpv{g}_code", f"qpv{g}_name", f"qpv{g}_distance_m"]
    header += [
        "nearest_supply_id",
        "nearest_supply_name",
        "nearest_supply_category",
        "nearest_supply_distance_m",
    ]
    writer.writerow(header)
    for item in results:
        row = [item["index"], item["ref"] or "", item["lon"], item["lat"]]
        by_gen = {r["generation"]: r for r in item["neighbourhoods"]}
        for g in generations:
            rel = by_gen.get(g) or {}
            row += [
                rel.get("relation") or "",
                rel.get("code") or "",
                rel.get("name") or "",
                rel.get("distance_m", ""),
            ]
        first = item["nearest_supply"][0] if item["nearest_supply"] else {}
        row += [
            first.get("id", ""),
            first.get("name", ""),
            first.get("category", ""),
            first.get("distance_m", ""),
        ]
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


POINTS_SCHEMA = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": True},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"type": "string", "enum": ["Point"]},
                            "coordinates": {
                                "type": "array",
                                "minItems": 2,
                                "maxItems": 3,
                                "items": {"type": "number", "minimum": -180, "maximum": 180},
                                "description": "[lon, lat] : lon dans [-180, 180], lat dans [-90, 90]",
                            },
                        },
                    },
                    "properties": {"type": "object", "nullable": True},
                },
            },
        },
    },
    "example": {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [-1.4748, 43.4929]}}
        ],
    },
}


def make_router(settings: Settings) -> APIRouter:
    """The proximity routes, with the maxima of ``settings`` in their OpenAPI description."""
    router = APIRouter(tags=["proximité"], route_class=CheckedRoute)

    class NearestQuery(QueryModel):
        lon: LonField
        lat: LatField
        k: int = Field(3, ge=1, le=settings.max_k, description="Nombre d'acteurs")
        category: CategoriesField = None
        max_distance_m: float | None = Field(
            None, gt=0, le=settings.max_radius_m, description="Distance maximale, en mètres"
        )

    class WithinQuery(QueryModel):
        lon: LonField
        lat: LatField
        radius_m: float = Field(gt=0, le=settings.max_radius_m, description="Rayon, en mètres")
        category: CategoriesField = None

    class LocateQuery(QueryModel):
        lon: LonField
        lat: LatField
        k: int = Field(
            3, ge=1, le=settings.max_k, description="Nombre de points d'approvisionnement les plus proches"
        )

    @router.get(
        "/nearest",
        response_class=GeoJSONResponse,
        responses={200: geojson(ActorHitCollection)},
        openapi_extra={"parameters": parameters(NearestQuery)},
    )
    @direct
    async def nearest(request: Request) -> Response:
        """The k actors nearest to a point, sorted by straight-line distance (metres)."""
        q = parse_direct(request, NearestQuery)
        proximity = await get_proximity(request)
        hits = proximity.index.nearest(
            q.lon, q.lat, k=q.k, categories=_categories(q.category), max_distance_m=q.max_distance_m
        )
        return GeoJSONResponse(hits_collection(proximity, hits))

    @router.get(
        "/within",
        response_class=GeoJSONResponse,
        responses={200: geojson(ActorHitCollection)},
        openapi_extra={"parameters": parameters(WithinQuery)},
    )
    @direct
    async def within(request: Request) -> Response:
        """Every actor within a radius of a point, sorted by distance (metres)."""
        q = parse_direct(request, WithinQuery)
        proximity = await get_proximity(request)
        hits = proximity.index.within(q.lon, q.lat, radius_m=q.radius_m, categories=_categories(q.category))
        return GeoJSONResponse(hits_collection(proximity, hits))

    @router.get(
        "/locate",
        response_class=FastJSONResponse,
        responses={200: content(LocateResult)},
        openapi_extra={"parameters": parameters(LocateQuery)},
    )
    @direct
    async def locate(request: Request) -> Response:
        """The QPV relation of a point for each generation, and its nearest supply points."""
        q = parse_direct(request, LocateQuery)
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
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": (
                    "Les points à situer : GeoJSON (FeatureCollection de points, lon/lat WGS 84 ; "
                    "l'identifiant de chaque point est son « id », ou properties.id) ou "
                    f"CSV avec des colonnes lon et lat (et id). Au plus {settings.max_batch_points} points "
                    f"et {settings.max_request_bytes} octets."
                ),
                "content": {
                    "application/geo+json": {"schema": POINTS_SCHEMA},
                    "text/csv": {"schema": {"type": "string"}, "example": "id,lon,lat\na,-1.4748,43.4929\n"},
                },
            }
        },
    )
    async def locate_many(
        request: Request,
        proximity: ProximityDep,
        settings: SettingsDep,
        k: Annotated[
            int, Query(ge=1, le=settings.max_k, description="Nombre de points d'approvisionnement par point")
        ] = 1,
        f: Annotated[Literal["json", "csv"], Query(description="Format de la réponse")] = "json",
    ) -> Response:
        """Batch check: the QPV relation and nearest supply of many points (GeoJSON or CSV body)."""
        media = _media_type(request)
        if media not in GEOJSON_TYPES | CSV_TYPES:
            return _unsupported(request, media)
        body = await read_body(request, settings)
        parse = points_from_geojson if media in GEOJSON_TYPES else points_from_csv
        lons, lats, refs = await run_in_threadpool(parse, body)
        if len(lons) > settings.max_batch_points:
            raise PayloadTooLargeError(
                f"{len(lons)} points envoyés ; au plus {settings.max_batch_points} par requête"
            )
        index = proximity.index
        relations = index.locate_bulk(lons, lats)
        hits = index.nearest_bulk(lons, lats, k=k, categories=settings.supply_categories)
        results = []
        for i, (lon, lat, ref) in enumerate(zip(lons, lats, refs, strict=True)):
            item = locate_one(proximity, lon, lat, relations[i], hits[i])
            results.append({"index": i, "ref": ref, **item})
        if f == "csv":
            text = batch_csv(results, list(index.generations))
            return Response(text, media_type="text/csv; charset=utf-8")
        return FastJSONResponse(dumps({"count": len(results), "results": results}).encode())

    return router


def _unsupported(request: Request, media: str) -> Response:
    from api.errors import problem_response

    shown = media or "absent"
    return problem_response(
        415,
        f"type de contenu « {shown} » non pris en charge : application/geo+json ou text/csv",
        instance=request.url.path,
    )
