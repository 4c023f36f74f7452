"""Router factories and the route class of every API route.

Each group of routes is a factory class in the style of titiler's ``BaseFactory`` and tipg's
``OGCFeaturesFactory``: a dataclass holding its settings, whose :meth:`BaseFactory.register_routes`
adds the routes to its ``router``, which the app includes with ``include_router``.

Every router uses :class:`EssmapRoute` and the dependency :func:`reject_repeated`:

- a GET route also answers HEAD (same status and headers, no body; uvicorn drops the body of a
  HEAD response), without a second operation in the OpenAPI document;
- a query parameter that is not a list, given twice, is a 400 naming it (``items?limit=1&limit=5``
  as ``/nearest?k=1&k=2``); the route knows its single-valued parameters from its own query
  parameter models, once, when it is made.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from api.openapi import summarise_routes
from essmap.errors import InvalidParameterError
from essmap.settings import Settings


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        model = _model_of(arg)
        if model is not None:
            return model
    return None


def _query_fields(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    """(name, annotation) of every query parameter of a route, query models flattened."""
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        model = _model_of(annotation)
        if model is None:
            yield param.alias, annotation
        else:
            for name, info in model.model_fields.items():
                yield info.alias or name, info.annotation
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


class EssmapRoute(APIRoute):
    """An API route that answers HEAD where it answers GET and knows its single-valued parameters."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        fields = list(_query_fields(self.dependant))
        #: Every query parameter of the route, in the order of its models.
        self.query_names: tuple[str, ...] = tuple(dict.fromkeys(name for name, _ in fields))
        #: Query parameters that take one value (a second one is refused by reject_repeated).
        self.single_valued: frozenset[str] = frozenset(
            name for name, annotation in fields if not _is_list(annotation)
        )
        self._head = "GET" in (self.methods or ())

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self._head and scope["type"] == "http" and scope["method"] == "HEAD":
            return super().matches({**scope, "method": "GET"})
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._head and scope["method"] == "HEAD":
            # the handler runs as for GET; the server keeps the original scope and sends no body
            scope = {**scope, "method": "GET"}
        await super().handle(scope, receive, send)


async def reject_repeated(request: Request) -> None:
    """Refuse a query parameter that takes one value but is given several times (400)."""
    if not request.scope["query_string"]:
        return
    single: frozenset[str] = getattr(request.scope.get("route"), "single_valued", frozenset())
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen and name in single:
            raise InvalidParameterError(
                name, f"paramètre « {name} » donné plusieurs fois ; une seule valeur est acceptée"
            )
        seen.add(name)


@dataclass
class BaseFactory:
    """A group of routes made from the settings: ``register_routes`` fills ``router``."""

    settings: Settings
    router: APIRouter = field(init=False)
    tags: ClassVar[list[str]] = []

    def __post_init__(self) -> None:
        self.router = APIRouter(
            tags=list(self.tags), route_class=EssmapRoute, dependencies=[Depends(reject_repeated)]
        )
        self.register_routes()
        summarise_routes(self.router.routes)

    def register_routes(self) -> None:
        """Add the routes of this group to ``self.router``."""
        raise NotImplementedError
