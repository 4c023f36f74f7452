"""The planners' pages served by the API, in Debian's Chromium at the viewports where issue 14's
defects were seen (1366×768 and 390×844): one test per defect fixed, the overview beside the map,
its downloads, the offline backdrop, axe-core, and the screenshots."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import shapely
from playwright.sync_api import Page, expect

from essmap.importing import import_addresses, open_seeded_store
from essmap.settings import Settings
from tests.ban_support import SMALL_SET, ban_rows, write_ban
from tests.browser.axe_support import rules_checked, run_axe, serious_violations
from tests.browser.conftest import MapPage
from tests.browser.resident_support import boxes_intersect

pytestmark = pytest.mark.browser

#: ``at(path, viewport)`` opens a path of the server at a viewport and waits for its map.
OpenAt = Callable[[str, dict[str, int]], Page]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
RULES_FILE = Path(__file__).resolve().parents[2] / "artifacts" / "axe_rules_planner.json"


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo set (with its commune backdrop) and a few Bayonne addresses, without tiles."""
    folder = tmp_path_factory.mktemp("planner-pages")
    settings = Settings(data_dir=folder / "data", tile_url="")
    store = open_seeded_store(settings)
    import_addresses(store, write_ban(folder / "adresses-64.csv", ban_rows(SMALL_SET)))
    store.close()
    return settings


@pytest.fixture
def at(map_page: MapPage, api_url: str) -> Iterator[OpenAt]:
    """Open a path of the server at a viewport: ``at("/map/planner", PHONE)``."""

    def open_at(path: str, viewport: dict[str, int]) -> Page:
        map_page.page.set_viewport_size(viewport)
        map_page.open(api_url + path)
        return map_page.page

    yield open_at
    map_page.assert_clean()


def _gap_point(page: Page, api_url: str) -> tuple[float, float]:
    """A point of the screen inside the hatched gap of Hauts de Sainte-Croix - Mounédé, with the
    map centred on it (clear of the controls)."""
    gaps = httpx.get(api_url + "/coverage/gaps?threshold_m=400").json()
    gap = next(f for f in gaps["features"] if f["properties"]["code"] == "QN06402M")
    shape = shapely.geometry.shape(gap["geometry"]).buffer(-0.0003)  # well inside the gap
    sites = httpx.get(api_url + "/suggestions?threshold_m=400").json()
    markers = shapely.MultiPoint([f["geometry"]["coordinates"] for f in sites["features"]])
    x0, y0, x1, y1 = shape.bounds
    candidates = [
        shapely.Point(x0 + (x1 - x0) * i / 20, y0 + (y1 - y0) * j / 20) for i in range(21) for j in range(21)
    ]
    # the point of the gap farthest from the suggested sites' markers
    inside = max((p for p in candidates if shape.contains(p)), key=markers.distance)
    xy = page.evaluate(
        """([lat, lon]) => { window.essmapMap.setView([lat, lon], 17, {animate: false});
             const p = window.essmapMap.latLngToContainerPoint([lat, lon]);
             const box = window.essmapMap.getContainer().getBoundingClientRect();
             return [p.x + box.left, p.y + box.top]; }""",
        [inside.y, inside.x],
    )
    return float(xy[0]), float(xy[1])


# --- one test per defect ------------------------------------------------------------------------
def test_defect_3_the_gap_popup_opens_alone(at: OpenAt, api_url: str) -> None:
    page = at("/map/planner?threshold_m=400", DESKTOP)
    x, y = _gap_point(page, api_url)
    page.wait_for_timeout(100)  # the map is drawn at its new view
    page.mouse.move(x - 40, y - 40)
    page.mouse.move(x, y, steps=5)
    expect(page.locator(".leaflet-tooltip")).to_contain_text("Zone non desservie")  # hovering: the tooltip
    page.mouse.click(x, y)
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Zone non desservie")
    expect(page.locator(".leaflet-tooltip")).to_have_count(0)  # the popup alone
    page.mouse.move(x + 3, y + 2)  # moving on the map does not bring a tooltip back over the popup
    page.wait_for_timeout(200)
    expect(page.locator(".leaflet-tooltip")).to_have_count(0)
    page.locator(".leaflet-popup-close-button").click()
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    page.mouse.move(x - 2, y - 3, steps=5)
    expect(page.locator(".leaflet-tooltip")).to_have_count(1)  # and the tooltip is back once it closes


