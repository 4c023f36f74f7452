"""The residents' nearest list on foot (issue 15), in Debian's Chromium against a real uvicorn server.

The place is the river of tests/network_support.py (a street on each bank, one bridge at x = 500).
From O = (100, 110) (metres from the reference point) the supply points are, in a straight line,
B (south bank, 215 m), C (north bank, 300 m), A (north bank, 700 m); on foot C (325 m), A (730 m),
B (1015 m, by the bridge). D, an association (not a supply point), is nearer than all of them and
is never listed. With the network imported, a click at O lists C, A, B with the walking minutes the
server's ``/nearest?mode=walk`` answers and a directions link each; without a network, or while the
walking request fails, the straight-line list B, C, A and its hint stay.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pandas as pd
import pytest
import shapely
from playwright.sync_api import Page, Route, expect

from api import create_app
from essmap.importing import import_network
from essmap.model import actor_frame
from essmap.settings import Settings
from essmap.store import open_store
from tests.api_support import background_server
from tests.browser.axe_support import run_axe, serious_violations
from tests.browser.conftest import MapPage
from tests.network_support import lonlat, river_osm

pytestmark = pytest.mark.browser

ORIGIN = lonlat(100, 110)  # O of the docstring
ACTORS = {
    "a": ("Marché A", "market", (800, 120)),
    "b": ("Marché B", "market", (100, -105)),
    "c": ("AMAP C", "amap_delivery_point", (400, 115)),
    "d": ("Association D", "association", (100, 180)),
}
STRAIGHT_ORDER = ["b", "c", "a"]
WALK_ORDER = ["c", "a", "b"]
STRAIGHT_HINT = "Distances à vol d’oiseau (en ligne droite), pas à pied."
WALK_HINT = "Distances à pied sur le réseau des rues"


def _serve(folder: Path, *, network: bool) -> Iterator[str]:
    settings = Settings(data_dir=folder / "data", init_from_demo=False, tile_url=None)
    store = open_store(settings)
    frame = pd.DataFrame(
        {
            "id": list(ACTORS),
            "name": [v[0] for v in ACTORS.values()],
            "category": [v[1] for v in ACTORS.values()],
        }
    )
    points = [shapely.Point(*lonlat(*v[2])) for v in ACTORS.values()]
    store.upsert_actors(actor_frame(frame, points))
    if network:
        import_network(store, river_osm(folder / "river.osm"))
    store.close()
    with background_server(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def walk_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose store holds the river's street network."""
    yield from _serve(tmp_path_factory.mktemp("resident-walk"), network=True)


