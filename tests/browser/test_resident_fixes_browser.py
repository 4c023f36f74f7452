"""The defects a tester found using the pages as a new user, each fixed and checked in Debian's
Chromium against a real uvicorn, at the viewport where it was seen (the tester's numbers).

The server holds the demo set (its bounds are Bayonne), the BAN-format test addresses and two
weekly schedules; every request to another host is refused.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.resident_support import Visit, api_settings, browser, desktop, phone

pytestmark = pytest.mark.browser
__all__ = ["api_settings", "browser", "desktop", "phone"]  # the fixtures this module uses


# --- 1: shared links carry parameters the pages do not know ---------------------------------
@pytest.mark.parametrize(
    "path", ["/?fbclid=IwAR0abc", "/?utm_source=newsletter", "/map?fbclid=x", "/embed?fbclid=x", "/?lang=de"]
)
def test_1_a_shared_link_with_tracking_parameters_opens_the_map(
    desktop: Visit, api_url: str, path: str
) -> None:
    desktop.page.set_extra_http_headers({"Accept": "text/html"})
    page = desktop.open(f"{api_url}{path}")
    assert page.evaluate("document.documentElement.lang") == "fr"
    expect(page.locator(".essmap-legend")).to_contain_text("Acteurs")  # the map and its data


def test_1_the_planner_opens_from_a_shared_link_and_its_errors_are_a_french_page(
    desktop: Visit, api_url: str
) -> None:
    page = desktop.page
    page.goto(f"{api_url}/map/planner?utm_source=x")
    expect(page.locator(".leaflet-container")).to_be_visible()
    page.goto(f"{api_url}/map/planner?threshold_m=abc")
    expect(page.get_by_role("heading", level=1)).to_have_text("Requête invalide")
    expect(page.locator("body")).to_contain_text("threshold_m")
    page.goto(f"{api_url}/?f=xml")  # the landing page too
    expect(page.get_by_role("heading", level=1)).to_have_text("Requête invalide")
    assert page.evaluate("document.documentElement.lang") == "fr"
