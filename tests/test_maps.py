"""Maps without a browser: assets, data blocks, page content, planner figures, static PNG, CLI."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from essmap.analysis.coverage import coverage
from essmap.analysis.views import planner_view, static_view
from essmap.errors import InvalidParameterError, NotFoundError
from essmap.maps import assets
from essmap.maps.page import data_tag, encode_columns, encode_points
from essmap.maps.planner import coverage_share, planner_data, render_planner_map
from essmap.maps.resident import render_resident_map, resident_data
from essmap.maps.static import image_size, render_static_map
from essmap.maps.style import COVERAGE_COLORS, coverage_class, coverage_class_labels
from essmap.model import actor_frame, located_mask
from essmap.settings import Settings
from essmap.store import GeoPackageStore

EXTERNAL_LOAD = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)=["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture
def offline(settings: Settings) -> Settings:
    return settings.model_copy(update={"tile_url": None})


def data_block(html: str) -> dict[str, object]:
    """Decode the page's data block (plain JSON or gzip + base64)."""
    match = re.search(
        r'<script type="application/(json|octet-stream)" id="essmap-data-[^"]+"([^>]*)>(.*?)</script>',
        html,
        re.S,
    )
    assert match, "no data block"
    body = match.group(3)
    if "gzip-base64" in match.group(2):
        body = gzip.decompress(base64.b64decode(body)).decode("utf-8")
    return json.loads(body)


# --- assets -----------------------------------------------------------------------------------


def test_assets_are_installed_from_the_lock_file() -> None:
    assert assets.assets_installed(), "run scripts/assets.sh"
    lock = json.loads((assets.MAPS_DIR.parents[1] / "package-lock.json").read_text(encoding="utf-8"))
    for package in ("leaflet", "leaflet.locatecontrol", "leaflet.fullscreen", "supercluster"):
        installed = (assets.VENDOR_DIR / package / "VERSION").read_text(encoding="utf-8").strip()
        assert installed == f"{package}@{lock['packages'][f'node_modules/{package}']['version']}"
    for url_path, path in assets.served_files().items():
        assert path.is_file(), url_path
        assert url_path.startswith(("vendor/", "static/"))


def test_inline_assets_fetch_nothing() -> None:
    tags = assets.asset_tags("resident")
    assert not EXTERNAL_LOAD.search(tags)
    assert "<link" not in tags
    assert "sourceMappingURL" not in tags
    # CSS images became data URIs
    assert "url(images/" not in tags
    assert "data:image/png;base64," in tags


def test_linked_assets_are_all_served() -> None:
    tags = assets.asset_tags("planner", asset_url="/maps/assets/")
    linked = re.findall(r'(?:src|href)="/maps/assets/([^"]+)"', tags)
    assert "vendor/leaflet/leaflet.js" in linked
    assert "static/planner.js" in linked
    assert set(linked) <= set(assets.served_files())


def test_make_offline_removes_every_folium_cdn_link() -> None:
    m = folium.Map(location=[43.49, -1.47], tiles=None)
    folium.Marker([43.49, -1.47], tooltip="x").add_to(m)
    root = m.get_root()
    assert "cdn.jsdelivr.net" in root.render()
    m = folium.Map(location=[43.49, -1.47], tiles=None)
    folium.Marker([43.49, -1.47], tooltip="x").add_to(m)
    assets.make_offline(m.get_root())  # type: ignore[arg-type]
    html = m.get_root().render()
    assert not EXTERNAL_LOAD.search(html)
    # folium's class-level defaults are untouched for other maps
    assert any("leaflet" in url for _, url in folium.Map.default_js)


def test_missing_assets_are_reported_in_french(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path)
    assert not assets.assets_installed()
    with pytest.raises(assets.MissingAssetsError, match=r"scripts/assets\.sh"):
        assets.vendor_path("leaflet/leaflet.js")


# --- data encoding ----------------------------------------------------------------------------


