"""OGC API - Features: landing page and conformance declaration."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import CheckedRoute
from api.geojson import GEOJSON_MEDIA_TYPE, JSON_MEDIA_TYPE, FastJSONResponse
from api.openapi import OPENAPI_MEDIA_TYPE, content
from api.routes import pages
from api.schemas import Conformance, LandingPage
from api.urls import link, url

router = APIRouter(tags=["OGC API - Features"], route_class=CheckedRoute)

CONFORMANCE_CLASSES = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"

Format = Annotated[
    Literal["json", "html"] | None,
    Query(description="Format de la réponse : json, ou html (carte) ; sinon selon l'en-tête Accept"),
]


def _landing(request: Request) -> dict[str, object]:
    links = [
        link(url(request, "/"), "self", JSON_MEDIA_TYPE, "Cette page"),
        link(url(request, "/openapi.json"), "service-desc", OPENAPI_MEDIA_TYPE, "Définition OpenAPI 3.0"),
        link(url(request, "/docs"), "service-doc", "text/html", "Documentation de l'API"),
        link(url(request, "/conformance"), "conformance", JSON_MEDIA_TYPE, "Classes de conformité"),
        link(url(request, "/conformance"), OGC_REL + "conformance", JSON_MEDIA_TYPE),
        link(url(request, "/collections"), "data", JSON_MEDIA_TYPE, "Collections"),
        link(url(request, "/collections"), OGC_REL + "data", JSON_MEDIA_TYPE),
        link(url(request, "/nearest"), "related", GEOJSON_MEDIA_TYPE, "Acteurs les plus proches d'un point"),
        link(url(request, "/within"), "related", GEOJSON_MEDIA_TYPE, "Acteurs dans un rayon"),
        link(url(request, "/locate"), "related", JSON_MEDIA_TYPE, "QPV et approvisionnement d'un point"),
        link(url(request, "/coverage"), "related", JSON_MEDIA_TYPE, "Couverture des QPV"),
        link(url(request, "/coverage/gaps"), "related", GEOJSON_MEDIA_TYPE, "Zones non couvertes"),
        link(url(request, "/suggestions"), "related", GEOJSON_MEDIA_TYPE, "Emplacements suggérés"),
    ]
    if pages.available():
        links.insert(
            1, link(url(request, "/", {"f": "html"}), "alternate", "text/html", "Carte des habitants")
        )
        links.append(link(url(request, "/map/planner"), "related", "text/html", "Carte des aménageurs"))
        links.append(link(url(request, "/embed"), "related", "text/html", "Carte à intégrer (iframe)"))
    return {
        "title": "essmap",
        "description": (
            "Circuits courts et économie sociale et solidaire autour des quartiers prioritaires (QPV) : "
            "données OGC API - Features, requêtes de proximité et couverture."
        ),
        "links": links,
    }


@router.get(
    "/",
    response_class=FastJSONResponse,
    responses={200: {"model": LandingPage, "content": {JSON_MEDIA_TYPE: {}, "text/html": {}}}},
)
async def landing_page(request: Request, f: Format = None) -> Response:
    """Landing page (JSON links; HTML resident map for browsers)."""
    if pages.wants_html(request, f):
        response = await pages.resident_page(request)
    else:
        response = FastJSONResponse(_landing(request))
    response.headers["Vary"] = "Accept, Origin"
    return response


@router.get("/conformance", response_class=FastJSONResponse, responses={200: content(Conformance)})
async def conformance(
    f: Annotated[Literal["json"] | None, Query(description="Format : json")] = None,
) -> Response:
    """Conformance classes implemented by this server."""
    return FastJSONResponse({"conformsTo": CONFORMANCE_CLASSES})
