"""The API's planner answers (issue 14): geometry_source on every answer built on a QPV outline,
suggestions that say why they are fewer, rounded coordinates, the planner map as PNG, French
OpenAPI summaries from the catalogues, and headers (Vary, HTML errors for browsers)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from essmap.i18n import catalogue
from essmap.maps.static import image_size
from essmap.settings import Settings
from tests.api_support import assert_feature_collection, assert_problem


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo set alone (two schematic QPVs of 2024), without background tiles."""
    return Settings(data_dir=tmp_path_factory.mktemp("planner-api") / "data", tile_url="")


def test_coverage_rows_and_gaps_carry_the_outline_source(client: httpx.Client) -> None:
    rows = client.get("/coverage?threshold_m=400").json()["rows"]
    assert {r["geometry_source"] for r in rows} == {"schematic"}
    by_code = {r["code"]: r for r in rows}
    assert by_code["QN06401I"]["nearest_supply_m"] == 0.0  # supply points inside: 0 m, not the centre
    table = list(csv.DictReader(io.StringIO(client.get("/coverage?threshold_m=400&f=csv").text)))
    assert {r["geometry_source"] for r in table} == {"schematic"}
    gaps = assert_feature_collection(client.get("/coverage/gaps?threshold_m=400"))
    assert gaps["features"]
    assert {f["properties"]["geometry_source"] for f in gaps["features"]} == {"schematic"}


def test_suggestions_say_why_they_are_fewer_with_rounded_coordinates(client: httpx.Client) -> None:
    body = assert_feature_collection(client.get("/suggestions?threshold_m=400"))
    assert body["numberRequested"] == 5  # the default, as the CLI's
    assert body["numberReturned"] == len(body["features"]) == 2
    assert body["detail"].startswith("2 sites proposés sur 5 demandés : tous les habitants")
    for feature in body["features"]:
        assert feature["properties"]["geometry_source"] == "schematic"
        for value in feature["geometry"]["coordinates"]:
            assert round(value, 6) == value
    one = assert_feature_collection(client.get("/suggestions?threshold_m=400&count=1"))
    assert one["numberReturned"] == 1
    assert "detail" not in one


def test_locate_names_the_outline_source(client: httpx.Client) -> None:
    body = client.get("/locate?lon=-1.467&lat=43.499").json()
    (relation,) = body["neighbourhoods"]
    assert relation["relation"] == "inside"
    assert relation["geometry_source"] == "schematic"
    batch = client.post(
        "/locate?f=csv", content="id,lon,lat\na,-1.467,43.499\n", headers={"Content-Type": "text/csv"}
    )
    assert batch.status_code == 200, batch.text
    (row,) = csv.DictReader(io.StringIO(batch.text))
    assert row["qpv2024_geometry_source"] == "schematic"


def test_planner_map_as_png(client: httpx.Client) -> None:
    response = client.get("/map/planner.png?threshold_m=400")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert 'filename="carte_amenageurs_400m.png"' in response.headers["content-disposition"]
    width, height = image_size(response.content)
    assert width > 800
    assert height > 600
    assert_problem(client.get("/map/planner.png?qpv=QN99999Z"), 404)
    assert_problem(client.get("/map/planner.png?threshold_m=abc"), 400)


def test_openapi_summaries_are_french_from_the_catalogues(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    french = catalogue("fr")
    assert french is not None
    templates = {str(m.id) for m in french if isinstance(m.id, str)}
    checked = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            summary = operation["summary"]
            template = summary.replace("« qpv »", "« {id} »").replace("« actors »", "« {id} »")
            assert template in templates, f"{method.upper()} {path}: {summary!r} is not in the catalogue"
            # the handlers' docstrings (English) are not published
            assert "description" not in operation or "the " not in operation["description"].lower()
            checked += 1
    assert checked >= 20
    assert doc["paths"]["/map/planner.png"]["get"]["summary"].startswith("Carte des aménageurs en image PNG")


def test_headers_vary_once_and_html_errors_for_browsers(client: httpx.Client) -> None:
    landing = client.get("/", headers={"Accept": "text/html", "Origin": "http://partenaire.example"})
    parts = [p.strip() for p in landing.headers["vary"].split(",")]
    assert "Accept" in parts
    assert len(parts) == len(set(parts)), landing.headers["vary"]
    page = client.get("/map/planner?threshold_m=abc", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page.text
    assert "Requête invalide" in page.text
    assert "Content-Security-Policy" in page.headers
    assert "Accept" in page.headers["vary"]
    problem = assert_problem(client.get("/map/planner?threshold_m=abc"), 400)
    assert problem["errors"][0]["field"] == "threshold_m"
    docs = client.get("/docs")
    assert '<html lang="fr">' in docs.text
