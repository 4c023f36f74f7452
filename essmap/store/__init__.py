"""Where essmap's data lives: the Store protocol and its implementations."""

from __future__ import annotations

from essmap.settings import Settings
from essmap.store.base import Store, UpsertCounts
from essmap.store.gpkg import GeoPackageStore

__all__ = ["GeoPackageStore", "Store", "UpsertCounts", "open_store"]


def open_store(settings: Settings) -> Store:
    """Open the store the settings select, as it is (a new store is empty until written or seeded).

    :func:`essmap.importing.open_seeded_store` also fills a new store with the demo set.
    """
    if settings.store == "postgis":
        from essmap.errors import StoreError

        raise StoreError("le stockage PostGIS n'est pas encore disponible ; utilisez ESSMAP_STORE=gpkg")
    return GeoPackageStore(settings.store_path)
