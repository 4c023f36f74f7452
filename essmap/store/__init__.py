"""Where essmap's data lives: the Store protocol and its implementations."""

from __future__ import annotations

from essmap.settings import Settings
from essmap.store.base import Store, UpsertCounts
from essmap.store.gpkg import GeoPackageStore

__all__ = ["GeoPackageStore", "Store", "UpsertCounts", "open_store"]


def open_store(settings: Settings) -> Store:
    """Open the store the settings select; a new embedded store is seeded with the demo set."""
    if settings.store == "postgis":
        from essmap.errors import StoreError

        raise StoreError("le stockage PostGIS n'est pas encore disponible ; utilisez ESSMAP_STORE=gpkg")
    store = GeoPackageStore(settings.store_path)
    if not store.exists() and settings.init_from_demo:
        from essmap.importing import seed_demo

        seed_demo(store)
    return store