def test_data_tag_is_plain_json_when_small_and_gzip_when_large() -> None:
    small = {"a": "</script><b>é"}
    tag = data_tag(small, "x")
    assert "</script><b>" not in tag[: -len("</script>")]
    assert json.loads(re.sub(r"^<script[^>]*>|</script>$", "", tag)) == small
    big = {"values": [f"acteur {k}" for k in range(20_000)]}
    tag = data_tag(big, "y", compress_above=1000)
    assert 'data-encoding="gzip-base64"' in tag
    body = re.sub(r"^<script[^>]*>|</script>$", "", tag)
    assert json.loads(gzip.decompress(base64.b64decode(body))) == big


def test_columns_are_dictionary_encoded_when_values_repeat() -> None:
    frame = pd.DataFrame(
        {
            "category": pd.array(["market", "market", None, "association"] * 10, dtype="string"),
            "name": pd.array([f"n{k}" for k in range(40)], dtype="string"),
        }
    )
    out = encode_columns(frame, ["category", "name"])
    cat = out["category"]
    decoded = [None if c < 0 else cat["values"][c] for c in cat["codes"]]
    assert decoded == frame["category"].astype(object).where(frame["category"].notna(), None).tolist()
    assert out["name"] == [f"n{k}" for k in range(40)]


def test_points_round_trip_through_delta_encoding() -> None:
    lon = np.array([-1.4738, -1.4684, 55.5, -61.2])
    lat = np.array([43.5001, 43.4983, -21.1, 16.2])
    enc = encode_points(shapely.points(lon, lat))
    assert np.allclose(np.cumsum(enc["lon"]) / 1e6, lon, atol=1e-6)
    assert np.allclose(np.cumsum(enc["lat"]) / 1e6, lat, atol=1e-6)


# --- resident page ----------------------------------------------------------------------------


def test_resident_data_of_the_demo_set(demo_store: GeoPackageStore, offline: Settings) -> None:
    actors = demo_store.load_actors()
    data = resident_data(demo_store.load_neighbourhoods(), actors, settings=offline)
    assert data["actors"]["n"] == 11  # type: ignore[index]
    assert {r["id"] for r in data["unlocated"]} == {  # type: ignore[union-attr]
        "gip-dsu",
        "collectif-social-web",
        "atelier-lan-berri",
        "ecole-franchement-web",
    }
    cats = {c["key"]: c for c in data["categories"]}  # type: ignore[union-attr]
    assert cats["amap_delivery_point"]["located"] == 6
    assert cats["amap_delivery_point"]["label"] == "Point de livraison AMAP"
    assert cats["amap_delivery_point"]["supply"] is True
    assert cats["association"]["supply"] is False
    assert len({c["color"] for c in cats.values()}) == len(cats)
    # every located demo actor was placed by hand from its published address
    assert bool(actors.loc[located_mask(actors), "location_approximate"].all())
    assert data["approximateCount"] == 11
    (layer,) = data["qpv"]  # type: ignore[misc]
    assert layer["generation"] == 2024
    assert layer["schematic"] is True
    assert len(layer["features"]["features"]) == 2
    assert "QPV" in data["attribution"]  # type: ignore[operator]


def test_resident_page_is_standalone_and_french(demo_store: GeoPackageStore, offline: Settings) -> None:
    html = render_resident_map(demo_store.load_neighbourhoods(), demo_store.load_actors(), settings=offline)
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in html
    assert not EXTERNAL_LOAD.search(html)
    assert "<script src=" not in html
    assert "tileLayer" not in html.split("EssmapResident.init")[-1]
    assert "EssmapResident.init(map_" in html
    assert data_block(html)["actors"]["n"] == 11  # type: ignore[index]


