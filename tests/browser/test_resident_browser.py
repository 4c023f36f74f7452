"""The resident map in a real Chromium: offline, every located actor reachable, popups, controls."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from playwright.sync_api import BrowserContext, expect
from pyproj import Geod

from essmap.index import build_index
from essmap.maps.resident import render_resident_map
from essmap.model import APPROXIMATE_PRECISIONS, actor_frame, located_mask
from essmap.settings import Settings
from essmap.store import GeoPackageStore
from tests.browser.conftest import MapPage

pytestmark = pytest.mark.browser
GEOD = Geod(ellps="WGS84")


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return settings.model_copy(update={"tile_url": None})


def write_map(
    tmp_path: Path, neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame, cfg: Settings
) -> Path:
    path = tmp_path / "resident.html"
    path.write_text(render_resident_map(neighbourhoods, actors, settings=cfg), encoding="utf-8")
    return path


@pytest.fixture
def demo_map(tmp_path: Path, demo_store: GeoPackageStore, offline: Settings) -> Path:
    return write_map(tmp_path, demo_store.load_neighbourhoods(), demo_store.load_actors(), offline)


def located_demo(demo_store: GeoPackageStore) -> gpd.GeoDataFrame:
    actors = demo_store.load_actors()
    return actors[located_mask(actors)]


def test_loads_offline_and_shows_every_located_actor(
    map_page: MapPage, demo_map: Path, demo_store: GeoPackageStore
) -> None:
    map_page.open_file(demo_map)
    map_page.screenshot("resident_demo")
    # at the initial view, single markers and cluster counts add up to every located actor
    assert map_page.shown_actor_total() == 11
    # and each one has its own marker once zoomed in on it
    for row in located_demo(demo_store).itertuples():
        map_page.set_view(row.geometry.y, row.geometry.x, 19)
        assert map_page.page.locator(f'.essmap-pin[data-actor-id="{row.id}"]').count() == 1, row.id
    map_page.assert_clean()
    assert any(u.startswith("file:") for u in map_page.requests)


def test_popup_has_the_name_details_and_the_approximate_warning(
    map_page: MapPage, demo_map: Path, demo_store: GeoPackageStore
) -> None:
    map_page.open_file(demo_map)
    actors = located_demo(demo_store).set_index("id")
    otsokop = actors.loc["otsokop"]
    assert otsokop["location_precision"] in APPROXIMATE_PRECISIONS
    map_page.set_view(otsokop.geometry.y, otsokop.geometry.x, 18)
    map_page.page.click('.essmap-pin[data-actor-id="otsokop"]')
    popup = map_page.popup()
    expect(popup.locator(".essmap-popup-title")).to_have_text("Otsokop")
    expect(popup).to_contain_text("Épicerie coopérative")
    expect(popup).to_contain_text("avenue de Lattre de Tassigny")
    expect(popup).to_contain_text("Supermarché coopératif et participatif")
    expect(popup).to_contain_text("horaires non renseignés")
    warning = popup.locator(".essmap-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Localisation approximative")
    expect(warning).to_contain_text("précision : rue")
    map_page.screenshot("resident_popup_approximate")

    # published at its building, but placed by hand: still flagged, with the building precision
    polo = actors.loc["amap-polo-beyris"]
    assert polo["location_precision"] == "building"
    assert bool(polo["location_approximate"])
    map_page.set_view(polo.geometry.y, polo.geometry.x, 18)
    map_page.page.click('.essmap-pin[data-actor-id="amap-polo-beyris"]')
    popup = map_page.popup()
    expect(popup.locator(".essmap-popup-title")).to_have_text("AMAP Polo Beyris")
    warning = popup.locator(".essmap-warning")
    expect(warning).to_contain_text("précision : bâtiment")
    # the explanation given once: how the point was placed (coordinates_source), fix 8 of issue 14
    expect(warning).to_contain_text("placé à la main")
    map_page.assert_clean()


def test_click_lists_the_three_nearest_supply_points_in_straight_line(
    map_page: MapPage, demo_map: Path, demo_store: GeoPackageStore, offline: Settings
) -> None:
    map_page.open_file(demo_map)
    lat, lon = 43.4930, -1.4700
    map_page.set_view(lat, lon, 15)
    map_page.page.evaluate(
        "([lat, lon]) => window.essmapMap.fire('click', {latlng: L.latLng(lat, lon)})", [lat, lon]
    )
    items = map_page.page.locator(".essmap-nearest-list li")
    expect(items).to_have_count(3)
    # expected: geodesic distances computed here, independently of the page
    actors = located_demo(demo_store)
    supply = actors[actors["category"].isin(offline.supply_categories)]
    _, _, dist = GEOD.inv(
        np.full(len(supply), lon), np.full(len(supply), lat), supply.geometry.x, supply.geometry.y
    )
    order = np.argsort(dist)[:3]
    expected_ids = supply["id"].iloc[order].tolist()
    shown_ids = [items.nth(k).get_attribute("data-actor-id") for k in range(3)]
    assert shown_ids == expected_ids
    # the same three as the engine's index (distances in a metric CRS)
    hits = build_index(demo_store, offline).nearest(lon, lat, k=3, categories=offline.supply_categories)
    assert [hit.id for hit in hits] == shown_ids
    for k in range(3):
        text = items.nth(k).inner_text()
        assert "à vol d’oiseau" in text
        metres = float(dist[order[k]])
        # to the metre: the geodesic on the ellipsoid, and the engine's figure in Lambert-93
        assert _shown_metres(text) == pytest.approx(metres, abs=1.0)
        assert _shown_metres(text) == pytest.approx(hits[k].distance_m, abs=1.0)
    expect(map_page.page.locator(".essmap-nearest")).to_contain_text("Depuis le point choisi")
    map_page.screenshot("resident_nearest")
    # a name in the list opens that actor's popup
    items.nth(0).locator("button").click()
    expect(map_page.popup().locator(".essmap-popup-title")).to_have_text(str(supply["name"].iloc[order[0]]))
    map_page.assert_clean()


def _shown_metres(text: str) -> float:
    import re

    match = re.search(r"([\d\u202f\u00a0 ,]+)\u00a0(m|km) à vol", text)
    assert match, text
    number = float(
        match.group(1).replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    )
    return number * (1000 if match.group(2) == "km" else 1)


def test_locate_me_lists_the_nearest_from_the_device_position(
    map_page: MapPage, demo_map: Path, browser_context: BrowserContext
) -> None:
    browser_context.grant_permissions(["geolocation"])
    browser_context.set_geolocation({"latitude": 43.4960, "longitude": -1.4630, "accuracy": 20})
    try:
        map_page.open_file(demo_map)
        map_page.page.click(".leaflet-control-locate a")
        expect(map_page.page.locator(".essmap-nearest")).to_contain_text("Depuis votre position")
        expect(map_page.page.locator(".essmap-nearest-list li")).to_have_count(3)
        first = map_page.page.locator(".essmap-nearest-list li").first
        assert first.get_attribute("data-actor-id") == "amap-breuer"
        map_page.screenshot("resident_locate")
    finally:
        browser_context.clear_permissions()
    map_page.assert_clean()


def test_category_filter_legend_and_unlocated_panel(map_page: MapPage, demo_map: Path) -> None:
    map_page.open_file(demo_map)
    legend = map_page.page.locator(".essmap-legend")
    expect(legend).to_contain_text("Point de livraison AMAP")
    expect(legend).to_contain_text("contours schématiques")
    map_page.page.uncheck('input.essmap-filter[value="amap_delivery_point"]')
    assert map_page.shown_actor_total() == 5
    assert map_page.page.locator('.essmap-pin[data-category="amap_delivery_point"]').count() == 0
    map_page.page.check('input.essmap-filter[value="amap_delivery_point"]')
    assert map_page.shown_actor_total() == 11

    panel = map_page.page.locator(".essmap-unlocated")
    expect(panel.locator(".essmap-panel-body")).to_be_hidden()
    panel.locator(".essmap-panel-toggle").click()
    items = panel.locator(".essmap-unlocated-list li")
    expect(items).to_have_count(4)
    expect(panel).to_contain_text("GIP-DSU de l'agglomération bayonnaise")
    expect(panel).to_contain_text("École Franchement Web")
    map_page.screenshot("resident_unlocated")
    # controls: layers, full screen, locate, scale
    for selector in (
        ".leaflet-control-layers",
        ".leaflet-control-zoom-fullscreen",
        ".leaflet-control-locate",
        ".leaflet-control-scale",
    ):
        expect(map_page.page.locator(selector)).to_have_count(1)
    expect(map_page.page.locator(".leaflet-control-attribution")).to_contain_text("Données QPV")
    map_page.assert_clean()


def test_schematic_outline_says_so_and_generations_toggle(
    map_page: MapPage, tmp_path: Path, demo_store: GeoPackageStore, offline: Settings
) -> None:
    qpv = demo_store.load_neighbourhoods()
    older = qpv.iloc[[0]].copy()
    older["generation"] = 2015
    older["code"] = "QP064001"
    older["geometry_source"] = "official"
    older["geometry"] = older.geometry.translate(0.002, 0.001)
    both = pd.concat([qpv, older], ignore_index=True)
    path = write_map(tmp_path, gpd.GeoDataFrame(both, crs=qpv.crs), demo_store.load_actors(), offline)
    map_page.open_file(path)
    page = map_page.page
    assert page.locator("path.essmap-qpv-2024").count() == 2
    assert page.locator("path.essmap-qpv-2015").count() == 0
    page.locator(".leaflet-control-layers-overlays label", has_text="2015").locator("input").check()
    assert page.locator("path.essmap-qpv-2015").count() == 1
    page.locator(".leaflet-control-layers-overlays label", has_text="2024").locator("input").uncheck()
    assert page.locator("path.essmap-qpv-2024").count() == 0
    page.locator(".leaflet-control-layers-overlays label", has_text="2024").locator("input").check()
    # a schematic outline's popup says it is schematic
    map_page.set_view(43.4992, -1.4670, 16)
    map_page.page.evaluate(
        """() => { const layer = Object.values(window.essmapMap._layers).find(
                      l => l.feature && l.feature.properties.code === 'QN06401I');
                   layer.openPopup(); }"""
    )
    popup = map_page.popup()
    expect(popup).to_contain_text("Maubec - Citadelle")
    expect(popup.locator(".essmap-warning")).to_contain_text("Contour schématique")
    map_page.screenshot("resident_generations")
    map_page.assert_clean()


def test_colocated_actors_are_all_reachable(
    map_page: MapPage, tmp_path: Path, demo_store: GeoPackageStore, offline: Settings
) -> None:
    names = [f"Acteur au même endroit {k}" for k in range(4)]
    frame = pd.DataFrame(
        {
            "id": [f"same-{k}" for k in range(4)],
            "name": names,
            "category": ["market", "association", "amap_delivery_point", "market"],
            "location_precision": ["exact"] * 4,
        }
    )
    actors = actor_frame(frame, [shapely.Point(-1.47, 43.49)] * 4)
    path = write_map(tmp_path, demo_store.load_neighbourhoods(), actors, offline)
    map_page.open_file(path)
    map_page.set_view(43.49, -1.47, 19)
    cluster = map_page.page.locator(".essmap-cluster[data-count='4']")
    expect(cluster).to_have_count(1)
    cluster.click()
    pins = map_page.page.locator(".essmap-pin")
    expect(pins).to_have_count(4)
    map_page.screenshot("resident_spiderfy")
    for k in range(4):
        map_page.page.locator(f'.essmap-pin[data-actor-id="same-{k}"]').click()
        expect(map_page.popup().locator(".essmap-popup-title")).to_have_text(names[k])
        expect(map_page.popup().locator(".essmap-warning")).to_have_count(0)  # exact locations
        map_page.js("window.essmapMap.closePopup()")
        expect(map_page.page.locator(".leaflet-popup")).to_have_count(0)
    map_page.assert_clean()


def synthetic_actors(n: int, seed: int = 4) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    cats = ["amap_delivery_point", "cooperative_grocery", "market", "association", "community_garden"]
    lon = -1.50 + rng.random(n) * 0.08
    lat = 43.46 + rng.random(n) * 0.06
    frame = pd.DataFrame(
        {
            "id": [f"a{k}" for k in range(n)],
            "name": [f"Acteur {k}" for k in range(n)],
            "category": rng.choice(cats, n),
            "address": [f"{k % 200} rue du Test, Bayonne" for k in range(n)],
            "location_precision": rng.choice(["exact", "street"], n),
            "source": "jeu de test",
        }
    )
    return actor_frame(frame, shapely.points(lon, lat))


def test_thousands_of_actors_are_clustered_not_one_marker_each(
    map_page: MapPage, tmp_path: Path, demo_store: GeoPackageStore, offline: Settings
) -> None:
    n = 3000
    path = write_map(tmp_path, demo_store.load_neighbourhoods(), synthetic_actors(n), offline)
    assert 'data-encoding="gzip-base64"' in path.read_text(encoding="utf-8")
    map_page.open_file(path)
    markers = map_page.page.locator(".leaflet-marker-pane .leaflet-marker-icon").count()
    assert markers < 200
    assert map_page.shown_actor_total() == n
    map_page.screenshot("resident_3000")
    # a cluster click zooms in and still accounts for every actor in the new view: from a settled
    # view holding every actor, the smallest cluster is clicked (its expansion zoom is the deepest)
    zoom = 13
    map_page.set_view(43.49, -1.46, zoom)
    assert map_page.shown_actor_total() == n
    counts = map_page.page.locator(".leaflet-marker-pane .essmap-cluster").evaluate_all(
        "els => els.map(el => Number(el.dataset.count))"
    )
    smallest = counts.index(min(counts))
    map_page.js(
        "() => { window.__moved = false; window.essmapMap.once('moveend', () => window.__moved = true); }"
    )
    map_page.page.locator(".leaflet-marker-pane .essmap-cluster").nth(smallest).click()
    map_page.page.wait_for_function("() => window.__moved === true")
    assert map_page.js("window.essmapMap.getZoom()") > zoom  # type: ignore[operator]
    assert 0 < map_page.shown_actor_total() < n
    map_page.assert_clean()


def test_phone_sized_screen(map_page: MapPage, demo_map: Path) -> None:
    map_page.page.set_viewport_size({"width": 390, "height": 844})
    map_page.open_file(demo_map)
    box = map_page.page.locator(".folium-map").bounding_box()
    assert box is not None
    assert math.isclose(box["width"], 390, abs_tol=1)
    # the map takes most of the screen; the search is above it, the list of actors below
    assert math.isclose(box["height"], 0.62 * 844, abs_tol=2)
    legend = map_page.page.locator(".essmap-legend")
    expect(legend.locator(".essmap-panel-body")).to_be_hidden()
    map_page.screenshot("resident_phone")
    legend.locator(".essmap-panel-toggle").click()
    expect(legend.locator(".essmap-panel-body")).to_be_visible()
    legend_box = legend.bounding_box()
    assert legend_box is not None
    assert legend_box["x"] >= 0
    assert legend_box["x"] + legend_box["width"] <= 390
    map_page.screenshot("resident_phone_legend")
    assert map_page.shown_actor_total() == 11
    map_page.assert_clean()


def test_many_actors_at_one_address_are_listed(
    map_page: MapPage, tmp_path: Path, demo_store: GeoPackageStore, offline: Settings
) -> None:
    n = 70
    frame = pd.DataFrame(
        {
            "id": [f"same-{k}" for k in range(n)],
            "name": [f"Association n° {k}" for k in range(n)],
            "category": "association",
            "location_precision": "building",
        }
    )
    actors = actor_frame(frame, [shapely.Point(-1.47, 43.49)] * n)
    path = write_map(tmp_path, demo_store.load_neighbourhoods(), actors, offline)
    map_page.open_file(path)
    map_page.set_view(43.49, -1.47, 19)
    map_page.page.locator(f".leaflet-marker-pane .essmap-cluster[data-count='{n}']").click()
    items = map_page.popup().locator(".essmap-list li")
    expect(items).to_have_count(n)
    items.nth(42).locator("button").click()
    expect(map_page.popup().locator(".essmap-popup-title")).to_have_text("Association n° 42")
    map_page.assert_clean()


def test_the_page_measures_distances_on_the_ellipsoid(map_page: MapPage, demo_map: Path) -> None:
    """Essmap.distance against pyproj's geodesic: centimetres over a few km, 0.1 % across France."""
    map_page.open_file(demo_map)
    rng = np.random.default_rng(19)
    lon1, lat1 = -1.50 + rng.random(200) * 0.1, 43.45 + rng.random(200) * 0.08
    lon2, lat2 = lon1 + rng.normal(0, 0.02, 200), lat1 + rng.normal(0, 0.02, 200)
    pairs = [[a, b, c, d] for a, b, c, d in zip(lat1, lon1, lat2, lon2, strict=True)]
    pairs.append([43.4929, -1.4748, 48.8566, 2.3522])  # Bayonne to Paris
    got = np.array(
        map_page.page.evaluate("ps => ps.map(p => Essmap.distance(p[0], p[1], p[2], p[3]))", pairs)
    )
    _, _, want = Geod(ellps="GRS80").inv(
        [p[1] for p in pairs], [p[0] for p in pairs], [p[3] for p in pairs], [p[2] for p in pairs]
    )
    assert np.abs(got[:-1] - want[:-1]).max() < 0.05  # metres, pairs up to a few km apart
    assert abs(got[-1] - want[-1]) / want[-1] < 0.001
    assert map_page.page.evaluate("Essmap.distance(43.49, -1.47, 43.49, -1.47)") == 0
