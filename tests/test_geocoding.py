"""Address search: the BAN reader, the local index, the web service behind the same interface
(against a real HTTP server on 127.0.0.1), and the store round trip."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from essmap.errors import InvalidInputError, NotFoundError
from essmap.geocoding import (
    Geocoder,
    GeocodeResult,
    GeocoderUnavailableError,
    LocalGeocoder,
    ServiceGeocoder,
    feature_collection,
    geocode_many,
    geocoder_for,
    parse_query,
    point_from_address,
    words,
)
from essmap.importing import import_addresses
from essmap.settings import Settings
from essmap.sources.addresses import addresses_from_ban
from essmap.store import GeoPackageStore
from essmap.store.addresses import ADDRESS_COLUMNS
from tests.ban_support import BAN_HEADER, SMALL_SET, AddressService, address_service, ban_rows, write_ban

ROWS = ban_rows(SMALL_SET)


def row_of(street: str, numero: int, rep: str = "") -> dict[str, str]:
    return next(r for r in ROWS if r["nom_voie"] == street and r["numero"] == str(numero) and r["rep"] == rep)


@pytest.fixture(scope="module")
def ban_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ban(tmp_path_factory.mktemp("ban") / "adresses-64.csv", ROWS)


@pytest.fixture(scope="module")
def geocoder(ban_file: Path) -> LocalGeocoder:
    return LocalGeocoder(addresses_from_ban(ban_file).table)


def best(geocoder: Geocoder, text: str, **options: object) -> GeocodeResult:
    found = geocoder.search(text, **options)  # type: ignore[arg-type]
    assert found, f"nothing found for {text!r}"
    return found[0]


# --- the BAN reader ---------------------------------------------------------------------------


def test_ban_file_is_read_as_an_address_table(ban_file: Path) -> None:
    parsed = addresses_from_ban(ban_file)
    table = parsed.table
    assert tuple(table.columns) == ADDRESS_COLUMNS
    assert parsed.rows_read == len(ROWS) == len(table)
    bis = table[table["id"] == row_of("Rue des Tonneliers", 3, "bis")["id"]].iloc[0]
    assert bis["housenumber"] == "3 bis"
    assert bis["label"] == "3 bis Rue des Tonneliers 64100 Bayonne"
    assert (bis["postcode"], bis["citycode"], bis["city"]) == ("64100", "64102", "Bayonne")
    assert bis["lon"] == float(row_of("Rue des Tonneliers", 3, "bis")["lon"])


def test_ban_file_in_a_zip_archive(ban_file: Path, tmp_path: Path) -> None:
    archive = tmp_path / "adresses-64.csv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(ban_file, "adresses-64.csv")
    assert len(addresses_from_ban(archive).table) == len(ROWS)


def test_malformed_ban_rows_are_named_by_row_and_field(tmp_path: Path) -> None:
    rows = [dict(r) for r in ROWS[:6]]
    rows[1]["lon"] = "abc"  # line 3
    rows[2]["lat"] = "95"  # line 4
    rows[3]["numero"] = "douze"  # line 5
    rows[4]["code_postal"] = "641"  # line 6
    rows[5]["id"] = rows[0]["id"]  # line 7
    path = write_ban(tmp_path / "bad.csv", rows)
    with pytest.raises(InvalidInputError) as caught:
        addresses_from_ban(path)
    found = [(p.row, p.field) for p in caught.value.problems]
    assert found == [(3, "lon"), (4, "lat"), (5, "numero"), (6, "code_postal"), (7, "id")]
    assert "« abc » n'est pas un nombre" in caught.value.problems[0].message
    assert str(caught.value.problems[0]).startswith(f"{path}, ligne 3, champ « lon »")


def test_a_ban_file_without_a_required_column(tmp_path: Path) -> None:
    header = [c for c in BAN_HEADER if c != "nom_voie"]
    path = write_ban(tmp_path / "sans_voie.csv", ROWS[:3], header=header)
    with pytest.raises(InvalidInputError) as caught:
        addresses_from_ban(path)
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (1, "nom_voie")
    assert "absente" in problem.message


def test_too_many_bad_rows_are_summed_up(tmp_path: Path) -> None:
    rows = [
        {**r, "lon": "x"} for r in ban_rows([("Rue Longue", "64102", [(n, "") for n in range(1, 300)], 0, 0)])
    ]
    with pytest.raises(InvalidInputError) as caught:
        addresses_from_ban(write_ban(tmp_path / "bad.csv", rows))
    problems = caught.value.problems
    assert len(problems) == 101
    assert problems[-1].message == "… et 199 autres erreurs"


# --- the text rules ---------------------------------------------------------------------------


def test_words_and_queries_fold_accents_case_and_abbreviations() -> None:
    assert words("Allées du Maréchal-Foch") == ["allees", "marechal", "foch"]
    assert words("Av. de l'Église St-Étienne") == ["avenue", "eglise", "saint", "etienne"]
    query = parse_query("12 bis av. du gal de gaulle 64100 bayon")
    assert (query.housenumber, query.repetition, query.postcode) == (12, "bis", "64100")
    assert query.words == ("avenue", "general", "gaulle")
    assert query.prefix == "bayon"
    complete = parse_query("12 bis av. du gal de gaulle 64100 bayonne ")
    assert complete.prefix is None
    assert complete.words[-1] == "bayonne"
    assert parse_query("rue pasteur", autocomplete=False).prefix is None
    assert parse_query("rue saint esprit saint pierre ").words == ("rue", "saint", "esprit", "pierre")


# --- the local index --------------------------------------------------------------------------


def test_an_exact_address(geocoder: LocalGeocoder) -> None:
    row = row_of("Avenue de Lattre de Tassigny", 12)
    result = best(geocoder, "12 Avenue de Lattre de Tassigny 64100 Bayonne")
    assert result.type == "housenumber"
    assert result.id == row["id"]
    assert result.label == "12 Avenue de Lattre de Tassigny 64100 Bayonne"
    assert (result.lon, result.lat) == (float(row["lon"]), float(row["lat"]))
    assert (result.housenumber, result.street, result.postcode, result.citycode, result.city) == (
        "12",
        "Avenue de Lattre de Tassigny",
        "64100",
        "64102",
        "Bayonne",
    )
    assert result.score == 1.0


def test_missing_accents_and_case(geocoder: LocalGeocoder) -> None:
    assert (
        best(geocoder, "4 AVENUE DU MARECHAL JUIN BAYONNE").id == row_of("Avenue du Maréchal Juin", 4)["id"]
    )
    assert best(geocoder, "rue de l eglise saint pierre d irube").street == "Rue de l'Église"
    assert best(geocoder, "allees paulmy").street == "Allées Paulmy"


def test_abbreviations(geocoder: LocalGeocoder) -> None:
    wanted = row_of("Avenue de Lattre de Tassigny", 12)["id"]
    assert best(geocoder, "12 av. de Lattre de Tassigny, Bayonne").id == wanted
    assert best(geocoder, "12 av de lattre de tassigny").id == wanted
    assert best(geocoder, "2 av mal juin").id == row_of("Avenue du Maréchal Juin", 2)["id"]
    assert best(geocoder, "20 bd du bab anglet").id == row_of("Boulevard du BAB", 20)["id"]
    assert best(geocoder, "2 pl. des gascons").id == row_of("Place des Gascons", 2)["id"]
    assert best(geocoder, "36 ch. de loustaounaou").id == row_of("Chemin de Loustaounaou", 36)["id"]
    assert best(geocoder, "r. de l'eglise st pierre").street == "Rue de l'Église"


def test_a_postcode_alone_gives_its_places(geocoder: LocalGeocoder) -> None:
    found = geocoder.search("64100")
    assert [(r.type, r.city, r.postcode) for r in found] == [("municipality", "Bayonne", "64100")]
    bayonne = [r for r in ROWS if r["code_postal"] == "64100"]
    assert found[0].lon == pytest.approx(sum(float(r["lon"]) for r in bayonne) / len(bayonne))
    assert [r.city for r in geocoder.search("64600")] == ["Anglet"]
    assert geocoder.search("75001") == []
    assert {r.city for r in geocoder.search("64", limit=10)} == {c for _, _, c in _communes()}  # as typed


def _communes() -> set[tuple[str, str, str]]:
    return {(r["code_insee"], r["code_postal"], r["nom_commune"]) for r in ROWS}


def test_a_prefix_typed_so_far(geocoder: LocalGeocoder) -> None:
    assert best(geocoder, "rue des tonnel").label == "Rue des Tonneliers 64100 Bayonne"
    assert best(geocoder, "12 av de lattre de tass").id == row_of("Avenue de Lattre de Tassigny", 12)["id"]
    assert best(geocoder, "allées paul").street == "Allées Paulmy"
    assert best(geocoder, "bayo").city == "Bayonne"
    # a prefix is not read as one without autocompletion, nor once a space follows it
    assert geocoder.search("rue des tonnel", autocomplete=False) == []
    assert geocoder.search("rue des tonnel ") == []


def test_a_nonsense_query_gives_nothing_and_no_error(geocoder: LocalGeocoder) -> None:
    for text in ("zzkqx wvbn", "", "   ", "de la", "12", "rue des tonneliers zzkqx", "!!!", "\x00"):
        assert geocoder.search(text) == []


def test_ranking_house_number_then_street_then_city(geocoder: LocalGeocoder) -> None:
    exact = geocoder.search("3 rue des tonneliers")
    assert [r.label for r in exact] == ["3 Rue des Tonneliers 64100 Bayonne"]
    assert best(geocoder, "3 bis rue des tonneliers").id == row_of("Rue des Tonneliers", 3, "bis")["id"]
    missing = best(geocoder, "99 rue des tonneliers")
    assert (missing.type, missing.label) == ("street", "Rue des Tonneliers 64100 Bayonne")
    city_first = geocoder.search("bayonne", limit=5)
    assert [(r.type, r.label) for r in city_first[:2]] == [
        ("municipality", "64100 Bayonne"),
        ("street", "Route de Bayonne 64600 Anglet"),
    ]
    assert city_first[0].score > city_first[1].score
    numbers_in_names = best(geocoder, "6 rue du 8 mai 1945 boucau")
    assert numbers_in_names.id == row_of("Rue du 8 Mai 1945", 6)["id"]
    # the street whose name the text covers wholly comes before a longer name it covers in part,
    # even when a word ("saint") is in the street name and in the commune's
    covered = geocoder.search("2 rue saint esprit saint pierre d irube", limit=2)
    assert [r.id for r in covered] == [
        row_of(s, 2)["id"] for s in ("Rue Saint-Esprit", "Rue Saint-Esprit Prolongée")
    ]
    limited = geocoder.search("avenue", limit=2)
    assert len(limited) == 2
    assert all(r.street is not None and r.street.startswith("Avenue") for r in limited)


def test_results_as_geojson_in_the_service_format(geocoder: LocalGeocoder) -> None:
    results = geocoder.search("12 av de lattre de tassigny", limit=3)
    body = feature_collection(results, query="12 av de lattre de tassigny", limit=3)
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [results[0].lon, results[0].lat]}
    assert feature["properties"]["type"] == "housenumber"
    assert feature["properties"]["name"] == "12 Avenue de Lattre de Tassigny"
    assert set(feature["properties"]) >= {
        "label",
        "score",
        "housenumber",
        "street",
        "postcode",
        "citycode",
        "city",
    }


# --- the store and the interface --------------------------------------------------------------


def test_import_replaces_the_store_addresses_all_or_nothing(
    ban_file: Path, empty_store: GeoPackageStore
) -> None:
    report = import_addresses(empty_store, ban_file)
    assert (report.kind, report.read, report.created) == ("addresses", len(ROWS), len(ROWS))
    stored = empty_store.load_addresses()
    assert len(stored) == len(ROWS)
    bad = ban_file.parent / "bad.csv"
    write_ban(bad, [{**ROWS[0], "lat": "quarante"}])
    with pytest.raises(InvalidInputError):
        import_addresses(empty_store, bad)
    pd.testing.assert_frame_equal(empty_store.load_addresses(), stored)
    from_store = LocalGeocoder.from_store(empty_store)
    assert len(from_store) == len(ROWS)
    assert best(from_store, "36 chemin de loustaounaou").id == row_of("Chemin de Loustaounaou", 36)["id"]


def test_geocoder_for_and_point_from_address(
    ban_file: Path, empty_store: GeoPackageStore, settings: Settings
) -> None:
    with pytest.raises(GeocoderUnavailableError, match="aucune adresse importée"):
        geocoder_for(empty_store, settings)
    import_addresses(empty_store, ban_file)
    local = geocoder_for(empty_store, settings)
    assert isinstance(local, LocalGeocoder)
    assert isinstance(local, Geocoder)
    row = row_of("Place des Gascons", 2)
    lon, lat, label = point_from_address(empty_store, settings, "2 place des gascons bayonne")
    assert (lon, lat, label) == (float(row["lon"]), float(row["lat"]), "2 Place des Gascons 64100 Bayonne")
    with pytest.raises(NotFoundError, match="introuvable"):
        point_from_address(empty_store, settings, "zzkqx", geocoder=local)
    batch = geocode_many(local, ["12 av de lattre de tassigny bayonne", "zzkqx", "", "64600"])
    assert [r.type if r else None for r in batch] == ["housenumber", None, None, "municipality"]


# --- the web service, served for real on 127.0.0.1 (tests.ban_support.address_service) ---------


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with address_service() as url:
        yield url


def test_the_web_service_behind_the_same_interface(service_url: str) -> None:
    with ServiceGeocoder(service_url, timeout_s=2) as service:
        assert isinstance(service, Geocoder)
        found = service.search("12 av de lattre", limit=3)
        assert [r.type for r in found] == ["housenumber", "street"]
        first = found[0]
        assert (first.label, first.score, first.housenumber, first.street, first.city) == (
            "12 Avenue de Lattre de Tassigny 64100 Bayonne",
            0.9712,
            "12",
            "Avenue de Lattre de Tassigny",
            "Bayonne",
        )
        assert (first.lon, first.lat) == (-1.473975, 43.4995)
        assert found[1].street == "Avenue de Lattre de Tassigny"
        assert AddressService.requests[-1] == {
            "q": ["12 av de lattre"],
            "limit": ["3"],
            "autocomplete": ["1"],
        }
        assert service.search("vide") == []
        assert service.search("ab") == []  # too short for the service: not sent


def test_web_service_failures_are_clear_errors(service_url: str) -> None:
    with ServiceGeocoder(service_url, timeout_s=0.2) as service:
        with pytest.raises(GeocoderUnavailableError, match=r"n'a pas répondu en 0\.2 s"):
            service.search("lent")
        with pytest.raises(GeocoderUnavailableError, match="a répondu 500"):
            service.search("panne")
        with pytest.raises(GeocoderUnavailableError, match="réponse inattendue"):
            service.search("charabia")
    with (
        ServiceGeocoder("http://127.0.0.1:9", timeout_s=1) as closed,
        pytest.raises(GeocoderUnavailableError, match="injoignable"),
    ):
        closed.search("12 av de lattre")


def test_settings_select_the_web_service(
    service_url: str, empty_store: GeoPackageStore, data_dir: Path
) -> None:
    settings = Settings(data_dir=data_dir, geocoder_url=service_url, geocoder_timeout_s=2)
    geocoder = geocoder_for(empty_store, settings)  # no address imported: the service answers
    assert isinstance(geocoder, ServiceGeocoder)
    lon, lat, label = point_from_address(empty_store, settings, "12 av de lattre", geocoder=geocoder)
    assert (lon, lat, label) == (-1.473975, 43.4995, "12 Avenue de Lattre de Tassigny 64100 Bayonne")
    assert Settings(data_dir=data_dir, geocoder_url="").geocoder_url is None


# --- reverse lookup ---------------------------------------------------------------------------
def test_nearest_address_of_a_point(ban_file: Path) -> None:
    from essmap.geo import transformer
    from essmap.geocoding.reverse import nearest_addresses
    from essmap.model import LAMBERT93, WGS84

    table = addresses_from_ban(ban_file).table
    numbered = table[table["housenumber"].notna()].reset_index(drop=True)
    target = numbered.iloc[0]
    # a point 12 m east of the first numbered address, and one in the sea off Biarritz
    x, y = transformer(WGS84, LAMBERT93).transform(float(target["lon"]), float(target["lat"]))
    lon, lat = transformer(LAMBERT93, WGS84).transform(x + 12.0, y)
    found = nearest_addresses(table, [lon, -1.70], [lat, 43.50], max_distance_m=300)
    near, far = found
    assert far is None
    assert near is not None
    distances = ((numbered["lon"] - lon) ** 2 + (numbered["lat"] - lat) ** 2).to_numpy()
    closest = numbered.iloc[int(distances.argmin())]
    assert near.label == closest["label"]
    assert near.distance_m <= 12.0 + 1e-6
    assert nearest_addresses(table.iloc[0:0], [lon], [lat]) == [None]
