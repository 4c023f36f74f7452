"""ESSMAP_* settings: list values as JSON or comma-separated, and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from essmap.model import CATEGORIES, DEFAULT_SUPPLY_CATEGORIES
from essmap.settings import Settings


@pytest.mark.parametrize("value", ["[400, 800]", "400,800", " 400 , 800 ", "[400,800]", "400, 800,"])
def test_thresholds_as_json_or_comma_separated(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ESSMAP_THRESHOLDS_M", value)
    assert Settings().thresholds_m == [400.0, 800.0]


def test_a_single_threshold_and_the_default_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESSMAP_THRESHOLDS_M", "800, 300.5")
    cfg = Settings()
    assert cfg.thresholds_m == [800.0, 300.5]
    assert cfg.default_threshold_m == 300.5
    monkeypatch.delenv("ESSMAP_THRESHOLDS_M")
    assert Settings().thresholds_m == [400.0, 800.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "non-empty list"),
        ("  ", "non-empty list"),
        ("[]", "non-empty list"),
        ("400,-5", "positive"),
        ("400,abc", "number"),
        ("[400,", "Expecting value"),
    ],
)
def test_bad_thresholds_are_clear_errors(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv("ESSMAP_THRESHOLDS_M", value)
    with pytest.raises(ValidationError, match=expected) as err:
        Settings()
    assert err.value.errors()[0]["loc"][0] == "thresholds_m"


@pytest.mark.parametrize(
    "value",
    ['["market", "amap_delivery_point"]', "market,amap_delivery_point", " market , amap_delivery_point "],
)
def test_supply_categories_as_json_or_comma_separated(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ESSMAP_SUPPLY_CATEGORIES", value)
    assert Settings().supply_categories == ["market", "amap_delivery_point"]


def test_supply_categories_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESSMAP_SUPPLY_CATEGORIES", raising=False)
    assert Settings().supply_categories == list(DEFAULT_SUPPLY_CATEGORIES)


@pytest.mark.parametrize(
    ("value", "expected"), [("bakery,market", "bakery"), ("", "at least one"), ("[]", "at least one")]
)
def test_unknown_or_no_supply_category_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("ESSMAP_SUPPLY_CATEGORIES", value)
    with pytest.raises(ValidationError, match=expected) as err:
        Settings()
    message = str(err.value)
    assert "supply_categories" in message
    assert all(c in message for c in CATEGORIES)  # the known categories are listed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.example,https://b.example", ["https://a.example", "https://b.example"]),
        ('["https://a.example"]', ["https://a.example"]),
        ("*", ["*"]),
        ("", []),  # no cross-origin access at all
    ],
)
def test_cors_origins(monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]) -> None:
    monkeypatch.setenv("ESSMAP_CORS_ORIGINS", value)
    assert Settings().cors_origins == expected


def test_tiles_are_off_by_default_and_need_their_credit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.tile_url is None  # the offline backdrop, no third-party tile server
    with pytest.raises(ValidationError, match="ESSMAP_TILE_ATTRIBUTION"):
        Settings(data_dir=tmp_path, tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    tiled = Settings(
        data_dir=tmp_path, tile_url="https://tiles.example.org/{z}/{x}/{y}.png", tile_attribution="© Exemple"
    )
    assert tiled.tile_attribution == "© Exemple"


@pytest.mark.parametrize(("value", "expected"), [("0", "greater than 0"), ("1.5", "less than or equal to 1")])
def test_background_share_is_a_share_of_one_processor(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("ESSMAP_BACKGROUND_SHARE", "0.5")
    assert Settings().background_share == 0.5
    monkeypatch.setenv("ESSMAP_BACKGROUND_SHARE", value)
    with pytest.raises(ValidationError, match=expected) as err:
        Settings()
    assert err.value.errors()[0]["loc"][0] == "background_share"
