"""OGC API - Features: landing page and conformance declaration. No ``from __future__ import
annotations``: FastAPI reads the handlers' annotations at run time."""

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from fastapi import Query, Request
from pydantic import Field
from starlette.responses import Response

from api.factory import BaseFactory
from api.geojson import GEOJSON_MEDIA_TYPE, JSON_MEDIA_TYPE, FastJSONResponse
from api.openapi import OPENAPI_MEDIA_TYPE, content
from api.query import JsonFormat, PageQueryModel, QueryModel, refuse_unknown
from api.routes import pages
from api.schemas import Conformance, LandingPage
from api.urls import link, url

CONFORMANCE_CLASSES = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    # Part 4 (create, replace, update, delete), for the actors collection, with an editor's key
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"


class LandingQuery(PageQueryModel):
    """The landing page's parameters: unknown ones are ignored when it answers the map (HTML) and
    refused when it answers JSON (:func:`api.query.refuse_unknown`)."""

    f: Literal["json", "html"] | None = Field(
        None, description="Format de la réponse : json, ou html (carte) ; sinon selon l'en-tête Accept"
    )
    lang: pages.PageLanguage = None


class ConformanceQuery(QueryModel):
    f: JsonFormat = None


def landing(request: Request) -> dict[str, object]:
    """The landing page's links (JSON)."""
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


@dataclass
class OGCFactory(BaseFactory):
    """``/`` and ``/conformance``."""

    tags: ClassVar[list[str]] = ["OGC API - Features"]

    def register_routes(self) -> None:
        @self.router.get(
            "/",
            response_class=FastJSONResponse,
            responses={200: {"model": LandingPage, "content": {JSON_MEDIA_TYPE: {}, "text/html": {}}}},
        )
        async def landing_page(request: Request, q: Annotated[LandingQuery, Query()]) -> Response:
            """Landing page (JSON links; HTML resident map for browsers)."""
            if pages.wants_html(request, q.f):
                response = await pages.resident_page(request, variant="html")
            else:
                refuse_unknown(q)
                response = FastJSONResponse(landing(request))
            # the answer depends on Accept (and the HTML page on Accept-Language, set by
            # resident_page); CORS adds Origin itself when it applies
            response.headers.add_vary_header("Accept")
            return response

        @self.router.get(
            "/conformance", response_class=FastJSONResponse, responses={200: content(Conformance)}
        )
        async def conformance(q: Annotated[ConformanceQuery, Query()]) -> Response:
            """Conformance classes implemented by this server."""
            return FastJSONResponse({"conformsTo": CONFORMANCE_CLASSES})
