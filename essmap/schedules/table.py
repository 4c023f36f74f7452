"""Schedules of a whole table (a column of actors' schedules), prepared once and asked many times.

A long-lived process (the API) builds these with its spatial index or its served collections,
once per store revision:

- :func:`schedule_details` gives what does not change with time (a French description and the
  structured form);
- :class:`NextPickups` keeps each row's next pick-up until that pick-up has ended, so that
  answering "when is the next pick-up" for a page of actors is a look-up, recomputed only for the
  rows whose kept pick-up is over.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from essmap.schedules.model import PARIS, Pickup, ScheduleError, next_pickup
from essmap.schedules.notation import describe_schedule, parse_schedule, schedule_as_dict

__all__ = ["NextPickups", "schedule_details", "upcoming_pickups"]

T = TypeVar("T")

#: How long "no pick-up ahead" is kept before being asked again (a season may come into view).
NONE_KEPT = timedelta(days=1)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def schedule_details(value: object) -> dict[str, Any]:
    """What an actor's schedule says whatever the time: ``schedule_description`` (French) and
    ``schedule_structured`` (see :func:`~essmap.schedules.schedule_as_dict`); None for an empty
    or unreadable schedule."""
    text = _text(value)
    try:
        parsed = parse_schedule(text) if text is not None else None
    except ScheduleError:
        parsed = None
    if parsed is None:
        return {"schedule_description": None, "schedule_structured": None}
    return {
        "schedule_description": describe_schedule(parsed),
        "schedule_structured": schedule_as_dict(parsed),
    }


def upcoming_pickups(value: object, *, after: datetime, count: int, horizon_days: int = 120) -> list[Pickup]:
    """The next ``count`` pick-ups of a schedule at or after an instant, within ``horizon_days``
    (none for an empty or unreadable schedule)."""
    text = _text(value)
    if text is None:
        return []
    try:
        parsed = parse_schedule(text)
    except ScheduleError:
        return []
    out: list[Pickup] = []
    moment = after
    last = after + timedelta(days=horizon_days)
    while len(out) < count:
        found = next_pickup(parsed, moment, horizon_days=max(1, (last - moment).days))
        if found is None or found.start > last:
            break
        out.append(found)
        moment = found.end
    return out


class NextPickups(Generic[T]):
    """The next pick-up of each schedule of a column, kept until it has ended.

    Parameters
    ----------
    schedules
        The schedule cells, in row order (text, or missing).
    render
        Makes what is kept for a row from its next pick-up (None when there is none), for
        example the JSON text an answer carries; called only when a row's value changes.

    Rows are recomputed when asked after their kept pick-up has ended (or, for a row with no
    pick-up ahead, a day later). Safe to use from several threads.
    """

    def __init__(self, schedules: Sequence[object], render: Callable[[Pickup | None], T]) -> None:
        self._texts = [_text(s) for s in schedules]
        self._render = render
        empty = render(None)
        self._values: list[T] = [empty] * len(self._texts)
        # the instant (POSIX seconds) after which a row must be computed again
        self._until = [-math.inf if t is not None else math.inf for t in self._texts]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._texts)

    def at(self, rows: Iterable[int], now: datetime) -> list[T]:
        """The kept value of each of ``rows`` at an instant (aware; naive is Europe/Paris)."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=PARIS)
        stamp = now.timestamp()
        rows = list(rows)
        until = self._until
        stale = [r for r in rows if until[r] <= stamp]
        if stale:
            self._refresh(stale, now, stamp)
        values = self._values
        return [values[r] for r in rows]

    def _refresh(self, rows: list[int], now: datetime, stamp: float) -> None:
        with self._lock:
            for row in rows:
                if self._until[row] > stamp:  # another thread did it meanwhile
                    continue
                text = self._texts[row]
                try:
                    pickup = next_pickup(parse_schedule(text), now) if text is not None else None
                except ScheduleError:
                    pickup = None
                self._values[row] = self._render(pickup)
                if pickup is not None:
                    self._until[row] = pickup.end.timestamp()
                elif text is None:
                    self._until[row] = math.inf
                else:
                    self._until[row] = stamp + NONE_KEPT.total_seconds()
