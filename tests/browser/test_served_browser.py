"""Pages served over HTTP with linked assets and background tiles, all from this machine, under the
Content-Security-Policy the API sends with them (api/security.py)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from matplotlib.image import imsave
from playwright.sync_api import expect

from api.security import content_security_policy
from essmap.analysis.views import planner_view
from essmap.maps.assets import served_files
from essmap.maps.planner import render_planner_map
from essmap.maps.resident import render_resident_map
from essmap.settings import Settings
from essmap.store import GeoPackageStore
from tests.browser.conftest import MapPage

pytestmark = pytest.mark.browser


def _tile_png() -> bytes:
    buf = io.BytesIO()
    tile = np.zeros((256, 256, 3), dtype=np.uint8)
    tile[:, :] = (225, 235, 220)
    tile[::32, :] = (180, 180, 180)
    imsave(buf, tile, format="png")
    return buf.getvalue()


class Site:
    """A local HTTP server: the pages, the assets under /assets/, tiles under /tiles/."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.tiles_served = 0
        self.files = served_files()
        tile = _tile_png()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                body: bytes | None = None
                kind = "text/html; charset=utf-8"
                if path in site.pages:
                    body = site.pages[path].encode("utf-8")
                elif path.startswith("/assets/") and path[len("/assets/") :] in site.files:
                    file = site.files[path[len("/assets/") :]]
                    body = file.read_bytes()
                    kind = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}[file.suffix]
                elif path.startswith("/tiles/"):
                    body, kind = tile, "image/png"
                    site.tiles_served += 1
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                if path in site.pages:
                    self.send_header("Content-Security-Policy", content_security_policy(site.pages[path]))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


def test_served_pages_with_linked_assets_and_local_tiles(
    map_page: MapPage, site: Site, demo_store: GeoPackageStore, settings: Settings
) -> None:
    cfg = settings.model_copy(
        update={"tile_url": site.url + "/tiles/{z}/{x}/{y}.png", "tile_attribution": "Tuiles de test locales"}
    )
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    site.pages["/"] = render_resident_map(qpv, actors, settings=cfg, asset_url="/assets")
    site.pages["/planner"] = render_planner_map(
        qpv, actors, planner_view(qpv, actors, settings=cfg), settings=cfg, asset_url="/assets"
    )

    map_page.open(site.url + "/")
    page = map_page.page
    expect(page.locator(".leaflet-tile-loaded").first).to_be_visible()
    assert site.tiles_served > 0
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Tuiles de test locales")
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Données QPV")
    assert map_page.shown_actor_total() == 11
    assert any(u.endswith("/assets/vendor/leaflet/leaflet.js") for u in map_page.requests)
    # the base layer is in the layers control
    expect(page.locator(".leaflet-control-layers-base")).to_contain_text("Fond de carte")
    map_page.screenshot("resident_served_tiles")

    map_page.open(site.url + "/planner")
    expect(page.locator("path.essmap-qpv-shade")).to_have_count(2)
    map_page.screenshot("planner_served_tiles")
    map_page.assert_clean()
