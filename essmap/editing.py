"""Edits above the store: what a change changes, and restoring an earlier version.

The store applies changes (:class:`essmap.store.Store`); this module holds the rules that read
the history and compare records, shared by the CLI and the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from essmap.errors import NotFoundError
from essmap.model import ACTOR_COLUMNS, actor_frame
from essmap.store import Store
from essmap.store.base import ActorRecord, record_json
from essmap.store.moderation import row_of_record

#: Fields compared by :func:`differences`, in display order (the point last).
COMPARED: tuple[str, ...] = (*(c for c in ACTOR_COLUMNS if c != "id"), "geometry")


def differences(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The fields that differ between two records (:func:`~essmap.store.base.record_json` form).

    Each difference is ``{"field", "before", "after"}``; a missing record counts as all-empty.
    """
    old, new = before or {}, after or {}
    return [
        {"field": name, "before": old.get(name), "after": new.get(name)}
        for name in COMPARED
        if old.get(name) != new.get(name)
    ]


def record_dict(record: ActorRecord) -> dict[str, Any]:
    """A stored record in :func:`~essmap.store.base.record_json` form."""
    return record_json({**record.fields, "geometry": record.geometry})


def restore_version(store: Store, actor_id: str, version: int, *, author: str) -> ActorRecord:
    """Make an earlier version of an actor its current one again, as a new change (with history).

    A deleted actor is created again.

    Raises
    ------
    NotFoundError
        If the actor never had that version.
    """
    wanted = next(
        (c.after for c in store.actor_history(actor_id) if c.version == version and c.after is not None), None
    )
    if wanted is None:
        raise NotFoundError(f"l'acteur « {actor_id} » n'a pas de version {version} dans son historique")
    row = row_of_record(wanted)
    table = actor_frame(pd.DataFrame([{k: v for k, v in row.items() if k != "geometry"}]), [row["geometry"]])
    try:
        store.get_actor(actor_id)
    except NotFoundError:
        return store.create_actor(table, author=author)
    return store.replace_actor(table, expected_version=None, author=author)
