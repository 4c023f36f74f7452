"""schemathesis against the OpenAPI document: generated requests (valid and invalid) to every
operation of a real uvicorn server; no response is a 5xx, and every response matches the
documented status codes, media types and body schemas.

The document is the one the server publishes at /openapi.json (checked below to be identical); it
is loaded when the module is imported, because schemathesis' fixture-based loader does not work
with this pytest version (it writes a private attribute of pytest's test items).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from api import create_app
from essmap.settings import Settings

OPTIONS = {"max_batch_points": 50, "max_request_bytes": 20_000}
DOCUMENT = create_app(Settings(data_dir=Path("unused-by-openapi"), **OPTIONS)).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def api_options() -> dict[str, object]:
    return OPTIONS


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory, api_options: dict[str, object]) -> Settings:
    """The API test data with addresses imported: without them address search is a 503 (a server
    not set up for it), which the "no server error" check would count."""
    from tests.api_support import add_resident_data, populate

    folder = tmp_path_factory.mktemp("api-schema")
    settings = populate(folder / "data", **api_options)
    add_resident_data(settings, folder / "ban")
    return settings


def test_the_tested_document_is_the_published_one(api_url: str) -> None:
    assert httpx.get(f"{api_url}/openapi.json").json() == DOCUMENT


# Every built-in check runs (no 5xx; documented status codes, media types, headers and body
# schemas; requests that break the schema are refused) except "schema-valid request accepted": some
# valid-looking requests are refused with a 400 on purpose, for reasons JSON Schema cannot state
# (a bbox with miny > maxy or a latitude beyond 90 in its string, a CSV body without lon/lat
# columns, a generation the data does not hold).
@schema.parametrize()
@settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, api_url: str) -> None:
    case.call_and_validate(base_url=api_url, timeout=60, excluded_checks=[positive_data_acceptance])
