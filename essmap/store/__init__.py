"""Where essmap's data lives: the Store protocol and its implementations."""

from __future__ import annotations

from essmap.settings import Settings
from essmap.store.base import Store, UpsertCounts
from essmap.store.gpkg import GeoPackageStore

__all__ = ["GeoPackageStore", "Store", "UpsertCounts", "open_store"]


def open_store(settings: Settings) -> Store:
    """Open the store the settings select (PostGIS when ``database_url`` is set, else the embedded
    GeoPackage in the data directory), as it is (a new store is empty until written or seeded).

    :func:`essmap.importing.open_seeded_store` also fills a new store with the demo set.
    """
    if settings.database_url:
        from essmap.store.postgis import PostGISStore  # psycopg is only needed for this store

        return PostGISStore(settings.database_url, pool_size=settings.database_pool_size)
    return GeoPackageStore(settings.store_path)
