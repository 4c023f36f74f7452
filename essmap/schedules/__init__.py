"""Actors' schedules: weekly slots, seasons, closed dates and a note, in Europe/Paris.

The ``schedule`` column of actors holds text in a short French notation
(``avr-oct : mar 18:30-19:30 ; fermé 2026-12-25``, see :mod:`essmap.schedules.notation` and
README.md) or its structured form as JSON. It is stored as given and parsed when needed
(:func:`parse_schedule` keeps a small cache). The functions here answer what residents ask: the next
pick-up, whether a place is open on a day around a time, and a calendar file to subscribe to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

from essmap.schedules.ical import ICAL_MEDIA_TYPE, actor_ical, schedule_to_ical
from essmap.schedules.model import (
    PARIS,
    Closure,
    DateRange,
    MonthDay,
    Pickup,
    Rule,
    Schedule,
    ScheduleError,
    Season,
    Slot,
    is_open,
    next_pickup,
    open_around,
    pickups_between,
    pickups_on,
)
from essmap.schedules.notation import (
    DAY_ABBREVIATIONS_FR,
    DAY_NAMES_FR,
    describe_pickup,
    describe_schedule,
    format_schedule,
    normalise_schedule,
    parse_day,
    parse_schedule,
    parse_time,
    schedule_as_dict,
    schedule_from_dict,
    schedule_problem,
)

__all__ = [
    "DAY_ABBREVIATIONS_FR",
    "DAY_NAMES_FR",
    "ICAL_MEDIA_TYPE",
    "PARIS",
    "Closure",
    "DateRange",
    "MonthDay",
    "OpenAround",
    "Pickup",
    "Rule",
    "Schedule",
    "ScheduleError",
    "Season",
    "Slot",
    "actor_ical",
    "describe_pickup",
    "describe_schedule",
    "format_schedule",
    "is_open",
    "next_pickup",
    "next_pickups",
    "normalise_schedule",
    "open_around",
    "open_mask",
    "parse_day",
    "parse_schedule",
    "parse_time",
    "pickups_between",
    "pickups_on",
    "schedule_as_dict",
    "schedule_from_dict",
    "schedule_info",
    "schedule_problem",
    "schedule_to_ical",
]


def _parsed(value: object) -> Schedule | None:
    """The schedule of a cell, or None for an empty, missing or unreadable one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_schedule(value)
    except ScheduleError:
        return None


class OpenAround:
    """The filter "open on DAY around TIME", parsed once from request or command-line values.

    Parameters
    ----------
    day
        A weekday name or abbreviation (``mar``, ``mardi``, ``tue``).
    at
        A local time (``18:45``, ``18h45``).
    tolerance_min
        A slot counts if it overlaps ``at`` give or take this many minutes.
    on_or_after
        See :func:`open_around`: pass today's date so that seasons and closed dates apply.

    Raises
    ------
    ScheduleError
        For a day or a time that cannot be read (an :class:`~essmap.errors.InvalidInputError`).
    """

    def __init__(
        self, day: str, at: str, *, tolerance_min: float = 30, on_or_after: date | None = None
    ) -> None:
        if tolerance_min < 0 or tolerance_min > 24 * 60:
            raise ScheduleError(f"tolérance de {tolerance_min} minutes : entre 0 et 1440 attendue")
        self.day = parse_day(day)
        self.at = parse_time(at)
        self.tolerance_min = tolerance_min
        self.on_or_after = on_or_after

    def matches(self, schedule: str | Schedule | None) -> bool:
        """Whether a schedule (text or parsed) is open then; empty or unreadable ones are not."""
        parsed = schedule if isinstance(schedule, Schedule) else _parsed(schedule)
        return parsed is not None and open_around(
            parsed, day=self.day, at=self.at, tolerance_min=self.tolerance_min, on_or_after=self.on_or_after
        )

    def mask(self, schedules: Iterable[object]) -> np.ndarray:
        """A boolean array: which of these schedules (an actor table's column) are open then."""
        return np.fromiter((self.matches(s) for s in schedules), dtype=bool)  # type: ignore[arg-type]


def open_mask(
    schedules: Iterable[object],
    *,
    day: int,
    at: time,
    tolerance_min: float = 30,
    on_or_after: date | None = None,
) -> np.ndarray:
    """Which schedules (texts, e.g. ``actors["schedule"]``) have a pick-up on ``day`` around ``at``.

    Empty, missing or unreadable schedules are not open. See :func:`open_around`.
    """
    out = []
    for value in schedules:
        parsed = _parsed(value)
        out.append(
            parsed is not None
            and open_around(parsed, day=day, at=at, tolerance_min=tolerance_min, on_or_after=on_or_after)
        )
    return np.asarray(out, dtype=bool)


def next_pickups(schedules: Iterable[object], after: datetime) -> list[Pickup | None]:
    """The next pick-up of each schedule (text) after an instant; None where there is none."""
    out: list[Pickup | None] = []
    for value in schedules:
        parsed = _parsed(value)
        out.append(None if parsed is None else next_pickup(parsed, after))
    return out


def schedule_info(value: object, *, now: datetime) -> dict[str, Any]:
    """What an API feature or a popup shows of a schedule: the text as given, its French
    description, the structured form and the next pick-up (or nulls).

    Returns
    -------
    dict
        ``schedule`` (text or None), ``schedule_text_fr`` (a sentence), ``schedule_structured``
        (see :func:`schedule_as_dict`), ``next_pickup`` (``{"start", "end"}`` ISO 8601 with offset).
    """
    text = value if isinstance(value, str) and value.strip() else None
    parsed = _parsed(text) if text is not None and not pd.isna(text) else None
    pickup = next_pickup(parsed, now) if parsed is not None else None
    return {
        "schedule": text,
        "schedule_text_fr": describe_schedule(parsed) if parsed is not None else None,
        "schedule_structured": schedule_as_dict(parsed) if parsed is not None else None,
        "next_pickup": pickup.as_dict() if pickup is not None else None,
    }
