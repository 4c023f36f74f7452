"""The geocoder interface, its results and its errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from essmap.errors import EssmapError

ResultType = Literal["housenumber", "street", "municipality"]
#: Most results one search returns.
MAX_LIMIT = 50


class GeocoderUnavailableError(EssmapError, RuntimeError):
    """No geocoder can answer: no address imported and no web service set, or the web service
    failed (timeout, error status, unexpected answer). A fault of the server, not of the query."""


@dataclass(frozen=True)
class GeocodeResult:
    """One place found for a text: an address, a street or a municipality, with its point (WGS 84).

    ``score`` is between 0 and 1 (higher is better); the fields follow the national address
    service's GeoJSON properties.
    """

    label: str
    score: float
    type: ResultType
    lon: float
    lat: float
    housenumber: str | None = None
    street: str | None = None
    postcode: str | None = None
    citycode: str | None = None
    city: str | None = None
    id: str | None = None

    def as_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature, with the properties of the national address service's answers."""
        names = {"housenumber": f"{self.housenumber} {self.street}", "street": self.street}
        properties = {
            "label": self.label,
            "score": self.score,
            "type": self.type,
            "id": self.id,
            "name": names.get(self.type, self.city),
            "housenumber": self.housenumber,
            "street": self.street,
            "postcode": self.postcode,
            "citycode": self.citycode,
            "city": self.city,
        }
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [self.lon, self.lat]},
            "properties": {k: v for k, v in properties.items() if v is not None},
        }


def feature_collection(results: Sequence[GeocodeResult], *, query: str, limit: int) -> dict[str, Any]:
    """Results as a GeoJSON FeatureCollection in the national address service's format."""
    return {
        "type": "FeatureCollection",
        "version": "draft",
        "features": [r.as_feature() for r in results],
        "query": query,
        "limit": limit,
    }


@runtime_checkable
class Geocoder(Protocol):
    """Finds addresses, streets and municipalities from typed text."""

    def search(self, text: str, *, limit: int = 5, autocomplete: bool = True) -> list[GeocodeResult]:
        """The best places for ``text``, best first (none for a text that matches nothing).

        Parameters
        ----------
        text
            What was typed: ``12 av. de Lattre de Tassigny Bayonne``, ``64100``, ``rue des ton``.
        limit
            Most results (1 to :data:`MAX_LIMIT`).
        autocomplete
            Read the last word as the beginning of a word (as the text is being typed), unless the
            text ends with a space.

        Raises
        ------
        GeocoderUnavailableError
            If the geocoder cannot answer (a web service that fails).
        """
        ...
