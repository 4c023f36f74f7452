"""The residents' pages served by a real uvicorn in Debian's Chromium: the server's data (the demo
set, BAN-format test addresses, two weekly schedules), the browser, and :class:`Visit`, one page in a
fresh context recording console errors, outside requests and tile requests. Test modules import
the fixtures they use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route

from essmap.settings import Settings
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

LOCAL = re.compile(r"^(data:|blob:|about:|http://127\.0\.0\.1:\d+/)")
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo set (data in Bayonne only), test addresses and two weekly schedules."""
    from tests.api_support import add_resident_data

    folder = tmp_path_factory.mktemp("resident-pages")
    settings = Settings(
        data_dir=folder / "data",
        tile_url="http://127.0.0.1:9/tiles/{z}/{x}/{y}.png",
        tile_attribution="© tuiles de test",
    )
    add_resident_data(settings, folder / "ban")
    return settings


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


class Visit:
    """One page in a fresh context: console errors, outside requests and tile requests recorded."""

    def __init__(self, browser: Browser, viewport: dict[str, int], *, locale: str = "fr-FR") -> None:
        self.context = browser.new_context(viewport=viewport, locale=locale, bypass_csp=True)
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.tiles: list[str] = []
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route: Route) -> None:
        url = route.request.url
        if "/tiles/" in url:
            self.tiles.append(url)
            route.fulfill(status=204)
        elif LOCAL.match(url):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str) -> Page:
        self.page.goto(url)
        self.page.wait_for_function("window.essmapReady === true || !!window.essmapError", timeout=30_000)
        assert self.page.evaluate("window.essmapError || null") is None
        return self.page

    def close(self) -> None:
        self.context.close()
        # tile and geolocation failures are not page errors
        assert [e for e in self.errors if "Failed to load resource" not in e] == []
        assert self.outside == []


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Visit]:
    visit = Visit(browser, DESKTOP)
    yield visit
    visit.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Visit]:
    visit = Visit(browser, PHONE)
    yield visit
    visit.close()


def boxes_intersect(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )
