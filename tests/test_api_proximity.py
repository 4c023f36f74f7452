"""Proximity and coverage endpoints, read over real HTTP from a uvicorn server.

Same data as tests/test_api.py: the Bayonne demo set, the 105 real Occitanie QPVs of 2015, two
actors near the antimeridian and unlocated actors. Distances are checked against geodesic
distances computed here with pyproj (independently of essmap's metric projections).
"""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from pyproj import Geod

from tests.api_support import assert_feature_collection, assert_problem, link

GEOD = Geod(ellps="WGS84")
BAYONNE = (-1.4700, 43.4900)
IN_CITADELLE = (-1.4670, 43.4990)  # inside QN06401I "Maubec - Citadelle" (2024)
TOULOUSE_QPV_POINT = (1.4002, 43.5693)  # inside a Toulouse 2015 QPV (Mirail - Université)
SUPPLY = {"amap_delivery_point", "cooperative_grocery", "urban_farm", "producer_shop", "market"}
MAX_BATCH = 5
MAX_BYTES = 4000
MAX_RESULTS = 12  # points x k


@pytest.fixture(scope="module")
def api_options() -> dict[str, object]:
    return {"max_batch_points": MAX_BATCH, "max_request_bytes": MAX_BYTES, "max_batch_results": MAX_RESULTS}


