"""OGC API - Features filters given as text: ``bbox`` and ``datetime``.

Both raise :class:`~essmap.errors.InvalidParameterError` (a 400 naming the parameter) with a
French message saying what is wrong.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from essmap.errors import InvalidParameterError

BBox = tuple[float, float, float, float]
#: Days from ``start`` to ``end``, both included; None for an open end.
Period = tuple[date | None, date | None]


def parse_bbox(text: str | None) -> BBox | None:
    """Parse an OGC ``bbox`` (lon/lat WGS 84: minx,miny,maxx,maxy, or 6 numbers with heights)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameterError(
            "bbox", f"« {text} » : quatre nombres séparés par des virgules attendus (minx,miny,maxx,maxy)"
        ) from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise InvalidParameterError(
            "bbox", f"« {text} » : 4 ou 6 nombres attendus (minx,miny,maxx,maxy), {len(values)} reçus"
        )
    minx, miny, maxx, maxy = values
    if not all(math.isfinite(v) for v in values):
        raise InvalidParameterError("bbox", f"« {text} » : les coordonnées doivent être des nombres finis")
    for name, lon in (("minx", minx), ("maxx", maxx)):
        if not -180 <= lon <= 180:
            raise InvalidParameterError("bbox", f"{name} {lon} est hors de [-180, 180] (longitude)")
    for name, lat in (("miny", miny), ("maxy", maxy)):
        if not -90 <= lat <= 90:
            raise InvalidParameterError("bbox", f"{name} {lat} est hors de [-90, 90] (latitude)")
    if miny > maxy:
        raise InvalidParameterError("bbox", f"miny {miny} est supérieur à maxy {maxy}")
    return (minx, miny, maxx, maxy)


def _bad_datetime(text: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(
        "datetime",
        f"« {text} » : {why} ; attendu une date (2020-01-01), un instant (2020-01-01T10:00:00Z) "
        "ou un intervalle (2020-01-01/2021-12-31, 2020-01-01/.., ../2021-12-31)",
    )


def _day(text: str, whole: str) -> date:
    """The UTC day of an RFC 3339 date or date-time (a date-time without offset is taken as UTC)."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        instant = datetime.fromisoformat(text)
    except ValueError:
        why = "date non valide" if text == whole else f"« {text} » n'est pas une date valide"
        raise _bad_datetime(whole, why) from None
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC)
    return instant.date()


def parse_datetime(text: str | None) -> Period | None:
    """Parse an OGC ``datetime``: an instant, or an interval ``start/end`` with ``..`` for an open end.

    An instant matches its whole day: features carry dates (an actor's ``last_verified``).
    """
    if text is None:
        return None
    value = text.strip()
    if not value:
        raise _bad_datetime(text, "valeur vide")
    if "/" not in value:
        day = _day(value, text)
        return (day, day)
    start_text, end_text = value.split("/", 1)
    if "/" in end_text:
        raise _bad_datetime(text, "un intervalle a deux bornes séparées par une seule barre oblique")
    open_bounds = ("", "..")
    start = None if start_text in open_bounds else _day(start_text, text)
    end = None if end_text in open_bounds else _day(end_text, text)
    if start is None and end is None:
        raise _bad_datetime(text, "un intervalle doit avoir au moins une borne")
    if start is not None and end is not None and start > end:
        raise _bad_datetime(text, f"le début {start} est après la fin {end}")
    return (start, end)
