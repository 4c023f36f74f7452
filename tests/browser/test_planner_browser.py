"""The planner map in a real Chromium: one shaded shape per QPV, legend, tooltips, gaps, sites."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from essmap.analysis.coverage import coverage, coverage_gaps
from essmap.analysis.views import planner_view
from essmap.geo import repair_polygons
from essmap.maps.planner import render_planner_map
from essmap.maps.style import COVERAGE_COLORS, coverage_class
from essmap.model import actor_frame, neighbourhood_frame
from essmap.settings import Settings
from essmap.store import GeoPackageStore
from tests.browser.conftest import MapPage

pytestmark = pytest.mark.browser


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return settings.model_copy(update={"tile_url": None})


def test_demo_planner_map(
    map_page: MapPage, tmp_path: Path, demo_store: GeoPackageStore, offline: Settings
) -> None:
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    path = tmp_path / "planner.html"
    path.write_text(
        render_planner_map(
            qpv,
            actors,
            planner_view(qpv, actors, settings=offline, threshold_m=400, sites=3),
            settings=offline,
        ),
        encoding="utf-8",
    )
    map_page.open_file(path)
    page = map_page.page
    shapes = page.locator("path.essmap-qpv-shade")
    expect(shapes).to_have_count(len(qpv))
    # each QPV is filled with the colour of its coverage class
    table = coverage(qpv, actors, thresholds_m=[400], supply_categories=offline.supply_categories)
    fills = page.evaluate(
        """() => Object.values(window.essmapMap._layers)
                 .filter(l => l.feature && (l.options.className || '').includes('essmap-qpv-shade'))
                 .map(l => [l.feature.properties.code, l._path.getAttribute('fill')])"""
    )
    expected = {
        r.code: COVERAGE_COLORS[coverage_class(r.residents_covered / r.residents_total)]  # type: ignore[index]
        for r in table.itertuples()
    }
    assert dict(fills) == expected
    # legend: five classes, no-data, gaps, rings, sites, method
    legend = page.locator(".essmap-planner-legend")
    expect(legend.locator(".essmap-classes li")).to_have_count(6)
    expect(legend).to_contain_text("80 à 100 %")
    expect(legend).to_contain_text("zone non desservie")
    expect(legend).to_contain_text("Distances à vol d’oiseau")
    gaps = coverage_gaps(qpv, actors, threshold_m=400, supply_categories=offline.supply_categories)
    expect(page.locator("path.essmap-gap")).to_have_count(len(gaps))
    expect(page.locator(".essmap-site")).to_have_count(3)
    map_page.screenshot("planner_demo")

    # tooltip with the QPV's indicators and the method
    page.evaluate(
        """() => Object.values(window.essmapMap._layers).find(
             l => l.feature && l.feature.properties.code === 'QN06402M' && l.getTooltip()).openTooltip()"""
    )
    tooltip = page.locator(".leaflet-tooltip .essmap-qpv-info")
    expect(tooltip).to_contain_text("Hauts de Sainte-Croix - Mounédé")
    expect(tooltip).to_contain_text("Population")
    expect(tooltip).to_contain_text("3\u202f803")
    expect(tooltip).to_contain_text(
        "Méthode : distances à vol d’oiseau, le point le plus proche mesuré depuis le contour du "
        "quartier ; population du quartier répartie selon la surface"
    )
    expect(tooltip).to_contain_text("40 m du quartier")
    expect(tooltip).to_contain_text("Accès faible")
    expect(tooltip).to_contain_text("Contour schématique")
    map_page.screenshot("planner_tooltip")
    page.evaluate("() => window.essmapMap.eachLayer(l => l.closeTooltip && l.closeTooltip())")

    page.locator('.essmap-site[data-rank="1"]').click()
    popup = map_page.popup()
    expect(popup).to_contain_text("Site suggéré n° 1")
    expect(popup).to_contain_text("habitants")
    map_page.screenshot("planner_site")
    map_page.assert_clean()


def test_planner_map_of_the_105_real_occitanie_qpvs(
    map_page: MapPage, tmp_path: Path, occitanie_qpv: gpd.GeoDataFrame, offline: Settings
) -> None:
    geoms, _ = repair_polygons(occitanie_qpv.geometry.values)
    frame = pd.DataFrame(
        {
            "code": occitanie_qpv["code_qp"],
            "name": occitanie_qpv["nom_qp"],
            "generation": 2015,
            "geometry_source": "official",
            "source": "data.gouv.fr (Hackaviz 2021)",
        }
    )
    qpv = neighbourhood_frame(frame, geoms)
    rng = np.random.default_rng(3)
    inside = qpv.geometry.iloc[::5].representative_point()
    actors = actor_frame(
        pd.DataFrame(
            {
                "id": [f"s{k}" for k in range(len(inside))],
                "name": [f"Marché {k}" for k in range(len(inside))],
                "category": rng.choice(["market", "amap_delivery_point"], len(inside)),
                "location_precision": "exact",
            }
        ),
        inside.to_numpy(),
    )
    path = tmp_path / "planner_occitanie.html"
    path.write_text(
        render_planner_map(
            qpv, actors, planner_view(qpv, actors, settings=offline, sites=2), settings=offline
        ),
        encoding="utf-8",
    )
    map_page.open_file(path)
    expect(map_page.page.locator("path.essmap-qpv-shade")).to_have_count(105)
    map_page.screenshot("planner_occitanie")
    map_page.assert_clean()
