"""Map pages: the resident map (``/`` for browsers, ``/map``), the planner map (``/map/planner``) and
``/embed`` for partners' iframes, drawn by :mod:`essmap.maps` with their scripts served here.

The pages link their JavaScript and CSS under ``/maps/assets`` (no CDN). ``/embed`` and ``/map``
keep the view and the category filter in the URL (``#map=zoom/lat/lon&category=a,b``; an initial
filter may also be given as ``?category=a&category=b``), through ``/maps/urlstate.js``.
A page is rendered once per store revision and parameters, in the app's cache. No ``from
__future__ import annotations``: FastAPI reads the handlers' annotations at run time.
"""

import functools
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar
from urllib.parse import urlencode

from fastapi import Query, Request
from pydantic import Field
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

from api.deps import cached_response
from api.errors import prefers_html, problem_response
from api.factory import BaseFactory
from api.openapi import NOT_FOUND
from api.query import PAGE_CONFIG, ModeQuery, PageQueryModel
from api.security import html_page
from api.walking import walk_arguments
from essmap.errors import EssmapError
from essmap.i18n import LANGUAGES, gettext, messages_for, negotiate
from essmap.labels import FIELD_LABELS_FR, category_label
from essmap.model import CATEGORIES, Category
from essmap.schedules import PARIS
from essmap.settings import Settings
from essmap.store import Store

ASSET_URL = "/maps/assets"
URLSTATE_JS = Path(__file__).resolve().parent.parent / "static" / "urlstate.js"
#: The pages' icon, among the maps' files (read without importing the maps, which are optional).
FAVICON = Path(str(resources.files("essmap").joinpath("maps", "static", "favicon.png")))
HTML_ONLY: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {"schema": {"type": "string"}}}}}


@functools.cache
def _asset_files() -> dict[str, Path] | None:
    """The files the pages link (installed with essmap; read once per process)."""
    try:
        from essmap.maps.assets import served_files

        files = served_files()
    except (ImportError, EssmapError):  # maps not installed, or their scripts not fetched
        return None
    return {name: path for name, path in files.items() if path.is_file()}


def available() -> bool:
    """Whether the map pages can be served (essmap.maps and its JavaScript files are installed)."""
    return _asset_files() is not None


def wants_html(request: Request, f: str | None) -> bool:
    """HTML when asked with ``f=html``, or when a browser prefers it (Accept lists text/html first)."""
    if f is not None:
        return f == "html" and available()
    return prefers_html(request) and available()


def _unavailable(request: Request) -> Response:
    return problem_response(
        503,
        "les cartes ne sont pas disponibles sur ce serveur : fichiers JavaScript absents "
        "(lancez scripts/assets.sh) ; l'API de données reste utilisable",
        instance=request.url.path,
    )


def _with_url_state(html: str) -> str:
    tag = '<script src="/maps/urlstate.js"></script>'
    return html.replace("</body>", tag + "\n</body>", 1) if "</body>" in html else html + tag


#: The URLs the resident pages use on this server.
PAGE_API = {
    "geocode": "/geocode",
    "nearest": "/nearest",
    "ical": "/collections/actors/items/{id}/ical",
    "full": "/map",
    "embed": "/embed",
    "languages": "lang",
}


def page_api(store: Store, settings: Settings) -> dict[str, str]:
    """The URLs the resident pages use; without the address search when this server has none to
    offer (no address imported, no address service set): the page then says so and searches the
    actors instead of inviting an address."""
    if settings.geocoder_url or store.address_count():
        return PAGE_API
    return {name: url for name, url in PAGE_API.items() if name != "geocode"}


