"""HTTP caching: an ETag from the store revision and the request, and 304 on ``If-None-Match``."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

CACHE_CONTROL = "public, max-age=60"


def etag_for(revision: str, request: Request, *, variant: str = "") -> str:
    """A strong ETag that changes with the stored data, the path, the query and the variant."""
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    key = f"{revision}\n{request.url.path}\n{query}\n{variant}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def cache_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL}


def not_modified(request: Request, etag: str) -> Response | None:
    """A 304 response when the client already holds this representation, else None."""
    header = request.headers.get("if-none-match")
    if header and _matches(header, etag):
        return Response(status_code=304, headers=cache_headers(etag))
    return None
