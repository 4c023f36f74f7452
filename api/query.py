"""Query parameters validated by one pydantic model, for the routes that must answer fastest.

FastAPI validates each declared query parameter on its own, at about 15 µs a parameter; a
proximity query with five parameters spent more time there than in the spatial index. A
:class:`QueryModel` validates them all in one pydantic call. :func:`query` is the dependency that
does it, and :func:`parameters` the matching OpenAPI parameter objects (``openapi_extra``), so the
published document and the validation come from the same model. Errors are the same
``RequestValidationError`` FastAPI raises, hence the same 400 problem.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError

from api.errors import unknown_parameter
from api.openapi import EXTRA_SCHEMAS
from essmap.errors import InvalidParameterError

M = TypeVar("M", bound="QueryModel")


class QueryModel(BaseModel):
    """The query parameters of one operation (unknown ones are refused before, by the route)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


@functools.cache
def _list_fields(model: type[QueryModel]) -> frozenset[str]:
    return frozenset(name for name, field in model.model_fields.items() if _is_list(field.annotation))


def parse_query(request: Request, model: type[M]) -> M:
    """Validate the request's query string with ``model`` (repeated parameters for list fields)."""
    lists = _list_fields(model)
    params = request.query_params
    data: dict[str, Any] = {}
    for name in params:
        data[name] = params.getlist(name) if name in lists else params[name]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**err, "loc": ("query", *err["loc"])} for err in exc.errors()]
        raise RequestValidationError(errors) from None


def parse_direct(request: Request, model: type[M]) -> M:
    """Validate the raw query string with ``model``, refusing a parameter it does not define.

    The fast path of :func:`parse_query` for :func:`api.direct.direct` handlers: the query string is split
    once, unknown names are refused (as :func:`api.deps.check_parameters` does for the other
    routes) and the values are validated in one pydantic call; any error gives the same 400.
    """
    lists = _list_fields(model)
    names = _field_names(model)
    data: dict[str, Any] = {}
    raw = request.scope["query_string"]
    if raw:
        for name, value in query_pairs(raw):
            if name not in names:
                raise unknown_parameter(name, sorted(names))
            if name in lists:
                data.setdefault(name, []).append(value)
            elif name in data:
                raise InvalidParameterError(name, f"paramètre « {name} » donné plusieurs fois")
            else:
                data[name] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**err, "loc": ("query", *err["loc"])} for err in exc.errors()]
        raise RequestValidationError(errors) from None


def query_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The (name, value) pairs of a raw query string, as :func:`urllib.parse.parse_qsl` gives them.

    A query without escapes (no ``%`` and no ``+``, as proximity queries are) is only split, at a
    fraction of ``parse_qsl``'s cost; any other goes through ``parse_qsl`` itself.
    """
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8")
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


@functools.cache
def _field_names(model: type[QueryModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


def query(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency that validates the request's query string with ``model``."""

    async def parse(request: Request) -> M:
        return parse_query(request, model)

    return parse


def parameters(model: type[QueryModel]) -> list[dict[str, Any]]:
    """The OpenAPI parameter objects of ``model``'s fields (shared schemas go to components)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    EXTRA_SCHEMAS.update(schema.get("$defs", {}))
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        out.append(param)
    return out
