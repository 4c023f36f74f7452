"""The residents' commands, run as real subprocesses: import addresses, geocode (local index and
web service), an actor's schedule and calendar file, actors open at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import icalendar
import pytest

from essmap.schedules import PARIS, parse_schedule, pickups_between
from tests.ban_support import SMALL_SET, address_service, ban_rows, write_ban


def essmap(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "ESSMAP_GEOCODER_URL"}
    environment = {**inherited, "ESSMAP_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "essmap", *args], env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def with_addresses(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the demo set and the test addresses imported."""
    folder = tmp_path_factory.mktemp("residents")
    ban = write_ban(folder / "adresses-64.csv", ban_rows(SMALL_SET))
    result = essmap(folder / "data", "import", "addresses", str(ban), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["kind"], report["created"]) == ("addresses", len(ban_rows(SMALL_SET)))
    return folder / "data"


def test_geocode_json_is_geojson_in_the_service_format(with_addresses: Path) -> None:
    result = essmap(
        with_addresses, "geocode", "12 av. de lattre de tassigny bayonne", "--json", "--limit", "2"
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["type"] == "FeatureCollection"
    assert body["limit"] == 2
    first = body["features"][0]
    assert first["properties"]["label"] == "12 Avenue de Lattre de Tassigny 64100 Bayonne"
    assert first["properties"]["type"] == "housenumber"
    assert first["geometry"]["type"] == "Point"


def test_geocode_human_output_and_nothing_found(with_addresses: Path) -> None:
    result = essmap(with_addresses, "geocode", "64100")
    assert result.returncode == 0, result.stderr
    assert "64100 Bayonne" in result.stdout
    assert "commune" in result.stdout
    nothing = essmap(with_addresses, "geocode", "zzkqx wvbn")
    assert nothing.returncode == 0, nothing.stderr
    assert "Aucune adresse trouvée pour « zzkqx wvbn »" in nothing.stdout


def test_nearest_and_within_answer_from_an_address_as_from_its_point(with_addresses: Path) -> None:
    """``--address`` gives the same answer as the coordinates of the address it finds."""
    by_address = essmap(with_addresses, "nearest", "--address", "1 rue des tonneliers bayonne", "--json")
    assert by_address.returncode == 0, by_address.stderr
    body = json.loads(by_address.stdout)
    found = body["address"]
    assert found["label"].startswith("1 Rue des Tonneliers")
    by_point = essmap(with_addresses, "nearest", str(found["lon"]), str(found["lat"]), "--json")
    assert by_point.returncode == 0, by_point.stderr
    assert body["hits"] == json.loads(by_point.stdout)["hits"]
    assert body["hits"][0]["id"] == "amap-patxoki"  # its delivery point is on that street
    text = essmap(with_addresses, "nearest", "-a", "1 rue des tonneliers bayonne")
    assert "Acteurs les plus proches de « 1 Rue des Tonneliers" in text.stdout
    within = essmap(with_addresses, "within", "--address", "1 rue des tonneliers", "-r", "300", "--json")
    assert within.returncode == 0, within.stderr
    assert "amap-patxoki" in {h["id"] for h in json.loads(within.stdout)["hits"]}
    walk = essmap(with_addresses, "nearest", "-a", "1 rue des tonneliers", "--mode", "walk", "--json")
    assert json.loads(walk.stdout)["address"]["label"] == found["label"]


def test_nearest_needs_a_point_or_an_address_not_both(with_addresses: Path) -> None:
    both = essmap(with_addresses, "nearest", "-1.47", "43.49", "--address", "1 rue des tonneliers")
    assert both.returncode == 2
    assert "soit --address, soit lon et lat" in both.stderr
    neither = essmap(with_addresses, "nearest")
    assert neither.returncode == 2
    assert "donnez lon et lat, ou --address" in neither.stderr
    unknown = essmap(with_addresses, "nearest", "--address", "zzkqx wvbn")
    assert unknown.returncode != 0
    assert "« zzkqx wvbn » introuvable" in unknown.stderr


def test_geocode_without_addresses_says_what_to_do(tmp_path: Path) -> None:
    result = essmap(tmp_path / "data", "geocode", "12 rue des tonneliers")
    assert result.returncode == 1
    assert "aucune adresse importée" in result.stderr
    assert "essmap import addresses" in result.stderr


def test_a_bad_address_file_is_refused_and_the_store_left_unchanged(
    with_addresses: Path, tmp_path: Path
) -> None:
    store = with_addresses / "essmap.gpkg"
    before = store.read_bytes()
    rows = ban_rows(SMALL_SET)
    rows[2]["lon"] = "ouest"
    bad = write_ban(tmp_path / "adresses-64.csv", rows)
    result = essmap(with_addresses, "import", "addresses", str(bad))
    assert result.returncode == 2
    assert "adresses-64.csv, ligne 4, champ « lon »" in result.stderr
    assert store.read_bytes() == before


def test_geocode_through_the_web_service_setting(tmp_path: Path) -> None:
    with address_service() as url:
        result = essmap(
            tmp_path / "data", "geocode", "12 av de lattre", "--json", env={"ESSMAP_GEOCODER_URL": url}
        )
    assert result.returncode == 0, result.stderr
    labels = [f["properties"]["label"] for f in json.loads(result.stdout)["features"]]
    assert labels == [
        "12 Avenue de Lattre de Tassigny 64100 Bayonne",
        "Avenue de Lattre de Tassigny 64100 Bayonne",
    ]


def test_schedule_next_pickup_ical_and_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    actors = tmp_path / "amap.csv"
    actors.write_text(
        "id,name,category,lon,lat,schedule\n"
        "amap-test,AMAP test,amap_delivery_point,-1.47,43.49,"
        '"mar 18h30-19h30 ; jeu 18h-19h (sous le préau)"\n'
        "sans-horaire,Sans horaire,market,-1.47,43.49,\n",
        encoding="utf-8",
    )
    imported = essmap(data, "import", "actors", str(actors))
    assert imported.returncode == 0, imported.stderr
    out = tmp_path / "amap.ics"
    shown = essmap(data, "schedule", "amap-test", "--json", "--ical", str(out))
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["schedule_description"] == "Le mardi de 18h30 à 19h30, le jeudi de 18h à 19h ; sous le préau"
    start = datetime.fromisoformat(info["next_pickup"]["start"])
    assert start.astimezone(PARIS).strftime("%a %H:%M") in {"Tue 18:30", "Thu 18:00"}
    assert start > datetime.now(PARIS) - (datetime.fromisoformat(info["next_pickup"]["end"]) - start)
    events = icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert sorted(str(e["RRULE"].get("BYDAY")) for e in events) == ["['TH']", "['TU']"]
    first_starts = sorted(e.decoded("dtstart") for e in events)
    expected = list(pickups_between(parse_schedule(info["schedule"]), first_starts[0], first_starts[-1]))
    assert expected[0].start == first_starts[0]
    human = essmap(data, "schedule", "amap-test")
    assert "Prochain retrait : " in human.stdout
    assert "mar 18:30-19:30, jeu 18:00-19:00 (sous le préau)" in human.stdout
    none = essmap(data, "schedule", "sans-horaire")
    assert "Horaires non renseignés." in none.stdout
    opened = essmap(data, "open", "mardi", "18h45", "--tolerance", "0", "--json")
    assert opened.returncode == 0, opened.stderr
    assert [row["id"] for row in json.loads(opened.stdout)] == ["amap-test"]
    closed = essmap(data, "open", "mer", "18:45", "--json")
    assert json.loads(closed.stdout) == []
    wrong = essmap(data, "open", "demain", "18:45")
    assert wrong.returncode == 2
    assert "jour « demain » inconnu" in wrong.stderr