def test_resident_page_with_tiles_and_linked_assets(demo_store: GeoPackageStore, settings: Settings) -> None:
    cfg = settings.model_copy(
        update={
            "tile_url": "https://tiles.example.org/{z}/{x}/{y}.png",
            "tile_attribution": "© les contributeurs d'OpenStreetMap",
        }
    )
    html = render_resident_map(
        demo_store.load_neighbourhoods(), demo_store.load_actors(), settings=cfg, asset_url="/maps/assets"
    )
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in html
    assert "\\u00a9 les contributeurs d\\u0027OpenStreetMap" in html  # as folium escapes it
    assert '<script src="/maps/assets/vendor/leaflet/leaflet.js"></script>' in html
    assert '<script src="/maps/assets/static/resident.js"></script>' in html
    assert '"tiles": tile_layer_' in html


def test_resident_page_walks_only_when_served_with_a_network(
    demo_store: GeoPackageStore, offline: Settings
) -> None:
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    api = {"geocode": "/geocode", "nearest": "/nearest"}
    assert resident_data(qpv, actors, settings=offline)["walkNetwork"] is False
    # a network without a server to ask (a standalone file) does not walk
    assert resident_data(qpv, actors, settings=offline, walk_network=True)["walkNetwork"] is False
    assert resident_data(qpv, actors, settings=offline, api=api)["walkNetwork"] is False  # no network
    served = resident_data(qpv, actors, settings=offline, api=api, walk_network=True)
    assert served["walkNetwork"] is True
    assert served["messages"]["{minutes} min à pied ({distance})"] == "{minutes} min à pied ({distance})"  # type: ignore[index]
    basque = resident_data(qpv, actors, settings=offline, api=api, walk_network=True, lang="eu")
    assert basque["messages"]["Itinéraire"] == "Ibilbidea"  # type: ignore[index]
    html = render_resident_map(qpv, actors, settings=offline, asset_url="/maps/assets")
    assert '<script src="/maps/assets/static/residentwalk.js"></script>' in html


def test_resident_page_of_an_empty_store(empty_store: GeoPackageStore, offline: Settings) -> None:
    html = render_resident_map(empty_store.load_neighbourhoods(), empty_store.load_actors(), settings=offline)
    data = data_block(html)
    assert data["actors"]["n"] == 0  # type: ignore[index]
    assert data["bounds"] is None
    assert data["qpv"] == []


# --- planner page -----------------------------------------------------------------------------


def test_coverage_classes() -> None:
    assert coverage_class(None) is None
    assert coverage_class(float("nan")) is None
    assert coverage_class(0.0) == 0
    assert coverage_class(0.1999) == 0
    assert coverage_class(0.2) == 1
    assert coverage_class(0.9) == 4
    assert coverage_class(1.0) == 4
    assert coverage_class_labels()[0] == "0 à 20 %"
    assert len(coverage_class_labels()) == len(COVERAGE_COLORS)


def test_planner_data_comes_from_the_analysis(demo_store: GeoPackageStore, offline: Settings) -> None:
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    data = planner_data(
        qpv, actors, planner_view(qpv, actors, settings=offline, threshold_m=400.0, sites=2), settings=offline
    )
    expected = coverage(qpv, actors, thresholds_m=[400.0], supply_categories=offline.supply_categories)
    (layer,) = data["qpv"]  # type: ignore[misc]
    shown = {f["properties"]["code"]: f["properties"] for f in layer["features"]["features"]}
    assert set(shown) == set(expected["code"])
    for row in expected.itertuples():
        props = shown[row.code]
        assert props["share"] == pytest.approx(row.residents_covered / row.residents_total)
        assert props["basis"] == "residents"
        assert props["color"] == COVERAGE_COLORS[coverage_class(props["share"])]  # type: ignore[index]
        assert props["method"] == row.method
        assert props["lowAccess"] == row.low_access
        assert props["schematic"] is True
    supply = actors[actors["category"].isin(offline.supply_categories) & located_mask(actors)]
    assert len(supply) > 0
    assert sorted(p["id"] for p in data["supply"]) == sorted(supply["id"])  # type: ignore[union-attr]
    rings = data["catchments"]["features"]  # type: ignore[index]
    assert sorted(f["properties"]["id"] for f in rings) == sorted(supply["id"])
    assert len(data["sites"]) == 2  # type: ignore[arg-type]
    first = data["sites"][0]  # type: ignore[index]
    assert first["rank"] == 1
    assert first["gain"] > 0
    assert data["threshold"] == 400.0
    assert data["methods"] == {"area": "population du quartier répartie selon la surface"}


