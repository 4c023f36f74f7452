"""Structured weekly schedules and what they answer: the next pick-up, open or not at an instant,
open or not on a day around a time.

A schedule is a list of rules (weekly slots, each rule valid all year or in a season or a range of
dates), closed dates, and a free note. Every time is a wall-clock time in Europe/Paris: a slot at
18:30 stays at 18:30 local time across the daylight-saving changes (its UTC time moves).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from essmap.errors import InvalidInputError

#: The time zone of every schedule (mainland France).
PARIS: Final = ZoneInfo("Europe/Paris")
#: How far ahead the next pick-up is searched (a seasonal schedule may pause for months).
DEFAULT_HORIZON_DAYS: Final = 400
_MINUTES_PER_WEEK: Final = 7 * 24 * 60


class ScheduleError(InvalidInputError):
    """A schedule that cannot be read (its text or its structured form), with what is wrong."""


@dataclass(frozen=True, order=True)
class MonthDay:
    """A day of the year without a year (24 December), for seasons and yearly closures."""

    month: int
    day: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ScheduleError(f"mois {self.month} invalide (1 à 12)")
        last = calendar.monthrange(2000, self.month)[1]  # a leap year: 29 February exists
        if not 1 <= self.day <= last:
            raise ScheduleError(f"jour {self.day} invalide pour le mois {self.month}")

    @classmethod
    def of(cls, day: date) -> MonthDay:
        """The day of the year of a date."""
        return cls(day.month, day.day)

    @property
    def is_month_end(self) -> bool:
        """Whether this is the last day of its month (29 February for February)."""
        return self.day == calendar.monthrange(2000, self.month)[1]


@dataclass(frozen=True)
class Season:
    """A part of every year, from ``start`` to ``end`` inclusive (October to March wraps)."""

    start: MonthDay
    end: MonthDay

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls in the season."""
        md = MonthDay.of(day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end

    @property
    def whole_months(self) -> bool:
        """Whether the season starts on the first of a month and ends on the last of one."""
        return self.start.day == 1 and self.end.is_month_end


@dataclass(frozen=True)
class DateRange:
    """The dates from ``start`` to ``end`` inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ScheduleError(f"période du {self.start} au {self.end} : la fin précède le début")

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls in the range."""
        return self.start <= day <= self.end


#: When a rule applies: a season (every year) or a range of dates.
Period = Season | DateRange


@dataclass(frozen=True)
class Closure:
    """Closed dates: one date or a range, each year (``yearly``) or once.

    A slot is cancelled when the date it starts on is closed.
    """

    start: date | MonthDay
    end: date | MonthDay

    def __post_init__(self) -> None:
        if isinstance(self.start, MonthDay) != isinstance(self.end, MonthDay):
            raise ScheduleError("fermeture : deux dates avec année ou deux dates sans année attendues")
        if isinstance(self.start, date) and isinstance(self.end, date) and self.end < self.start:
            raise ScheduleError(f"fermeture du {self.start} au {self.end} : la fin précède le début")

    @property
    def yearly(self) -> bool:
        """Whether the closure comes back every year (dates written without a year)."""
        return isinstance(self.start, MonthDay)

    def contains(self, day: date) -> bool:
        """Whether ``day`` is closed."""
        if isinstance(self.start, MonthDay) and isinstance(self.end, MonthDay):
            return Season(self.start, self.end).contains(day)
        return self.start <= day <= self.end  # type: ignore[operator]  # both dates (__post_init__)


@dataclass(frozen=True, order=True)
class Slot:
    """A weekly slot: ``day`` (0 is Monday, 6 Sunday) from ``start`` to ``end``, local times.

    An ``end`` at or before ``start`` ends the next day: ``ven 22:00-01:00`` ends on Saturday.
    """

    day: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.day <= 6:
            raise ScheduleError(f"jour {self.day} invalide (0 pour lundi à 6 pour dimanche)")
        if self.start == self.end:
            raise ScheduleError(f"créneau de durée nulle ({self.start:%H:%M}-{self.end:%H:%M})")

    @property
    def crosses_midnight(self) -> bool:
        """Whether the slot ends the day after it starts."""
        return self.end <= self.start

    @property
    def duration(self) -> timedelta:
        """The wall-clock length of the slot."""
        minutes = _minutes(self.end) - _minutes(self.start)
        return timedelta(minutes=minutes + (24 * 60 if minutes <= 0 else 0))


@dataclass(frozen=True)
class Rule:
    """Weekly slots, valid all year (``period`` None) or in a season or a range of dates."""

    slots: tuple[Slot, ...]
    period: Period | None = None

    def __post_init__(self) -> None:
        # one order for one set of slots: two rules written differently compare equal
        object.__setattr__(self, "slots", tuple(sorted(set(self.slots))))

    def applies(self, day: date) -> bool:
        """Whether the rule is in force on ``day``."""
        return self.period is None or self.period.contains(day)


@dataclass(frozen=True)
class Schedule:
    """Weekly rules, closed dates and a free note, in Europe/Paris local time."""

    rules: tuple[Rule, ...] = ()
    closures: tuple[Closure, ...] = ()
    note: str | None = None

    def __post_init__(self) -> None:
        # one rule per period (in order of first appearance): equal schedules compare equal
        merged: dict[Period | None, list[Slot]] = {}
        for rule in self.rules:
            merged.setdefault(rule.period, []).extend(rule.slots)
        if len(merged) != len(self.rules):
            rules = tuple(Rule(tuple(slots), period) for period, slots in merged.items())
            object.__setattr__(self, "rules", rules)

    @property
    def slots(self) -> tuple[Slot, ...]:
        """Every weekly slot of every rule."""
        return tuple(slot for rule in self.rules for slot in rule.slots)

    @property
    def has_slots(self) -> bool:
        """Whether the schedule gives at least one weekly slot (a note alone gives none)."""
        return any(rule.slots for rule in self.rules)

    def is_closed(self, day: date) -> bool:
        """Whether ``day`` is a closed date."""
        return any(closure.contains(day) for closure in self.closures)


@dataclass(frozen=True, order=True)
class Pickup:
    """One occurrence of a slot: aware start and end datetimes in Europe/Paris."""

    start: datetime
    end: datetime = field(compare=False)

    def as_dict(self) -> dict[str, str]:
        """ISO 8601 start and end, with their UTC offset (``2026-03-31T18:30:00+02:00``)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


# --- occurrences ------------------------------------------------------------------------------


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _utc(value: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is read as Europe/Paris wall-clock time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=PARIS)
    return value.astimezone(UTC)


def _local_date(value: datetime) -> date:
    return _utc(value).astimezone(PARIS).date()


def pickups_on(schedule: Schedule, day: date) -> list[Pickup]:
    """The pick-ups that start on ``day`` (local date), in order, closed dates left out."""
    if schedule.is_closed(day):
        return []
    weekday = day.weekday()
    seen: set[tuple[time, time]] = set()
    out: list[Pickup] = []
    for rule in schedule.rules:
        if not rule.applies(day):
            continue
        for slot in rule.slots:
            if slot.day != weekday or (slot.start, slot.end) in seen:
                continue
            seen.add((slot.start, slot.end))
            end_day = day + timedelta(days=1) if slot.crosses_midnight else day
            out.append(
                Pickup(
                    datetime.combine(day, slot.start, tzinfo=PARIS),
                    datetime.combine(end_day, slot.end, tzinfo=PARIS),
                )
            )
    out.sort(key=lambda p: _utc(p.start))
    return out


def pickups_between(schedule: Schedule, start: datetime, end: datetime) -> Iterator[Pickup]:
    """The pick-ups that overlap ``[start, end)``, in order of start.

    Naive datetimes are read as Europe/Paris wall-clock time.
    """
    lo, hi = _utc(start), _utc(end)
    if not schedule.has_slots or hi <= lo:
        return
    day = _local_date(start) - timedelta(days=1)  # a slot of the day before may cross midnight
    last = _local_date(end)
    while day <= last:
        for pickup in pickups_on(schedule, day):
            if _utc(pickup.end) > lo and _utc(pickup.start) < hi:
                yield pickup
        day += timedelta(days=1)


def next_pickup(
    schedule: Schedule, after: datetime, *, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> Pickup | None:
    """The next pick-up of a schedule at or after an instant (one in progress counts).

    Parameters
    ----------
    schedule
        A parsed schedule (see :func:`essmap.schedules.parse_schedule`).
    after
        The instant; a naive datetime is read as Europe/Paris wall-clock time.
    horizon_days
        How many days ahead to look.

    Returns
    -------
    Pickup or None
        Its start and end, aware datetimes in Europe/Paris (18:30 stays 18:30 across a
        daylight-saving change); None when the schedule gives no slot within the horizon (a note
        alone, a season that is over, closed dates).
    """
    if not schedule.has_slots:
        return None
    moment = _utc(after)
    day = _local_date(after) - timedelta(days=1)
    last = day + timedelta(days=horizon_days + 1)
    weekdays = {slot.day for slot in schedule.slots}
    while day <= last:
        if day.weekday() in weekdays:
            for pickup in pickups_on(schedule, day):
                if _utc(pickup.end) > moment:
                    return pickup
        day += timedelta(days=1)
    return None


def is_open(schedule: Schedule, when: datetime, *, tolerance_min: float = 0) -> bool:
    """Whether a pick-up is under way at ``when``, give or take ``tolerance_min`` minutes.

    A naive ``when`` is read as Europe/Paris wall-clock time. Closed dates and seasons apply.
    """
    margin = timedelta(minutes=tolerance_min)
    moment = _utc(when)
    return any(
        _utc(p.start) - margin <= moment < _utc(p.end) + margin
        for p in pickups_between(schedule, moment - margin, moment + margin + timedelta(microseconds=1))
    )


def open_around(
    schedule: Schedule,
    *,
    day: int,
    at: time,
    tolerance_min: float = 30,
    on_or_after: date | None = None,
) -> bool:
    """Whether the schedule has a pick-up on a weekday around a time ("open on Tuesday near 18:45").

    Parameters
    ----------
    schedule
        A parsed schedule.
    day
        The weekday, 0 for Monday to 6 for Sunday (see :func:`essmap.schedules.parse_day`).
    at
        The local time (see :func:`essmap.schedules.parse_time`).
    tolerance_min
        A slot counts if it overlaps ``at`` give or take this many minutes.
    on_or_after
        If given, the question is asked of the first such weekday on or after this date, so that
        seasons and closed dates apply (pass today's date for "next Tuesday"); if None, of the
        weekly slots alone, whatever the season.
    """
    if on_or_after is not None:
        target = on_or_after + timedelta(days=(day - on_or_after.weekday()) % 7)
        return is_open(schedule, datetime.combine(target, at, tzinfo=PARIS), tolerance_min=tolerance_min)
    query = day * 24 * 60 + _minutes(at)
    for slot in schedule.slots:
        start = slot.day * 24 * 60 + _minutes(slot.start)
        end = start + int(slot.duration.total_seconds() // 60)
        for shift in (-_MINUTES_PER_WEEK, 0, _MINUTES_PER_WEEK):
            q = query + shift
            if start <= q + tolerance_min and end > q - tolerance_min:
                return True
    return False