def geodesic_m(a: tuple[float, float], b: list[float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


# --- /nearest and /within -----------------------------------------------------------------------
def test_nearest_returns_k_actors_sorted_by_distance_with_distance_m(client: httpx.Client) -> None:
    lon, lat = BAYONNE
    body = assert_feature_collection(client.get(f"/nearest?lon={lon}&lat={lat}&k=4"))
    features = body["features"]
    assert len(features) == 4
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances == sorted(distances)
    for feature in features:
        assert feature["geometry"]["type"] == "Point"
        expected = geodesic_m(BAYONNE, feature["geometry"]["coordinates"])
        assert feature["properties"]["distance_m"] == pytest.approx(expected, rel=0.01, abs=1)
        assert feature["properties"]["category_label"]
    # the nearest of all located actors, checked by brute force over the collection
    every = client.get("/collections/actors/items?limit=100").json()["features"]
    located = [f for f in every if f["geometry"] is not None]
    closest = min(located, key=lambda f: geodesic_m(BAYONNE, f["geometry"]["coordinates"]))
    assert features[0]["id"] == closest["id"]


def test_nearest_category_filter_and_max_distance(client: httpx.Client) -> None:
    lon, lat = BAYONNE
    url = f"/nearest?lon={lon}&lat={lat}&k=20&category=amap_delivery_point&category=urban_farm"
    body = assert_feature_collection(client.get(url))
    assert {f["properties"]["category"] for f in body["features"]} == {"amap_delivery_point", "urban_farm"}
    assert len(body["features"]) == 7
    near = assert_feature_collection(client.get(f"/nearest?lon={lon}&lat={lat}&k=20&max_distance_m=600"))
    assert near["features"]
    assert all(f["properties"]["distance_m"] <= 600 for f in near["features"])
    assert len(near["features"]) < 11


def test_within_returns_every_actor_in_the_radius_sorted_page_by_page(client: httpx.Client) -> None:
    lon, lat = BAYONNE
    every = assert_feature_collection(client.get(f"/nearest?lon={lon}&lat={lat}&k=100"))
    expected = [f["id"] for f in every["features"] if f["properties"]["distance_m"] <= 1500]
    assert len(expected) > 3
    url: str | None = f"/within?lon={lon}&lat={lat}&radius_m=1500&limit=3"
    features: list[dict] = []
    pages = 0
    while url:
        body = assert_feature_collection(client.get(url))
        assert body["numberMatched"] == len(expected)
        assert body["numberReturned"] == len(body["features"]) <= 3
        features += body["features"]
        url = link(body, "next")
        pages += 1
    assert pages == -(-len(expected) // 3)
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances == sorted(distances)
    assert all(d <= 1500 for d in distances)
    assert sorted(f["id"] for f in features) == sorted(expected)
    # without limit, a page of the default size (10, from the settings)
    wide = assert_feature_collection(client.get(f"/within?lon={lon}&lat={lat}&radius_m=50000"))
    assert wide["numberReturned"] == 10 < wide["numberMatched"]
    assert link(wide, "next") is not None
    markets = assert_feature_collection(
        client.get(f"/within?lon={lon}&lat={lat}&radius_m=800&category=market")
    )
    assert markets["features"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lon=-1.47&lat=95", "lat"),
        ("lon=-181&lat=43", "lon"),
        ("lon=nan&lat=43", "lon"),
        ("lon=inf&lat=43", "lon"),
        ("lon=abc&lat=43", "lon"),
        ("lon=-1.47", "lat"),
        ("lon=-1.47&lat=43.49&k=0", "k"),
        ("lon=-1.47&lat=43.49&k=101", "k"),
        ("lon=-1.47&lat=43.49&max_distance_m=-5", "max_distance_m"),
        ("lon=-1.47&lat=43.49&max_distance_m=60000", "max_distance_m"),
        ("lon=-1.47&lat=43.49&category=bakery", "category"),
        ("lon=-1.47&lat=43.49&radius_m=100", "radius_m"),  # /nearest has no radius
        ("lon=-1.47&lat=43.49&k=1&k=2", "k"),  # a single value given twice
        ("lon=-1.47&lon=-1.48&lat=43.49", "lon"),
    ],
)
def test_nearest_rejects_bad_parameters_with_400(client: httpx.Client, query: str, field: str) -> None:
    body = assert_problem(client.get(f"/nearest?{query}"), 400)
    assert field in [item["field"] for item in body["errors"]]


@pytest.mark.parametrize("path", ["/nearest", "/within", "/locate"])
def test_proximity_refuses_unknown_and_repeated_parameters(client: httpx.Client, path: str) -> None:
    base = "lon=-1.47&lat=43.49&radius_m=500" if path == "/within" else "lon=-1.47&lat=43.49"
    body = assert_problem(client.get(f"{path}?{base}&colour=red"), 400)
    assert "colour" in body["detail"]
    body = assert_problem(client.get(f"{path}?{base}&lat=43.5"), 400)
    assert "plusieurs fois" in body["detail"]


def test_within_requires_a_positive_bounded_radius(client: httpx.Client) -> None:
    assert_problem(client.get("/within?lon=-1.47&lat=43.49"), 400)
    assert_problem(client.get("/within?lon=-1.47&lat=43.49&radius_m=0"), 400)
    assert_problem(client.get("/within?lon=-1.47&lat=43.49&radius_m=50001"), 400)


# --- /locate -------------------------------------------------------------------------------------
def test_locate_inside_a_qpv_with_nearest_supply(client: httpx.Client) -> None:
    lon, lat = IN_CITADELLE
    response = client.get(f"/locate?lon={lon}&lat={lat}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["band_m"] == 300
    relations = {r["generation"]: r for r in body["neighbourhoods"]}
    assert set(relations) == {2015, 2024}
    assert relations[2024]["relation"] == "inside"
    assert relations[2024]["code"] == "QN06401I"
    assert relations[2024]["distance_m"] == 0
    # the nearest 2015 QPV is in Occitanie, hundreds of kilometres away
    assert relations[2015]["relation"] == "outside"
    assert relations[2015]["distance_m"] > 100_000
    supply = body["nearest_supply"]
    assert len(supply) == 3
    assert {s["category"] for s in supply} <= SUPPLY
    assert [s["distance_m"] for s in supply] == sorted(s["distance_m"] for s in supply)
    assert supply[0]["distance_m"] == pytest.approx(
        geodesic_m(IN_CITADELLE, [supply[0]["lon"], supply[0]["lat"]]), rel=0.01
    )


def test_locate_in_a_real_toulouse_qpv(client: httpx.Client) -> None:
    lon, lat = TOULOUSE_QPV_POINT
    body = client.get(f"/locate?lon={lon}&lat={lat}&k=1").json()
    relations = {r["generation"]: r for r in body["neighbourhoods"]}
    assert relations[2015]["relation"] == "inside"
    assert relations[2015]["code"].startswith("QP031")
    # the demo actors are in Bayonne, about 250 km away: beyond the default 30 km of nearest
    assert body["nearest_supply"] == []


def test_locate_band_around_a_qpv(client: httpx.Client) -> None:
    # 100 m east of the Citadelle outline's easternmost vertex (-1.463732, 43.4992)
    body = client.get("/locate?lon=-1.4625&lat=43.4992").json()
    relation = next(r for r in body["neighbourhoods"] if r["generation"] == 2024)
    assert relation["relation"] == "band"
    assert 0 < relation["distance_m"] <= 300


def test_locate_checks_coordinates(client: httpx.Client) -> None:
    body = assert_problem(client.get("/locate?lon=200&lat=43"), 400)
    assert body["errors"][0]["field"] == "lon"


# --- POST /locate (batch) ------------------------------------------------------------------------
def points(*coords: tuple[float, float]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": f"p{i}", "geometry": {"type": "Point", "coordinates": list(c)}}
            for i, c in enumerate(coords)
        ],
    }


def test_batch_locate_geojson_answers_each_point_in_order(client: httpx.Client) -> None:
    body = points(IN_CITADELLE, TOULOUSE_QPV_POINT, BAYONNE)
    response = client.post(
        "/locate", content=json.dumps(body), headers={"Content-Type": "application/geo+json"}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["count"] == 3
    assert [r["ref"] for r in result["results"]] == ["p0", "p1", "p2"]
    assert [r["index"] for r in result["results"]] == [0, 1, 2]
    single = client.get(f"/locate?lon={IN_CITADELLE[0]}&lat={IN_CITADELLE[1]}&k=1").json()
    first = result["results"][0]
    assert first["neighbourhoods"] == single["neighbourhoods"]
    assert first["nearest_supply"] == single["nearest_supply"]
    toulouse = {r["generation"]: r for r in result["results"][1]["neighbourhoods"]}
    assert toulouse[2015]["relation"] == "inside"


def test_batch_locate_csv_in_and_csv_out(client: httpx.Client) -> None:
    # French spreadsheet style: semicolons and decimal commas
    text = "id;lon;lat\ncitadelle;-1,4670;43,4990\ntoulouse;1,4002;43,5693\n"
    response = client.post("/locate?f=csv&k=1", content=text.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["ref"] for r in rows] == ["citadelle", "toulouse"]
    assert rows[0]["qpv2024_relation"] == "inside"
    assert rows[0]["qpv2024_code"] == "QN06401I"
    assert rows[1]["qpv2015_relation"] == "inside"
    assert float(rows[0]["nearest_supply_distance_m"]) > 0


@pytest.mark.parametrize(
    ("content", "media_type", "status"),
    [
        (b'{"type":"FeatureCollection","features":[', "application/geo+json", 400),
        (b'{"type":"Polygon","coordinates":[]}', "application/geo+json", 400),
        (json.dumps(points((-1.47, 95.0))).encode(), "application/geo+json", 400),
        (
            b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null}]}',
            "application/geo+json",
            400,
        ),
        (b"lon,lat\nabc,43\n", "text/csv", 400),
        (b"name\nsans coordonnees\n", "text/csv", 400),
        (b"<points/>", "application/xml", 415),
        (json.dumps(points(*[BAYONNE] * (MAX_BATCH + 1))).encode(), "application/geo+json", 413),
        (b"lon,lat\n" + b"-1.47,43.49\n" * 400, "text/csv", 413),
    ],
)
def test_batch_locate_refuses_bad_or_oversized_bodies(
    client: httpx.Client, content: bytes, media_type: str, status: int
) -> None:
    response = client.post("/locate", content=content, headers={"Content-Type": media_type})
    body = assert_problem(response, status)
    assert body["detail"]


