"""Absolute links for API responses, and the links of a page of features.

Links start with the configured public base URL (``ESSMAP_PUBLIC_URL``) when there is one, and
never with a Host header the app has not checked: without a public URL, only the hosts of
``ESSMAP_TRUSTED_HOSTS`` reach the routes (``TrustedHostMiddleware``, see :mod:`api.app`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

import numpy as np
from starlette.requests import Request

#: Rows of a result: a list, or an array of row numbers.
Rows = TypeVar("Rows", bound=Sequence[Any] | np.ndarray)


def base_url(request: Request) -> str:
    """The server's root URL, without a trailing slash."""
    public: str | None = request.app.state.settings.public_url
    if public:
        return public.rstrip("/")
    return str(request.base_url).rstrip("/")


def url(request: Request, path: str, query: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> str:
    """An absolute URL on this server (``query`` as a mapping or as (name, value) pairs)."""
    text = base_url(request) + path
    if query:
        pairs = query.items() if isinstance(query, Mapping) else query
        text += "?" + urlencode([(k, v) for k, v in pairs if v is not None], doseq=True)
    return text


def link(href: str, rel: str, media_type: str | None = None, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel}
    if media_type:
        out["type"] = media_type
    if title:
        out["title"] = title
    return out


def page_of(
    request: Request, rows: Rows, *, limit: int | None, offset: int, media_type: str
) -> tuple[Rows, dict[str, Any]]:
    """One page of ``rows`` and its members: ``numberMatched``, ``numberReturned``, ``links``.

    The page holds ``limit`` rows (``items_default_limit`` when not given, at most
    ``items_max_limit``: a larger limit is capped, as OGC API - Features allows) from ``offset``.
    The self / next / prev links repeat the request's query (repeated parameters included) with
    ``limit`` and ``offset`` set.
    """
    settings = request.app.state.settings
    limit = min(limit or settings.items_default_limit, settings.items_max_limit)
    page = cast(Rows, rows[offset : offset + limit])  # a slice has the type of what it slices
    matched = len(rows)
    path = request.url.path
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]

    def at(start: int) -> str:
        return url(request, path, [*kept, ("limit", limit), ("offset", start)])

    links = [link(at(offset), "self", media_type, "Cette page")]
    if offset + limit < matched:
        links.append(link(at(offset + limit), "next", media_type, "Page suivante"))
    if offset > 0:
        links.append(link(at(max(0, offset - limit)), "prev", media_type, "Page précédente"))
    return page, {"numberMatched": matched, "numberReturned": len(page), "links": links}
