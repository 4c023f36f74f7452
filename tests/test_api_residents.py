"""Residents' questions in the API: address search, answers from an address, the filter "open on DAY
around TIME", schedules and next pick-ups in features, calendar files, batches of addresses.

A real uvicorn server on the API test data, with the BAN-format test addresses imported and two
demo actors given a weekly schedule (tests/api_support.add_resident_data).
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import httpx
import icalendar
import pandas as pd
import pytest

from essmap.schedules import PARIS
from essmap.settings import Settings
from tests.api_support import RESIDENT_SCHEDULES, assert_problem

LATTRE = "12 Avenue de Lattre de Tassigny 64100 Bayonne"


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from tests.api_support import add_resident_data, populate

    folder = tmp_path_factory.mktemp("residents")
    settings = populate(folder / "data")
    add_resident_data(settings, folder / "ban")
    return settings


# --- /geocode -------------------------------------------------------------------------------------
def test_geocode_answers_in_the_national_service_format(client: httpx.Client) -> None:
    response = client.get("/geocode", params={"q": "12 av de lattre de tassigny bayonne", "limit": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["query"] == "12 av de lattre de tassigny bayonne"
    assert body["limit"] == 3
    best = body["features"][0]
    assert best["properties"]["label"] == LATTRE
    assert best["properties"]["type"] == "housenumber"
    assert best["properties"]["postcode"] == "64100"
    assert best["geometry"]["type"] == "Point"
    assert 0 < best["properties"]["score"] <= 1


def test_geocode_completes_the_word_being_typed_and_is_silent_on_nonsense(client: httpx.Client) -> None:
    typed = client.get("/geocode", params={"q": "rue des tonnel"}).json()
    assert typed["features"]
    assert all("Tonneliers" in f["properties"]["label"] for f in typed["features"])
    whole = client.get("/geocode", params={"q": "rue des tonnel", "autocomplete": "false"}).json()
    assert not any("Tonneliers" in f["properties"]["label"] for f in whole["features"])
    nothing = client.get("/geocode", params={"q": "xqzwv plop"})
    assert nothing.status_code == 200
    assert nothing.json()["features"] == []


def test_geocode_refuses_bad_parameters(client: httpx.Client) -> None:
    assert_problem(client.get("/geocode"), 400)
    assert_problem(client.get("/geocode", params={"q": ""}), 400)
    assert_problem(client.get("/geocode", params={"q": "bayonne", "limit": 0}), 400)
    assert_problem(client.get("/geocode", params={"q": "x" * 201}), 400)


# --- answers from an address --------------------------------------------------------------------
def test_nearest_from_an_address_says_which_address_was_understood(client: httpx.Client) -> None:
    body = client.get("/nearest", params={"address": "12 av. de Lattre de Tassigny, Bayonne", "k": 2}).json()
    understood = body["address"]
    assert understood["query"] == "12 av. de Lattre de Tassigny, Bayonne"
    assert understood["label"] == LATTRE
    same = client.get("/nearest", params={"lon": understood["lon"], "lat": understood["lat"], "k": 2}).json()
    assert [f["id"] for f in body["features"]] == [f["id"] for f in same["features"]]
    assert body["features"][0]["id"] == "otsokop"  # 60 m from that address
    assert "address" not in same


def test_within_from_an_address(client: httpx.Client) -> None:
    body = client.get("/within", params={"address": "1 rue des Tonneliers Bayonne", "radius_m": 200}).json()
    assert body["address"]["label"].startswith("1 Rue des Tonneliers")
    assert [f["id"] for f in body["features"]] == ["amap-patxoki"]


def test_an_address_that_matches_nothing_is_a_404_problem(client: httpx.Client) -> None:
    problem = assert_problem(client.get("/nearest", params={"address": "xqzwv plop"}), 404)
    assert "xqzwv plop" in problem["detail"]
    assert_problem(client.get("/within", params={"address": "xqzwv", "radius_m": 100}), 404)


def test_a_point_and_an_address_or_neither_is_a_400(client: httpx.Client) -> None:
    both = assert_problem(
        client.get("/nearest", params={"address": "Bayonne", "lon": -1.47, "lat": 43.49}), 400
    )
    assert both["errors"][0]["field"] == "address"
    neither = assert_problem(client.get("/nearest", params={"k": 2}), 400)
    assert neither["errors"][0]["field"] == "lon"
    assert_problem(client.get("/nearest", params={"lon": -1.47}), 400)


# --- schedules in answers -----------------------------------------------------------------------
def test_features_carry_schedule_next_pickup_and_verification(client: httpx.Client) -> None:
    feature = client.get("/collections/actors/items/amap-patxoki").json()
    props = feature["properties"]
    assert props["schedule"] == RESIDENT_SCHEDULES["amap-patxoki"]
    assert props["schedule_description"].startswith("Le mardi de 18h30 à 19h30")
    assert props["schedule_structured"]["slots"] == [{"day": "mar", "start": "18:30", "end": "19:30"}]
    start = datetime.fromisoformat(props["next_pickup"]["start"])
    end = datetime.fromisoformat(props["next_pickup"]["end"])
    assert start.utcoffset() is not None  # ISO 8601 with its offset
    local = start.astimezone(PARIS)
    assert (local.weekday(), local.hour, local.minute) == (1, 18, 30)
    assert end > datetime.now(PARIS)
    assert props["next_pickup_description"].startswith("mardi ")
    assert props["next_pickup_description"].endswith("18h30–19h30")
    assert "last_verified" in props
    unscheduled = client.get("/collections/actors/items/otsokop").json()["properties"]
    assert unscheduled["next_pickup"] is None
    assert unscheduled["schedule_description"] is None
    verified = client.get("/collections/actors/items/fiji-east").json()["properties"]
    assert verified["last_verified"] == "2019-06-30"


def test_proximity_answers_carry_the_next_pickup(client: httpx.Client) -> None:
    body = client.get("/nearest", params={"lon": -1.4722, "lat": 43.4916, "k": 1}).json()
    props = body["features"][0]["properties"]
    assert body["features"][0]["id"] == "amap-patxoki"
    assert props["next_pickup_description"].endswith("18h30–19h30")
    assert props["distance_m"] == 0.0
    page = client.get("/within", params={"lon": -1.4722, "lat": 43.4916, "radius_m": 50}).json()
    assert page["features"][0]["properties"]["next_pickup"] == props["next_pickup"]


def test_items_with_next_pickups_still_answer_304(client: httpx.Client) -> None:
    first = client.get("/collections/actors/items", params={"limit": 50})
    again = client.get(
        "/collections/actors/items", params={"limit": 50}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


# --- open on DAY around TIME --------------------------------------------------------------------
def test_open_filter_on_nearest_within_and_items(client: httpx.Client) -> None:
    tuesday = {"open_day": "mardi", "open_time": "18h45"}
    near = client.get("/nearest", params={"lon": -1.47, "lat": 43.49, "k": 3, **tuesday}).json()
    assert [f["id"] for f in near["features"]] == ["amap-patxoki"]
    assert near["open"] == {"day": "mardi", "time": "18h45", "tolerance_min": 30}
    within = client.get("/within", params={"lon": -1.47, "lat": 43.49, "radius_m": 5000, **tuesday}).json()
    assert [f["id"] for f in within["features"]] == ["amap-patxoki"]
    items = client.get("/collections/actors/items", params={"open_day": "jeu", "open_time": "19:00"}).json()
    assert [f["id"] for f in items["features"]] == ["amap-mvc-balichon"]
    assert items["numberMatched"] == 1
    # 17:45 is 45 minutes before the Tuesday slot: outside 30 minutes, inside 60
    early = {"open_day": "mar", "open_time": "17:45"}
    assert client.get("/collections/actors/items", params=early).json()["features"] == []
    wider = client.get("/collections/actors/items", params={**early, "open_tolerance_min": 60}).json()
    assert [f["id"] for f in wider["features"]] == ["amap-patxoki"]


def test_open_filter_with_nothing_open_says_so(client: httpx.Client) -> None:
    body = client.get(
        "/nearest", params={"lon": -1.47, "lat": 43.49, "open_day": "dim", "open_time": "03:00"}
    ).json()
    assert body["features"] == []
    assert body["numberReturned"] == 0
    assert "Aucun acteur" in body["detail"]


def test_open_filter_refuses_bad_values(client: httpx.Client) -> None:
    day = assert_problem(
        client.get(
            "/nearest", params={"lon": -1.47, "lat": 43.49, "open_day": "funday", "open_time": "18:00"}
        ),
        400,
    )
    assert day["errors"][0]["field"] == "open_day"
    time = assert_problem(
        client.get("/collections/actors/items", params={"open_day": "mar", "open_time": "25:00"}), 400
    )
    assert time["errors"][0]["field"] == "open_time"
    alone = assert_problem(
        client.get("/within", params={"lon": -1.47, "lat": 43.49, "radius_m": 100, "open_day": "mar"}), 400
    )
    assert alone["errors"][0]["field"] == "open_time"
    assert_problem(
        client.get(
            "/collections/actors/items",
            params={"open_day": "mar", "open_time": "18:00", "open_tolerance_min": -1},
        ),
        400,
    )


# --- calendar files -----------------------------------------------------------------------------
def test_an_actor_calendar_is_an_icalendar_file_matching_its_schedule(client: httpx.Client) -> None:
    response = client.get("/collections/actors/items/amap-patxoki/ical")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "amap-patxoki.ics" in response.headers["content-disposition"]
    calendar = icalendar.Calendar.from_ical(response.content)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    event = events[0]
    assert str(event["SUMMARY"]) == "AMAP Patxoki"
    assert event["RRULE"]["BYDAY"] == ["TU"]
    start = event["DTSTART"].dt
    assert (start.hour, start.minute) == (18, 30)
    assert str(start.tzinfo) == "Europe/Paris"


def test_calendar_of_an_actor_without_schedule_or_unknown_is_a_404(client: httpx.Client) -> None:
    assert_problem(client.get("/collections/actors/items/otsokop/ical"), 404)
    assert_problem(client.get("/collections/actors/items/nobody/ical"), 404)


# --- batches of addresses -----------------------------------------------------------------------
def test_batch_rows_with_addresses_csv(client: httpx.Client) -> None:
    body = "id,address\nhome,12 av de Lattre de Tassigny Bayonne\nwork,1 rue des Tonneliers Bayonne\n"
    response = client.post("/locate", content=body, headers={"Content-Type": "text/csv"}, params={"f": "csv"})
    assert response.status_code == 200
    table = pd.read_csv(io.StringIO(response.text))
    assert list(table["ref"]) == ["home", "work"]
    assert table.loc[0, "address_label"] == LATTRE
    assert table.loc[1, "nearest_supply_id"] == "amap-patxoki"
    as_json = client.post("/locate", content=body, headers={"Content-Type": "text/csv"}).json()
    assert as_json["results"][0]["address"]["label"] == LATTRE
    assert as_json["results"][0]["lon"] == pytest.approx(-1.473975)


def test_batch_geojson_features_with_null_geometry_and_an_address(client: httpx.Client) -> None:
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "a",
                "geometry": None,
                "properties": {"address": "1 rue des Tonneliers Bayonne"},
            },
            {"type": "Feature", "id": "b", "geometry": {"type": "Point", "coordinates": [-1.4655, 43.495]}},
        ],
    }
    body = client.post("/locate", json=points, headers={"Content-Type": "application/geo+json"}).json()
    first, second = body["results"]
    assert first["address"]["label"].startswith("1 Rue des Tonneliers")
    assert first["nearest_supply"][0]["id"] == "amap-patxoki"
    assert "address" not in second


def test_batch_names_the_row_whose_address_is_not_found(client: httpx.Client) -> None:
    body = "id,address\nok,1 rue des Tonneliers Bayonne\nlost,xqzwv plop\n"
    problem = assert_problem(client.post("/locate", content=body, headers={"Content-Type": "text/csv"}), 400)
    assert problem["errors"] == [
        {"field": "address", "row": 3, "message": "adresse « xqzwv plop » introuvable"}  # file line
    ]
    empty = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": None, "properties": {}}],
    }
    problem = assert_problem(
        client.post("/locate", json=empty, headers={"Content-Type": "application/geo+json"}), 400
    )
    assert problem["errors"][0]["field"] == "address"


def test_address_search_without_addresses_is_a_503_that_says_what_to_do(tmp_path: Path) -> None:
    from api import create_app
    from tests.api_support import assert_problem, background_server, populate

    settings = populate(tmp_path / "data")  # no address imported, no web service set
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        for path in ("/geocode?q=rue+de+belfort", "/nearest?address=rue+de+belfort"):
            body = assert_problem(http.get(path), 503)
            assert "recherche d'adresses n'est pas disponible" in body["detail"]
            assert "lon, lat" in body["detail"]
        assert http.get("/nearest?lon=-1.47&lat=43.49").status_code == 200
