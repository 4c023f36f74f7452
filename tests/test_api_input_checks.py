"""Checks of what clients send: actors' web addresses, the fields a public proposal may carry,
control characters, and French messages for malformed requests (real server, real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api import create_app
from essmap.settings import Settings
from essmap.store import GeoPackageStore
from tests.api_support import assert_problem, background_server
from tests.cli_support import run
from tests.test_api_edits import ITEMS, NEW_PLACE, Server, seed

BAD_WEBSITES = ("javascript:alert(3)", "data:text/html,<b>x</b>", "/contact", "//evil.example/x")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("checks") / "data", tile_url=None)
    keys = seed(settings)
    with background_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield Server(http, keys, settings)


def _fields(problem: dict[str, object]) -> set[str]:
    errors = problem["errors"]
    assert isinstance(errors, list)
    return {str(e["field"]) for e in errors}


def _patch(server: Server, actor_id: str, properties: dict[str, object]) -> httpx.Response:
    etag = server.http.get(f"{ITEMS}/{actor_id}").headers["etag"]
    return server.http.patch(
        f"{ITEMS}/{actor_id}",
        json={"properties": properties},
        headers=server.auth(**{"If-Match": etag, "Content-Type": "application/merge-patch+json"}),
    )


# --- web addresses ------------------------------------------------------------------------------
@pytest.mark.parametrize("website", BAD_WEBSITES)
def test_a_website_that_is_not_http_is_refused_in_proposals_and_edits(server: Server, website: str) -> None:
    http = server.http
    place = {**NEW_PLACE, "properties": {**NEW_PLACE["properties"], "website": website}}
    new = assert_problem(http.post("/proposals", json={"kind": "new", "feature": place}), 400)
    assert _fields(new) == {"website"}
    assert "adresse web http(s) attendue" in new["detail"]
    change = {"kind": "change", "actor_id": "otsokop", "feature": {"properties": {"website": website}}}
    assert _fields(assert_problem(http.post("/proposals", json=change), 400)) == {"website"}
    assert _fields(assert_problem(_patch(server, "otsokop", {"website": website}), 400)) == {"website"}
    assert http.get(f"{ITEMS}/otsokop").json()["properties"].get("website") != website
    assert http.get("/proposals", headers=server.auth("moderator")).json()["proposals"] == []


def test_a_web_address_without_scheme_gets_https_and_an_http_one_is_kept(server: Server) -> None:
    patched = _patch(server, "otsokop", {"website": "www.otsokop.org"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["properties"]["website"] == "https://www.otsokop.org"
    patched = _patch(server, "otsokop", {"website": "otsokop.org/horaires?jour=mar"})
    assert patched.json()["properties"]["website"] == "https://otsokop.org/horaires?jour=mar"
    patched = _patch(server, "otsokop", {"website": "HTTP://otsokop.org"})
    assert patched.json()["properties"]["website"] == "HTTP://otsokop.org"


def test_a_csv_import_names_the_bad_website_and_reports_the_completed_one(
    demo_store: GeoPackageStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "sites.csv"
    bad.write_text(
        "name,category,lon,lat,site_web\n"
        "Épicerie A,cooperative_grocery,-1.47,43.49,https://a.example.fr\n"
        "Épicerie B,cooperative_grocery,-1.47,43.49,javascript:alert(3)\n",
        encoding="utf-8",
    )
    before = demo_store.path.read_bytes()
    code, _, err = run(capsys, "import", "actors", str(bad))
    assert code == 2
    expected = "sites.csv, ligne 3, champ « site_web » : « javascript:alert(3) » : adresse web http(s)"
    assert expected in err
    assert demo_store.path.read_bytes() == before
    good = tmp_path / "bons.csv"
    good.write_text(
        "name,category,lon,lat,site_web\nÉpicerie C,cooperative_grocery,-1.47,43.49,www.epicerie-c.fr\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "import", "actors", str(good))
    assert code == 0, err
    assert "bons.csv, ligne 2, champ « site_web » : adresse web « www.epicerie-c.fr » complétée" in " ".join(
        err.split()
    )
    assert (
        GeoPackageStore(demo_store.path).get_actor("epicerie-c").fields["website"]
        == "https://www.epicerie-c.fr"
    )


# --- what a public proposal may carry ---------------------------------------------------------
@pytest.mark.parametrize("field", ["last_verified", "source", "coordinates_source", "version"])
def test_a_proposal_may_not_set_managed_fields(server: Server, field: str) -> None:
    http = server.http
    value = "2999-01-01" if field == "last_verified" else "x"
    place = {**NEW_PLACE, "properties": {**NEW_PLACE["properties"], field: value}}
    new = assert_problem(http.post("/proposals", json={"kind": "new", "feature": place}), 400)
    assert _fields(new) == {field}
    change = {"kind": "change", "actor_id": "otsokop", "feature": {"properties": {field: value}}}
    assert _fields(assert_problem(http.post("/proposals", json=change), 400)) == {field}
    assert http.get("/proposals", headers=server.auth("moderator")).json()["proposals"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "report", "actor_id": "otsokop", "message": "ok\u0000\u0007"}, "message"),
        ({"kind": "report", "actor_id": "otsokop", "message": "ok", "contact": "a@b.fr\u001b"}, "contact"),
        ({"kind": "report", "actor_id": "otsokop", "message": "ok", "contact": "a@b.fr\nb@c.fr"}, "contact"),
        ({"kind": "report", "actor_id": "otso\u0000kop", "message": "ok"}, "actor_id"),
    ],
)
def test_control_characters_are_refused_in_proposals(
    server: Server, body: dict[str, object], field: str
) -> None:
    problem = assert_problem(server.http.post("/proposals", json=body), 400)
    assert _fields(problem) == {field}
    assert "caractère de contrôle" in problem["detail"]
    assert server.http.get("/proposals", headers=server.auth("moderator")).json()["proposals"] == []


def test_a_message_on_several_lines_is_accepted_and_a_note_with_a_nul_is_refused(server: Server) -> None:
    http = server.http
    sent = http.post(
        "/proposals", json={"kind": "report", "actor_id": "otsokop", "message": "ligne 1\nligne 2"}
    )
    assert sent.status_code == 201, sent.text
    url = f"/proposals/{sent.json()['id']}/refuse"
    problem = assert_problem(
        http.post(url, json={"note": "non\u0000"}, headers=server.auth("moderator")), 400
    )
    assert _fields(problem) == {"note"}
    assert http.post(url, json={"note": "doublon"}, headers=server.auth("moderator")).status_code == 200


# --- French messages for malformed requests ------------------------------------------------------
PROPOSAL_MEMBERS = "kind, actor_id, feature, message, contact, honeypot"


@pytest.mark.parametrize("member", ["extra", "patch"])
def test_an_unknown_member_of_a_proposal_lists_the_accepted_members(server: Server, member: str) -> None:
    body = {"kind": "report", "actor_id": "otsokop", "message": "x", member: 1}
    problem = assert_problem(server.http.post("/proposals", json=body), 400)
    assert problem["errors"] == [
        {"field": member, "message": f"membre inconnu ; membres acceptés : {PROPOSAL_MEMBERS}"}
    ]
    assert "aucun" not in problem["detail"]


def test_an_unknown_query_parameter_still_lists_the_parameters(server: Server) -> None:
    problem = assert_problem(server.http.get("/nearest", params={"lon": -1.47, "lat": 43.49, "kk": 3}), 400)
    message = problem["errors"][0]["message"]
    assert message.startswith("paramètre inconnu ; paramètres acceptés : ")
    assert "lon" in message


@pytest.mark.parametrize(("path", "name"), [("/geocode", "q"), ("/nearest", "address")])
def test_a_too_long_text_parameter_is_told_in_french_and_not_echoed_whole(
    server: Server, path: str, name: str
) -> None:
    value = "rue " + "x" * 296
    problem = assert_problem(server.http.get(path, params={name: value}), 400)
    [error] = problem["errors"]
    assert error["field"] == name
    assert error["message"].startswith("200 caractères au plus (reçu : « rue xxx")
    assert "300 caractères en tout" in error["message"]
    assert value not in problem["detail"]
    assert len(problem["detail"]) < 200
    assert "should" not in problem["detail"]


@pytest.mark.parametrize("body", ["[]", "null", "3", '"texte"'])
def test_a_proposal_that_is_not_an_object_is_told_in_french(server: Server, body: str) -> None:
    response = server.http.post("/proposals", content=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 400)
    assert problem["errors"][0]["message"].startswith("un objet JSON est attendu")
    assert "Input should" not in problem["detail"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/locate", "application/geo+json"), ("/proposals", "application/json")],
)
def test_broken_json_says_where_in_french(server: Server, path: str, content_type: str) -> None:
    body = '{"type": "FeatureCollection"\n "features": []}'
    response = server.http.post(path, content=body, headers={"Content-Type": content_type})
    problem = assert_problem(response, 400)
    assert "JSON invalide : ligne 2, colonne 2" in problem["detail"]
    assert "Expecting" not in problem["detail"]


# --- POST /locate: rows named as imports name them ---------------------------------------------
def _locate_csv(server: Server, body: str, **params: str) -> httpx.Response:
    return server.http.post("/locate", content=body, params=params, headers={"Content-Type": "text/csv"})


def test_batch_rows_are_csv_file_lines_and_geojson_feature_numbers(server: Server) -> None:
    swapped = _locate_csv(server, "lon,lat\n-1.4748,43.4929\n43.49,-1.47\n-1.466,43.499\n")
    problem = assert_problem(swapped, 400)
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [(3, "lon")]
    assert "corps de la requête, ligne 3" in problem["detail"]
    unreadable = assert_problem(_locate_csv(server, "lon,lat\n-1.4748,43.4929\nabc,43.49\n"), 400)
    assert [(e["row"], e["field"]) for e in unreadable["errors"]] == [(3, "lon")]
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": c}}
        for c in ([-1.4748, 43.4929], [43.49, -1.47], [-1.466, 43.499])
    ]
    swapped_feature = server.http.post("/locate", json={"type": "FeatureCollection", "features": features})
    assert [(e["row"], e["field"]) for e in assert_problem(swapped_feature, 400)["errors"]] == [(2, "lon")]
    features[0] = {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x", 1]}}
    bad_shape = server.http.post("/locate", json={"type": "FeatureCollection", "features": features})
    assert [e["row"] for e in assert_problem(bad_shape, 400)["errors"]] == [1]


def test_batch_with_x_y_columns_takes_the_crs_parameter(server: Server) -> None:
    body = "id,x,y\na,338093.536,6276236.597\n"  # -1.4748, 43.4929 in Lambert-93
    problem = assert_problem(_locate_csv(server, body), 400)
    assert "précisez le paramètre crs de la requête (par exemple EPSG:2154)" in problem["detail"]
    assert "--crs" not in problem["detail"]
    answered = _locate_csv(server, body, crs="EPSG:2154")
    assert answered.status_code == 200, answered.text
    [result] = answered.json()["results"]
    assert (round(result["lon"], 5), round(result["lat"], 5)) == (-1.4748, 43.4929)
    geojson = server.http.post(
        "/locate", params={"crs": "EPSG:2154"}, json={"type": "FeatureCollection", "features": []}
    )
    assert _fields(assert_problem(geojson, 400)) == {"crs"}


# --- keys ----------------------------------------------------------------------------------------
def test_a_request_without_a_key_is_told_which_key_it_needs(server: Server) -> None:
    http = server.http
    listing = assert_problem(http.get("/proposals"), 401)
    assert listing["detail"].startswith("clé de modérateur requise pour lire les propositions")
    one = assert_problem(http.get("/proposals/any"), 401)
    assert one["detail"].startswith("clé de modérateur requise pour lire les propositions")
    decide = assert_problem(http.post("/proposals/any/accept"), 401)
    assert decide["detail"].startswith("clé de modérateur requise pour traiter les propositions")
    write = assert_problem(http.post(ITEMS, json=NEW_PLACE), 401)
    assert write["detail"].startswith("clé d'API requise pour modifier les données")
    assert "Authorization: Bearer" in write["detail"]


# --- moderation: values for people -----------------------------------------------------------------
def test_proposals_carry_french_labels_of_their_values(server: Server) -> None:
    http = server.http
    change = {
        "kind": "change",
        "actor_id": "otsokop",
        "feature": {"properties": {"category": "market", "location_precision": "building"}},
    }
    sent = http.post("/proposals", json=change)
    assert sent.status_code == 201, sent.text
    [view] = http.get("/proposals", headers=server.auth("moderator")).json()["proposals"]
    texts = {d["field"]: (d["before_text"], d["after_text"]) for d in view["differences"]}
    assert texts["category"] == ("Épicerie coopérative", "Marché")
    assert texts["location_precision"][1] == "bâtiment"
    url = f"/proposals/{sent.json()['id']}/refuse"
    assert http.post(url, headers=server.auth("moderator")).status_code == 200
