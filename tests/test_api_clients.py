"""Independent OGC clients read the API over real HTTP: GDAL's OGC API - Features driver (through
pyogrio) and OWSLib's ``Features`` client. Neither knows anything about essmap."""

from __future__ import annotations

from collections.abc import Iterator

import pyogrio
import pytest
import shapely
from owslib.ogcapi.features import Features

from essmap.settings import Settings
from tests.api_support import server_process

QPV_COUNT = 105 + 2
ACTOR_COUNT = 15 + 3
UNLOCATED = {
    "gip-dsu",
    "collectif-social-web",
    "atelier-lan-berri",
    "ecole-franchement-web",
    "unlocated-extra",
}


@pytest.fixture(scope="module")
def api_options() -> dict[str, object]:
    # a small maximum page size, so that every client must follow several "next" links
    return {"items_max_limit": 20}


@pytest.fixture(scope="module")
def api_url(api_settings: Settings) -> Iterator[str]:
    # a separate process, because GDAL holds the interpreter while it waits for an HTTP answer
    with server_process(api_settings) as url:
        yield url


def test_gdal_driver_is_available() -> None:
    assert "OAPIF" in pyogrio.list_drivers()


def test_gdal_lists_both_collections(api_url: str) -> None:
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{api_url}/")}
    assert layers == {"qpv", "actors"}


def test_gdal_reads_every_qpv_across_pages(api_url: str) -> None:
    qpv = pyogrio.read_dataframe(f"OAPIF:{api_url}/", layer="qpv", PAGE_SIZE=15)
    assert len(qpv) == QPV_COUNT
    assert qpv.crs is not None
    assert qpv.crs.equals("OGC:CRS84") or qpv.crs.equals("EPSG:4326")
    assert qpv["code"].is_unique
    assert set(qpv["generation"].astype(int)) == {2015, 2024}
    assert set(qpv.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    citadelle = qpv[qpv["code"] == "QN06401I"].geometry.iloc[0]
    assert citadelle.contains(shapely.Point(-1.467, 43.499))


def test_gdal_reads_every_actor_including_unlocated(api_url: str) -> None:
    actors = pyogrio.read_dataframe(f"OAPIF:{api_url}/", layer="actors", PAGE_SIZE=7)
    assert len(actors) == ACTOR_COUNT
    ids = actors["id"] if "id" in actors else actors.index.astype(str)
    assert set(ids) >= UNLOCATED | {"otsokop", "fiji-east"}
    unlocated = actors[actors.geometry.isna()]
    assert len(unlocated) == len(UNLOCATED)
    otsokop = actors[actors["name"] == "Otsokop"].geometry.iloc[0]
    assert (otsokop.x, otsokop.y) == pytest.approx((-1.4738, 43.5001))


def test_gdal_spatial_filter_uses_the_bbox(api_url: str) -> None:
    actors = pyogrio.read_dataframe(
        f"OAPIF:{api_url}/", layer="actors", bbox=(-1.50, 43.49, -1.46, 43.51), PAGE_SIZE=5
    )
    assert set(actors["name"]) >= {"Otsokop", "AMAP Saint-Esprit"}
    assert actors.geometry.notna().all()
    assert len(actors) < 11


def test_owslib_lists_collections_and_fetches_items(api_url: str) -> None:
    service = Features(f"{api_url}/")
    conformance = service.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    collections = {c["id"] for c in service.collections()["collections"]}
    assert collections == {"qpv", "actors"}
    assert service.collection("actors")["itemType"] == "feature"
    page = service.collection_items("actors", limit=5)
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == ACTOR_COUNT
    assert len(page["features"]) == 5
    amap = service.collection_items("actors", category="amap_delivery_point", limit=50)
    assert len(amap["features"]) == 6
    one = service.collection_item("qpv", "2024-QN06402M")
    assert one["properties"]["name"] == "Hauts de Sainte-Croix - Mounédé"


def test_owslib_reads_the_openapi_document(api_url: str) -> None:
    api = Features(f"{api_url}/").api()
    assert api["openapi"].startswith("3.0")
    assert "/collections/qpv/items" in api["paths"]
