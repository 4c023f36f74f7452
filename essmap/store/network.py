"""The prepared street network (``essmap import network``), kept in the store.

Why in the store, and why as arrays: every API process (and every machine of a PostGIS
deployment) must walk on the same network, so it lives where the other data lives, and it changes
with the store's revision (an import bumps it, so that caches refresh). The network is only ever
used whole, loaded into memory by each process: it is kept as the few numpy arrays that make it
(node coordinates, segment nodes, segment lengths), in their raw little-endian bytes, cut into
parts of :data:`PART_BYTES` so that no value reaches the databases' limits (1 GB for a value in
PostgreSQL and SQLite). A département (some five million segments) loads in well under a second,
where one row per segment would take a minute to decode, and nothing queries segments in SQL.
One JSON part, ``meta``, holds each array's type and shape and the network's description. The
table is plain (no geometry) and its SQL is the same on both stores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from essmap.errors import StoreError
from essmap.store.addresses import AddressStore

#: The table; ``{blob}`` is the store's binary type (BLOB in a GeoPackage, bytea in PostgreSQL).
NETWORK_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS street_network (name TEXT NOT NULL, part INTEGER NOT NULL, "
    "data {blob} NOT NULL, PRIMARY KEY (name, part))",
)
#: Largest part of an array stored in one row, in bytes.
PART_BYTES: Final = 32 << 20
_META = "meta"
_INSERT = "INSERT INTO street_network (name, part, data) VALUES (?, ?, ?)"


class NetworkStore(AddressStore):
    """:class:`AddressStore` with the prepared street network."""

    def replace_street_network(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Replace the street network with these arrays and description, in one transaction.

        ``meta`` must be JSON-serialisable; the type and shape of each array are added to it.
        """
        layout = {name: {"dtype": arr.dtype.str, "shape": list(arr.shape)} for name, arr in arrays.items()}
        if _META in layout:
            raise ValueError(f"an array cannot be named {_META!r}")
        head = json.dumps({**meta, "arrays": layout}, ensure_ascii=False).encode("utf-8")
        with self._transaction() as tx:
            self._execute(tx, "DELETE FROM street_network")
            self._execute(tx, _INSERT, (_META, 0, head))
            for name, arr in arrays.items():
                raw = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
                for part, start in enumerate(range(0, max(len(raw), 1), PART_BYTES)):
                    self._execute(tx, _INSERT, (name, part, raw[start : start + PART_BYTES].tobytes()))
            self._bump(tx)

    def street_network_meta(self) -> dict[str, Any] | None:
        """The description of the stored network (None when none was imported); no array is read."""
        rows = self._query("SELECT data FROM street_network WHERE name = ? AND part = 0", (_META,))
        if not rows:
            return None
        return dict(json.loads(bytes(rows[0][0]).decode("utf-8")))

    def load_street_network(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The stored network's arrays and description (None when none was imported).

        Raises
        ------
        StoreError
            If a part is missing or does not match the description (a damaged store).
        """
        meta = self.street_network_meta()
        if meta is None:
            return None
        arrays = {}
        for name, layout in meta.get("arrays", {}).items():
            dtype = np.dtype(layout["dtype"])
            shape = tuple(int(v) for v in layout["shape"])
            out = np.empty(shape, dtype=dtype)
            flat = out.reshape(-1).view(np.uint8)
            filled = 0
            for (data,) in self._query(
                "SELECT data FROM street_network WHERE name = ? ORDER BY part", (name,)
            ):
                chunk = np.frombuffer(bytes(data), dtype=np.uint8)
                if filled + len(chunk) > len(flat):
                    filled = -1
                    break
                flat[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
            if filled != out.nbytes:
                raise StoreError(
                    f"réseau de rues endommagé dans le stockage : « {name} » n'a pas ses "
                    f"{out.nbytes} octets ; importez le réseau à nouveau"
                )
            arrays[name] = out
        return arrays, meta
