"""The address table behind the local geocoder (BAN files imported with ``essmap import addresses``).

Addresses are kept in the store, like the population grid, so that every API process and every
machine of a deployment geocodes from the same data. The table is plain (numbers and text, no
geometry column) and its SQL is the same on both stores.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Final

import pandas as pd

from essmap.store.moderation import ModeratedStore

#: Columns of an address table: a stable id, the label shown, its parts, and the point (WGS 84).
ADDRESS_COLUMNS: Final = (
    "id",
    "label",
    "housenumber",
    "street",
    "postcode",
    "citycode",
    "city",
    "lon",
    "lat",
)
#: The table; ``{float8}`` is the store's 8-byte float type (REAL in a GeoPackage, double precision
#: in PostgreSQL, where REAL has 4 bytes).
ADDRESSES_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS addresses (id TEXT PRIMARY KEY, label TEXT NOT NULL, housenumber TEXT, "
    "street TEXT, postcode TEXT, citycode TEXT, city TEXT, lon {float8} NOT NULL, lat {float8} NOT NULL)",
)
_TEXT = ADDRESS_COLUMNS[:-2]


def empty_addresses() -> pd.DataFrame:
    """An empty address table."""
    return address_frame([])


def address_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """An address table (:data:`ADDRESS_COLUMNS`, text columns as strings, lon/lat as floats)."""
    frame = pd.DataFrame(list(rows), columns=list(ADDRESS_COLUMNS))
    for col in _TEXT:
        frame[col] = frame[col].astype("string")
    for col in ("lon", "lat"):
        frame[col] = frame[col].astype("float64")
    return frame


def _stored(row: Sequence[Any]) -> tuple[Any, ...]:
    """One address as stored: text, the two coordinates as floats, None for what is missing."""
    return tuple(
        None if pd.isna(v) else (float(v) if c in ("lon", "lat") else str(v))
        for c, v in zip(ADDRESS_COLUMNS, row, strict=True)
    )


class AddressStore(ModeratedStore):
    """:class:`ModeratedStore` with the address table of the local geocoder."""

    @abc.abstractmethod
    def _bulk_insert(
        self, tx: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many rows into a plain table, in the write transaction."""

    def replace_addresses(self, table: pd.DataFrame) -> int:
        """Replace every address with the table's (:data:`ADDRESS_COLUMNS`), in one transaction."""
        frame = table.reindex(columns=list(ADDRESS_COLUMNS))
        rows = [
            tuple(
                None if pd.isna(v) else (float(v) if c in ("lon", "lat") else str(v))
                for c, v in zip(ADDRESS_COLUMNS, row, strict=True)
            )
            for row in frame.itertuples(index=False, name=None)
        ]
        with self._transaction() as tx:
            self._execute(tx, "DELETE FROM addresses")
            self._bulk_insert(tx, "addresses", ADDRESS_COLUMNS, rows)
            self._bump(tx)
        return len(rows)

    def address_count(self) -> int:
        """How many addresses were imported (without loading them)."""
        rows = self._query("SELECT count(*) FROM addresses")
        return int(rows[0][0]) if rows else 0  # no rows: a store not created yet

    def load_addresses(self) -> pd.DataFrame:
        """Every imported address (an empty table when none was imported)."""
        rows = self._query(f"SELECT {', '.join(ADDRESS_COLUMNS)} FROM addresses ORDER BY id")
        return address_frame(rows)
