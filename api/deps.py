"""Dependencies, as ``Annotated`` aliases: settings, store, serialised collections, spatial index.

They are ``async`` so that a request does not hop to a worker thread just to read
``app.state``; the one that may build something slow (the spatial index, once per store
revision, with :func:`essmap.index.build_index`) builds it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.errors import unknown_parameter
from api.layers import CollectionCache, Proximity
from essmap.index import build_index
from essmap.settings import Settings
from essmap.store import Store


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_collections(request: Request) -> CollectionCache:
    cache: CollectionCache = request.app.state.collections
    return cache


def _build_proximity(store: Store, settings: Settings) -> Proximity:
    return Proximity.build(build_index(store, settings))


async def get_proximity(request: Request) -> Proximity:
    """The spatial index of the current store revision, built once per revision (in a thread)."""
    state = request.app.state
    revision = state.store.revision()
    cached = state.proximity
    if cached is not None and cached[0] == revision:
        proximity: Proximity = cached[1]
        return proximity
    proximity = await run_in_threadpool(_build_proximity, state.store, state.settings)
    state.proximity = (revision, proximity)
    return proximity


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
CollectionsDep = Annotated[CollectionCache, Depends(get_collections)]
ProximityDep = Annotated[Proximity, Depends(get_proximity)]


# --- unknown query parameters -----------------------------------------------------------------
def _allowed_parameters(app: Any) -> dict[tuple[str, str], list[str]]:
    """Query parameters each operation declares in the OpenAPI document, by (method, path)."""
    allowed: dict[tuple[str, str], list[str]] | None = getattr(app.state, "allowed_parameters", None)
    if allowed is not None:
        return allowed
    allowed = {}
    for path, operations in app.openapi().get("paths", {}).items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
            allowed[(method.upper(), path)] = names
    app.state.allowed_parameters = allowed
    return allowed


def check_parameters(request: Request, route: APIRoute) -> None:
    """Refuse a query parameter the operation does not define (OGC API - Features asks a 400)."""
    method = "GET" if request.method == "HEAD" else request.method
    names = _allowed_parameters(request.app).get((method, route.path_format))
    if names is None:
        return
    for name in request.query_params:
        if name not in names:
            raise unknown_parameter(name, names)


class CheckedRoute(APIRoute):
    """A route that answers 400 to an unknown query parameter, before FastAPI parses the others.

    Used as ``route_class`` of every router of the API. A route class rather than a global
    dependency: it costs one dict look-up per request instead of a dependency resolution.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if getattr(self.endpoint, "direct", False):
            # a handler that reads the request itself (and checks its own parameters): called
            # as it is, without FastAPI's per-request parameter and dependency resolution
            return self.endpoint
        handler = super().get_route_handler()
        if not self.include_in_schema:
            return handler

        async def checked(request: Request) -> Response:
            if request.query_params:
                check_parameters(request, self)
            return await handler(request)

        return checked
