"""The map pages served by the API: resident map (``/`` for browsers, ``/map``), planner map, ``/embed``.

HTTP checks with httpx; the URL state of ``/embed`` (view and category filter kept in the URL) is
checked in Debian's Chromium driven by Playwright, with every request to another host refused.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Playwright, Route

from essmap.settings import Settings
from tests.api_support import assert_problem

CHROMIUM = "/usr/bin/chromium"
LOCAL = re.compile(r"^(data:|blob:|about:|http://127\.0\.0\.1:\d+/)")


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo set alone, without background tiles (nothing leaves this machine)."""
    return Settings(data_dir=tmp_path_factory.mktemp("pages") / "data", tile_url="")


@pytest.mark.parametrize(
    "url", ["/map", "/embed", "/embed?category=market", "/map/planner", "/map/planner?sites=0"]
)
def test_pages_are_html_with_every_asset_served_here(client: httpx.Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="fr">' in html
    links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert links
    for link in links:
        assert link.startswith("/"), link  # nothing from a CDN
        asset = client.get(link)
        assert asset.status_code == 200, link
        assert asset.headers["content-type"].split(";")[0] in {"text/javascript", "text/css"}


def test_resident_pages_carry_the_url_state_script(client: httpx.Client) -> None:
    assert "/maps/urlstate.js" in client.get("/embed").text
    assert "/maps/urlstate.js" in client.get("/map").text
    assert "/maps/urlstate.js" not in client.get("/map/planner").text


def test_landing_page_negotiates_html_for_browsers(client: httpx.Client) -> None:
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.headers["content-type"].startswith("text/html")
    assert "EssmapResident" in browser.text
    assert "Accept" in browser.headers["vary"]
    machine = client.get("/", headers={"Accept": "application/json"})
    assert machine.headers["content-type"].startswith("application/json")
    assert "Accept" in machine.headers["vary"]
    assert client.get("/?f=html").headers["content-type"].startswith("text/html")
    assert (
        client.get("/?f=json", headers={"Accept": "text/html"})
        .headers["content-type"]
        .startswith("application/json")
    )
    rels = {link["rel"] for link in machine.json()["links"]}
    assert "alternate" in rels


def test_page_errors_are_problems(client: httpx.Client) -> None:
    assert_problem(client.get("/embed?category=bakery"), 400)
    assert_problem(client.get("/map/planner?threshold_m=99999"), 400)
    assert_problem(client.get("/map/planner?sites=-1"), 400)
    assert_problem(client.get("/maps/assets/vendor/nothing.js"), 404)
    assert_problem(client.get("/maps/assets/../../pyproject.toml"), 404)


HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.mark.parametrize(
    "url",
    [
        "/?fbclid=IwAR0abc",
        "/?utm_source=newsletter&utm_medium=email",
        "/map?fbclid=x",
        "/embed?fbclid=x&category=market",
        "/embed/code?utm_source=x",
        "/map/planner?utm_source=x",
    ],
)
def test_pages_ignore_the_parameters_they_do_not_know(client: httpx.Client, url: str) -> None:
    """Shared links carry tracking parameters: the pages answer them as without."""
    response = client.get(url, headers=HTML)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in response.text


def test_json_answers_still_refuse_unknown_parameters(client: httpx.Client) -> None:
    body = assert_problem(client.get("/?fbclid=x", headers={"Accept": "application/json"}), 400)
    assert body["errors"][0]["field"] == "fbclid"
    assert "paramètre inconnu" in body["errors"][0]["message"]
    assert_problem(client.get("/?f=json&utm_source=x"), 400)
    assert_problem(client.get("/nearest?lon=-1.47&lat=43.49&fbclid=x"), 400)


@pytest.mark.parametrize("url", ["/?lang=de", "/map?lang=de", "/embed/code?lang=xx"])
def test_an_unsupported_language_falls_back_to_french_or_accept_language(
    client: httpx.Client, url: str
) -> None:
    french = client.get(url, headers=HTML)
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text
    basque = client.get(url, headers={**HTML, "Accept-Language": "eu-ES,eu;q=0.9"})
    assert basque.status_code == 200
    assert '<html lang="eu">' in basque.text


@pytest.mark.parametrize("url", ["/map/planner?threshold_m=abc", "/?f=xml", "/embed?category=bakery"])
def test_a_browser_gets_page_errors_as_a_french_html_page(client: httpx.Client, url: str) -> None:
    response = client.get(url, headers=HTML)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "Requête invalide" in response.text
    assert '"type": "about:blank"' not in response.text  # not the problem document


@pytest.mark.parametrize("url", ["/map", "/embed", "/map/planner", "/docs"])
def test_pages_allow_scripts_from_this_server_only(client: httpx.Client, url: str) -> None:
    response = client.get(url)
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    sources = directives["script-src"].split()
    assert sources[0] == "'self'"
    # every other source is the hash of one of the page's own inline scripts: no host, no 'unsafe-*'
    inline = re.findall(
        r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", response.text, re.S
    )
    expected = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in inline
    }
    assert set(sources[1:]) == expected
    assert directives["object-src"] == "'none'"