def _with_contributions(html: str, lang: str) -> str:
    """The public contribution forms (``contribute.js``), with what they need from the API."""
    from essmap.maps.assets import script_messages
    from essmap.maps.page import safe_json

    config = {
        "endpoint": "/proposals",
        "itemsUrl": "/collections/actors/items",
        "categories": [{"key": c, "label": category_label(c, lang)} for c in CATEGORIES],
        "fields": {name: gettext(label, lang) for name, label in FIELD_LABELS_FR.items()},
        "messages": messages_for(script_messages(files=("contribute.js",)), lang),
    }
    tags = (
        f'<script type="application/json" id="essmap-contribute-config">{safe_json(config)}</script>\n'
        f'<link rel="stylesheet" href="{ASSET_URL}/static/contribute.css">\n'
        f'<script src="{ASSET_URL}/static/contribute.js"></script>'
    )
    return html.replace("</body>", tags + "\n</body>", 1) if "</body>" in html else html + tags


def resident_html(store: Store, settings: Settings, *, mode: str = "full", lang: str = "fr") -> str:
    """The resident map page of the store's content, with the URL-state script and the
    contribution forms; with a street network in the store, its nearest list walks."""
    from essmap.maps.resident import render_resident_map
    from essmap.network import network_info

    html = render_resident_map(
        store.load_neighbourhoods(),
        store.load_actors(),
        settings=settings,
        asset_url=ASSET_URL,
        lang=lang,
        mode="embed" if mode == "embed" else "full",
        api=page_api(store, settings),
        walk_network=network_info(store) is not None,
        communes=store.load_communes(),
    )
    return _with_contributions(_with_url_state(html), lang)


def embed_code_html(settings: Settings, lang: str) -> str:
    """The page that writes the ``<iframe>`` code of /embed for a chosen view and filter."""
    from essmap.maps.embedcode import render_embed_code_page

    return render_embed_code_page(settings=settings, asset_url=ASSET_URL, lang=lang, embed_url="/embed")


def planner_html(
    store: Store, settings: Settings, threshold_m: float | None, sites: int, walking: dict[str, Any]
) -> str:
    """The planner map page of the store's content, with its downloads served by the API: the
    overview table by ``/map/planner.csv`` (and the exact figures by ``/coverage?f=csv``), the map
    by ``/map/planner.png``, all in the page's mode
    (``walking``: the mode arguments of :func:`api.walking.walk_arguments`)."""
    from essmap.analysis.views import planner_view
    from essmap.maps.planner import render_planner_map

    neighbourhoods, actors = store.load_neighbourhoods(), store.load_actors()
    view = planner_view(
        neighbourhoods,
        actors,
        settings=settings,
        threshold_m=threshold_m,
        grid=store.load_population_grid(),
        sites=sites,
        addresses=store.load_addresses(),
        mode=walking["mode"],
        network=walking.get("network"),
    )
    query = {"threshold_m": f"{view.coverage.threshold_m:g}"}
    if walking["mode"] != "straight":
        query["mode"] = walking["mode"]
    threshold = urlencode(query)
    downloads = {
        "csv": f"/map/planner.csv?{threshold}",
        "data": f"/coverage?f=csv&{threshold}",
        "png": f"/map/planner.png?{threshold}",
    }
    return render_planner_map(
        neighbourhoods,
        actors,
        view,
        settings=settings,
        asset_url=ASSET_URL,
        communes=store.load_communes(),
        downloads=downloads,
    )


def planner_csv(
    store: Store, settings: Settings, threshold_m: float | None, walking: dict[str, Any]
) -> bytes:
    """The planner overview table as CSV for a French spreadsheet (:mod:`essmap.maps.overview`)."""
    from essmap.analysis.views import planner_view
    from essmap.maps.overview import overview_csv

    view = planner_view(
        store.load_neighbourhoods(),
        store.load_actors(),
        settings=settings,
        threshold_m=threshold_m,
        grid=store.load_population_grid(),
        sites=0,
        mode=walking["mode"],
        network=walking.get("network"),
    )
    return overview_csv(view).encode("utf-8")


