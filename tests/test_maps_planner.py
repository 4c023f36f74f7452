"""The planner page as the library renders it: overview, downloads, offline backdrop, viewport."""

from __future__ import annotations

import base64
import json
import re

import geopandas as gpd
import pytest

from essmap.analysis.views import planner_view
from essmap.importing import DEMO_COMMUNES, demo_data_dir
from essmap.maps.page import BACKDROP_ID, backdrop_data, render_page
from essmap.maps.planner import render_planner_map
from essmap.settings import Settings
from essmap.sources.communes import communes_from_file
from essmap.store import GeoPackageStore

BAYONNE = [[43.47, -1.50], [43.51, -1.45]]


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return communes_from_file(demo_data_dir() / DEMO_COMMUNES, source="ANCT").table


def _block(html: str, element_id: str) -> dict[str, object]:
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert found, element_id
    return json.loads(found.group(1))


def test_backdrop_keeps_the_communes_around_the_data(communes: gpd.GeoDataFrame) -> None:
    backdrop = backdrop_data(communes, BAYONNE)
    assert backdrop is not None
    names = [f["properties"]["name"] for f in backdrop["communes"]["features"]]
    assert names == ["Bayonne"]  # Dax, Pau, Mont-de-Marsan are more than 20 km away
    lat, lon = backdrop["communes"]["features"][0]["properties"]["label"]
    assert 43.45 < lat < 43.52
    assert -1.51 < lon < -1.41
    assert backdrop["sources"] == ["ANCT"]
    assert backdrop_data(communes, [[48.8, 2.3], [48.9, 2.4]]) is None  # Paris: none near
    assert backdrop_data(communes, None) is None


def test_standalone_planner_page(
    demo_store: GeoPackageStore, settings: Settings, communes: gpd.GeoDataFrame
) -> None:
    offline = settings.model_copy(update={"tile_url": None})
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    view = planner_view(qpv, actors, settings=offline, threshold_m=400, sites=3)
    html = render_planner_map(qpv, actors, view, settings=offline, communes=communes)
    assert _block(html, BACKDROP_ID)["sources"] == ["ANCT"]
    assert 'id="essmap-overview"' in html
    assert "user-scalable=no" not in html  # people may zoom the page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1.0">' in html
    found = re.search(r'id="essmap-data-[^"]+">(.*?)</script>', html, re.S)
    assert found
    data = json.loads(found.group(1))
    downloads = data["downloads"]
    assert downloads["png"] is None  # no server to draw it
    assert downloads["csvName"] == "couverture_qpv_400m.csv"
    csv = base64.b64decode(downloads["csv"].split(",", 1)[1]).decode("utf-8")
    assert csv.splitlines()[0].startswith("code,generation,name,threshold_m")
    assert "geometry_source" in csv.splitlines()[0]
    assert data["sitesRequested"] == 3
    assert data["sitesNote"].startswith("2 sites proposés sur 3 demandés")
    assert [s["address"] for s in data["sites"]] == [None, None]  # no address imported
    # with a tile server, the tiles are the background
    tiled = settings.model_copy(
        update={"tile_url": "https://tiles.example.org/{z}/{x}/{y}.png", "tile_attribution": "Tuiles test"}
    )
    html = render_planner_map(qpv, actors, view, settings=tiled, communes=communes)
    assert f'id="{BACKDROP_ID}"' not in html


def test_render_page_is_french_and_zoomable() -> None:
    import folium

    html = render_page(folium.Map(tiles=None), "planner", asset_url="/maps/assets")
    assert html.count('<html lang="fr">') == 1
    assert "maximum-scale" not in html
