"""Interactive API documentation at ``/docs``, with Swagger UI served from this server (no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from api.factory import BaseFactory
from api.security import html_page

ASSETS_URL = "/docs/assets"


def swagger_ui_dir() -> Path | None:
    """Folder of the Swagger UI files shipped by the ``swagger-ui-bundle`` package, if installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(swagger_ui_path)
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def mount_assets(app: FastAPI) -> None:
    """Serve the Swagger UI files under ``/docs/assets`` when they are installed."""
    folder = swagger_ui_dir()
    if folder is not None:
        app.mount(ASSETS_URL, StaticFiles(directory=folder), name="swagger-ui")


#: On a phone, Swagger UI squeezes a tag's description beside its name into one letter per line:
#: let it wrap under the name instead.
NARROW_SCREENS = """<style>
.swagger-ui .opblock-tag { flex-wrap: wrap; }
.swagger-ui .opblock-tag small { flex: 1 1 14rem; min-width: 14rem; padding: 0 10px 0 0; }
</style>
"""

FALLBACK = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>essmap — documentation de l'API</title></head>
<body><h1>Documentation de l'API essmap</h1>
<p>L'interface interactive (Swagger UI) n'est pas installée sur ce serveur
(paquet Python <code>swagger-ui-bundle</code>).</p>
<p>La définition OpenAPI 3.0 complète est à <a href="/openapi.json">/openapi.json</a> ;
la page d'accueil OGC API - Features est à <a href="/">/</a>.</p>
</body></html>"""


@dataclass
class DocsFactory(BaseFactory):
    """``/docs`` (not in the OpenAPI document)."""

    def register_routes(self) -> None:
        @self.router.get("/docs", include_in_schema=False)
        async def docs() -> Response:
            """Swagger UI, or a plain page pointing to /openapi.json when it is not installed."""
            if swagger_ui_dir() is None:
                return html_page(FALLBACK)
            page = get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="essmap — documentation de l'API",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            )
            # FastAPI's page has no language: it is French, like the API's texts
            html = bytes(page.body).decode().replace("<html>", '<html lang="fr">', 1)
            return html_page(html.replace("</head>", NARROW_SCREENS + "</head>", 1))
