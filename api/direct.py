"""Direct routes: the API's hottest GET operations answered without Starlette's router.

A handler marked with :func:`direct` takes the request, validates its own query string
(:func:`api.query.parse_direct`) and returns a response. :class:`DirectRoutes`, an ASGI middleware
placed inside the CORS middleware, calls it straight from a dict keyed by path: route matching
(one regular expression per route passed), the exception and exit-stack middlewares and FastAPI's
endpoint wrappers cost more per request than a proximity query (bench/bench_api.py).

The handlers stay ordinary routes of the app, for the OpenAPI document, for HEAD, and for every
request that does not succeed at once: when a handler raises (a bad parameter, say), the request is
passed on to the router, which calls the same handler again and turns the error into the app's
usual answer (RFC 9457 problem details, or a logged 500 for a bug). GET handlers have no side
effects, so answering twice is only a cost on errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

E = TypeVar("E", bound=Callable[..., Any])
Handler = Callable[[Request], Awaitable[Response]]


def direct(endpoint: E) -> E:
    """Mark a handler that takes only the request and parses its query with ``parse_direct``.

    :class:`api.deps.CheckedRoute` then calls it as it is (no per-request resolution of parameters
    and dependencies), and :class:`DirectRoutes` calls it before the router for a GET.
    """
    endpoint.direct = True  # type: ignore[attr-defined]
    return endpoint


def direct_get_routes(routes: Iterable[BaseRoute]) -> dict[str, Handler]:
    """The GET routes with a :func:`direct` handler and a fixed path, by path."""
    out: dict[str, Handler] = {}
    for route in routes:
        if (
            isinstance(route, APIRoute)
            and getattr(route.endpoint, "direct", False)
            and "GET" in (route.methods or ())
            and not route.param_convertors
        ):
            out.setdefault(route.path, route.endpoint)
    return out


class DirectRoutes:
    """ASGI middleware answering the direct GET routes itself; anything else goes on to ``app``."""

    def __init__(self, app: ASGIApp, routes: dict[str, Handler]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            handler = self.routes.get(path)
            if handler is not None:
                try:
                    response = await handler(Request(scope, receive))
                except Exception:  # the router answers it again (see the module docstring)
                    pass
                else:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
