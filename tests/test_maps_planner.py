"""The planner page as the library renders it: overview, downloads, offline backdrop, viewport."""

from __future__ import annotations

import base64
import gzip
import json
import re
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

from essmap.analysis.summary import stale_actors
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
    assert downloads["data"] is None  # no server for the exact figures
    csv = base64.b64decode(downloads["csv"].split(",", 1)[1]).decode("utf-8")
    assert csv.startswith("\ufeffQuartier;Code;Génération;Part couverte (%)")
    assert "Contour" in csv.splitlines()[0]
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


def _data(html: str) -> dict[str, Any]:
    found = re.search(r'id="essmap-data-[^"]+"([^>]*)>(.*?)</script>', html, re.S)
    assert found
    text = found.group(2)
    if "gzip" in found.group(1):
        text = gzip.decompress(base64.b64decode(text)).decode("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_walk_mode_without_a_network_draws_estimated_isochrones(
    demo_store: GeoPackageStore, settings: Settings
) -> None:
    offline = settings.model_copy(update={"tile_url": None})
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    view = planner_view(qpv, actors, settings=offline, threshold_m=400, sites=0, mode="walk")
    data = _data(render_planner_map(qpv, actors, view, settings=offline))
    assert data["mode"] == "walk"
    walk = data["walk"]
    assert walk["method"] == "estimate"  # no network imported: labelled as estimates
    supply = int(actors["category"].isin(offline.supply_categories).sum())
    features = walk["isochrones"]["features"]
    assert len(features) == 3 * supply
    assert {f["properties"]["method"] for f in features} == {"estimate"}
    assert [f["properties"]["minutes"] for f in features[:supply]] == [15.0] * supply  # longest beneath
    assert data["downloads"]["csvName"] == "couverture_qpv_400m_a_pied.csv"
    straight = _data(
        render_planner_map(qpv, actors, planner_view(qpv, actors, settings=offline), settings=offline)
    )
    assert straight["walk"] is None


def test_the_planner_page_lists_the_stale_actors(demo_store: GeoPackageStore, settings: Settings) -> None:
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    today = date(2026, 6, 1)
    actors = actors.copy()
    actors["last_verified"] = ["2026-05-01", "2024-01-15", None] * (len(actors) // 3) + [None] * (
        len(actors) % 3
    )
    view = planner_view(qpv, actors, settings=settings, sites=0, today=today)
    stale = _data(render_planner_map(qpv, actors, view, settings=settings))["stale"]
    expected = stale_actors(actors, today=today, stale_after_days=365)
    assert [a["id"] for a in stale["actors"]] == list(expected["id"])
    assert [a["lastVerified"] for a in stale["actors"]] == [
        None if pd.isna(v) else v for v in expected["last_verified"]
    ]
    n = len(expected)
    assert 0 < n < len(actors)
    assert stale["title"] == f"À vérifier : {n} acteurs non vérifiés depuis plus d'un an"
    other = settings.model_copy(update={"stale_after_days": 30})
    view = planner_view(qpv, actors, settings=other, sites=0, today=today)
    assert _data(render_planner_map(qpv, actors, view, settings=other))["stale"]["title"].endswith(
        "depuis plus de 30 jours"
    )
