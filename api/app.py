"""The application factory: ``create_app(settings)`` builds the essmap HTTP API."""

from __future__ import annotations

import gc
import inspect
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

import essmap
from api.caching import UniqueVary
from api.deps import warm_cache
from api.errors import install_error_handlers
from api.openapi import build_openapi
from api.routes.collections import CollectionsFactory
from api.routes.coverage import CoverageFactory
from api.routes.docs import DocsFactory, mount_assets
from api.routes.edits import EditsFactory
from api.routes.ogc import OGCFactory
from api.routes.operations import OperationsFactory
from api.routes.pages import PagesFactory
from api.routes.proposals import ProposalsFactory
from api.routes.proximity import ProximityFactory
from api.routes.residents import ResidentsFactory
from api.security import NoSniff
from essmap.cache import RevisionCache
from essmap.importing import open_seeded_store
from essmap.keys import client_hash_secret
from essmap.settings import Settings, get_settings

log = logging.getLogger("essmap.api")

DESCRIPTION = """\
API de données et de requêtes de proximité d'essmap : acteurs de l'économie sociale et solidaire et
des circuits courts (points de livraison AMAP, épiceries coopératives, ferme urbaine…) autour des
quartiers prioritaires de la politique de la ville (QPV).

* **OGC API - Features** (Part 1 Core, GeoJSON, OpenAPI 3.0) : collections `qpv` et `actors`,
  lisibles par QGIS, GDAL/OGR, OWSLib…
* **Proximité** : `/nearest`, `/within`, `/locate` (un point, ou plusieurs en POST), depuis des
  coordonnées ou une adresse ; filtre « ouvert tel jour vers telle heure ».
* **Habitants** : recherche d'adresse `/geocode`, agenda d'un acteur
  `/collections/actors/items/{id}/ical`.
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
    {"name": "habitants", "description": "Recherche d'adresse et agendas des points de retrait"},
    {"name": "couverture", "description": "Couverture des QPV par l'approvisionnement en circuits courts"},
    {"name": "édition", "description": "Modifications des acteurs (clé d'API), historique, vérification"},
    {"name": "contributions", "description": "Propositions du public et modération (clé de modérateur)"},
    {"name": "cartes", "description": "Cartes HTML (habitants, aménageurs, iframe)"},
    {"name": "operations", "description": "Supervision"},
]


#: How often CPython makes a thread running Python hand the interpreter over (5 ms by default).
#: Threads that compute for seconds (a rebuild of the index after an import, heavy requests) would
#: otherwise hold it for 5 ms each time the event loop gives it up, and a server rebuilding a
#: 100,000-actor index answered a tenth of its usual requests (bench/bench_abuse.py).
SWITCH_INTERVAL_S = 0.0002


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the store, make the app's cache and heavy-work slots, and build what it serves."""
    settings: Settings = app.state.settings
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    store = await run_in_threadpool(open_seeded_store, settings)
    # one builder thread, at a lower CPU priority: values derived from the store are built one at
    # a time, beside the requests, which keep being answered from the previous revision meanwhile
    cache = RevisionCache(
        store.revision,
        max_entries=settings.cache_entries,
        builders=1,
        niceness=settings.background_niceness,
        share=settings.background_share,
    )
    app.state.store = store
    app.state.cache = cache
    app.state.written_at = 0.0  # when this process last acknowledged a write (api.deps.after_write)
    app.state.heavy = CapacityLimiter(settings.heavy_concurrency)
    await run_in_threadpool(warm_cache, store, settings, cache)
    # Move everything loaded so far (tables, indexes, serialised features) out of the garbage
    # collector's reach: it is kept for the server's life, and scanning it on every full
    # collection would add milliseconds to the slowest responses.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        cache.close()
        store.close()
        sys.setswitchinterval(switch_interval)


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
    app.state.client_secret = client_hash_secret(settings)
    install_error_handlers(app)
    for factory in (
        OperationsFactory,
        ProximityFactory,
        ResidentsFactory,
        OGCFactory,
        CollectionsFactory,
        EditsFactory,
        ProposalsFactory,
        CoverageFactory,
        PagesFactory,
        DocsFactory,
    ):
        app.include_router(factory(settings).router)
    mount_assets(app)
    # middleware, innermost first: CORS, Vary once, then the host check, then nosniff on every answer
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["ETag", "Cache-Control", "Content-Type", "Location", "Retry-After"],
        max_age=3600,
    )
    app.add_middleware(UniqueVary)
    if settings.public_url is None:
        # links are built from the Host header: answer only the hosts the settings trust
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts, www_redirect=False)
    app.add_middleware(NoSniff)

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    return app
