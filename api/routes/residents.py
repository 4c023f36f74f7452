"""Residents' questions: address search (``/geocode``) and an actor's calendar file
(``/collections/actors/items/{id}/ical``). No ``from __future__ import annotations``: FastAPI
reads the handlers' annotations at run time.

``/geocode`` answers in the national address service's GeoJSON format, from the geocoder the
settings select (the local index of imported addresses, built once per store revision, or the
web service); the search runs in a worker thread.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, ClassVar

from fastapi import Path, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import get_proximity
from api.factory import BaseFactory
from api.geojson import GeoJSONResponse, dumps
from api.layers import Proximity
from api.openapi import GEOCODER_UNAVAILABLE, NOT_FOUND, geojson
from api.places import get_geocoder
from api.query import QueryModel
from api.schemas import GeocodeCollection
from essmap.errors import NotFoundError
from essmap.geocoding import MAX_LIMIT, feature_collection
from essmap.schedules import ICAL_MEDIA_TYPE, PARIS, actor_ical

ICAL_RESPONSES = {
    200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "Fichier iCalendar"},
    **NOT_FOUND,
}


class GeocodeQuery(QueryModel):
    q: str = Field(
        min_length=1,
        max_length=200,
        description="Texte cherché : adresse, voie, commune ou code postal (ex. « 12 av de Lattre Bayonne »)",
    )
    limit: int = Field(5, ge=1, le=MAX_LIMIT, description="Nombre de réponses")
    autocomplete: bool = Field(
        True, description="Lire le dernier mot comme un début de mot (saisie en cours), sauf après une espace"
    )


def ical_response(proximity: Proximity, feature_id: str, now: datetime) -> Response:
    """The calendar file of an actor (404 for an unknown actor or one without a schedule)."""
    row = proximity.row_of.get(feature_id)
    if row is None:
        raise NotFoundError(f"aucun acteur d'identifiant « {feature_id} »")
    fields = proximity.index.actors.iloc[row].to_dict()
    lonlat = proximity.lonlat(row)
    data = actor_ical(
        fields,
        lon=None if lonlat is None else lonlat[0],
        lat=None if lonlat is None else lonlat[1],
        now=now,
    )
    filename = "".join(c if c.isalnum() or c in "-_" else "-" for c in feature_id) or "agenda"
    return Response(
        data,
        media_type=ICAL_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}.ics"'},
    )


@dataclass
class ResidentsFactory(BaseFactory):
    """``/geocode`` and ``/collections/actors/items/{featureId}/ical``."""

    tags: ClassVar[list[str]] = ["habitants"]

    def register_routes(self) -> None:
        router = self.router

        @router.get(
            "/geocode",
            response_class=GeoJSONResponse,
            responses={200: geojson(GeocodeCollection), **GEOCODER_UNAVAILABLE},
        )
        async def geocode(request: Request, q: Annotated[GeocodeQuery, Query()]) -> Response:
            """Address search: addresses, streets and municipalities for a text, best first (GeoJSON)."""
            geocoder = await get_geocoder(request)
            results = await run_in_threadpool(
                lambda: geocoder.search(q.q, limit=q.limit, autocomplete=q.autocomplete)
            )
            body = feature_collection(results, query=q.q, limit=q.limit)
            return GeoJSONResponse(dumps(body).encode())

        @router.get(
            "/collections/actors/items/{featureId}/ical",
            response_class=Response,
            responses=ICAL_RESPONSES,
            tags=["OGC API - Features"],
        )
        async def actor_calendar(
            request: Request,
            featureId: Annotated[str, Path(description="Identifiant de l'acteur")],  # noqa: N803  (OGC name)
        ) -> Response:
            """An actor's pick-up times as an iCalendar file (RFC 5545) to add to a calendar."""
            proximity = await get_proximity(request)
            return await run_in_threadpool(ical_response, proximity, featureId, datetime.now(PARIS))
