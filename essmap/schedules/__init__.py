"""Actors' schedules: weekly slots, seasons, closed dates and a note, in Europe/Paris.

The ``schedule`` column of actors holds text in a short French notation
(``avr-oct : mar 18:30-19:30 ; fermé 2026-12-25``, see :mod:`essmap.schedules.notation` and
README.md) or its structured form as JSON. It is stored as given and parsed when needed
(:func:`parse_schedule` keeps a small cache). The functions here answer what residents ask: the next
pick-up, whether a place is open on a day around a time, and a calendar file to subscribe to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

import numpy as np

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
from essmap.schedules.table import NextPickups, schedule_details, upcoming_pickups

__all__ = [
    "DAY_ABBREVIATIONS_FR",
    "DAY_NAMES_FR",
    "ICAL_MEDIA_TYPE",
    "PARIS",
    "Closure",
    "DateRange",
    "MonthDay",
    "NextPickups",
    "OpenAround",
    "Pickup",
    "Rule",
    "Schedule",
    "ScheduleError",
    "Season",
    "Slot",
    "WeeklySlots",
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
    "schedule_details",
    "schedule_from_dict",
    "schedule_info",
    "schedule_problem",
    "schedule_to_ical",
    "upcoming_pickups",
]


def _parsed(value: object) -> Schedule | None:
    """The schedule of a cell, or None for an empty, missing or unreadable one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_schedule(value)
    except ScheduleError:
        return None


_WEEK_MIN = 7 * 24 * 60


class WeeklySlots:
    """The weekly slots of a column of schedules as arrays, built once (with a spatial index):
    the filter "open on DAY around TIME" over many actors is then a few array operations.

    Seasons and closed dates are not in these arrays; :meth:`OpenAround.mask` checks them on the
    rows these arrays keep.
    """

    def __init__(self, schedules: Iterable[object]) -> None:
        rows: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        count = 0
        for row, value in enumerate(schedules):
            count += 1
            parsed = _parsed(value)
            for slot in parsed.slots if parsed is not None else ():
                start = slot.day * 24 * 60 + slot.start.hour * 60 + slot.start.minute
                rows.append(row)
                starts.append(start)
                ends.append(start + int(slot.duration.total_seconds() // 60))
        self.size = count
        self.rows = np.asarray(rows, dtype=np.int64)
        self.start_min = np.asarray(starts, dtype=np.int64)  # minutes from Monday 00:00
        self.end_min = np.asarray(ends, dtype=np.int64)  # may pass the end of the week

    def mask(self, *, day: int, at: time, tolerance_min: float = 30) -> np.ndarray:
        """Which rows have a weekly slot overlapping ``at`` ± ``tolerance_min`` on ``day``."""
        query = day * 24 * 60 + at.hour * 60 + at.minute
        hit = np.zeros(len(self.rows), dtype=bool)
        for shift in (-_WEEK_MIN, 0, _WEEK_MIN):
            q = query + shift
            hit |= (self.start_min <= q + tolerance_min) & (self.end_min > q - tolerance_min)
        out = np.zeros(self.size, dtype=bool)
        out[self.rows[hit]] = True
        return out


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

    def matches(self, schedule: object) -> bool:
        """Whether a schedule (text or parsed) is open then; empty or unreadable ones are not."""
        parsed = schedule if isinstance(schedule, Schedule) else _parsed(schedule)
        return parsed is not None and open_around(
            parsed, day=self.day, at=self.at, tolerance_min=self.tolerance_min, on_or_after=self.on_or_after
        )

    def mask(self, schedules: Sequence[object], *, weekly: WeeklySlots | None = None) -> np.ndarray:
        """A boolean array: which of these schedules (an actor table's column) are open then.

        Parameters
        ----------
        schedules
            The schedule texts, in row order.
        weekly
            :class:`WeeklySlots` built from the same column, to answer without reading every
            schedule again (only the rows open on the weekly slots are checked for seasons and
            closed dates).
        """
        if weekly is None:
            return np.fromiter((self.matches(s) for s in schedules), dtype=bool, count=len(schedules))
        out = weekly.mask(day=self.day, at=self.at, tolerance_min=self.tolerance_min)
        if self.on_or_after is not None:
            for row in np.flatnonzero(out).tolist():
                out[row] = self.matches(schedules[row])
        return out


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
    """What an API feature, a popup or the nearest list shows of an actor's schedule.

    Parameters
    ----------
    value
        The actor's ``schedule`` cell (text, or missing).
    now
        The instant the next pick-up follows (aware; a naive one is Europe/Paris time).

    Returns
    -------
    dict
        ``schedule`` (the text as given, or None), ``schedule_description`` (a French sentence:
        ``Le mardi de 18h30 à 19h30``), ``schedule_structured`` (see :func:`schedule_as_dict`),
        ``next_pickup`` (``{"start", "end"}``, ISO 8601 with the UTC offset) and
        ``next_pickup_description`` (``mardi 2 juin 2026, 18h30–19h30``); None where there is none.
    """
    text = value if isinstance(value, str) and value.strip() else None
    parsed = _parsed(text)
    pickup = next_pickup(parsed, now) if parsed is not None else None
    return {
        "schedule": text,
        "schedule_description": describe_schedule(parsed) if parsed is not None else None,
        "schedule_structured": schedule_as_dict(parsed) if parsed is not None else None,
        "next_pickup": pickup.as_dict() if pickup is not None else None,
        "next_pickup_description": describe_pickup(pickup) if pickup is not None else None,
    }