@pytest.fixture(scope="module")
def straight_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the same actors and no street network."""
    yield from _serve(tmp_path_factory.mktemp("resident-straight"), network=False)


def _open(map_page: MapPage, url: str) -> Page:
    map_page.open(f"{url}/map")
    page = map_page.page
    page.evaluate(
        "([lat, lon]) => essmapMap.setView([lat, lon], 16, {animate: false})", [ORIGIN[1], ORIGIN[0]]
    )
    return page


def _click_origin(page: Page) -> None:
    """A real mouse click on the map at O."""
    x, y = page.evaluate(
        """([lat, lon]) => {
            const box = essmapMap.getContainer().getBoundingClientRect();
            const p = essmapMap.latLngToContainerPoint([lat, lon]);
            return [box.left + p.x, box.top + p.y];
        }""",
        [ORIGIN[1], ORIGIN[0]],
    )
    page.mouse.click(x, y)


def _listed(page: Page) -> list[str | None]:
    items = page.locator(".essmap-nearest-list li")
    return [items.nth(k).get_attribute("data-actor-id") for k in range(items.count())]


def _whole_minutes(value: float) -> int:
    """As the page rounds (half up), at least one minute."""
    return max(1, math.floor(value + 0.5))


def test_with_a_network_the_list_walks_with_directions(map_page: MapPage, walk_url: str) -> None:
    page = _open(map_page, walk_url)
    expect(page.locator(".essmap-nearest-body")).to_contain_text("à pied")
    with page.expect_request(lambda r: "/nearest?" in r.url) as asked:
        _click_origin(page)
    query = parse_qs(urlsplit(asked.value.url).query)
    assert query["mode"] == ["walk"]
    assert sorted(query["category"]) == ["amap_delivery_point", "market"]  # the supply points shown
    page.wait_for_function("() => essmapResident.walkState === 'shown'")
    assert _listed(page) == WALK_ORDER
    with httpx.Client(base_url=walk_url, timeout=60) as http:
        answer = http.get(asked.value.url).json()
    assert answer["distance_method"] == "network"
    assert [f["id"] for f in answer["features"]] == WALK_ORDER
    for feature, item in zip(answer["features"], page.locator(".essmap-nearest-list li").all(), strict=True):
        props = feature["properties"]
        assert float(item.get_attribute("data-walk-minutes") or "nan") == props["walk_minutes"]
        assert float(item.get_attribute("data-distance-m") or "nan") == props["distance_m"]
        shown = f"{_whole_minutes(props['walk_minutes'])} min à pied"
        expect(item.locator(".essmap-walk")).to_contain_text(shown)
        link = item.get_by_role("link", name=f"Itinéraire vers {ACTORS[feature['id']][0]}")
        expect(link).to_have_attribute("href", props["directions_url"])
        expect(link).to_have_attribute("target", "_blank")
        assert "noopener" in (link.get_attribute("rel") or "").split()
    # the figures are the river's, walked by the bridge (the click lands within a pixel of O,
    # about 2 m at this zoom): C 325 m on foot, B 1015 m though 215 m in a straight line
    near, _, far = (f["properties"] for f in answer["features"])
    assert near["distance_m"] == pytest.approx(325, abs=4)
    assert far["distance_m"] == pytest.approx(1015, abs=4)
    assert far["straight_m"] == pytest.approx(215, abs=4)
    minutes, metres = _whole_minutes(near["walk_minutes"]), math.floor(near["distance_m"] + 0.5)
    expect(page.locator(".essmap-nearest-list li").first).to_contain_text(
        f"{minutes} min à pied ({metres}\u00a0m)"
    )
    expect(page.locator(".essmap-nearest .essmap-hint")).to_contain_text(WALK_HINT)
    expect(page.locator(".essmap-nearest")).not_to_contain_text("vol d’oiseau")
    assert serious_violations(run_axe(page)) == []  # the walked list, links and hint included
    map_page.screenshot("residents_map_walk_desktop")
    # the names still open the actors' popups
    page.locator(".essmap-nearest-list").get_by_role("button", name="Marché A").click()
    expect(page.locator(".leaflet-popup-content .essmap-popup-title")).to_have_text("Marché A")
    map_page.assert_clean()


def test_the_walking_request_follows_the_category_filter(map_page: MapPage, walk_url: str) -> None:
    page = _open(map_page, walk_url)
    page.locator('input.essmap-filter[value="amap_delivery_point"]').uncheck()
    with page.expect_request(lambda r: "/nearest?" in r.url) as asked:
        _click_origin(page)
    assert parse_qs(urlsplit(asked.value.url).query)["category"] == ["market"]
    page.wait_for_function("() => essmapResident.walkState === 'shown'")
    assert _listed(page) == ["a", "b"]
    map_page.assert_clean()


@pytest.mark.parametrize("failure", ["server error", "bad request", "server down"])
def test_a_failing_walking_request_leaves_the_straight_line_list(
    map_page: MapPage, walk_url: str, failure: str
) -> None:
    page = _open(map_page, walk_url)

    def fail(route: Route) -> None:
        if failure == "server down":
            route.abort("connectionrefused")
        else:
            status = 503 if failure == "server error" else 400
            body = f'{{"status":{status}}}'
            route.fulfill(status=status, content_type="application/problem+json", body=body)

    page.route("**/nearest?*", fail)
    _click_origin(page)
    page.wait_for_function("() => essmapResident.walkState === 'failed'")
    assert _listed(page) == STRAIGHT_ORDER
    expect(page.locator(".essmap-nearest .essmap-hint")).to_have_text(STRAIGHT_HINT)
    expect(page.locator(".essmap-nearest-list li").first).to_contain_text("à vol d’oiseau")
    expect(page.locator(".essmap-nearest-list .essmap-walk")).to_have_count(0)
    expect(page.locator(".essmap-directions")).to_have_count(0)
    # the page's console reports the failed load, nothing else
    assert [e for e in map_page.errors if "Failed to load resource" not in e] == []
    assert map_page.outside == []


def test_without_a_network_the_straight_line_list_stays(map_page: MapPage, straight_url: str) -> None:
    page = _open(map_page, straight_url)
    assert page.evaluate("essmapResident.data.walkNetwork") is False
    expect(page.locator(".essmap-nearest-body")).to_contain_text("distances à vol d’oiseau")
    _click_origin(page)
    expect(page.locator(".essmap-nearest-list li")).to_have_count(3)
    assert _listed(page) == STRAIGHT_ORDER
    expect(page.locator(".essmap-nearest .essmap-hint")).to_have_text(STRAIGHT_HINT)
    expect(page.locator(".essmap-directions")).to_have_count(0)
    assert not [u for u in map_page.requests if "/nearest" in u]
    assert page.evaluate("essmapResident.walkState === undefined")
    map_page.assert_clean()
