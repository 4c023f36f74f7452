"""HTTP caching: an ETag for everything that varies a body, and 304 on ``If-None-Match``.

A body varies with the stored data (the revision it was built from), the base URL of its links,
the path and query, and the representation chosen from ``Accept`` (the ``variant``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response

from api.security import HeadersMiddleware
from api.urls import base_url

CACHE_CONTROL = "public, max-age=60"
#: What may change at any time through the API (one actor): caches revalidate it with its ETag.
REVALIDATE = "no-cache"


def etag_for(revision: str, request: Request, *, variant: str = "") -> str:
    """A strong ETag that changes with the revision, base URL, path, query and variant."""
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    key = f"{revision}\n{base_url(request)}\n{request.url.path}\n{query}\n{variant}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def cache_headers(etag: str, cache_control: str = CACHE_CONTROL) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": cache_control}


def not_modified(request: Request, etag: str, *, cache_control: str = CACHE_CONTROL) -> Response | None:
    """A 304 response when the client already holds this representation, else None."""
    header = request.headers.get("if-none-match")
    if header and _matches(header, etag):
        return Response(status_code=304, headers=cache_headers(etag, cache_control))
    return None


def conditional(
    request: Request, revision: str, build: Callable[[], Response], *, variant: str = ""
) -> Response:
    """A 304, or the response ``build()`` makes, with its ETag and Cache-Control."""
    etag = etag_for(revision, request, variant=variant)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    response = build()
    response.headers.update(cache_headers(etag))
    return response


class UniqueVary(HeadersMiddleware):
    """``Vary`` names each request header once.

    A route says what its body varies with (``Accept, Origin``), and the CORS middleware adds
    ``Origin`` again when it answers a cross-origin request: caches would read the header twice.
    """

    def edit(self, headers: MutableHeaders) -> None:
        values = headers.getlist("vary")
        if values:
            names = [n.strip() for v in values for n in v.split(",") if n.strip()]
            del headers["vary"]
            headers["Vary"] = ", ".join(dict.fromkeys(n if n == "*" else n.title() for n in names))


# --- one actor: an ETag per version, and If-Match for changes (optimistic concurrency) -------------
def actor_etag(version: int, updated_at: str, *, variant: str = "") -> str:
    """The strong ETag of an actor's version (the time of the change tells apart a version 1 made
    again after a deletion), followed by ``variant`` when the body also depends on something else
    (the next pick-up shown, which changes with time)."""
    stamp = hashlib.sha256(updated_at.encode()).hexdigest()[:8]
    return f'"{version}-{stamp}-{variant}"' if variant else f'"{version}-{stamp}"'


def _version_part(etag: str) -> str:
    """The version part of an actor's ETag (``3-1a2b3c4d`` of ``"3-1a2b3c4d-9f8e7d6c"``)."""
    return "-".join(etag.strip().strip('"').split("-")[:2])


def if_match(request: Request, etag: str) -> bool | None:
    """Whether ``If-Match`` names the version of this ETag (strong comparison of the version part:
    a representation showing another next pick-up is still the same version; ``*`` for any);
    None without it."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    if header.strip() == "*":
        return True
    wanted = _version_part(etag)
    return any(_version_part(tag) == wanted for tag in header.split(",") if not tag.strip().startswith("W/"))
