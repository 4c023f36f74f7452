"""Browser fixtures: Debian's Chromium driven by Playwright, with every outside request refused.

Chromium is launched from /usr/bin/chromium (``ESSMAP_CHROMIUM`` overrides the path); Playwright's
own browser downloads are never used. A missing Chromium is an error, not a skip: these tests
must run in CI (``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Request,
    expect,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("ESSMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = re.compile(r"^(file:|data:|blob:|about:|https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/)")


@pytest.fixture(scope="session")
def browser_context(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    """One Chromium with a fresh profile; outside requests are aborted (and recorded by MapPage)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1200, "height": 800},
        locale="fr-FR",
        service_workers="block",
    )
    context.route(re.compile(r"^https?://"), _refuse_outside)
    yield context
    context.close()


def _refuse_outside(route: object) -> None:
    request = route.request  # type: ignore[attr-defined]
    if LOCAL.match(request.url):
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort("blockedbyclient")  # type: ignore[attr-defined]


@dataclass
class MapPage:
    """A page with its console errors and the requests that tried to leave the machine."""

    page: Page
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, url: str) -> MapPage:
        self.page.goto(url)
        self.page.wait_for_function("window.essmapReady === true || !!window.essmapError", timeout=30_000)
        error = self.page.evaluate("window.essmapError || null")
        assert error is None, error
        return self

    def open_file(self, path: Path) -> MapPage:
        return self.open(path.resolve().as_uri())

    def js(self, expression: str, arg: object = None) -> object:
        return self.page.evaluate(expression, arg)

    def shown_actor_total(self) -> int:
        """Actors drawn in the view: single markers plus the counts of the cluster markers."""
        return int(
            self.page.evaluate(
                """() => document.querySelectorAll('.leaflet-marker-pane .essmap-pin').length +
                   Array.from(document.querySelectorAll('.leaflet-marker-pane .essmap-cluster'))
                        .reduce((s, el) => s + Number(el.dataset.count), 0)"""
            )
        )

    def set_view(self, lat: float, lon: float, zoom: int) -> None:
        self.page.evaluate(
            "([lat, lon, z]) => window.essmapMap.setView([lat, lon], z, {animate: false})", [lat, lon, zoom]
        )

    def popup(self) -> Locator:
        """The content of the one open popup (waits for a closing popup to fade out)."""
        expect(self.page.locator(".leaflet-popup")).to_have_count(1)
        return self.page.locator(".leaflet-popup-content")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.outside == [], f"requests left the machine: {self.outside}"


@pytest.fixture
def map_page(browser_context: BrowserContext) -> Iterator[MapPage]:
    page = browser_context.new_page()
    mp = MapPage(page)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            mp.errors.append(msg.text)

    def on_request(request: Request) -> None:
        mp.requests.append(request.url)
        if not LOCAL.match(request.url):
            mp.outside.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: mp.errors.append(f"page error: {exc}"))
    page.on("request", on_request)
    yield mp
    page.close()
