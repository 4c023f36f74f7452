"""Map pages: the resident map (``/`` for browsers, ``/map``), the planner map (``/map/planner``) and
``/embed`` for partners' iframes, drawn by :mod:`essmap.maps` with their scripts served here.

The pages link their JavaScript and CSS under ``/maps/assets`` (no CDN). ``/embed`` and ``/map``
keep the view and the category filter in the URL (``#map=zoom/lat/lon&category=a,b``; an initial
filter may also be given as ``?category=a&category=b``), through ``/maps/urlstate.js``.
A page is rendered once per store revision and parameters.
"""

from __future__ import annotations

import functools
import mimetypes
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse, Response

from api.caching import cache_headers, etag_for, not_modified
from api.deps import CheckedRoute, SettingsDep, StoreDep
from api.errors import problem_response
from api.routes.coverage import ResultCache
from essmap.errors import EssmapError
from essmap.model import Category
from essmap.settings import Settings
from essmap.store import Store

router = APIRouter(tags=["cartes"], route_class=CheckedRoute)

ASSET_URL = "/maps/assets"
URLSTATE_JS = Path(__file__).resolve().parent.parent / "static" / "urlstate.js"
_PAGES = ResultCache(size=16)
HTML_ONLY: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {"schema": {"type": "string"}}}}}


@functools.cache
def _asset_files() -> dict[str, Path] | None:
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
    accept = request.headers.get("accept", "")
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first == "text/html" and available()


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


def _resident_html(store: Store, settings: Settings, revision: str) -> str:
    from essmap.maps.resident import render_resident_map

    def render() -> str:
        html = render_resident_map(
            store.load_neighbourhoods(), store.load_actors(), settings=settings, asset_url=ASSET_URL
        )
        return _with_url_state(html)

    result: str = _PAGES.get(("resident", id(store), id(settings), revision), render)
    return result


def _planner_html(
    store: Store, settings: Settings, revision: str, threshold_m: float | None, sites: int
) -> str:
    from essmap.analysis.views import planner_view
    from essmap.maps.planner import render_planner_map

    def render() -> str:
        neighbourhoods, actors = store.load_neighbourhoods(), store.load_actors()
        view = planner_view(
            neighbourhoods,
            actors,
            settings=settings,
            threshold_m=threshold_m,
            grid=store.load_population_grid(),
            sites=sites,
        )
        return render_planner_map(neighbourhoods, actors, view, settings=settings, asset_url=ASSET_URL)

    result: str = _PAGES.get(("planner", id(store), id(settings), revision, threshold_m, sites), render)
    return result


async def _page(request: Request, store: Store, build: Any) -> Response:
    if not available():
        return _unavailable(request)
    revision = store.revision()
    etag = etag_for(revision, request)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    html = await run_in_threadpool(build, revision)
    return HTMLResponse(html, headers=cache_headers(etag))


async def resident_page(request: Request) -> Response:
    """The resident map, for the landing page's HTML representation."""
    state = request.app.state
    return await _page(request, state.store, lambda rev: _resident_html(state.store, state.settings, rev))


Categories = Annotated[
    list[Category] | None,
    Query(description="Catégories affichées au départ (répétable) ; toutes par défaut"),
]


@router.get("/map", response_class=HTMLResponse, responses=HTML_ONLY)
async def resident_map(
    request: Request, store: StoreDep, settings: SettingsDep, category: Categories = None
) -> Response:
    """Resident map: nearby short-circuit supply points (HTML)."""
    return await _page(request, store, lambda rev: _resident_html(store, settings, rev))


@router.get("/embed", response_class=HTMLResponse, responses=HTML_ONLY)
async def embed(
    request: Request, store: StoreDep, settings: SettingsDep, category: Categories = None
) -> Response:
    """Resident map for partners' iframes; view and category filter kept in the URL."""
    return await _page(request, store, lambda rev: _resident_html(store, settings, rev))


@router.get("/map/planner", response_class=HTMLResponse, responses=HTML_ONLY)
async def planner_map(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    threshold_m: Annotated[float | None, Query(gt=0, description="Seuil de distance en mètres")] = None,
    sites: Annotated[int, Query(ge=0, description="Nombre de nouveaux sites à suggérer")] = 3,
) -> Response:
    """Planner map: coverage of the QPVs, gaps and suggested sites (HTML)."""
    return await _page(request, store, lambda rev: _planner_html(store, settings, rev, threshold_m, sites))


@router.get("/maps/urlstate.js", include_in_schema=False)
async def url_state_script() -> Response:
    """The script that keeps a map's view and category filter in the URL."""
    return FileResponse(URLSTATE_JS, media_type="text/javascript")


@router.get("/maps/assets/{path:path}", include_in_schema=False)
async def asset(path: str) -> Response:
    """A script, style or image of the map pages (only the files the pages link)."""
    files = _asset_files() or {}
    file = files.get(path)
    if file is None:
        from starlette.exceptions import HTTPException

        raise HTTPException(404)
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if kind == "application/javascript":
        kind = "text/javascript"
    return FileResponse(file, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})


def mount_assets(app: object) -> None:
    """Nothing to mount: assets are served by :func:`asset` from the maps' own list of files."""
