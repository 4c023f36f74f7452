"""The planners' map in walk mode and its actors to verify again, served by the API, in Debian's
Chromium: on the river of tests/network_support.py (one bridge), ``/map/planner?mode=walk`` draws
the walking isochrones of the supply point as a layer (in the layer control, with a legend), and
the overview lists the actors not verified for more than a year, as ``stale_actors`` does."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import shapely
from playwright.sync_api import expect

from essmap.analysis.summary import stale_actors
from essmap.settings import Settings
from essmap.store import open_store
from tests.browser.axe_support import run_axe, serious_violations
from tests.browser.conftest import MapPage
from tests.network_support import fill_river_store, lonlat

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The river with one bridge, its street network, a QPV on the south bank, one supply point on
    the north bank and actors verified long ago, never and lately; no tiles."""
    folder = tmp_path_factory.mktemp("planner-walk")
    settings = Settings(data_dir=folder / "data", init_from_demo=False, tile_url="")
    fill_river_store(settings, folder, today=date.today())
    return settings


def _open(map_page: MapPage, url: str) -> MapPage:
    map_page.page.set_viewport_size(DESKTOP)
    return map_page.open(url)


def test_walk_mode_draws_the_isochrones_on_the_network(map_page: MapPage, api_url: str) -> None:
    page = _open(map_page, api_url + "/map/planner?mode=walk&threshold_m=400").page
    walk = page.evaluate("window.essmapPlanner.data.walk")
    assert walk["method"] == "network"
    expect(page.locator(".essmap-overview")).to_contain_text("mesuré à pied depuis le centre du quartier")
    assert [m["minutes"] for m in walk["minutes"]] == [5, 10, 15]
    # the layer is on the map, one isochrone per walking time, drawn as paths
    drawn = page.evaluate(
        """() => { const p = window.essmapPlanner; const layer = p.layers.isochrones;
             return { onMap: p.map.hasLayer(layer), shapes: layer.toGeoJSON().features }; }"""
    )
    assert drawn["onMap"]
    assert sorted(f["properties"]["minutes"] for f in drawn["shapes"]) == [5, 10, 15]
    paths = page.locator("path.essmap-isochrone-network")
    expect(paths).to_have_count(3)
    assert all(paths.nth(i).get_attribute("d") for i in range(3))
    # the 10-minute isochrone (800 m) crosses the river only by the bridge
    ten = next(
        shapely.geometry.shape(f["geometry"]) for f in drawn["shapes"] if f["properties"]["minutes"] == 10
    )
    assert ten.contains(shapely.Point(*lonlat(500, -150)))  # beyond the bridge: 660 m on foot
    assert not ten.contains(shapely.Point(*lonlat(100, -150)))  # facing S: 260 m straight, 1060 m on foot
    # in the layer control and the legend
    control = page.locator(".leaflet-control-layers-overlays")
    expect(control).to_contain_text("Isochrones à pied (5, 10, 15 min)")
    legend = page.locator(".essmap-isochrone-legend")
    expect(legend).to_contain_text("5 min à pied (400 m)")
    expect(legend).to_contain_text("réseau de rues")
    # the overview and the downloads follow the mode
    overview = page.locator("#essmap-overview")
    expect(overview.locator(".essmap-overview-mode")).to_contain_text("400 m à pied (5 min)")
    csv = overview.locator("a.essmap-download").first
    assert "mode=walk" in (csv.get_attribute("href") or "")
    assert (csv.get_attribute("download") or "").endswith("_a_pied.csv")
    results = run_axe(page)
    assert serious_violations(results) == []
    map_page.screenshot("planner_walk_desktop")
    map_page.assert_clean()


def test_straight_mode_draws_no_isochrones(map_page: MapPage, api_url: str) -> None:
    page = _open(map_page, api_url + "/map/planner?threshold_m=400").page
    assert page.evaluate("window.essmapPlanner.layers.isochrones") is None
    expect(page.locator("path.essmap-isochrone")).to_have_count(0)
    expect(page.locator(".leaflet-control-layers-overlays")).not_to_contain_text("Isochrones")
    map_page.assert_clean()


def test_the_overview_lists_the_actors_to_verify_again(
    map_page: MapPage, api_url: str, api_settings: Settings
) -> None:
    store = open_store(api_settings)
    try:
        expected = stale_actors(store.load_actors(), today=date.today(), stale_after_days=365)
    finally:
        store.close()
    assert list(expected["id"]) == ["jamais", "vieux"]  # never first, then the oldest
    page = _open(map_page, api_url + "/map/planner?mode=walk").page
    section = page.locator(".essmap-overview-stale")
    expect(section.locator("h2")).to_have_text("À vérifier : 2 acteurs non vérifiés depuis plus d'un an")
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(len(expected))
    for i, want in enumerate(expected.itertuples(index=False)):
        row = rows.nth(i)
        assert row.get_attribute("data-actor-id") == want.id
        expect(row.locator("th")).to_contain_text(str(want.name))
        verified = "" if pd.isna(want.last_verified) else str(want.last_verified)
        assert row.get_attribute("data-last-verified") == verified
        if not verified:
            expect(row.locator("td").nth(1)).to_have_text("jamais")
    expect(section.locator("tbody")).to_contain_text("Association")  # the category, for people
    map_page.assert_clean()
