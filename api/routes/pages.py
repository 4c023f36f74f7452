"""Map pages (resident map at ``/``, planner map, ``/embed``), served when essmap.maps can render them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import CheckedRoute

router = APIRouter(tags=["cartes"], route_class=CheckedRoute)


def available() -> bool:
    """Whether the map pages can be rendered (essmap.maps is installed with its assets)."""
    return False


def wants_html(request: Request, f: str | None) -> bool:
    """HTML when asked with ``f=html``, or when a browser prefers it (Accept: text/html first)."""
    if f is not None:
        return f == "html" and available()
    accept = request.headers.get("accept", "")
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first == "text/html" and available()


async def resident_page(request: Request) -> Response:
    raise NotImplementedError


def mount_assets(app: object) -> None:
    """Serve the maps' JavaScript and CSS (integration point for essmap.maps)."""
