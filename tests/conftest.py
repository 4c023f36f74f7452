"""Shared fixtures. Tests never touch the user's data folder: each gets a fresh data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import httpx
import pytest

from essmap.importing import open_seeded_store
from essmap.settings import Settings
from essmap.store import GeoPackageStore

pytest_plugins = ["tests.store_support"]  # the stores of the contract suite (GeoPackage, PostGIS)

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

TEST_DATA = Path(__file__).parent / "data"
OCCITANIE_QPV = TEST_DATA / "qpv2015_occitanie_hackaviz2021.geojson"
OCCITANIE_INDICATORS = TEST_DATA / "qpv2015_occitanie_indicateurs_insee_hackaviz2021.csv"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data directory, also set as ESSMAP_DATA_DIR for subprocesses and the CLI."""
    folder = tmp_path / "essmap-data"
    monkeypatch.setenv("ESSMAP_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


@pytest.fixture
def demo_store(settings: Settings) -> Iterator[GeoPackageStore]:
    """A store seeded with the shipped Bayonne demo set."""
    store = open_seeded_store(settings)
    assert isinstance(store, GeoPackageStore)
    yield store
    store.close()


@pytest.fixture
def empty_store(data_dir: Path) -> GeoPackageStore:
    """A store with no data at all (not seeded)."""
    return GeoPackageStore(data_dir / "essmap.gpkg")


# --- the HTTP API ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_options() -> dict[str, object]:
    """Settings of a test module's API server; a module overrides this fixture to change them."""
    return {}


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory, api_options: dict[str, object]) -> Settings:
    """The API test data (tests/api_support.populate) in a data directory of the module's own."""
    from tests.api_support import populate

    return populate(tmp_path_factory.mktemp("api") / "data", **api_options)


@pytest.fixture(scope="module")
def api_url(api_settings: Settings) -> Iterator[str]:
    """The base URL of a real uvicorn server running the API on ``api_settings`` (one per module)."""
    from api import create_app
    from tests.api_support import background_server

    with background_server(create_app(api_settings)) as url:
        yield url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the module's API server."""
    with httpx.Client(base_url=api_url, timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The one Playwright driver of the session (its sync API allows only one at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def occitanie_qpv() -> gpd.GeoDataFrame:
    """The 105 real Occitanie 2015 QPV polygons as published (WGS 84, some invalid)."""
    return gpd.read_file(OCCITANIE_QPV)


def write_official_2015_shapefile(qpv: gpd.GeoDataFrame, folder: Path) -> Path:
    """Write QPVs as the official 2015 shapefile: Lambert-93, fields CODE_QP, NOM_QP, COMMUNE_QP."""
    folder.mkdir(parents=True, exist_ok=True)
    out = qpv.rename(columns={"code_qp": "CODE_QP", "nom_qp": "NOM_QP", "commune_qp": "COMMUNE_QP"})
    out = out[["CODE_QP", "NOM_QP", "COMMUNE_QP", "geometry"]].to_crs("EPSG:2154")
    path = folder / "QP_METROPOLE_LB93.shp"
    out.to_file(path, driver="ESRI Shapefile", encoding="UTF-8")
    return path


@pytest.fixture
def occitanie_shapefile(occitanie_qpv: gpd.GeoDataFrame, tmp_path: Path) -> Path:
    return write_official_2015_shapefile(occitanie_qpv, tmp_path / "shp")
