"""The residents' pages served by the API (``/``, ``/map``, ``/embed``, ``/embed/code``) in Debian's
Chromium: address search, nearest supply points with their next pick-up, popups, list view,
languages, the defects of issue 14 fixed (each at the viewport where it was seen), keyboard
access and axe-core (zero serious or critical violation), screenshots.

The server holds the demo set only (its bounds are Bayonne), the BAN-format test addresses and
two demo actors with a weekly schedule (tests/api_support.add_resident_data). Every request to
another host is refused. The pages' Content-Security-Policy is bypassed only to inject axe-core.
"""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.axe_support import rules_checked, run_axe, serious_violations
from tests.browser.conftest import ARTIFACTS
from tests.browser.resident_support import (  # fixtures: api_settings, browser, desktop, phone
    DESKTOP,
    PHONE,
    Visit,
    api_settings,
    boxes_intersect,
    browser,
    desktop,
    phone,
)

pytestmark = pytest.mark.browser
__all__ = ["api_settings", "browser", "desktop", "phone"]  # the fixtures this module uses


# --- issue 13: from an address to the nearest supply points ---------------------------------
def test_type_an_address_pick_a_suggestion_see_the_nearest_with_next_pickup(
    desktop: Visit, api_url: str
) -> None:
    page = desktop.open(f"{api_url}/map")
    search = page.get_by_role("combobox", name="Votre adresse")
    search.press_sequentially("1 rue des tonnel", delay=20)
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(search).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("Rue des Tonneliers")
    search.press("ArrowDown")
    active = search.get_attribute("aria-activedescendant")
    assert active
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    search.press("Enter")
    expect(listbox).to_be_hidden()
    nearest = page.locator(".essmap-nearest-list li")
    expect(nearest).to_have_count(3)
    assert nearest.first.get_attribute("data-actor-id") == "amap-patxoki"
    expect(page.locator(".essmap-nearest")).to_contain_text("Depuis « 1 Rue des Tonneliers")
    first = nearest.first.locator(".essmap-next-pickup")
    expect(first).to_contain_text("Prochain retrait : mardi")
    expect(first).to_contain_text("18h30–19h30")
    # the list view is now sorted by distance from that address
    expect(page.locator("#essmap-list-count")).to_contain_text("triés par distance")
    assert page.locator("#essmap-list li").first.get_attribute("data-actor-id") == "amap-patxoki"
    # Escape closes the suggestions, then clears the box
    search.press_sequentially(" x", delay=20)
    search.press("Escape")
    search.press("Escape")
    expect(search).to_have_value("")