def test_defect_4_docs_on_a_phone(map_page: MapPage, api_url: str) -> None:
    page = map_page.page
    page.set_viewport_size(PHONE)
    page.goto(api_url + "/docs")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    tag = page.locator(".opblock-tag small").first
    expect(tag).to_contain_text("Données QPV et acteurs")
    box = tag.bounding_box()
    assert box is not None
    assert box["width"] > 150, box  # not one letter per line
    assert box["height"] < 80, box
    expect(page.locator(".opblock-summary-description", has_text="Page d'accueil")).to_have_count(1)
    map_page.screenshot("docs_phone")


def test_defect_5_no_english_on_the_planner_page(at: OpenAt) -> None:
    page = at("/map/planner", DESKTOP)
    attribution = page.locator(".leaflet-control-attribution")
    expect(attribution).to_contain_text("jeu de démonstration essmap (contours schématiques)")
    expect(attribution).to_contain_text("communes ANCT")
    text = page.locator("body").inner_text()
    for english in ("demo set", "schematic", "neighbourhood", "source(s)"):
        assert english not in text, english


def test_defect_6_numbers_for_people(at: OpenAt) -> None:
    page = at("/map/planner", DESKTOP)
    table = page.locator(".essmap-overview-table tbody")
    residents = table.locator("tr td:nth-child(3)").all_inner_texts()
    assert residents
    assert all(re.fullmatch(r"\d[\d\u202f]*", r.strip()) for r in residents), residents
    coordinates = page.locator(".essmap-site-list .essmap-coordinates").all_inner_texts()
    assert coordinates
    for pair in coordinates:
        assert re.fullmatch(r"-1,\d{6} ; 43,\d{6}", pair), pair


def test_defect_7_the_nearest_point_names_its_reference(at: OpenAt) -> None:
    page = at("/map/planner", DESKTOP)
    row = page.locator('.essmap-overview-table tr[data-qpv-code="QN06401I"]')
    expect(row).to_contain_text("dans le quartier (0 m)")  # AMAP points lie inside Maubec - Citadelle
    expect(page.locator(".essmap-overview")).to_contain_text("mesuré depuis le contour du quartier")
    row.locator("button").click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Point d’approvisionnement le plus proche")
    expect(page.locator(".leaflet-popup-content")).to_contain_text("dans le quartier (0 m)")


def test_walk_mode_without_a_network_names_the_outline_as_its_reference(at: OpenAt) -> None:
    """Without a street network, walking distances are estimated from the outline (× the detour
    factor): the page says so, and a supply point inside the QPV is 0 m away, as in straight mode."""
    page = at("/map/planner?mode=walk", DESKTOP)
    assert page.evaluate("window.essmapPlanner.data.walk.method") == "estimate"
    overview = page.locator(".essmap-overview")
    expect(overview).to_contain_text("estimé depuis le contour du quartier")
    expect(overview).not_to_contain_text("centre du quartier")
    row = page.locator('.essmap-overview-table tr[data-qpv-code="QN06401I"]')
    expect(row).to_contain_text("dans le quartier (0 m)")
    row.locator("button").click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text("estimé depuis le contour du quartier")


def test_defect_9_a_bad_parameter_is_an_html_page_for_browsers(map_page: MapPage, api_url: str) -> None:
    page = map_page.page
    page.set_viewport_size(DESKTOP)
    response = page.goto(api_url + "/map/planner?threshold_m=abc")
    assert response is not None
    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text("Requête invalide")
    expect(page.locator(".detail")).to_contain_text("threshold_m : doit être un nombre (reçu : « abc »)")
    expect(page.locator("a", has_text="La même page, sans paramètres")).to_have_attribute(
        "href", "/map/planner"
    )
    assert not page.locator("body").inner_text().lstrip().startswith("{")
    map_page.screenshot("planner_error_desktop")
    # a program asking for JSON gets the problem document
    problem = httpx.get(api_url + "/map/planner?threshold_m=abc", headers={"Accept": "application/json"})
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["errors"][0]["field"] == "threshold_m"