def planner_png(
    store: Store,
    settings: Settings,
    threshold_m: float | None,
    qpv: str | None,
    generation: int | None,
    walking: dict[str, Any],
) -> bytes:
    """The planner map as a PNG image (the static map of :mod:`essmap.maps.static`), in the mode
    of ``walking`` (:func:`api.walking.walk_arguments`)."""
    from essmap.analysis.views import static_view
    from essmap.maps.static import render_static_map

    neighbourhoods, actors = store.load_neighbourhoods(), store.load_actors()
    view = static_view(
        neighbourhoods,
        actors,
        settings=settings,
        qpv_code=qpv,
        generation=generation,
        threshold_m=threshold_m,
        grid=store.load_population_grid(),
        mode=walking["mode"],
        network=walking.get("network"),
    )
    return render_static_map(neighbourhoods, actors, view, settings=settings)


async def page(request: Request, key: tuple[Any, ...], render: Any, *, variant: str = "") -> Response:
    """A cached page (rendered once per store revision), with ETag and Content-Security-Policy."""
    if not available():
        return _unavailable(request)
    return await cached_response(request, ("page", *key), render, html_page, variant=variant)


def page_language(request: Request) -> str:
    """The language of a page: ``lang`` in the query, else the browser's Accept-Language, else French."""
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


async def resident_page(request: Request, *, mode: str = "full", variant: str = "") -> Response:
    """The resident map (``full``, also the landing page's HTML representation, or ``embed``), in
    the language asked for; rendered once a day per store revision (its pick-ups start today)."""
    state = request.app.state
    lang = page_language(request)
    today = datetime.now(PARIS).date().isoformat()
    response = await page(
        request,
        ("resident", mode, lang, today),
        lambda: resident_html(state.store, state.settings, mode=mode, lang=lang),
        variant=f"{variant}/{mode}/{lang}/{today}",
    )
    response.headers["Vary"] = "Accept-Language"
    return response


#: The ``lang`` parameter of a page: a language essmap does not speak falls back to the browser's
#: Accept-Language, then French (a link may carry any ``lang``), never an error.
PageLanguage = Annotated[
    str | None,
    Field(
        max_length=35,
        description=(
            f"Langue de la page ({', '.join(LANGUAGES)}) ; une autre valeur, ou son absence : "
            "selon l'en-tête Accept-Language, sinon français"
        ),
    ),
]


class ResidentQuery(PageQueryModel):
    category: list[Category] | None = Field(
        None, description="Catégories affichées au départ (répétable) ; toutes par défaut"
    )
    lang: PageLanguage = None


class EmbedCodeQuery(PageQueryModel):
    lang: PageLanguage = None


