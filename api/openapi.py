"""The OpenAPI document: OpenAPI 3.0 (OGC API - Features asks for it), with problem responses.

FastAPI writes OpenAPI 3.1; :func:`downgrade` rewrites the few 3.1 constructs it uses
(``anyOf`` with ``null``, ``const``, numeric ``exclusiveMinimum``, ``examples``) into 3.0 form.
Every operation documents its 400 problem (invalid or unknown parameter) instead of FastAPI's 422.

Summaries are user-facing, hence French and in the message catalogues: a route's ``summary=``, or
its entry in :data:`SUMMARIES`; the handlers' docstrings (English, for developers) are not
published.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.errors import PROBLEM_MEDIA_TYPE
from api.geojson import GEOJSON_MEDIA_TYPE, JSON_MEDIA_TYPE
from api.schemas import ProblemDetail
from essmap.i18n import DEFAULT_LANGUAGE, N_, gettext

OPENAPI_VERSION = "3.0.3"
OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def content(
    model: type[BaseModel], media_type: str = JSON_MEDIA_TYPE, description: str = ""
) -> dict[str, Any]:
    """A ``responses`` entry whose body follows ``model`` in ``media_type``."""
    entry: dict[str, Any] = {"model": model, "content": {media_type: {}}}
    if description:
        entry["description"] = description
    return entry


def geojson(model: type[BaseModel], description: str = "") -> dict[str, Any]:
    return content(model, GEOJSON_MEDIA_TYPE, description)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "Ressource introuvable (problem+json)"}}
TOO_LARGE: Responses = {413: {"description": "Requête trop volumineuse (problem+json)"}}
UNSUPPORTED: Responses = {415: {"description": "Type de contenu non pris en charge (problem+json)"}}
GEOCODER_UNAVAILABLE: Responses = {
    503: {
        "description": (
            "Recherche d'adresse indisponible : aucune adresse importée ni service réglé (problem+json)"
        )
    }
}
NOT_MODIFIED: Responses = {304: {"description": "Non modifié (la représentation du client est à jour)"}}


#: French summaries of the operations whose route gives none, by (method, path).
SUMMARIES: dict[tuple[str, str], str] = {
    ("GET", "/health"): N_("État du service (répond aussitôt, sans lire les données)"),
    ("GET", "/nearest"): N_("Les k acteurs les plus proches d'un point, à vol d'oiseau ou à pied"),
    ("GET", "/within"): N_("Les acteurs dans un rayon autour d'un point, par distance, page par page"),
    ("GET", "/locate"): N_(
        "Situation d'un point par rapport aux QPV et ses points d'approvisionnement proches"
    ),
    ("POST", "/locate"): N_("Situation de nombreux points par rapport aux QPV (corps GeoJSON ou CSV)"),
    ("GET", "/"): N_("Page d'accueil (liens en JSON ; carte des habitants pour un navigateur)"),
    ("GET", "/conformance"): N_("Classes de conformité OGC mises en œuvre par ce serveur"),
    ("GET", "/collections"): N_("Les collections d'objets : QPV et acteurs"),
    ("GET", "/coverage"): N_(
        "Couverture des QPV par les points d'approvisionnement, par seuil, à vol d'oiseau ou à pied "
        "(JSON ou CSV)"
    ),
    ("GET", "/coverage/gaps"): N_(
        "Zones non desservies : parties des QPV au-delà du seuil, à vol d'oiseau ou à pied (GeoJSON)"
    ),
    ("GET", "/suggestions"): N_(
        "Sites suggérés pour de nouveaux points d'approvisionnement, à vol d'oiseau ou à pied (GeoJSON)"
    ),
    ("GET", "/map"): N_("Carte des habitants : points d'approvisionnement en circuit court proches (HTML)"),
    ("GET", "/embed"): N_("Carte des habitants à intégrer (iframe) ; vue et filtre gardés dans l'adresse"),
    ("GET", "/map/planner"): N_(
        "Carte des aménageurs : couverture des QPV, zones non desservies, sites, isochrones à pied, "
        "acteurs à vérifier (HTML)"
    ),
    ("GET", "/map/planner.png"): N_("Carte des aménageurs en image PNG (couverture des QPV à un seuil)"),
    ("GET", "/map/planner.csv"): N_(
        "Tableau des aménageurs pour un tableur (en-têtes français, points-virgules, virgules décimales)"
    ),
    ("GET", "/embed/code"): N_("Page qui écrit le code <iframe> de la carte à intégrer"),
    ("GET", "/geocode"): N_("Recherche d'adresses (format du service national d'adresses, complétion)"),
    ("GET", "/collections/actors/items/{featureId}/ical"): N_(
        "Les horaires d'un acteur en fichier d'agenda (iCalendar)"
    ),
    ("POST", "/collections/actors/items"): N_("Ajouter un acteur (clé d'éditeur)"),
    ("PUT", "/collections/actors/items/{featureId}"): N_("Remplacer un acteur (clé d'éditeur, If-Match)"),
    ("PATCH", "/collections/actors/items/{featureId}"): N_(
        "Modifier des champs d'un acteur (clé d'éditeur, If-Match)"
    ),
    ("DELETE", "/collections/actors/items/{featureId}"): N_("Supprimer un acteur (clé d'éditeur, If-Match)"),
    ("POST", "/collections/actors/items/{featureId}/verify"): N_(
        "Confirmer qu'un acteur est à jour (clé d'éditeur, If-Match)"
    ),
    ("GET", "/collections/actors/items/{featureId}/history"): N_("Historique des modifications d'un acteur"),
    ("POST", "/collections/actors/items/{featureId}/history/{version}/restore"): N_(
        "Rétablir une version antérieure d'un acteur (clé d'éditeur)"
    ),
    ("POST", "/proposals"): N_("Proposer un lieu ou signaler une erreur (sans clé)"),
    ("GET", "/proposals"): N_("Les propositions du public (clé de modérateur)"),
    ("GET", "/proposals/{proposalId}"): N_("Une proposition et ce qu'elle changerait (clé de modérateur)"),
    ("POST", "/proposals/{proposalId}/accept"): N_("Accepter et publier une proposition (clé de modérateur)"),
    ("POST", "/proposals/{proposalId}/refuse"): N_("Refuser une proposition (clé de modérateur)"),
}


def summarise_routes(routes: Iterable[Any], lang: str = DEFAULT_LANGUAGE) -> None:
    """Give each operation its summary in ``lang`` (before its router is included in the app:
    FastAPI copies a route's summary when it includes it)."""
    for route in api_routes(routes):
        summary = route.summary or next(
            (SUMMARIES[(m, route.path)] for m in sorted(route.methods or ()) if (m, route.path) in SUMMARIES),
            None,
        )
        if summary is not None:
            route.summary = gettext(summary, lang)


def _without_docstrings(app: FastAPI, doc: dict[str, Any]) -> None:
    """Drop the descriptions FastAPI takes from the handlers' docstrings (English, for developers)."""
    for route in api_routes(app.routes):
        docstring = inspect.cleandoc(route.endpoint.__doc__ or "").split("\f")[0].strip()
        for method in route.methods or ():
            operation = doc.get("paths", {}).get(route.path, {}).get(method.lower(), {})
            if docstring and operation.get("description") == docstring:
                del operation["description"]


def _merge_nullable(schema: dict[str, Any], others: list[Any]) -> dict[str, Any]:
    if len(others) == 1:
        inner = others[0]
        if "$ref" in inner:
            base: dict[str, Any] = {"allOf": [inner]}
        else:
            base = dict(inner)
    else:
        base = {"anyOf": others}
    for key, value in schema.items():
        if key not in {"anyOf", "oneOf"}:
            base[key] = value
    base["nullable"] = True
    return base


def downgrade(node: Any) -> Any:
    """Rewrite a JSON Schema (OpenAPI 3.1 dialect) into the OpenAPI 3.0 schema dialect."""
    if isinstance(node, list):
        return [downgrade(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: downgrade(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            others = [o for o in options if o != {"type": "null"}]
            node = _merge_nullable(node, others)
    kind = node.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        node["type"] = types[0] if len(types) == 1 else types
        if "null" in kind:
            node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(exclusive)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[bound] = value
            node[exclusive] = True
    if "examples" in node and isinstance(node["examples"], list) and "properties" not in node:
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    return node


def _fix_operations(doc: dict[str, Any]) -> None:
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["400"] = _problem("Paramètre invalide ou inconnu (problem+json)")
            if operation.get("security"):  # an operation behind an API key
                responses.setdefault("401", {"description": "Clé d'API absente, inconnue ou révoquée"})
                responses.setdefault("403", {"description": "Rôle de la clé insuffisant"})
            if "requestBody" in operation:
                responses.setdefault("413", TOO_LARGE[413])
                responses.setdefault("415", UNSUPPORTED[415])
            for status in ("401", "403", "404", "409", "412", "413", "415", "428", "429"):
                if status in responses:
                    responses[status] = _problem(responses[status].get("description", ""))
            for response in responses.values():
                if response.get("description") == "Successful Response":  # FastAPI's default
                    response["description"] = gettext(N_("Réponse"), DEFAULT_LANGUAGE)
                # parameters of HEAD-less GET answers: content described per media type only
                for media in response.get("content", {}).values():
                    media.setdefault("schema", {})


def _query_parameters_not_null(doc: dict[str, Any]) -> None:
    """A query parameter cannot be sent as null, only left out: drop ``nullable`` on them."""
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param.get("in") == "query":
                    param.get("schema", {}).pop("nullable", None)


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (kept nested by this FastAPI)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if nested is not None and not isinstance(route, APIRoute):
            yield from api_routes(getattr(nested, "routes", nested))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the app (cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("ValidationError", "HTTPValidationError"):
        schemas.pop(name, None)
    schemas["Problem"] = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    _fix_operations(doc)
    _without_docstrings(app, doc)
    doc = downgrade(copy.deepcopy(doc))
    _query_parameters_not_null(doc)
    doc["openapi"] = OPENAPI_VERSION
    app.openapi_schema = doc
    return doc
