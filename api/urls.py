"""Absolute links for OGC API responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request


def base_url(request: Request) -> str:
    """The server's root URL, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def url(request: Request, path: str, query: Mapping[str, Any] | None = None) -> str:
    """An absolute URL on this server."""
    text = base_url(request) + path
    if query:
        text += "?" + urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
    return text


def link(href: str, rel: str, media_type: str | None = None, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel}
    if media_type:
        out["type"] = media_type
    if title:
        out["title"] = title
    return out