@dataclass
class PagesFactory(BaseFactory):
    """``/map``, ``/embed``, ``/map/planner`` and the pages' scripts."""

    tags: ClassVar[list[str]] = ["cartes"]

    def register_routes(self) -> None:
        settings = self.settings
        router = self.router

        class PlannerQuery(ModeQuery):
            model_config = PAGE_CONFIG  # a page: unknown parameters are ignored

            threshold_m: float | None = Field(
                None, gt=0, le=settings.max_threshold_m, description="Seuil de distance en mètres"
            )
            sites: int = Field(
                3, ge=0, le=settings.max_suggestions, description="Nombre de nouveaux sites à suggérer"
            )

        @router.get("/map", response_class=HTMLResponse, responses=HTML_ONLY)
        async def resident_map(request: Request, q: Annotated[ResidentQuery, Query()]) -> Response:
            """Resident map: nearby short-circuit supply points, address search, list of actors (HTML)."""
            return await resident_page(request)

        @router.get("/embed", response_class=HTMLResponse, responses=HTML_ONLY)
        async def embed(request: Request, q: Annotated[ResidentQuery, Query()]) -> Response:
            """Resident map for partners' iframes; view and category filter kept in the URL."""
            return await resident_page(request, mode="embed")

        @router.get("/embed/code", response_class=HTMLResponse, responses=HTML_ONLY)
        async def embed_code(request: Request, q: Annotated[EmbedCodeQuery, Query()]) -> Response:
            """A page that writes the iframe code of the embeddable map for a chosen view and filter."""
            lang = page_language(request)
            response = await page(
                request, ("embed-code", lang), lambda: embed_code_html(settings, lang), variant=lang
            )
            response.headers["Vary"] = "Accept-Language"
            return response

        @router.get("/map/planner", response_class=HTMLResponse, responses=HTML_ONLY)
        async def planner_map(request: Request, q: Annotated[PlannerQuery, Query()]) -> Response:
            """Planner map: coverage of the QPVs, gaps, suggested sites, in walk mode the isochrones,
            and the actors to verify again (HTML; rendered once a day per store revision)."""
            store, cache = request.app.state.store, request.app.state.cache
            today = datetime.now(PARIS).date().isoformat()  # the actors to verify again change daily
            return await page(
                request,
                ("planner", q.mode, q.threshold_m, q.sites, today),
                lambda: planner_html(
                    store, settings, q.threshold_m, q.sites, walk_arguments(store, settings, cache, q.mode)
                ),
                variant=f"{q.mode}/{today}",
            )

        class PlannerTableQuery(ModeQuery):
            """The planner's downloads: a mode and a threshold (unknown parameters refused)."""

            threshold_m: float | None = Field(
                None, gt=0, le=settings.max_threshold_m, description="Seuil de distance en mètres"
            )

        class PlannerImageQuery(PlannerTableQuery):
            qpv: str | None = Field(None, description="Code du quartier à cartographier (tous sinon)")
            generation: int | None = Field(None, description="Génération des QPV (la plus récente sinon)")

        @router.get(
            "/map/planner.png",
            response_class=Response,
            responses={
                200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
                **NOT_FOUND,
            },
        )
        async def planner_image(request: Request, q: Annotated[PlannerImageQuery, Query()]) -> Response:
            """Planner map as a PNG image (coverage of the QPVs at one threshold)."""
            store, cache = request.app.state.store, request.app.state.cache
            on_foot = "_a_pied" if q.mode == "walk" else ""
            name = f"carte_amenageurs_{(q.threshold_m or settings.default_threshold_m):g}m{on_foot}.png"
            headers = {"Content-Disposition": f'inline; filename="{name}"'}
            return await cached_response(
                request,
                ("planner.png", q.mode, q.threshold_m, q.qpv, q.generation),
                lambda: planner_png(
                    store,
                    settings,
                    q.threshold_m,
                    q.qpv,
                    q.generation,
                    walk_arguments(store, settings, cache, q.mode),
                ),
                lambda png: Response(png, media_type="image/png", headers=headers),
            )

        @router.get(
            "/map/planner.csv",
            response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
        )
        async def planner_table(request: Request, q: Annotated[PlannerTableQuery, Query()]) -> Response:
            """The planner overview table as CSV for a spreadsheet (French headings, semicolons)."""
            store, cache = request.app.state.store, request.app.state.cache
            on_foot = "_a_pied" if q.mode == "walk" else ""
            name = f"couverture_qpv_{(q.threshold_m or settings.default_threshold_m):g}m{on_foot}.csv"
            headers = {"Content-Disposition": f'attachment; filename="{name}"'}
            return await cached_response(
                request,
                ("planner.csv", q.mode, q.threshold_m),
                lambda: planner_csv(
                    store, settings, q.threshold_m, walk_arguments(store, settings, cache, q.mode)
                ),
                lambda body: Response(body, media_type="text/csv; charset=utf-8", headers=headers),
            )

        @router.get("/favicon.ico", include_in_schema=False)
        async def favicon() -> Response:
            """The pages' icon (a PNG: browsers read it whatever the name says)."""
            return FileResponse(
                FAVICON, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
            )

        @router.get("/maps/urlstate.js", include_in_schema=False)
        async def url_state_script() -> Response:
            """The script that keeps a map's view and category filter in the URL."""
            return FileResponse(URLSTATE_JS, media_type="text/javascript")

        @router.get("/maps/assets/{path:path}", include_in_schema=False)
        async def asset(path: str) -> Response:
            """A script, style or image of the map pages (only the files the pages link)."""
            file = (_asset_files() or {}).get(path)
            if file is None:
                raise HTTPException(404)
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if kind == "application/javascript":
                kind = "text/javascript"
            return FileResponse(file, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})
