"""Public contributions in Chromium: "Proposer un lieu" filled in on a phone-sized resident map
(390×844), "Signaler une erreur" from an actor's popup, and a moderator accepting the proposal on
the moderation page, all against a real API server (nothing leaves this machine)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from api import create_app
from essmap.settings import Settings
from tests.api_support import background_server
from tests.browser.conftest import ARTIFACTS
from tests.test_api_edits import ITEMS, seed

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings(data_dir=tmp_path / "data", tile_url=None)
    keys = seed(settings)
    with background_server(create_app(settings)) as url:
        yield url, keys


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    page = browser_context.new_page()
    errors: list[str] = []
    # a 400 is expected once: the server refusing a field, whose message the form shows
    expected = "Failed to load resource: the server responded with a status of 400"
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and expected not in msg.text else None,
    )
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    yield page
    page.close()
    assert errors == [], errors


def _open_map(page: Page, url: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(url + "/map")
    page.wait_for_function("window.essmapReady === true || !!window.essmapError", timeout=30_000)
    assert page.evaluate("window.essmapError || null") is None


def _fits_the_screen(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]


def test_a_resident_proposes_a_place_on_a_phone_and_a_moderator_accepts_it(
    page: Page, served: tuple[str, dict[str, str]]
) -> None:
    url, keys = served
    _open_map(page, url)
    opener = page.get_by_role("button", name="Proposer un lieu")
    expect(opener).to_be_visible()
    opener.click()
    dialog = page.get_by_role("dialog", name="Proposer un lieu")
    expect(dialog).to_be_visible()
    _fits_the_screen(page, "dialog.essmap-contribute")
    expect(dialog.get_by_label("Nom du lieu (obligatoire)")).to_be_focused()

    # sent empty: the errors are announced, next to their fields, and the focus moves to the first
    dialog.get_by_role("button", name="Envoyer la proposition").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Il manque des informations")
    name = dialog.get_by_label("Nom du lieu (obligatoire)")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()

    # filled in with the keyboard and the form controls a phone user has
    name.fill("Jardin partagé des Hauts de Sainte-Croix")
    dialog.get_by_label("Type de lieu (obligatoire)").select_option(label="Jardin partagé")
    dialog.get_by_label("Horaires", exact=True).fill("quand il fait beau")
    dialog.get_by_label("Adresse", exact=True).fill("rue Jean Molères, Bayonne")
    dialog.get_by_label("Le centre de la carte", exact=False).check()
    dialog.get_by_label("Votre courriel ou téléphone").fill("voisine@example.org")
    dialog.get_by_role("button", name="Envoyer la proposition").click()
    # the server refuses the schedule: its message is shown on the field
    schedule = dialog.get_by_label("Horaires", exact=True)
    expect(schedule).to_have_attribute("aria-invalid", "true")
    expect(alert).to_contain_text("horaires")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contribute_phone_refused.png"))
    schedule.fill("sam 10h-12h")
    submit = dialog.get_by_role("button", name="Envoyer la proposition")
    submit.scroll_into_view_if_needed()
    submit.click()
    expect(dialog.get_by_role("status")).to_contain_text("Merci ! Votre proposition a été envoyée")
    page.screenshot(path=str(ARTIFACTS / "contribute_phone_sent.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()

    with httpx.Client(base_url=url, timeout=60) as http:
        ids = {f["id"] for f in http.get(ITEMS, params={"limit": 1000}).json()["features"]}
        assert "jardin-partage-des-hauts-de-sainte-croix" not in ids  # pending: not public

    # the moderator, on the moderation page
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(url + "/moderation")
    page.get_by_label("Clé d'API (rôle modérateur ou administrateur)").fill(keys["moderator"])
    page.get_by_role("button", name="Se connecter").click()
    card = page.locator("li.proposal", has_text="Jardin partagé des Hauts de Sainte-Croix")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Contact (non publié) : voisine@example.org")
    table = card.get_by_role("table")
    expect(table.locator("tr", has=page.locator('th:text-is("horaires (quand)")'))).to_contain_text(
        "sam 10h-12h"
    )
    expect(table.locator("tr", has=page.locator('th:text-is("position")'))).to_contain_text(" ; 43.")
    expect(table.locator("tr", has=page.locator('th:text-is("catégorie")'))).to_contain_text("Jardin partagé")
    page.screenshot(path=str(ARTIFACTS / "moderation_pending.png"))
    card.get_by_label("Note de modération (facultative)").fill("vu sur place")
    card.get_by_role("button", name="Accepter").click()
    expect(page.get_by_role("status")).to_contain_text("Proposition acceptée")
    expect(card).to_have_count(0)
    # the key stays in this tab only
    assert page.evaluate("sessionStorage.getItem('essmapModeratorKey')") == keys["moderator"]

    with httpx.Client(base_url=url, timeout=60) as http:
        feature = http.get(f"{ITEMS}/jardin-partage-des-hauts-de-sainte-croix")
        assert feature.status_code == 200
        props = feature.json()["properties"]
        assert (props["category"], props["schedule"]) == ("community_garden", "sam 10h-12h")
        assert feature.json()["geometry"]["type"] == "Point"
        history = http.get(f"{ITEMS}/jardin-partage-des-hauts-de-sainte-croix/history").json()["changes"]
        assert [(c["action"], c["author"]) for c in history] == [("create", "proposition publique")]


def test_a_resident_reports_an_error_from_an_actor_popup(
    page: Page, served: tuple[str, dict[str, str]]
) -> None:
    url, keys = served
    _open_map(page, url)
    page.evaluate("window.essmapMap.setView([43.5001, -1.4738], 19, {animate: false})")
    pin = page.locator('.essmap-pin[data-actor-id="otsokop"]')
    expect(pin).to_be_visible()
    pin.click()
    report = page.locator(".leaflet-popup").get_by_role("button", name="Signaler une erreur")
    expect(report).to_be_visible()
    report.click()
    dialog = page.get_by_role("dialog", name="Signaler une erreur")
    expect(dialog).to_contain_text("Otsokop")
    _fits_the_screen(page, "dialog.essmap-contribute")
    dialog.get_by_label("Qu’est-ce qui est faux ou a changé ? (obligatoire)").fill(
        "Ouvert aussi le samedi matin"
    )
    dialog.get_by_text("Proposer une correction de la fiche").click()
    horaires = dialog.get_by_label("Horaires (quand)")
    horaires.fill("sam 9h-12h")
    dialog.get_by_role("button", name="Envoyer le signalement").click()
    expect(dialog.get_by_role("status")).to_contain_text("Merci ! Votre signalement a été envoyé")

    with httpx.Client(base_url=url, timeout=60) as http:
        auth = {"Authorization": f"Bearer {keys['moderator']}"}
        [proposal] = http.get("/proposals", headers=auth).json()["proposals"]
    assert (proposal["kind"], proposal["actor_id"]) == ("change", "otsokop")
    assert proposal["message"] == "Ouvert aussi le samedi matin"
    # only the field the person changed is proposed
    assert [(d["field"], d["after"]) for d in proposal["differences"]] == [("schedule", "sam 9h-12h")]


def test_an_actor_without_a_location_can_be_reported(page: Page, served: tuple[str, dict[str, str]]) -> None:
    """The actors without a published address are the ones whose record most needs a correction."""
    url, keys = served
    _open_map(page, url)
    panel = page.locator(".essmap-unlocated")
    panel.locator(".essmap-panel-toggle").click()
    items = panel.locator(".essmap-unlocated-list li")
    expect(items.first).to_be_visible()
    count = items.count()
    expect(panel.locator(".essmap-report-open")).to_have_count(count)  # one per actor listed
    first = items.first
    actor_id = first.get_attribute("data-actor-id")
    name = first.locator("strong").inner_text()
    first.get_by_role("button", name=f"Signaler une erreur : {name}").click()
    dialog = page.get_by_role("dialog", name="Signaler une erreur")
    expect(dialog).to_contain_text(name)
    dialog.get_by_label("Qu’est-ce qui est faux ou a changé ? (obligatoire)").fill("Adresse : 3 rue Pannecau")
    dialog.get_by_role("button", name="Envoyer le signalement").click()
    expect(dialog.get_by_role("status")).to_contain_text("Merci ! Votre signalement a été envoyé")
    with httpx.Client(base_url=url, timeout=60) as http:
        auth = {"Authorization": f"Bearer {keys['moderator']}"}
        [proposal] = http.get("/proposals", headers=auth).json()["proposals"]
    assert (proposal["kind"], proposal["actor_id"]) == ("report", actor_id)
    assert proposal["message"] == "Adresse : 3 rue Pannecau"
