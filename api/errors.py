"""Errors as RFC 9457 problem details (``application/problem+json``).

One table, :data:`STATUS_BY_ERROR`, maps library errors to HTTP statuses. A client's mistake
(invalid or unknown parameter, unknown collection or feature, too large a request) is a 4xx with a
French message that says what is wrong; only a fault of the server is a 5xx.

A page route (one answering HTML: the maps) asked by a browser (``Accept`` listing ``text/html``
first) gets the same error as a French HTML page; programs get the problem document.
"""

from __future__ import annotations

import json
import logging
from html import escape
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from essmap.errors import (
    AlreadyExistsError,
    EssmapError,
    InvalidInputError,
    NotFoundError,
    Problem,
    StoreError,
    VersionConflictError,
)
from essmap.geocoding import GeocoderUnavailableError
from essmap.i18n import DEFAULT_LANGUAGE, N_, gettext
from essmap.validation import echo_value, validation_message

log = logging.getLogger("essmap.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class PayloadTooLargeError(EssmapError, ValueError):
    """A request body is larger than ``max_request_bytes`` or holds too many points."""


class RequestRefusedError(EssmapError):
    """A request the API refuses for who sends it or how (key, role, precondition, rate).

    ``headers`` go with the problem response (``WWW-Authenticate``, ``Retry-After``).
    """

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}


class AuthenticationError(RequestRefusedError):
    """No API key, or one that is unknown or revoked (401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="essmap"'})


class ForbiddenError(RequestRefusedError):
    """An API key whose role does not allow the request (403)."""


class PreconditionRequiredError(RequestRefusedError):
    """A change sent without ``If-Match`` (428): it could overwrite someone else's change."""


class ConflictError(RequestRefusedError):
    """A request that conflicts with the current state (a proposal decided already): 409."""


class UnsupportedMediaTypeError(RequestRefusedError):
    """A request body in a media type the operation does not read (415)."""


class TooManyRequestsError(RequestRefusedError):
    """Too many writes or proposals in the window of a rate limit (429)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_s))})


#: Library errors and the HTTP status they become; the first matching class wins.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (AuthenticationError, 401),
    (ForbiddenError, 403),
    (PreconditionRequiredError, 428),
    (TooManyRequestsError, 429),
    (UnsupportedMediaTypeError, 415),
    (ConflictError, 409),
    (VersionConflictError, 412),  # an If-Match naming a version that is no longer the current one
    (AlreadyExistsError, 409),
    (PayloadTooLargeError, 413),
    (InvalidInputError, 400),  # InvalidParameterError, MissingCRSError…
    (StoreError, 503),
    (GeocoderUnavailableError, 503),
    (EssmapError, 500),
)

#: French titles of the statuses the API answers with ("about:blank" problems, RFC 9457 §4.2.1).
TITLES_FR: dict[int, str] = {
    400: N_("Requête invalide"),
    401: N_("Authentification requise"),
    403: N_("Accès refusé"),
    404: N_("Ressource introuvable"),
    405: N_("Méthode non autorisée"),
    406: N_("Format non disponible"),
    409: N_("Conflit"),
    412: N_("Version périmée"),
    413: N_("Requête trop volumineuse"),
    415: N_("Type de contenu non pris en charge"),
    428: N_("Précondition requise"),
    429: N_("Trop de requêtes"),
    500: N_("Erreur interne du serveur"),
    503: N_("Service indisponible"),
}


def title_of(status: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The title of a status, for people."""
    return gettext(TITLES_FR.get(status, N_("Erreur")), lang)


