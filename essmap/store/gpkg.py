"""The embedded store: one GeoPackage file in the data directory.

Writes are atomic: the new content is written to a temporary file beside the store, flushed to
disk, then renamed over the store (``os.replace``). A process killed at any moment leaves either
the previous file or the new one, never a half-written store. Concurrent writers are serialised
with an advisory lock, so that read-modify-write upserts do not lose updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from essmap.errors import StoreError
from essmap.model import (
    WGS84,
    actor_frame,
    empty_actors,
    empty_neighbourhoods,
    neighbourhood_frame,
)
from essmap.store.base import ACTOR_KEY, QPV_KEY, UpsertCounts, merge

SCHEMA_VERSION = "1"
LAYERS = {
    "neighbourhoods": "MultiPolygon",
    "actors": "Point",
    "population_grid": "Polygon",
}
META_LAYER = "essmap_meta"


def empty_grid() -> gpd.GeoDataFrame:
    """An empty population grid table."""
    return gpd.GeoDataFrame(
        {"id": pd.Series([], dtype="string"), "population": pd.Series([], dtype="float64")},
        geometry=gpd.GeoSeries([], crs=WGS84),
        crs=WGS84,
    )


def _normalise(layer: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if layer == "neighbourhoods":
        return neighbourhood_frame(gdf, gdf.geometry.to_numpy())
    if layer == "actors":
        return actor_frame(gdf, gdf.geometry.to_numpy())
    out = gpd.GeoDataFrame(
        {"id": gdf["id"].astype("string"), "population": gdf["population"].astype("float64")},
        geometry=gdf.geometry.to_numpy(),
        crs=WGS84,
    )
    return out.reset_index(drop=True)


_EMPTY = {"neighbourhoods": empty_neighbourhoods, "actors": empty_actors, "population_grid": empty_grid}


class GeoPackageStore:
    """A store in one GeoPackage file (layers ``neighbourhoods``, ``actors``, ``population_grid``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fspath = os.fspath(self.path)
        self._cache: dict[str, tuple[str, gpd.GeoDataFrame]] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._revision = "empty"

    # --- reading ---------------------------------------------------------------------------
    def revision(self) -> str:
        """The file's identity, modification time and size: any write (an atomic replace) changes it.

        Called on every proximity request: one ``stat``, and the text is only formatted when the
        file changed.
        """
        try:
            st = os.stat(self._fspath)
        except FileNotFoundError:
            return "empty"
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._revision = f"{stamp[0]:x}-{stamp[1]:x}-{stamp[2]:x}"
            self._stamp = stamp
        return self._revision

    def exists(self) -> bool:
        return self.path.exists()

    def _load(self, layer: str) -> gpd.GeoDataFrame:
        rev = self.revision()
        cached = self._cache.get(layer)
        if cached and cached[0] == rev:
            return cached[1].copy()
        gdf = _EMPTY[layer]() if rev == "empty" else self._read_layer(layer)
        self._cache[layer] = (rev, gdf)
        return gdf.copy()

    def _read_layer(self, layer: str) -> gpd.GeoDataFrame:
        try:
            names = {name for name, _ in pyogrio.list_layers(self.path)}
            if layer not in names:
                return _EMPTY[layer]()
            self._check_schema(names)
            raw = pyogrio.read_dataframe(self.path, layer=layer)
        except StoreError:
            raise
        except Exception as exc:  # GDAL raises several error classes for unreadable files
            raise StoreError(f"le stockage {self.path} est illisible : {exc}") from exc
        if raw.crs is None or not raw.crs.equals(WGS84):
            raise StoreError(f"le stockage {self.path} : la couche {layer} n'est pas en WGS 84")
        return _normalise(layer, raw)

    def _check_schema(self, names: set[str]) -> None:
        if META_LAYER not in names:
            raise StoreError(f"{self.path} n'est pas un stockage essmap (table {META_LAYER} absente)")
        meta = pyogrio.read_dataframe(self.path, layer=META_LAYER)
        values = dict(zip(meta["key"], meta["value"], strict=True))
        if values.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} : version de schéma {values.get('schema_version')} non prise en charge "
                f"(attendue : {SCHEMA_VERSION})"
            )

    def load_neighbourhoods(self) -> gpd.GeoDataFrame:
        return self._load("neighbourhoods")

    def load_actors(self) -> gpd.GeoDataFrame:
        return self._load("actors")

    def load_population_grid(self) -> gpd.GeoDataFrame:
        return self._load("population_grid")

    # --- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _remove_stale_temporaries(self) -> None:
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp.gpkg*"):  # with -journal, -wal…
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _write(self, tables: dict[str, gpd.GeoDataFrame]) -> None:
        """Write every layer to a temporary file, then atomically replace the store (lock held)."""
        layers = {name: tables[name] if name in tables else self._load(name) for name in LAYERS}
        self._remove_stale_temporaries()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp.gpkg")
        try:
            with warnings.catch_warnings():
                # GDAL warns when a layer is empty or a column is all-null; both are expected here
                warnings.simplefilter("ignore", RuntimeWarning)
                for name, gdf in layers.items():
                    pyogrio.write_dataframe(
                        gdf,
                        tmp,
                        layer=name,
                        driver="GPKG",
                        geometry_type=LAYERS[name],
                        promote_to_multi=False,
                    )
                meta = pd.DataFrame({"key": ["schema_version"], "value": [SCHEMA_VERSION]})
                pyogrio.write_dataframe(meta, tmp, layer=META_LAYER, driver="GPKG")
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        rev = self.revision()
        for name, gdf in layers.items():
            self._cache[name] = (rev, gdf.reset_index(drop=True))

    def upsert_neighbourhoods(self, table: gpd.GeoDataFrame) -> UpsertCounts:
        with self._locked():
            merged, counts = merge(self._load("neighbourhoods"), table, QPV_KEY)
            self._write({"neighbourhoods": _normalise("neighbourhoods", merged)})
        return counts

    def upsert_actors(self, table: gpd.GeoDataFrame) -> UpsertCounts:
        with self._locked():
            merged, counts = merge(self._load("actors"), table, ACTOR_KEY)
            self._write({"actors": _normalise("actors", merged)})
        return counts

    def replace_population_grid(self, table: gpd.GeoDataFrame) -> int:
        with self._locked():
            self._write({"population_grid": _normalise("population_grid", table)})
        return len(table)

    def initialise(self, neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame) -> None:
        """Create the store with the given content (used to seed a new data directory)."""
        with self._locked():
            if self.path.exists():
                return
            self._write({"neighbourhoods": neighbourhoods, "actors": actors})

    def close(self) -> None:
        self._cache.clear()
