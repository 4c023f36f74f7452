"""Freshness of the records: actors not verified for more than a year (a setting), in the library
and in ``essmap info``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import shapely

from essmap.analysis.summary import STALE_COLUMNS, stale_actors
from essmap.importing import open_seeded_store
from essmap.model import actor_frame
from essmap.settings import Settings
from tests.test_cli_data import essmap

ACTORS = pd.DataFrame(
    {
        "id": ["fresh", "old", "older", "never", "edge"],
        "name": ["Frais", "Ancien", "Plus ancien", "Jamais", "Juste un an"],
        "category": ["market"] * 5,
        "commune": ["Bayonne", "Anglet", None, "Biarritz", "Bayonne"],
        "last_verified": ["2026-06-01", "2025-05-01", "2020-01-15", None, "2025-06-01"],
    }
)


def _table() -> object:
    return actor_frame(ACTORS, [shapely.Point(-1.47, 43.49)] * len(ACTORS))


def test_stale_actors_lists_the_never_verified_first_then_the_oldest() -> None:
    stale = stale_actors(_table(), today=date(2026, 6, 1), stale_after_days=365)
    assert tuple(stale.columns) == STALE_COLUMNS
    assert stale["id"].tolist() == ["never", "older", "old"]
    assert stale["days_since_verified"].isna().tolist() == [True, False, False]
    # 2020-01-15 → 2026-06-01 and 2025-05-01 → 2026-06-01, counted by the calendar
    assert stale["days_since_verified"].tolist()[1:] == [
        (date(2026, 6, 1) - date(2020, 1, 15)).days,
        (date(2026, 6, 1) - date(2025, 5, 1)).days,
    ]
    # exactly one year (365 days) is not "more than" a year
    assert "edge" not in set(stale["id"])
    shorter = stale_actors(_table(), today=date(2026, 6, 1), stale_after_days=30)
    assert set(shorter["id"]) == {"never", "older", "old", "edge"}


def test_info_lists_the_actors_not_verified_for_more_than_the_setting(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_seeded_store(Settings(data_dir=data))
    today = date.today().isoformat()
    store.upsert_actors(
        actor_frame(ACTORS.assign(last_verified=[today, *ACTORS["last_verified"][1:]]), [None] * 5)
    )
    store.close()
    result = essmap(data, "info", "--json")
    assert result.returncode == 0, result.stderr
    stale = json.loads(result.stdout)["stale_actors"]
    assert stale["stale_after_days"] == 365
    ids = [a["id"] for a in stale["actors"]]
    assert "fresh" not in ids
    assert {"never", "older", "old", "otsokop"} <= set(ids)  # the demo actors were never verified
    assert stale["never_verified"] == 16  # 15 demo actors and "never"
    text = essmap(data, "info").stdout
    assert "Fiches à revérifier (non vérifiées depuis plus de 365 jours)" in text
    assert "jamais" in text