def test_popup_shows_schedule_next_pickup_calendar_and_verification(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    page.evaluate("essmapMap.setView([43.4916, -1.4722], 18, {animate: false})")
    page.click('.essmap-pin[data-actor-id="amap-patxoki"]')
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Le mardi de 18h30 à 19h30")
    expect(popup.locator(".essmap-next-pickup")).to_contain_text("mardi")
    expect(popup).not_to_contain_text("horaires non renseignés")
    link = popup.get_by_role("link", name="Ajouter à mon agenda")
    assert link.get_attribute("href") == "/collections/actors/items/amap-patxoki/ical"
    expect(popup).to_contain_text("Vérifié le")
    response = page.request.get(f"{api_url}/collections/actors/items/amap-patxoki/ical")
    assert response.headers["content-type"].startswith("text/calendar")


def test_list_view_filters_by_category_and_text_with_the_keyboard(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    items = page.locator("#essmap-list li")
    expect(items).to_have_count(11)
    page.get_by_label("Catégorie", exact=True).select_option("amap_delivery_point")
    expect(items).to_have_count(6)
    assert page.evaluate("Array.from(essmapResident.layer.enabledCategories())") == ["amap_delivery_point"]
    page.get_by_label("Filtrer par texte").fill("balichon")
    expect(items).to_have_count(1)
    expect(page.locator("#essmap-list-count")).to_contain_text("1 acteur(s)")
    button = items.first.get_by_role("button", name="AMAP MVC Balichon")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup-content .essmap-popup-title")).to_have_text("AMAP MVC Balichon")


def test_markers_and_clusters_are_reachable_with_the_keyboard(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    marker = page.locator(".leaflet-marker-icon").first
    assert marker.get_attribute("tabindex") == "0"
    assert marker.get_attribute("role") == "button"
    cluster = page.locator(".essmap-cluster-icon").first
    if cluster.count():
        assert "acteurs" in (cluster.get_attribute("aria-label") or "")
        zoom = page.evaluate("essmapMap.getZoom()")
        cluster.focus()
        page.keyboard.press("Enter")
        page.wait_for_function(f"essmapMap.getZoom() > {zoom}")
    page.evaluate("essmapMap.setView([43.5001, -1.4738], 18, {animate: false})")
    pin = page.locator('.leaflet-marker-icon:has(.essmap-pin[data-actor-id="otsokop"])')
    pin.focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # visible focus
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup-content .essmap-popup-title")).to_have_text("Otsokop")


# --- issue 14: defects, each at the viewport where it was seen ------------------------------
def test_fix_1_long_source_urls_do_not_run_over_the_next_entries(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    panel = page.locator(".essmap-unlocated")
    panel.locator(".essmap-panel-toggle").click()
    items = panel.locator(".essmap-unlocated-list li")
    expect(items).to_have_count(4)
    boxes = [items.nth(k).bounding_box() for k in range(4)]
    for upper, lower in itertools.pairwise(boxes):
        assert upper
        assert lower
        assert upper["y"] + upper["height"] <= lower["y"] + 0.5
    body = panel.locator(".essmap-panel-body")
    assert body.evaluate("el => el.scrollWidth <= el.clientWidth")
    for link in panel.locator("a").all():  # a source is named by its site, in one line or two
        box = link.bounding_box()
        assert box is not None
        assert box["height"] < 40


def test_fix_2_on_a_phone_the_popup_is_covered_by_no_control(phone: Visit, api_url: str) -> None:
    page = phone.open(f"{api_url}/map")
    page.evaluate("essmapMap.setView([43.5001, -1.4738], 18, {animate: false})")
    page.click('.essmap-pin[data-actor-id="otsokop"]')
    popup = page.locator(".leaflet-popup")
    expect(popup).to_be_visible()
    page.wait_for_timeout(400)  # the map pans the popup into view
    box = popup.bounding_box()
    assert box is not None
    controls = page.locator(".leaflet-control")
    for k in range(controls.count()):
        control = controls.nth(k)
        if not control.is_visible():
            continue
        other = control.bounding_box()
        assert other is not None
        assert not boxes_intersect(box, other), control.get_attribute("class")
    # the popup fits the screen
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    page.locator(".leaflet-popup-close-button").click()
    expect(page.locator(".leaflet-control-zoom")).to_be_visible()  # the controls come back


def test_fix_8_the_approximate_location_warning_is_given_once(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    page.evaluate("essmapMap.setView([43.5001, -1.4738], 18, {animate: false})")
    page.click('.essmap-pin[data-actor-id="otsokop"]')
    text = page.locator(".leaflet-popup-content").inner_text()
    assert text.count("décalé de plusieurs centaines de mètres") == 1
    assert text.count("Localisation approximative") == 1


def test_fix_10_the_map_starts_on_its_data_without_world_tiles(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    assert desktop.tiles, "the page asked for no background tile"
    zooms = [int(re.search(r"/tiles/(\d+)/", url).group(1)) for url in desktop.tiles]  # type: ignore[union-attr]
    assert min(zooms) >= 5, sorted(set(zooms))
    bounds = page.evaluate(
        "(() => { const b = essmapMap.getBounds(); "
        "return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; })()"
    )
    south, west, north, east = bounds
    assert south < 43.4742
    assert north > 43.5061
    assert west < -1.4962
    assert east > -1.4528


def test_fix_11_the_unlocated_count_follows_the_category_filter(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/map")
    toggle = page.locator(".essmap-unlocated .essmap-panel-toggle")
    expect(toggle).to_have_text(re.compile(r"\(4\)"))
    page.uncheck('input.essmap-filter[value="public_body"]')
    expect(toggle).to_have_text(re.compile(r"\(3\)"))
    page.get_by_label("Catégorie", exact=True).select_option("amap_delivery_point")
    expect(toggle).to_have_text(re.compile(r"\(0\)"))


def test_fix_11_on_a_phone_the_short_title_counts_the_filter_too(phone: Visit, api_url: str) -> None:
    page = phone.open(f"{api_url}/map?category=association")
    page.wait_for_selector("html[data-essmap-urlstate=ready]", state="attached")
    expect(page.locator(".essmap-unlocated .essmap-panel-toggle")).to_have_text("Sans adresse (2)")


# --- /embed and the page writing its code ---------------------------------------------------
def test_embed_has_a_compact_legend_and_a_link_to_the_full_map(desktop: Visit, api_url: str) -> None:
    page = desktop.open(f"{api_url}/embed?category=amap_delivery_point")
    assert page.locator(".essmap-sidebar").count() == 0
    legend = page.locator(".essmap-legend")
    expect(legend).not_to_contain_text("Cocher pour afficher")
    link = page.get_by_role("link", name="Voir la carte complète")
    assert link.get_attribute("href", timeout=5000).startswith("/map")  # type: ignore[union-attr]


def test_embed_code_page_writes_the_iframe_for_the_chosen_filter_and_view(
    desktop: Visit, api_url: str
) -> None:
    page = desktop.page
    page.goto(f"{api_url}/embed/code")
    page.wait_for_selector("html[data-essmap-embed-code=ready]", state="attached")
    page.get_by_label("Ferme urbaine").uncheck()
    page.get_by_label("Langue").select_option("eu")
    snippet = page.locator("#essmap-embed-snippet")
    expect(snippet).to_have_value(re.compile(r"^<iframe src=\"http://127\.0\.0\.1:\d+/embed\?"))
    value = snippet.input_value()
    assert "category=amap_delivery_point" in value
    assert "urban_farm" not in value
    assert "lang=eu" in value
    frame = page.frame_locator("#essmap-embed-preview")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    page.wait_for_function(
        "document.querySelector('#essmap-embed-snippet').value.includes('#map=')", timeout=15_000
    )


def test_embed_code_page_checks_the_size_and_warns_without_categories(desktop: Visit, api_url: str) -> None:
    page = desktop.page
    page.goto(f"{api_url}/embed/code")
    page.wait_for_selector("html[data-essmap-embed-code=ready]", state="attached")
    snippet = page.locator("#essmap-embed-snippet")
    width = page.get_by_label("Largeur (pixels ou %)")
    width.fill("800px")  # as the label invites
    expect(snippet).to_have_value(re.compile(r'width="800" height="450"'))
    expect(width).not_to_have_attribute("aria-invalid", "true")
    for bad in ("99999999", "abc", "0"):
        width.fill(bad)
        expect(width).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#essmap-embed-width-error")).to_contain_text("de 200 à 4000 pixels")
        expect(snippet).to_have_value(re.compile(r'width="800"'))  # the last valid width is kept
    width.fill("80 %")
    expect(snippet).to_have_value(re.compile(r'width="80%"'))
    expect(page.locator("#essmap-embed-width-error")).to_be_hidden()
    height = page.get_by_label("Hauteur (pixels)")
    height.fill("10")
    expect(height).to_have_attribute("aria-invalid", "true")
    expect(snippet).to_have_value(re.compile(r'height="450"'))
    # no category ticked: said, not silently "all"
    for box in page.locator("input[name=category]").all():
        box.uncheck()
    expect(page.locator("#essmap-embed-categories-warning")).to_contain_text("Aucune catégorie cochée")
    # the iframe's title is in the embedded map's language
    page.get_by_label("Langue").select_option("eu")
    expect(snippet).to_have_value(re.compile(r'title="Zirkuitu laburren mapa"'))
    results = run_axe(page)
    assert serious_violations(results) == []


# --- languages ------------------------------------------------------------------------------
def test_basque_by_accept_language_and_by_the_switch_kept_in_the_url(browser: Browser, api_url: str) -> None:
    visit = Visit(browser, DESKTOP, locale="eu-ES")
    try:
        page = visit.open(f"{api_url}/map")
        assert page.evaluate("document.documentElement.lang") == "eu"
        expect(page.get_by_role("combobox", name="Zure helbidea")).to_be_visible()
        expect(page.locator(".essmap-legend")).to_contain_text("Elkartea")
        # the contribution form speaks Basque too, its marks of required fields included
        page.get_by_role("button", name="Leku bat proposatu").click()
        dialog = page.get_by_role("dialog", name="Leku bat proposatu")
        expect(dialog.get_by_label("Lekuaren izena (derrigorrezkoa)")).to_be_visible()
        expect(dialog).not_to_contain_text("obligatoire")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        page.get_by_role("link", name="Français").click()
        page.wait_for_function("window.essmapReady === true && document.documentElement.lang === 'fr'")
        assert "lang=fr" in page.url
        expect(page.get_by_role("combobox", name="Votre adresse")).to_be_visible()
    finally:
        visit.close()


def test_basque_dates_are_written_in_basque_even_where_the_browser_has_no_basque_data(
    browser: Browser, api_url: str
) -> None:
    """Debian's Chromium has no Basque calendar data: the names and order come from the catalogues."""
    visit = Visit(browser, DESKTOP, locale="eu-ES")
    try:
        page = visit.open(f"{api_url}/map?lang=eu")
        page.evaluate("essmapMap.setView([43.4916, -1.4722], 18, {animate: false})")
        page.click('.essmap-pin[data-actor-id="amap-patxoki"]')  # picked up on Tuesdays
        popup = page.locator(".leaflet-popup-content")
        pickup = popup.locator(".essmap-next-pickup")
        expect(pickup).to_contain_text("asteartea")
        text = pickup.inner_text()
        months = ("urtarrila", "otsaila", "martxoa", "apirila", "maiatza", "ekaina", "uztaila", "abuztua",
                  "iraila", "urria", "azaroa", "abendua")  # fmt: skip
        assert re.search(rf"({'|'.join(months)})ren \d{{1,2}}a, asteartea, 18:30–19:30", text), text
        assert not re.search(
            r"mardi|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre",
            text,
        )
    finally:
        visit.close()


# --- accessibility: axe-core ----------------------------------------------------------------
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("path", ["/", "/map?lang=eu", "/embed", "/embed/code"])
def test_axe_finds_no_serious_or_critical_violation(
    browser: Browser, api_url: str, path: str, viewport: dict[str, int]
) -> None:
    visit = Visit(browser, viewport)
    try:
        if path == "/embed/code":
            visit.page.goto(f"{api_url}{path}")
            visit.page.wait_for_selector("html[data-essmap-embed-code=ready]", state="attached")
        else:
            visit.page.set_extra_http_headers({"Accept": "text/html"})
            visit.open(f"{api_url}{path}")
        results = run_axe(visit.page)
        assert serious_violations(results) == []
        assert {"color-contrast", "document-title", "html-has-lang", "target-size"} <= set(
            rules_checked(results)
        )
    finally:
        visit.close()


# --- screenshots, looked at before closing --------------------------------------------------
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["fr", "eu"])
@pytest.mark.parametrize("path", ["/", "/embed"])
def test_screenshots(browser: Browser, api_url: str, path: str, lang: str, viewport: dict[str, int]) -> None:
    visit = Visit(browser, viewport)
    try:
        visit.page.set_extra_http_headers({"Accept": "text/html"})
        page = visit.open(f"{api_url}{path}?lang={lang}")
        assert page.evaluate("document.documentElement.lang") == lang
        if path == "/":
            search = page.locator("#essmap-search-input")
            search.press_sequentially("12 av de lattre", delay=20)
            page.locator("#essmap-search-list [role=option]").first.click()
            expect(page.locator(".essmap-nearest-list li")).to_have_count(3)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        kind = "embed" if path == "/embed" else "map"
        name = f"residents_{kind}_{lang}_{'phone' if viewport == PHONE else 'desktop'}"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=viewport == PHONE)
    finally:
        visit.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_violation_with_a_popup_and_the_nearest_list_open(
    browser: Browser, api_url: str, viewport: dict[str, int]
) -> None:
    """The states a resident spends most time in: a point chosen (nearest list shown), a popup open."""
    visit = Visit(browser, viewport)
    try:
        page = visit.open(f"{api_url}/map")
        page.evaluate("essmapMap.setView([43.4916, -1.4722], 18, {animate: false})")
        page.evaluate("essmapMap.fire('click', {latlng: L.latLng(43.4910, -1.4730)})")
        expect(page.locator(".essmap-nearest-list li").first).to_be_attached()
        page.click('.essmap-pin[data-actor-id="amap-patxoki"]')
        expect(page.locator(".leaflet-popup-content")).to_be_visible()
        results = run_axe(page)
        assert serious_violations(results) == []
        assert "target-size" in rules_checked(results)
    finally:
        visit.close()