def test_defect_12_fewer_sites_are_explained_on_the_page(at: OpenAt) -> None:
    page = at("/map/planner?sites=3", DESKTOP)
    sites = page.locator(".essmap-overview-sites")
    expect(sites.locator("h2")).to_have_text("Sites suggérés (2 sur 3 demandés)")
    expect(sites).to_contain_text(
        "2 sites proposés sur 3 demandés : tous les habitants dont le nombre est connu"
    )


def test_defect_13_vary_is_not_repeated(map_page: MapPage, api_url: str) -> None:
    page = map_page.page
    page.set_viewport_size(DESKTOP)
    page.goto(api_url + "/docs")
    vary = page.evaluate(
        "() => fetch('/', {headers: {Accept: 'text/html'}}).then(r => r.headers.get('vary'))"
    )
    parts = [p.strip().lower() for p in vary.split(",")]
    assert "accept" in parts
    assert len(parts) == len(set(parts)), vary


def test_defect_14_the_page_shows_where_outlines_come_from(at: OpenAt) -> None:
    page = at("/map/planner", PHONE)
    overview = page.locator(".essmap-overview")
    expect(overview.locator(".essmap-outlines")).to_contain_text("contour schématique : 2")
    expect(overview.locator('tr[data-qpv-code="QN06402M"]')).to_contain_text("contour schématique")


# --- the overview, its downloads, the backdrop --------------------------------------------------
def test_overview_table_sorts_with_the_keyboard(at: OpenAt) -> None:
    page = at("/map/planner", DESKTOP)
    table = page.locator(".essmap-overview-table")
    expect(table.locator("th[aria-sort]")).to_have_count(1)
    expect(table.locator('th[aria-sort="descending"]')).to_contain_text("Habitants au-delà du seuil")
    names = table.locator("tbody th button")
    expect(names).to_have_text(["Hauts de Sainte-Croix - Mounédé", "Maubec - Citadelle"])
    by_name = table.locator('button.essmap-sort[data-column="0"]')
    by_name.focus()
    page.keyboard.press("Enter")
    expect(table.locator('th[aria-sort="ascending"]')).to_contain_text("Quartier")
    expect(names).to_have_text(["Hauts de Sainte-Croix - Mounédé", "Maubec - Citadelle"])
    page.keyboard.press("Enter")
    expect(names).to_have_text(["Maubec - Citadelle", "Hauts de Sainte-Croix - Mounédé"])
    expect(page.locator("#essmap-sort-status")).to_have_text(
        "Tableau trié par « Quartier », ordre décroissant."
    )
    # a row's button shows the QPV on the map, focus in its popup
    names.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Maubec - Citadelle")
    assert page.evaluate("() => document.activeElement.classList.contains('leaflet-popup-content')")