def test_planner_parameters_are_checked(demo_store: GeoPackageStore, offline: Settings) -> None:
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    with pytest.raises(InvalidParameterError, match="seuil"):
        planner_view(qpv, actors, settings=offline, threshold_m=0)
    with pytest.raises(InvalidParameterError, match="seuil"):
        planner_view(qpv, actors, settings=offline, threshold_m=offline.max_threshold_m + 1)
    with pytest.raises(InvalidParameterError, match="sites"):
        planner_view(qpv, actors, settings=offline, sites=offline.max_suggestions + 1)
    view = planner_view(qpv, actors, settings=offline, threshold_m=800, sites=0)
    html = render_planner_map(qpv, actors, view, settings=offline)
    data = data_block(html)
    assert data["threshold"] == 800.0
    assert data["sites"] == []
    assert not EXTERNAL_LOAD.search(html)


# --- static image -----------------------------------------------------------------------------


def test_static_png_of_the_territory_and_of_one_qpv(demo_store: GeoPackageStore, offline: Settings) -> None:
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    whole_view = static_view(qpv, actors, settings=offline)
    one_view = static_view(qpv, actors, settings=offline, qpv_code="qn06401i", threshold_m=800)
    whole = render_static_map(qpv, actors, whole_view, settings=offline, dpi=80)
    one = render_static_map(qpv, actors, one_view, settings=offline, dpi=80)
    for png in (whole, one):
        width, height = image_size(png)
        assert 500 < width < 1200
        assert 400 < height < 1000
    assert list(one_view.shown["code"]) == ["QN06401I"]
    assert len(whole_view.shown) == len(qpv)
    # the QPV is filled with the colour of its coverage class (drawn at alpha 0.85 on white)
    row = one_view.coverage.table.iloc[0]
    share, _ = coverage_share(row)
    fill = _blend(COVERAGE_COLORS[coverage_class(share)], 0.85)  # type: ignore[index]
    pixels = _pixels(one)
    assert _share_of_colour(pixels, fill) > 0.005
    others = [c for c in COVERAGE_COLORS if c != COVERAGE_COLORS[coverage_class(share)]]  # type: ignore[index]
    assert all(_share_of_colour(pixels, _blend(c, 0.85)) < 0.001 for c in others)
    with pytest.raises(NotFoundError, match="QP999999"):
        static_view(qpv, actors, settings=offline, qpv_code="QP999999")
    with pytest.raises(NotFoundError, match="2015"):
        static_view(qpv, actors, settings=offline, generation=2015)
    with pytest.raises(InvalidParameterError):
        static_view(qpv, actors, settings=offline, threshold_m=-1)
    with pytest.raises(InvalidParameterError, match="résolution"):
        render_static_map(qpv, actors, one_view, settings=offline, dpi=10)


def _blend(hex_colour: str, alpha: float) -> tuple[float, float, float]:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return (rgb[0] * alpha + 1 - alpha, rgb[1] * alpha + 1 - alpha, rgb[2] * alpha + 1 - alpha)


def _pixels(png: bytes) -> np.ndarray:
    import io

    from matplotlib.image import imread

    return np.asarray(imread(io.BytesIO(png), format="png"))[:, :, :3]


def _share_of_colour(pixels: np.ndarray, rgb: tuple[float, float, float], tol: float = 0.02) -> float:
    close = np.all(np.abs(pixels - np.asarray(rgb)) <= tol, axis=2)
    return float(close.mean())


