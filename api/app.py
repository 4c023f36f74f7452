"""The application factory: ``create_app(settings)`` builds the essmap HTTP API."""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

import essmap
from api.direct import DirectRoutes, direct_get_routes
from api.errors import install_error_handlers
from api.layers import CollectionCache, Proximity
from api.openapi import build_openapi
from api.routes import collections, coverage, docs, ogc, operations, pages, proximity
from essmap.importing import open_seeded_store
from essmap.index import build_index
from essmap.settings import Settings, get_settings

log = logging.getLogger("essmap.api")

DESCRIPTION = """\
API de données et de requêtes de proximité d'essmap : acteurs de l'économie sociale et solidaire et
des circuits courts (points de livraison AMAP, épiceries coopératives, ferme urbaine…) autour des
quartiers prioritaires de la politique de la ville (QPV).

* **OGC API - Features** (Part 1 Core, GeoJSON, OpenAPI 3.0) : collections `qpv` et `actors`,
  lisibles par QGIS, GDAL/OGR, OWSLib…
* **Proximité** : `/nearest`, `/within`, `/locate` (un point, ou plusieurs en POST).
* **Couverture** : `/coverage`, `/coverage/gaps`, `/suggestions`.

Coordonnées en longitude/latitude WGS 84 ; distances en mètres, mesurées dans une projection
métrique. Les erreurs sont des « problem details » RFC 9457 (`application/problem+json`).
"""


def _telemetry(settings: Settings) -> dict[str, Any]:
    """FastAPI's own OpenTelemetry support, off unless ``settings.telemetry``.

    When on (FastAPI's default), every request checks whether a provider is configured: about a
    tenth of a trivial request's cost. FastAPI versions without that support get no argument.
    """
    if settings.telemetry or "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}


TAGS = [
    {"name": "OGC API - Features", "description": "Données QPV et acteurs au standard OGC"},
    {"name": "proximité", "description": "Acteurs proches d'un point, relation aux QPV"},
    {"name": "couverture", "description": "Couverture des QPV par l'approvisionnement en circuits courts"},
    {"name": "cartes", "description": "Cartes HTML (habitants, aménageurs, iframe)"},
    {"name": "operations", "description": "Supervision"},
]


def _warm(app: FastAPI) -> None:
    """Read and serialise the collections and build the spatial index once, before serving."""
    for collection_id in ("qpv", "actors"):
        app.state.collections.get(collection_id)
    store = app.state.store
    app.state.proximity = (store.revision(), Proximity.build(build_index(store, app.state.settings)))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store = await run_in_threadpool(open_seeded_store, settings)
    app.state.store = store
    app.state.collections = CollectionCache(store)
    app.state.proximity = None
    await run_in_threadpool(_warm, app)
    # Move everything loaded so far (tables, indexes, serialised features) out of the garbage
    # collector's reach: it is kept for the server's life, and scanning it on every full
    # collection would add milliseconds to the slowest responses.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        store.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the essmap API on the store the settings select (the embedded one by default)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="essmap",
        version=essmap.__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        **_telemetry(settings),
    )
    app.state.settings = settings
    install_error_handlers(app)
    # The routes are put in the app's own route table, most used first (they are matched in
    # order). ``include_router`` would keep each router nested, and this FastAPI version then
    # matches every request against each included router in turn: about 30,000 instructions per
    # router passed, more than a whole proximity query costs.
    for router in (
        operations.router,
        proximity.make_router(settings),
        ogc.router,
        collections.router,
        coverage.make_router(settings),
        pages.router,
        docs.router,
    ):
        app.router.routes.extend(router.routes)
    # the direct GET routes are answered before the router; CORS, added last, wraps them too
    app.add_middleware(DirectRoutes, routes=direct_get_routes(app.router.routes))
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["ETag", "Cache-Control", "Content-Type"],
        max_age=3600,
    )
    docs.mount_assets(app)
    pages.mount_assets(app)

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    return app