def test_pages_have_etags(client: httpx.Client) -> None:
    first = client.get("/map")
    assert client.get("/map", headers={"If-None-Match": first.headers["etag"]}).status_code == 304


# --- in a browser ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(playwright: Playwright) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    outside: list[str] = []

    def guard(route: Route) -> None:
        if LOCAL.match(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    context.route("**/*", guard)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    browser.close()
    assert outside == []
    # the pages' Content-Security-Policy blocked nothing they need (a refused script is logged)
    assert errors == []


def _ready(page: Page) -> None:
    page.wait_for_selector("html[data-essmap-urlstate=ready]", state="attached", timeout=30_000)


def test_embed_keeps_filter_and_view_in_the_url(page: Page, api_url: str) -> None:
    page.goto(f"{api_url}/embed?category=amap_delivery_point&category=urban_farm")
    _ready(page)
    checked = page.eval_on_selector_all("input.essmap-filter:checked", "els => els.map(e => e.value)")
    assert sorted(checked) == ["amap_delivery_point", "urban_farm"]
    assert sorted(page.evaluate("Array.from(essmapResident.layer.enabledCategories())")) == checked
    assert "category=amap_delivery_point,urban_farm" in page.evaluate("location.hash")
    # moving the map and changing the filter are written into the URL
    page.evaluate("essmapResident.map.setView([43.4951, -1.4710], 16, {animate: false})")
    page.uncheck("input.essmap-filter[value=urban_farm]")
    page.wait_for_function("location.hash.includes('map=16/')")
    url = page.url
    assert "#map=16/43.495" in url
    assert "category=amap_delivery_point" in url
    assert "urban_farm" not in url.split("#", 1)[1]
    # the same URL shows the same map again
    page.goto("about:blank")
    page.goto(url)
    _ready(page)
    assert page.evaluate("essmapResident.map.getZoom()") == 16
    center = page.evaluate("[essmapResident.map.getCenter().lat, essmapResident.map.getCenter().lng]")
    assert center == pytest.approx([43.4951, -1.4710], abs=1e-3)
    checked = page.eval_on_selector_all("input.essmap-filter:checked", "els => els.map(e => e.value)")
    assert checked == ["amap_delivery_point"]


def test_resident_map_shows_every_located_actor_by_default(page: Page, api_url: str) -> None:
    page.goto(f"{api_url}/map")
    _ready(page)
    all_categories = page.eval_on_selector_all("input.essmap-filter", "els => els.length")
    assert page.eval_on_selector_all("input.essmap-filter:checked", "els => els.length") == all_categories
    assert "category=" not in page.evaluate("location.hash")
    assert page.evaluate("essmapResident.layer.count()") == 11  # the located demo actors


def test_a_malformed_hash_is_ignored_not_fatal(page: Page, api_url: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{api_url}/embed#category=%E0%A4%A&map=15/43.4951/-1.4710")
    _ready(page)
    assert errors == []
    assert page.evaluate("essmapResident.map.getZoom()") == 15  # the readable part still applies
    all_categories = page.eval_on_selector_all("input.essmap-filter", "els => els.length")
    assert page.eval_on_selector_all("input.essmap-filter:checked", "els => els.length") == all_categories


def test_the_pages_have_an_icon(client: httpx.Client) -> None:
    """Browsers ask every site for /favicon.ico: a PNG, not a 404 in each page's console."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "/favicon.ico" not in client.get("/openapi.json").json()["paths"]


def test_without_addresses_the_residents_page_does_not_invite_an_address(
    page: Page, api_url: str, api_settings: Settings
) -> None:
    """The demo set has no address file: the search looks among the actors and says why."""
    from essmap.store import open_store

    assert open_store(api_settings).address_count() == 0
    page.goto(f"{api_url}/map")
    page.wait_for_function("window.essmapReady === true")
    assert page.evaluate("JSON.stringify(Object.keys(window.essmapResident.data.api))").count("geocode") == 0
    search = page.locator("#essmap-search-input")
    assert "avenue" not in (search.get_attribute("placeholder") or "")
    assert page.locator("label[for=essmap-search-input]").inner_text() == "Chercher un acteur"
    hint = page.locator("#essmap-search-hint").inner_text()
    assert "Recherche d’adresse indisponible sur ce serveur" in hint
