"""The national address web service behind the geocoder interface (off unless its base URL is set).

Its ``/search/`` endpoint answers a GeoJSON FeatureCollection whose features carry ``label``,
``score``, ``type``, ``housenumber``, ``street``, ``postcode``, ``citycode`` and ``city``. essmap
never calls it unless ``ESSMAP_GEOCODER_URL`` is set; every call is bounded by a timeout, and any
failure becomes a clear :class:`~essmap.geocoding.base.GeocoderUnavailableError`.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from essmap.geocoding.base import MAX_LIMIT, GeocodeResult, GeocoderUnavailableError

#: The service's result types and essmap's (a locality, a named place without street, is a street).
_TYPES = {
    "housenumber": "housenumber",
    "street": "street",
    "municipality": "municipality",
    "locality": "street",
}


class ServiceGeocoder:
    """Geocoder that asks the national address web service at ``base_url``.

    Parameters
    ----------
    base_url
        The service's base URL (``/search/`` is added).
    timeout_s
        Longest wait for one answer, in seconds.
    client
        An ``httpx.Client`` to reuse (one is made, and closed by :meth:`close`, otherwise).
    """

    def __init__(self, base_url: str, *, timeout_s: float = 5.0, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=True)

    def close(self) -> None:
        """Close the HTTP client this geocoder made."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> ServiceGeocoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, text: str, *, limit: int = 5, autocomplete: bool = True) -> list[GeocodeResult]:
        """The service's results for ``text``; see :meth:`essmap.geocoding.Geocoder.search`.

        Raises
        ------
        GeocoderUnavailableError
            If the service does not answer within the timeout, answers an error status, or
            answers something that is not its GeoJSON format.
        """
        query = text.strip()
        if len(query) < 3 and not query.isdigit():
            return []  # the service refuses queries shorter than three characters
        params: dict[str, str | int] = {
            "q": query,
            "limit": max(1, min(int(limit), MAX_LIMIT)),
            "autocomplete": int(autocomplete),
        }
        url = f"{self.base_url}/search/"
        try:
            response = self._client.get(url, params=params, timeout=self.timeout_s)
        except httpx.TimeoutException:
            raise GeocoderUnavailableError(
                f"le service d'adresses ({self.base_url}) n'a pas répondu en {self.timeout_s:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise GeocoderUnavailableError(
                f"le service d'adresses ({self.base_url}) est injoignable : {exc}"
            ) from None
        if response.status_code != 200:
            raise GeocoderUnavailableError(
                f"le service d'adresses ({self.base_url}) a répondu {response.status_code}"
            )
        try:
            return [_result(f) for f in _features(response.json())]
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise GeocoderUnavailableError(
                f"réponse inattendue du service d'adresses ({self.base_url}) : {exc}"
            ) from None


def _features(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or body.get("type") != "FeatureCollection":
        raise ValueError("une FeatureCollection GeoJSON est attendue")
    features = body.get("features")
    if not isinstance(features, list):
        raise ValueError("« features » doit être une liste")
    return features


def _result(feature: dict[str, Any]) -> GeocodeResult:
    geometry, props = feature["geometry"], feature["properties"]
    if geometry.get("type") != "Point":
        raise ValueError(f"géométrie {geometry.get('type')} : un point est attendu")
    lon, lat = (float(v) for v in geometry["coordinates"][:2])
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        raise ValueError(f"coordonnées ({lon}, {lat}) impossibles")
    kind = _TYPES.get(str(props.get("type")), "street")
    street = props.get("street") or (props.get("name") if kind == "street" else None)
    return GeocodeResult(
        label=str(props["label"]),
        score=float(props.get("score", 0.0)),
        type=kind,  # type: ignore[arg-type]
        lon=lon,
        lat=lat,
        housenumber=_text(props.get("housenumber")),
        street=_text(street),
        postcode=_text(props.get("postcode")),
        citycode=_text(props.get("citycode")),
        city=_text(props.get("city")),
        id=_text(props.get("id")),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