def test_static_png_of_real_occitanie_qpvs(occitanie_qpv: gpd.GeoDataFrame, offline: Settings) -> None:
    from essmap.model import neighbourhood_frame

    frame = pd.DataFrame(
        {
            "code": occitanie_qpv["code_qp"],
            "name": occitanie_qpv["nom_qp"],
            "generation": 2015,
            "geometry_source": "official",
            "source": "Hackaviz 2021",
        }
    )
    from essmap.geo import repair_polygons

    geoms, _ = repair_polygons(occitanie_qpv.geometry.values)
    qpv = neighbourhood_frame(frame, geoms)
    toulouse = qpv[qpv["code"].str.startswith("QP031")]
    point = toulouse.geometry.iloc[0].representative_point()
    actors = actor_frame(
        pd.DataFrame(
            {"id": ["m"], "name": ["Marché"], "category": ["market"], "location_precision": ["exact"]}
        ),
        [point],
    )
    code = str(toulouse["code"].iloc[0])
    view = static_view(qpv, actors, settings=offline, qpv_code=code)
    png = render_static_map(qpv, actors, view, settings=offline, dpi=60)
    assert image_size(png)[0] > 300
    (row,) = view.coverage.table.itertuples()
    assert row.code == code
    assert row.supply_points == 1  # the market placed inside it
    share, _ = coverage_share(row)
    assert _share_of_colour(_pixels(png), _blend(COVERAGE_COLORS[coverage_class(share)], 0.85)) > 0.01  # type: ignore[index]


# --- command line -----------------------------------------------------------------------------


def essmap(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ESSMAP_DATA_DIR": str(data_dir), "ESSMAP_TILE_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "essmap", *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_cli_writes_the_three_maps(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = essmap(data, "map", "resident", "--out", str(tmp_path / "out" / "habitants.html"))
    assert result.returncode == 0, result.stderr
    assert "11 acteurs placés, 4 sans localisation" in result.stdout
    html = (tmp_path / "out" / "habitants.html").read_text(encoding="utf-8")
    assert data_block(html)["actors"]["n"] == 11  # type: ignore[index]

    result = essmap(data, "map", "planner", "--threshold", "800", "--out", str(tmp_path / "amenageurs.html"))
    assert result.returncode == 0, result.stderr
    assert "seuil : 800 m" in result.stdout
    assert data_block((tmp_path / "amenageurs.html").read_text(encoding="utf-8"))["threshold"] == 800.0

    result = essmap(
        data, "map", "static", "--qpv", "QN06402M", "--dpi", "60", "--out", str(tmp_path / "q.png")
    )
    assert result.returncode == 0, result.stderr
    assert image_size((tmp_path / "q.png").read_bytes())[0] > 300


def test_cli_errors_are_french_with_an_exit_status(tmp_path: Path) -> None:
    result = essmap(tmp_path / "data", "map", "static", "--qpv", "NOPE", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 1
    assert "aucun quartier prioritaire de code NOPE" in result.stderr
    assert not (tmp_path / "x.png").exists()
    result = essmap(
        tmp_path / "data", "map", "planner", "--threshold", "-5", "--out", str(tmp_path / "x.html")
    )
    assert result.returncode == 2
    assert "seuil" in result.stderr


def test_resident_map_draws_the_commune_backdrop_without_tiles(
    demo_store: GeoPackageStore, offline: Settings
) -> None:
    from essmap.maps.page import BACKDROP_ID

    communes = demo_store.load_communes()
    assert "Bayonne" in set(communes["name"])
    qpv, actors = demo_store.load_neighbourhoods(), demo_store.load_actors()
    html = render_resident_map(qpv, actors, settings=offline, communes=communes)
    block = re.search(rf'<script type="application/json" id="{BACKDROP_ID}">(.*?)</script>', html, re.S)
    assert block is not None
    backdrop = json.loads(block.group(1))
    assert "Bayonne" in {f["properties"]["name"] for f in backdrop["communes"]["features"]}
    assert f'id="{BACKDROP_ID}"' not in render_resident_map(qpv, actors, settings=offline)