def status_for(exc: Exception) -> int:
    """The HTTP status of a library error (500 for anything not in the table)."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title_of(status),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _problem_items(problems: list[Problem]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for p in problems:
        item: dict[str, Any] = {"field": p.field, "message": p.message}
        if p.row is not None:
            item["row"] = p.row
        items.append(item)
    return items


# --- translation of request validation errors (pydantic) to French --------------------------
def json_error_text(exc: ValueError) -> str:
    """What is wrong with a JSON body that does not parse, in French (line and column when known)."""
    if isinstance(exc, json.JSONDecodeError):
        return gettext(N_("JSON invalide : ligne {line}, colonne {column}")).format(
            line=exc.lineno, column=exc.colno
        )
    if isinstance(exc, UnicodeDecodeError):
        return gettext(N_("JSON invalide : le texte n'est pas en UTF-8 (octet {position})")).format(
            position=exc.start + 1
        )
    return gettext(N_("JSON invalide"))


def _validation_items(exc: RequestValidationError, accepted: tuple[str, ...]) -> list[dict[str, Any]]:
    items = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        in_body = bool(loc) and loc[0] == "body"
        # ("body", member…), ("query", name) or ("query", name, position in a repeated parameter)
        field = (".".join(loc[1:]) or "body") if in_body else (loc[1] if len(loc) > 1 else "".join(loc[:1]))
        value = err.get("input")
        message = validation_message(err)
        if err.get("type") == "extra_forbidden":
            # a body model lists its members in the error's ctx (api.routes.proposals)
            names = tuple((err.get("ctx") or {}).get("accepted", accepted))
            if in_body:
                message = gettext(N_("membre inconnu ; membres acceptés : {names}"))
            else:
                message = gettext(N_("paramètre inconnu ; paramètres acceptés : {names}"))
            message = message.format(names=", ".join(names) or gettext(N_("aucun")))
        elif isinstance(value, str | int | float) and err.get("type") != "missing":
            message = gettext(N_("{message} (reçu : « {value} »)")).format(
                message=message, value=echo_value(value)
            )
        items.append({"field": field, "message": message, "location": loc[0] if loc else None})
    return items


def _path_of(request: Request) -> str:
    return request.url.path


def prefers_html(request: Request) -> bool:
    """Whether the client is a browser asking for a page (``Accept`` lists text/html first)."""
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].split(";")[0].strip().lower() == "text/html"


def _is_page_route(request: Request) -> bool:
    """Whether the route can answer a page: its response class is HTML, or its documented success
    lists text/html (``/``, the resident map for a browser, links for programs)."""
    route = request.scope.get("route")
    kind = getattr(route, "response_class", None)
    if isinstance(kind, type) and issubclass(kind, HTMLResponse):
        return True
    success = (getattr(route, "responses", None) or {}).get(200) or {}
    return "text/html" in (success.get("content") or {})


ERROR_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{title} — essmap</title>
<style>
body {{ font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f6f7f9; }}
main {{ max-width: 44rem; margin: 0 auto; padding: 2rem 1.25rem; }}
h1 {{ font-size: 1.5rem; margin: 0 0 1rem; }}
.detail {{ background: #fff; border-left: 4px solid #b71c1c; padding: .75rem 1rem; overflow-wrap: anywhere; }}
li {{ margin: .3rem 0; overflow-wrap: anywhere; }}
a {{ color: #0b57a4; }}
.status {{ color: #555; font-size: .9rem; }}
</style></head>
<body><main>
<h1>{title}</h1>
<p class="detail">{detail}</p>
{errors}<p>{links}</p>
<p class="status">{status_text}</p>
</main></body></html>
"""


