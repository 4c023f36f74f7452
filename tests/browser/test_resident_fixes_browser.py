"""The defects a tester found using the pages as a new user, each fixed and checked in Debian's
Chromium against a real uvicorn, at the viewport where it was seen (the tester's numbers).

The server holds the demo set (its bounds are Bayonne), the BAN-format test addresses and two
weekly schedules; every request to another host is refused.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.resident_support import Visit, api_settings, boxes_intersect, browser, desktop, phone

pytestmark = pytest.mark.browser
__all__ = ["api_settings", "browser", "desktop", "phone"]  # the fixtures this module uses


# --- 1: shared links carry parameters the pages do not know ---------------------------------
@pytest.mark.parametrize(
    "path", ["/?fbclid=IwAR0abc", "/?utm_source=newsletter", "/map?fbclid=x", "/embed?fbclid=x", "/?lang=de"]
)
def test_1_a_shared_link_with_tracking_parameters_opens_the_map(
    desktop: Visit, api_url: str, path: str
) -> None:
    desktop.page.set_extra_http_headers({"Accept": "text/html"})
    page = desktop.open(f"{api_url}{path}")
    assert page.evaluate("document.documentElement.lang") == "fr"
    expect(page.locator(".essmap-legend")).to_contain_text("Acteurs")  # the map and its data


def test_1_the_planner_opens_from_a_shared_link_and_its_errors_are_a_french_page(
    desktop: Visit, api_url: str
) -> None:
    page = desktop.page
    page.goto(f"{api_url}/map/planner?utm_source=x")
    expect(page.locator(".leaflet-container")).to_be_visible()
    page.goto(f"{api_url}/map/planner?threshold_m=abc")
    expect(page.get_by_role("heading", level=1)).to_have_text("Requête invalide")
    expect(page.locator("body")).to_contain_text("threshold_m")
    page.goto(f"{api_url}/?f=xml")  # the landing page too
    expect(page.get_by_role("heading", level=1)).to_have_text("Requête invalide")
    assert page.evaluate("document.documentElement.lang") == "fr"


# --- 2: a popup opened from the list or the search shows whole ------------------------------
def _popup_inside_the_map(visit: Visit) -> None:
    page = visit.page
    title = page.locator(".leaflet-popup .essmap-popup-title")
    expect(title).to_be_visible()
    page.wait_for_function("!essmapMap._panAnim || !essmapMap._panAnim._inProgress")
    page.wait_for_timeout(400)  # the map pans the popup into view
    popup = page.locator(".leaflet-popup").bounding_box()
    area = page.locator("#essmap-map, .leaflet-container").first.bounding_box()
    close = page.locator(".leaflet-popup-close-button").bounding_box()
    assert popup
    assert area
    assert close
    assert popup["y"] >= area["y"], (popup, area)
    assert popup["y"] + popup["height"] <= area["y"] + area["height"] + 0.5, (popup, area)
    assert close["y"] >= area["y"]
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.leaflet-popup-close-button') !== null",
        [close["x"] + close["width"] / 2, close["y"] + close["height"] / 2],
    )
    assert on_top, "a control covers the popup's close button"
    page.locator(".leaflet-popup-close-button").click()  # it can be closed
    expect(page.locator(".leaflet-popup")).to_have_count(0)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_2_a_popup_opened_from_the_list_of_actors_shows_whole(
    desktop: Visit, phone: Visit, api_url: str, viewport: str
) -> None:
    visit = desktop if viewport == "desktop" else phone
    page = visit.open(f"{api_url}/map")
    page.locator("#essmap-list button[data-index]").first.click()
    _popup_inside_the_map(visit)
    if viewport == "phone":
        page.locator("#essmap-list button[data-index]").nth(3).click()
        _popup_inside_the_map(visit)


def test_2_a_popup_opened_from_the_search_box_shows_whole(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    page.evaluate("essmapResident.search.api = null")  # as on a server without addresses: actors' names
    search = page.get_by_role("combobox", name="Votre adresse")
    search.press_sequentially("otsokop", delay=20)
    page.locator("#essmap-search-list [role=option]").first.click()
    _popup_inside_the_map(desktop)


# --- 3: the view in the URL is kept on every screen -----------------------------------------
@pytest.mark.parametrize(
    ("path", "width", "height"),
    [
        ("/map", 390, 844),
        ("/embed", 390, 844),
        ("/embed", 600, 450),
        ("/embed", 800, 600),
        ("/embed", 1366, 768),
    ],
)
def test_3_the_view_in_the_url_is_kept_whatever_the_size(
    browser: Browser, api_url: str, path: str, width: int, height: int
) -> None:
    visit = Visit(browser, {"width": width, "height": height})
    try:
        page = visit.open(f"{api_url}{path}#map=16/43.49500/-1.47000")
        page.wait_for_selector("html[data-essmap-urlstate=ready]", state="attached")
        page.wait_for_timeout(600)  # longer than Leaflet's zoom animation
        zoom, lat, lon = page.evaluate(
            "[essmapMap.getZoom(), essmapMap.getCenter().lat, essmapMap.getCenter().lng]"
        )
        assert zoom == 16
        assert abs(lat - 43.495) < 1e-4
        assert abs(lon + 1.47) < 1e-4
        assert page.evaluate("location.hash").startswith("#map=16/43.49500")
    finally:
        visit.close()


# --- 15: the category filter closes a hidden actor's popup and the layers control counts --------
def test_15_the_filter_closes_a_hidden_actors_popup_and_the_count_follows(
    desktop: Visit, api_url: str
) -> None:
    page = desktop.open(f"{api_url}/map")
    layers = page.locator(".leaflet-control-layers-overlays")
    expect(layers).to_contain_text("Acteurs (11)")
    page.locator("#essmap-list").get_by_role("button", name="AMAP Patxoki").click()
    expect(page.locator(".leaflet-popup-content .essmap-popup-title")).to_have_text("AMAP Patxoki")
    category = page.get_by_label("Catégorie", exact=True)
    category.select_option("amap_delivery_point")  # its own category: the popup stays
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    expect(layers).to_contain_text("Acteurs (6)")
    category.select_option(label="Épicerie coopérative")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    expect(layers).to_contain_text("Acteurs (1)")
    expect(layers.get_by_role("checkbox").last).to_be_checked()  # the layer itself stays on
    category.select_option("")
    expect(layers).to_contain_text("Acteurs (11)")


# --- 16: "Me localiser" far from the data -----------------------------------------------------
def test_16_locating_far_from_every_point_says_so_and_keeps_the_data_in_view(
    phone: Visit, api_url: str
) -> None:
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"latitude": 48.85, "longitude": 2.35, "accuracy": 20})  # Paris
    page = phone.open(f"{api_url}/map")
    before = page.evaluate("[essmapMap.getZoom(), essmapMap.getCenter().lat, essmapMap.getCenter().lng]")
    page.click(".leaflet-control-locate a")
    nearest = page.locator(".essmap-nearest")
    expect(nearest).to_contain_text("Aucun point d’approvisionnement à moins de 30 km de votre position.")
    expect(nearest).to_contain_text("Le plus proche est à 66")  # about 662 km away, in Bayonne
    expect(page.locator(".essmap-nearest-list li")).to_have_count(0)
    page.wait_for_timeout(500)
    after = page.evaluate("[essmapMap.getZoom(), essmapMap.getCenter().lat, essmapMap.getCenter().lng]")
    assert after == before  # still on the data
    assert page.locator(".leaflet-control-locate-location, .essmap-origin").count() == 0  # no Paris mark
    # near the data, the position is shown and the nearest listed
    phone.context.set_geolocation({"latitude": 43.4960, "longitude": -1.4630, "accuracy": 20})
    page.click(".leaflet-control-locate a")
    expect(nearest).to_contain_text("Depuis votre position")
    expect(page.locator(".essmap-nearest-list li")).to_have_count(3)


# --- the tester's last item: on a phone, the first view leaves the corner buttons free --------
def test_on_a_phone_no_actor_starts_under_the_buttons_of_the_top_right_corner(
    phone: Visit, api_url: str
) -> None:
    page = phone.open(f"{api_url}/map")
    expect(page.locator(".essmap-unlocated")).to_be_visible()  # the "Sans adresse" button is there
    page.wait_for_selector("html[data-essmap-urlstate=ready]", state="attached")
    corner = page.locator(".leaflet-top.leaflet-right").bounding_box()
    assert corner
    assert corner["width"] > 0
    markers = page.locator(".leaflet-marker-pane .leaflet-marker-icon")
    assert markers.count() > 0
    covered = [
        box
        for box in (markers.nth(i).bounding_box() for i in range(markers.count()))
        if box is not None and boxes_intersect(box, corner)
    ]
    assert not covered, (corner, covered)
