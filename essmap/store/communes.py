"""The commune table behind the maps' offline backdrop (``essmap import communes``).

Communes are kept in the store, like the addresses, so that every API process and every machine of
a deployment draws the same backdrop. The table is plain (text columns, the outline as WKB in
hexadecimal) and its SQL is the same on both stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.sources.communes import commune_frame
from essmap.store.network import NetworkStore

#: The table: INSEE code, name, provenance, outline (WKB, hexadecimal, WGS 84).
COMMUNES_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS communes (code TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT, "
    "outline TEXT NOT NULL)",
)
_COLUMNS: Final = ("code", "name", "source", "outline")


def communes_of(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """A commune table from stored rows (code, name, source, outline)."""
    outlines = [shapely.from_wkb(row[3]) for row in rows]
    return commune_frame(
        [str(row[0]) for row in rows],
        [str(row[1]) for row in rows],
        [None if row[2] is None else str(row[2]) for row in rows],
        np.asarray(outlines, dtype=object),
    )


class CommuneStore(NetworkStore):
    """:class:`AddressStore` with the commune table of the maps' backdrop."""

    def replace_communes(self, table: gpd.GeoDataFrame) -> int:
        """Replace every commune with the table's (code, name, source, polygons in WGS 84), in one
        transaction; returns how many."""
        wkb = shapely.to_wkb(table.geometry.to_numpy(), hex=True) if len(table) else []
        rows = [
            (str(code), str(name), None if pd.isna(src) else str(src), str(outline))
            for code, name, src, outline in zip(
                table["code"], table["name"], table["source"], wkb, strict=True
            )
        ]
        with self._transaction() as tx:
            self._execute(tx, "DELETE FROM communes")
            self._bulk_insert(tx, "communes", _COLUMNS, rows)
            self._bump(tx)
        return len(rows)

    def load_communes(self) -> gpd.GeoDataFrame:
        """Every imported commune (an empty table when none was imported)."""
        return communes_of(self._query(f"SELECT {', '.join(_COLUMNS)} FROM communes ORDER BY code"))