def problem_page(
    status: int,
    detail: str,
    *,
    path: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The French HTML page of an error, for a browser that asked for a page."""
    from api.security import html_page

    items = ""
    if errors:
        lines = "".join(
            f"<li><strong>{escape(str(e.get('field', '')))}</strong> : {escape(str(e['message']))}</li>"
            for e in errors
        )
        items = f"<ul>{lines}</ul>\n"
    links = " · ".join(
        f'<a href="{escape(href)}">{escape(gettext(label))}</a>'
        for href, label in (
            (path, N_("La même page, sans paramètres")),
            ("/", N_("Carte des habitants")),
            ("/map/planner", N_("Carte des aménageurs")),
            ("/docs", N_("Documentation de l'API")),
        )
    )
    page = ERROR_PAGE.format(
        title=escape(title_of(status)),
        detail=escape(detail),
        errors=items,
        links=links,
        status_text=escape(gettext(N_("Erreur {status}")).format(status=status)),
    )
    response = html_page(page, headers=headers)
    response.status_code = status
    return response


def error_response(
    request: Request,
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error for this request: an HTML page for a browser on a page route, else a problem."""
    if _is_page_route(request) and prefers_html(request):
        response = problem_page(status, detail, path=_path_of(request), errors=errors, headers=headers)
    else:
        response = problem_response(
            status, detail, instance=_path_of(request), errors=errors, headers=headers
        )
    if _is_page_route(request):
        response.headers.add_vary_header("Accept")
    return response


#: What a client is told of a server-side failure; the log has the details (paths, causes).
STORE_UNAVAILABLE = N_("les données sont momentanément indisponibles ; réessayez plus tard")
INTERNAL_ERROR = N_("erreur interne du serveur")


GEOCODER_UNAVAILABLE = N_(
    "la recherche d'adresses n'est pas disponible sur ce serveur pour le moment ; "
    "donnez une position (lon, lat) à la place"
)


async def _essmap_error(request: Request, exc: Exception) -> Response:
    status = status_for(exc)
    if status >= 500:
        log.error("server error on %s: %s", request.url.path, exc, exc_info=exc)
        if isinstance(exc, StoreError):
            detail = STORE_UNAVAILABLE  # its message names the store's path: logged, never sent
        elif isinstance(exc, GeocoderUnavailableError):
            detail = GEOCODER_UNAVAILABLE  # the log says why (no address imported, the service's URL)
        else:
            detail = INTERNAL_ERROR
        return error_response(request, status, gettext(detail))
    errors = _problem_items(exc.problems) if isinstance(exc, InvalidInputError) else None
    headers = exc.headers if isinstance(exc, RequestRefusedError) else None
    return error_response(request, status, str(exc), errors=errors, headers=headers)


def _no_resource(request: Request) -> str:
    return gettext(N_("aucune ressource à l'adresse {path}")).format(path=request.url.path)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    accepted: tuple[str, ...] = getattr(request.scope.get("route"), "query_names", ())
    items = _validation_items(exc, accepted)
    on_path = any(item["location"] == "path" for item in items)
    if on_path:  # a path that names no resource is "not found", not a bad request
        return error_response(request, 404, _no_resource(request))
    detail = "; ".join(f"{item['field']} : {item['message']}" for item in items)
    for item in items:
        item.pop("location", None)
    invalid = gettext(N_("paramètre invalide — {detail}")).format(detail=detail)
    return error_response(request, 400, invalid, errors=items)


def _allowed_methods(request: Request) -> str:
    """Every method the app's routes accept on this path (Starlette names only the first route's)."""
    from api.openapi import api_routes

    methods: set[str] = set()
    for route in api_routes(request.app.routes):
        if route.path_regex.match(request.url.path):
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")  # answered by every GET route (api.factory.EssmapRoute)
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else None
    if status == 404:
        if request.url.path.startswith("/collections/"):
            detail = f"collection ou objet inconnu : {request.url.path}"
        else:
            detail = _no_resource(request)
    elif status == 405:
        allowed = _allowed_methods(request)
        detail = f"la méthode {request.method} n'est pas acceptée sur {request.url.path}"
        if allowed:
            detail += f" ; méthodes acceptées : {allowed}"
            exc.headers = {**(exc.headers or {}), "Allow": allowed}
    elif status == 413:
        detail = "le corps de la requête est trop volumineux"
    elif not detail or detail == TITLES_FR.get(status):
        detail = title_of(status)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(request, status, detail, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return error_response(request, 500, gettext(INTERNAL_ERROR))


def install_error_handlers(app: FastAPI) -> None:
    """Make every error answer an RFC 9457 problem (400 instead of FastAPI's default 422)."""
    app.add_exception_handler(EssmapError, _essmap_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
