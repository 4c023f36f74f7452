"""The HTTP API's OGC API - Features part, read over real HTTP from a uvicorn server.

The server runs on 127.0.0.1 on a temporary data directory holding the Bayonne demo set, the 105
real Occitanie QPVs of 2015, two actors on either side of the antimeridian and unlocated actors.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import shapely

from api import create_app
from essmap.importing import open_seeded_store
from essmap.model import CATEGORIES, actor_frame
from essmap.settings import Settings
from tests.api_support import assert_feature_collection, assert_problem, background_server, link

MAX_LIMIT = 50
QPV_COUNT = 105 + 2
ACTOR_COUNT = 15 + 3


@pytest.fixture(scope="module")
def api_options() -> dict[str, object]:
    return {"items_max_limit": MAX_LIMIT}


# --- landing page, conformance, collections -------------------------------------------------
def test_landing_page_links_to_api_definition_conformance_and_data(client: httpx.Client) -> None:
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    rels = {item["rel"]: item for item in body["links"]}
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["service-desc"]["href"].endswith("/openapi.json")
    assert rels["conformance"]["href"].endswith("/conformance")
    assert rels["data"]["href"].endswith("/collections")
    assert client.get(rels["service-desc"]["href"]).json()["openapi"].startswith("3.0.")


def test_conformance_declares_core_geojson_and_openapi30(client: httpx.Client) -> None:
    body = client.get("/conformance").json()
    assert set(body["conformsTo"]) >= {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    }


def test_collections_lists_qpv_and_actors_with_extent_and_items_links(client: httpx.Client) -> None:
    response = client.get("/collections")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    collections = {c["id"]: c for c in response.json()["collections"]}
    assert set(collections) == {"qpv", "actors"}
    for cid, collection in collections.items():
        assert collection["itemType"] == "feature"
        assert collection["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
        assert link(collection, "items").endswith(f"/collections/{cid}/items")
        minx, miny, maxx, maxy = collection["extent"]["spatial"]["bbox"][0]
        assert -180 <= minx <= maxx <= 180
        assert -90 <= miny <= maxy <= 90
    # the QPV extent spans Occitanie and Bayonne: west of Bayonne (-1.5) to east of Nîmes (4.3)
    minx, _, maxx, _ = collections["qpv"]["extent"]["spatial"]["bbox"][0]
    assert minx < -1.4
    assert maxx > 4.0
    single = client.get("/collections/actors")
    assert single.status_code == 200
    assert single.json()["id"] == "actors"


# --- items: paging ----------------------------------------------------------------------------
def test_items_default_limit_is_10_with_counts_and_next_link(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/collections/qpv/items"))
    assert body["numberMatched"] == QPV_COUNT
    assert body["numberReturned"] == len(body["features"]) == 10
    assert link(body, "next") is not None
    assert link(body, "prev") is None
    assert link(body, "self") is not None


def test_following_next_links_returns_every_feature_once(client: httpx.Client) -> None:
    ids: list[str] = []
    url: str | None = "/collections/qpv/items?limit=30"
    pages = 0
    while url:
        body = assert_feature_collection(client.get(url))
        ids += [f["id"] for f in body["features"]]
        url = link(body, "next")
        pages += 1
    assert pages == 4
    assert len(ids) == len(set(ids)) == QPV_COUNT
    assert "2024-QN06401I" in ids


def test_prev_link_goes_back_one_page(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/collections/actors/items?limit=5&offset=10"))
    assert [f["id"] for f in body["features"]] == [
        f["id"] for f in client.get("/collections/actors/items?limit=20").json()["features"][10:15]
    ]
    previous = assert_feature_collection(client.get(link(body, "prev")))
    first = client.get("/collections/actors/items?limit=20").json()["features"]
    assert [f["id"] for f in previous["features"]] == [f["id"] for f in first[5:10]]


def test_limit_above_maximum_is_capped_not_refused(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/collections/qpv/items?limit=100000"))
    assert body["numberReturned"] == MAX_LIMIT
    assert body["numberMatched"] == QPV_COUNT
    assert f"limit={MAX_LIMIT}" in link(body, "next")


def test_offset_past_the_end_returns_no_feature(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/collections/actors/items?offset=500"))
    assert body["numberReturned"] == 0
    assert body["numberMatched"] == ACTOR_COUNT
    assert link(body, "next") is None


# --- items: bbox and property filters ---------------------------------------------------------
def test_bbox_returns_only_located_features_inside(client: httpx.Client) -> None:
    body = assert_feature_collection(
        client.get("/collections/actors/items?bbox=-1.52,43.46,-1.44,43.52&limit=50")
    )
    assert body["numberMatched"] == 11  # the 11 located demo actors in Bayonne
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert -1.52 <= lon <= -1.44
        assert 43.46 <= lat <= 43.52


def test_bbox_crossing_the_antimeridian(client: httpx.Client) -> None:
    crossing = assert_feature_collection(client.get("/collections/actors/items?bbox=179,-18,-179,-15"))
    assert {f["id"] for f in crossing["features"]} == {"fiji-east", "fiji-west"}
    east_only = assert_feature_collection(client.get("/collections/actors/items?bbox=179,-18,180,-15"))
    assert {f["id"] for f in east_only["features"]} == {"fiji-east"}
    # a whole-world bbox still never matches an unlocated actor
    world = assert_feature_collection(client.get("/collections/actors/items?bbox=-180,-90,180,90&limit=50"))
    assert world["numberMatched"] == 11 + 2


def test_unlocated_actor_has_null_geometry(client: httpx.Client) -> None:
    response = client.get("/collections/actors/items/gip-dsu")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["id"] == "gip-dsu"
    assert feature["geometry"] is None
    assert feature["properties"]["category"] == "public_body"
    assert feature["properties"]["category_label"] == "Organisme public"


def test_property_filters(client: httpx.Client) -> None:
    amap = assert_feature_collection(
        client.get("/collections/actors/items?category=amap_delivery_point&limit=50")
    )
    assert amap["numberMatched"] == 6
    assert {f["properties"]["category"] for f in amap["features"]} == {"amap_delivery_point"}
    qpv2015 = assert_feature_collection(client.get("/collections/qpv/items?generation=2015&limit=1"))
    assert qpv2015["numberMatched"] == 105
    assert "generation=2015" in link(qpv2015, "next")
    one = assert_feature_collection(client.get("/collections/qpv/items?code=QN06402M"))
    assert [f["id"] for f in one["features"]] == ["2024-QN06402M"]
    assert one["features"][0]["properties"]["name"] == "Hauts de Sainte-Croix - Mounédé"
    none = assert_feature_collection(client.get("/collections/qpv/items?code=QN06402M&generation=2015"))
    assert none["numberMatched"] == 0


def test_feature_by_id_and_links(client: httpx.Client) -> None:
    response = client.get("/collections/qpv/items/2024-QN06401I")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["properties"]["code"] == "QN06401I"
    geometry = shapely.geometry.shape(feature["geometry"])
    assert geometry.contains(shapely.Point(-1.467, 43.499))
    assert link(feature, "collection").endswith("/collections/qpv")


# --- items: datetime ------------------------------------------------------------------------------
def _ids(client: httpx.Client, query: str, collection: str = "actors") -> set[str]:
    body = assert_feature_collection(client.get(f"/collections/{collection}/items?limit=50&{query}"))
    assert body["numberMatched"] == len(body["features"])
    return {f["id"] for f in body["features"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # the extra actors were verified on 2019-06-30, 2021-03-15 and 2020-01-01; demo actors never
        ("2020-01-01/..", {"fiji-west", "unlocated-extra"}),
        ("2020-01-01/", {"fiji-west", "unlocated-extra"}),
        ("../2019-12-31", {"fiji-east"}),
        ("2019-01-01/2020-12-31", {"fiji-east", "unlocated-extra"}),
        ("2019-06-30T00:00:00Z/2021-03-15T12:00:00Z", {"fiji-east", "fiji-west", "unlocated-extra"}),
        ("2020-01-01", {"unlocated-extra"}),
        ("2020-01-01T10:00:00Z", {"unlocated-extra"}),
        ("2020-01-01T23:30:00-02:00", set()),  # 2020-01-02 in UTC
        ("1990-01-01/1999-12-31", set()),
    ],
)
def test_items_datetime_filters_actors_by_their_verification_date(
    client: httpx.Client, value: str, expected: set[str]
) -> None:
    assert _ids(client, f"datetime={value}") == expected


def test_items_datetime_keeps_other_filters_and_paging(client: httpx.Client) -> None:
    assert _ids(client, "datetime=2019-01-01/..&bbox=179,-18,-179,-15") == {"fiji-east", "fiji-west"}
    assert _ids(client, "datetime=2019-01-01/..&category=association") == {"unlocated-extra"}
    first = assert_feature_collection(client.get("/collections/actors/items?datetime=2019-01-01/..&limit=2"))
    assert first["numberMatched"] == 3
    following = link(first, "next")
    assert following is not None
    assert "datetime=2019-01-01%2F.." in following
    second = assert_feature_collection(client.get(following))
    ids = {f["id"] for f in first["features"] + second["features"]}
    assert ids == {"fiji-east", "fiji-west", "unlocated-extra"}


def test_qpv_items_accept_and_ignore_datetime(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/collections/qpv/items?datetime=2020-01-01/.."))
    assert body["numberMatched"] == QPV_COUNT
    doc = client.get("/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"]["/collections/qpv/items"]["get"]["parameters"]}
    assert "ignoré" in params["datetime"]["description"]
    actor_params = {p["name"]: p for p in doc["paths"]["/collections/actors/items"]["get"]["parameters"]}
    assert "last_verified" in actor_params["datetime"]["description"]


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/collections/actors/items?foo=1", "foo"),
        ("/collections/qpv/items?category=market", "category"),  # a filter of another collection
        ("/collections/actors/items?limit=0", "limit"),
        ("/collections/actors/items?limit=ten", "limit"),
        ("/collections/actors/items?offset=-1", "offset"),
        ("/collections/actors/items?bbox=1,2,3", "bbox"),
        ("/collections/actors/items?bbox=a,b,c,d", "bbox"),
        ("/collections/actors/items?bbox=-1,95,1,96", "bbox"),
        ("/collections/actors/items?bbox=-200,40,1,45", "bbox"),
        ("/collections/actors/items?bbox=-1,45,1,44", "bbox"),
        ("/collections/actors/items?bbox=nan,40,1,45", "bbox"),
        ("/collections/actors/items?category=bakery", "category"),
        ("/collections/qpv/items?generation=deux-mille", "generation"),
        ("/collections?bogus=", "bogus"),
        ("/conformance?f=xml", "f"),
        # a parameter that takes one value, given twice (issue 10: one rule everywhere)
        ("/collections/actors/items?limit=1&limit=5", "limit"),
        ("/collections/actors/items?category=market&category=urban_farm", "category"),
        ("/collections/qpv/items?bbox=-1,43,0,44&bbox=1,43,2,44", "bbox"),
        # datetime (OGC API - Features Core)
        ("/collections/actors/items?datetime=2020-13-01", "datetime"),
        ("/collections/actors/items?datetime=hier", "datetime"),
        ("/collections/actors/items?datetime=2021-01-01/2020-01-01", "datetime"),
        ("/collections/actors/items?datetime=../..", "datetime"),
        ("/collections/actors/items?datetime=2020-01-01/2020-02-01/2020-03-01", "datetime"),
        ("/collections/qpv/items?datetime=2020-02-30", "datetime"),
    ],
)
def test_client_mistakes_are_400_problems_naming_the_parameter(
    client: httpx.Client, url: str, field: str
) -> None:
    body = assert_problem(client.get(url), 400)
    assert field in [item["field"] for item in body["errors"]]
    assert body["instance"] == url.split("?")[0]


@pytest.mark.parametrize(
    "url",
    [
        "/collections/nope",
        "/collections/nope/items",
        "/collections/actors/items/nobody",
        "/collections/qpv/items/QN06401I",
    ],
)
def test_unknown_collection_or_feature_is_404_problem(client: httpx.Client, url: str) -> None:
    body = assert_problem(client.get(url), 404)
    assert "inconnu" in body["detail"] or "aucun" in body["detail"]


def test_error_messages_are_french(client: httpx.Client) -> None:
    body = assert_problem(client.get("/collections/actors/items?bbox=-1,95,1,96"), 400)
    assert "hors de [-90, 90]" in body["detail"]
    assert body["title"] == "Requête invalide"


# --- HTTP caching and CORS ----------------------------------------------------------------------
def test_etag_and_304_on_collections_and_items(client: httpx.Client) -> None:
    for url in (
        "/collections",
        "/collections/qpv",
        "/collections/actors/items?limit=3",
        "/collections/actors/items/otsokop",
    ):
        first = client.get(url)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert etag.startswith('"')
        assert etag.endswith('"')
        # one actor can change at any time through the API: caches revalidate it (its ETag)
        expected = "no-cache" if url.endswith("/otsokop") else "max-age"
        assert expected in first.headers["cache-control"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    # another query is another representation
    assert (
        client.get("/collections/actors/items?limit=4").headers["etag"]
        != client.get("/collections/actors/items?limit=3").headers["etag"]
    )


def test_etag_changes_when_the_data_changes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url) as http:
        before = http.get("/collections/actors/items?limit=50")
        etag = before.headers["etag"]
        count = before.json()["numberMatched"]
        store = open_seeded_store(settings)
        extra = actor_frame(
            pd.DataFrame({"id": ["new-market"], "name": ["Nouveau marché"], "category": ["market"]}),
            [shapely.Point(-1.47, 43.49)],
        )
        store.upsert_actors(extra)
        # the collection is rebuilt in the background; until then the previous one is answered,
        # with its own ETag (a 304 for a client holding it)
        deadline = time.monotonic() + 60
        while True:
            after = http.get("/collections/actors/items?limit=50", headers={"If-None-Match": etag})
            if after.status_code == 200 or time.monotonic() > deadline:
                break
            assert after.headers["etag"] == etag
            time.sleep(0.05)
        assert after.status_code == 200
        assert after.headers["etag"] != etag
        assert after.json()["numberMatched"] == count + 1


def test_cors_lets_any_origin_read_by_default(client: httpx.Client) -> None:
    response = client.get("/collections/actors/items", headers={"Origin": "https://partner.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/locate",
        headers={"Origin": "https://partner.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


def test_cors_allow_list_from_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cors_origins=["https://ville.example"])
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url) as http:
        allowed = http.get("/conformance", headers={"Origin": "https://ville.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://ville.example"
        other = http.get("/conformance", headers={"Origin": "https://ailleurs.example"})
        assert "access-control-allow-origin" not in other.headers
        # the landing page varies with Accept and Origin, each named once (issue 14, item 13)
        for accept in ("text/html", "application/json"):
            landing = http.get("/", headers={"Origin": "https://ville.example", "Accept": accept})
            names = [n.strip() for n in landing.headers["vary"].split(",")]
            assert sorted(names) == sorted(set(names))
            assert {"Accept", "Origin"} <= set(names)


# --- documentation ------------------------------------------------------------------------------
#: The filter "open on DAY around TIME" (tests/test_api_residents.py).
OPEN_PARAMETERS = {"open_day", "open_time", "open_tolerance_min"}


def test_openapi_is_3_0_and_documents_problems_not_422(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"] == "3.0.3"
    assert {"/collections", "/collections/qpv/items", "/collections/actors/items/{featureId}"} <= set(
        doc["paths"]
    )
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
            assert "application/problem+json" in operation["responses"]["400"]["content"]
    items = doc["paths"]["/collections/actors/items"]["get"]
    names = {p["name"] for p in items["parameters"]}
    assert names == {"bbox", "datetime", "limit", "offset", "category", "f"} | OPEN_PARAMETERS
    assert "application/geo+json" in items["responses"]["200"]["content"]
    assert '"const"' not in str(doc).replace("'", '"')


def test_docs_page_is_served_with_local_assets(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "cdn" not in page.text.lower()
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000


def test_categories_in_openapi_match_the_model(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    params = doc["paths"]["/collections/actors/items"]["get"]["parameters"]
    category = next(p for p in params if p["name"] == "category")
    schema = category["schema"]
    if "allOf" in schema:
        schema = doc["components"]["schemas"][schema["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert tuple(schema["enum"]) == CATEGORIES