# --- coverage ------------------------------------------------------------------------------------
def test_coverage_json_has_a_row_per_qpv_and_threshold(client: httpx.Client) -> None:
    response = client.get("/coverage")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["thresholds_m"] == [400, 800]
    assert set(body["supply_categories"]) == SUPPLY
    rows = body["rows"]
    assert len(rows) == 107 * 2
    citadelle = [r for r in rows if r["code"] == "QN06401I"]
    assert [r["threshold_m"] for r in citadelle] == [400, 800]
    assert citadelle[0]["area_share"] <= citadelle[1]["area_share"]
    assert citadelle[0]["method"] in {"grid", "area", "none"}
    assert isinstance(citadelle[0]["low_access"], bool)
    # no supply point in Occitanie: its QPVs are not covered at all
    toulouse = next(r for r in rows if r["code"].startswith("QP031"))
    assert toulouse["area_share"] == 0
    assert toulouse["supply_points"] == 0


def test_coverage_csv_and_single_threshold(client: httpx.Client) -> None:
    response = client.get("/coverage?threshold_m=400&f=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 107
    assert {"code", "generation", "threshold_m", "area_share", "method", "low_access"} <= set(rows[0])
    assert {float(r["threshold_m"]) for r in rows} == {400.0}


def test_coverage_etag_and_304(client: httpx.Client) -> None:
    first = client.get("/coverage?threshold_m=800")
    again = client.get("/coverage?threshold_m=800", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "url",
    [
        "/coverage?threshold_m=0",
        "/coverage?threshold_m=9000",
        "/coverage?threshold_m=abc",
        "/coverage?f=xlsx",
    ],
)
def test_coverage_rejects_bad_thresholds(client: httpx.Client, url: str) -> None:
    assert_problem(client.get(url), 400)


def test_coverage_gaps_are_polygons_inside_the_qpvs(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/coverage/gaps?threshold_m=400"))
    by_id = {f["id"]: f for f in body["features"]}
    assert "2024-QN06402M" in by_id  # partly beyond 400 m of every supply point
    for feature in body["features"]:
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
        assert feature["properties"]["threshold_m"] == 400
        assert feature["properties"]["area_m2"] > 0


def test_suggestions_rank_new_sites(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/suggestions?count=2&threshold_m=400&generation=2024"))
    features = body["features"]
    assert len(features) == 2
    assert [f["properties"]["rank"] for f in features] == list(range(1, len(features) + 1))
    gains = [f["properties"]["gain_residents"] for f in features]
    assert gains == sorted(gains, reverse=True)
    assert all(f["geometry"]["type"] == "Point" for f in features)


@pytest.mark.parametrize(
    "url", ["/suggestions?count=0", "/suggestions?count=101", "/suggestions?generation=1999"]
)
def test_suggestions_reject_bad_parameters(client: httpx.Client, url: str) -> None:
    assert_problem(client.get(url), 400)


# --- honest answers far from the data (one metric-CRS rule, bounded nearest) ---------------------
def test_swapped_coordinates_are_a_400_naming_the_swap(client: httpx.Client) -> None:
    for path in ("/nearest", "/within", "/locate"):
        query = "lon=43.4929&lat=-1.4748" + ("&radius_m=1000" if path == "/within" else "")
        body = assert_problem(client.get(f"{path}?{query}"), 400)
        assert "hors des territoires" in body["detail"]
        assert "longitude et latitude inversées" in body["detail"]
        assert body["errors"][0]["field"] == "lon"


def test_nearest_far_from_every_actor_says_how_far(client: httpx.Client) -> None:
    paris = (2.3522, 48.8566)
    body = assert_feature_collection(client.get(f"/nearest?lon={paris[0]}&lat={paris[1]}"))
    assert body["features"] == []
    assert body["numberReturned"] == 0
    assert body["max_distance_m"] == 30_000
    # the nearest actor is the Toulouse one or a Bayonne one; all lie hundreds of kilometres away
    assert 400_000 < body["beyond_m"] < 800_000
    assert body["detail"].startswith("Aucun acteur à moins de 30 km ; le plus proche est à ")
    near = assert_feature_collection(client.get(f"/nearest?lon={BAYONNE[0]}&lat={BAYONNE[1]}&k=1"))
    assert near["numberReturned"] == 1
    assert "beyond_m" not in near
    assert near["max_distance_m"] == 30_000


def test_batch_refuses_points_outside_every_territory_naming_each(client: httpx.Client) -> None:
    body = points(BAYONNE, (43.49, -1.47), (2.0, 70.0))
    problem = assert_problem(client.post("/locate", json=body), 400)
    rows = {(e["row"], e["field"]) for e in problem["errors"]}
    assert rows == {(2, "lon"), (3, "lon")}  # feature numbers from 1, as imports name them
    assert "inversées" in problem["errors"][0]["message"]


def test_batch_csv_names_every_bad_row_and_the_right_field(client: httpx.Client) -> None:
    csv_body = "id,lon,lat\na,-1.47,95\nb,abc,43\n"
    problem = assert_problem(
        client.post("/locate", content=csv_body, headers={"content-type": "text/csv"}), 400
    )
    assert {(e["row"], e["field"]) for e in problem["errors"]} == {(2, "lat"), (3, "lon")}
