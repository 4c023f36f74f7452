"""Where a proximity query is asked from: a point (``lon``, ``lat``) or an address, geocoded with
the app's one geocoder (built once per store revision, in the app's cache)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.deps import cached
from api.query import PointQuery
from essmap.errors import InvalidParameterError
from essmap.geocoding import Geocoder, geocoder_for, point_from_address

GEOCODER_KEY = ("geocoder",)


async def get_geocoder(request: Request) -> Geocoder:
    """The geocoder the settings select (raises GeocoderUnavailableError, a 503, when none can answer)."""
    state = request.app.state
    found = await cached(request, GEOCODER_KEY, lambda: geocoder_for(state.store, state.settings))
    return found.value


async def query_point(request: Request, q: PointQuery) -> tuple[float, float, dict[str, Any] | None]:
    """lon, lat of a query and, when it gave an address, the address understood.

    Raises
    ------
    InvalidParameterError
        Without a point nor an address, or with both (400).
    NotFoundError
        If nothing matches the address (404).
    """
    if q.address is not None:
        if q.lon is not None or q.lat is not None:
            raise InvalidParameterError("address", "donnez soit address, soit lon et lat, pas les deux")
        state = request.app.state
        geocoder = await get_geocoder(request)
        text = q.address
        lon, lat, label = await run_in_threadpool(
            point_from_address, state.store, state.settings, text, geocoder=geocoder
        )
        return lon, lat, {"query": text, "label": label, "lon": lon, "lat": lat}
    if q.lon is None or q.lat is None:
        missing = "lon" if q.lon is None else "lat"
        raise InvalidParameterError(
            missing, f"{missing} : paramètre obligatoire absent (donnez lon et lat, ou address)"
        )
    return q.lon, q.lat, None
