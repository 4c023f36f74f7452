"""Address search behind one interface (:class:`Geocoder`): the local index of imported BAN
addresses (:class:`LocalGeocoder`), or the national address web service when its base URL is set
(``ESSMAP_GEOCODER_URL``, :class:`ServiceGeocoder`)."""

from __future__ import annotations

from collections.abc import Iterable

from essmap.errors import NotFoundError
from essmap.geocoding.base import (
    MAX_LIMIT,
    Geocoder,
    GeocodeResult,
    GeocoderUnavailableError,
    feature_collection,
)
from essmap.geocoding.local import LocalGeocoder
from essmap.geocoding.service import ServiceGeocoder
from essmap.geocoding.text import fold, parse_query, words
from essmap.settings import Settings
from essmap.store import Store

__all__ = [
    "MAX_LIMIT",
    "GeocodeResult",
    "Geocoder",
    "GeocoderUnavailableError",
    "LocalGeocoder",
    "ServiceGeocoder",
    "feature_collection",
    "fold",
    "geocode_many",
    "geocoder_for",
    "parse_query",
    "point_from_address",
    "words",
]


def geocoder_for(store: Store, settings: Settings) -> Geocoder:
    """The geocoder the settings select: the web service if ``geocoder_url`` is set, else the
    local index of the store's addresses (built here: keep it, it takes a moment to build).

    Raises
    ------
    GeocoderUnavailableError
        If no web service is set and no address was imported (``essmap import addresses``).
    """
    if settings.geocoder_url:
        return ServiceGeocoder(settings.geocoder_url, timeout_s=settings.geocoder_timeout_s)
    local = LocalGeocoder.from_store(store)
    if not len(local):
        raise GeocoderUnavailableError(
            "aucune adresse importée : importez le fichier BAN du département "
            "(« essmap import addresses adresses-64.csv ») ou réglez ESSMAP_GEOCODER_URL"
        )
    return local


def point_from_address(
    store: Store, settings: Settings, text: str, *, geocoder: Geocoder | None = None
) -> tuple[float, float, str]:
    """The point (lon, lat, WGS 84) of the best match for an address, and its label.

    Raises
    ------
    NotFoundError
        If nothing matches the text.
    GeocoderUnavailableError
        If no geocoder can answer (see :func:`geocoder_for`).
    """
    found = (geocoder or geocoder_for(store, settings)).search(text, limit=1)
    if not found:
        raise NotFoundError(f"adresse « {text.strip()} » introuvable")
    best = found[0]
    return best.lon, best.lat, best.label


def geocode_many(geocoder: Geocoder, texts: Iterable[str]) -> list[GeocodeResult | None]:
    """The best match of each text (None where nothing matches), for rows that carry addresses."""
    out: list[GeocodeResult | None] = []
    for text in texts:
        found = geocoder.search(text, limit=1, autocomplete=False) if text and text.strip() else []
        out.append(found[0] if found else None)
    return out
