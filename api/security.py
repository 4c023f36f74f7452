"""Response headers that protect browsers: ``nosniff`` everywhere, a Content-Security-Policy on pages.

Pages may run scripts from this server only (``script-src 'self'``), plus the inline scripts the
page itself holds, each allowed by its SHA-256 hash (the map pages carry the few lines that set up
their map inline). A script injected into a page by data (an actor's name, say) has another hash
and does not run.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: ``<script>`` elements without ``src`` and their content (data blocks are filtered out below).
_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
#: Script types a browser runs; any other (application/json, …) is a data block.
_EXECUTABLE = {"", "text/javascript", "application/javascript", "module"}


def _inline_scripts(html: str) -> list[str]:
    scripts = []
    for match in _INLINE_SCRIPT.finditer(html):
        attrs = match["attrs"]
        if re.search(r"\bsrc\s*=", attrs, re.IGNORECASE):
            continue
        kind = _TYPE.search(attrs)
        if (kind[1].lower() if kind else "") in _EXECUTABLE:
            scripts.append(match["body"])
    return scripts


def content_security_policy(html: str) -> str:
    """The policy of a page: scripts from this server and the page's own inline scripts only."""
    digests = {hashlib.sha256(script.encode()).digest() for script in _inline_scripts(html)}
    hashes = sorted(f"'sha256-{base64.b64encode(d).decode()}'" for d in digests)
    sources = " ".join(["'self'", *hashes])
    return f"script-src {sources}; object-src 'none'; base-uri 'self'"


def html_page(html: str, *, headers: dict[str, str] | None = None) -> HTMLResponse:
    """An HTML response with its Content-Security-Policy."""
    policy = {"Content-Security-Policy": content_security_policy(html)}
    return HTMLResponse(html, headers={**(headers or {}), **policy})


class HeadersMiddleware:
    """ASGI middleware that edits the headers of every HTTP response (:meth:`edit`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def edit(self, headers: MutableHeaders) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_edited(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.edit(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_edited)


class NoSniff(HeadersMiddleware):
    """``X-Content-Type-Options: nosniff`` on every response."""

    def edit(self, headers: MutableHeaders) -> None:
        headers.setdefault("X-Content-Type-Options", "nosniff")