def test_downloads_of_the_table_and_the_map(at: OpenAt, api_url: str) -> None:
    page = at("/map/planner?threshold_m=500", DESKTOP)
    csv_link = page.locator("a.essmap-download", has_text="Télécharger le tableau (CSV pour tableur)")
    data_link = page.locator("a.essmap-download", has_text="Données exactes")
    png_link = page.locator("a.essmap-download", has_text="Télécharger la carte (PNG)")
    expect(csv_link).to_have_attribute("href", "/map/planner.csv?threshold_m=500")
    expect(data_link).to_have_attribute("href", "/coverage?f=csv&threshold_m=500")
    expect(png_link).to_have_attribute("href", "/map/planner.png?threshold_m=500")
    # the table for people: what the overview shows, for a French spreadsheet
    with page.expect_download() as download:
        csv_link.click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())  # a spreadsheet reads the accents as UTF-8
    lines = raw.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    assert header[:4] == ["Quartier", "Code", "Génération", "Part couverte (%)"]
    rows = [dict(zip(header, line.split(";"), strict=True)) for line in lines[1:]]
    assert len(rows) == 2  # two QPVs at one threshold
    for row in rows:
        shown = page.locator(f'.essmap-overview-table tr[data-qpv-code="{row["Code"]}"]')
        expect(shown).to_contain_text(f"{row['Part couverte (%)']} %")
        expect(shown).to_contain_text(row["Accès faible"])
        beyond = int(row["Habitants au-delà du seuil"])
        expect(shown).to_contain_text(f"{beyond:,}".replace(",", "\u202f"))
    # the exact figures, for programs
    with page.expect_download() as download:
        data_link.click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert {
        "code",
        "area_share",
        "residents_uncovered",
        "nearest_supply_m",
        "low_access",
        "geometry_source",
    } <= set(text.splitlines()[0].split(","))
    with page.expect_download() as download:
        png_link.click()
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_suggested_sites_have_their_nearest_address(at: OpenAt) -> None:
    page = at("/map/planner", DESKTOP)
    first = page.locator('.essmap-site-list li[data-rank="1"]')
    address = first.locator(".essmap-site-address")
    # the demo's first site is about 90 m from the numbers of Place des Gascons (tests/ban_support.py)
    expect(address).to_have_text(
        re.compile(r"Adresse la plus proche : \d Place des Gascons 64100 Bayonne \(à \d+\sm\)")
    )
    metres = int(re.findall(r"à (\d+)\sm", address.inner_text())[0])
    assert 60 <= metres <= 120
    first.locator("button").click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Place des Gascons")
    expect(page.locator(".leaflet-popup-content .essmap-coordinates")).to_have_text(
        re.compile(r"-1,\d{6} ; 43,\d{6}")
    )


def test_offline_backdrop_of_commune_outlines_and_names(at: OpenAt, map_page: MapPage) -> None:
    page = at("/map/planner", DESKTOP)
    expect(page.locator(".essmap-commune-label", has_text="Bayonne")).to_have_count(1)
    expect(page.locator("path.essmap-commune")).to_have_count(1)
    assert page.locator(".leaflet-tile").count() == 0
    assert not any("tile" in url for url in map_page.requests)


# --- accessibility and screenshots --------------------------------------------------------------
@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_axe_finds_no_serious_violation_on_the_planner_map(
    at: OpenAt, map_page: MapPage, name: str, viewport: dict[str, int]
) -> None:
    page = at("/map/planner", viewport)
    results = run_axe(page)
    assert serious_violations(results) == []
    rules = rules_checked(results)
    assert {"color-contrast", "button-name", "aria-allowed-attr", "th-has-data-cells"} <= set(rules)
    RULES_FILE.parent.mkdir(parents=True, exist_ok=True)
    RULES_FILE.write_text(json.dumps({"page": "/map/planner", "rules": rules}, indent=1), encoding="utf-8")
    map_page.screenshot(f"planner_{name}")


def test_a_qpv_popup_opened_from_the_table_on_a_phone_is_covered_by_no_control(at: OpenAt) -> None:
    """The controls make way for a popup as on the residents' map (one rule, essmap.js)."""
    page = at("/map/planner", PHONE)
    page.locator('.essmap-overview-table tr[data-qpv-code="QN06401I"] button[data-row]').click()
    popup = page.locator(".leaflet-popup")
    expect(popup).to_be_visible()
    page.wait_for_timeout(400)  # the map pans the popup into view
    box = popup.bounding_box()
    assert box is not None
    for control in page.locator(".leaflet-control:not(.leaflet-control-attribution)").all():
        if control.is_visible():
            other = control.bounding_box()
            assert other is not None
            assert not boxes_intersect(box, other), control.get_attribute("class")
    page.locator(".leaflet-popup-close-button").click()
    expect(page.locator(".leaflet-control-zoom")).to_be_visible()  # the controls come back
