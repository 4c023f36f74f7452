"""iCalendar (RFC 5545) files of schedules: one recurring weekly event per group of slots.

Each event has ``DTSTART``/``DTEND`` with ``TZID=Europe/Paris`` (and the matching ``VTIMEZONE``),
an ``RRULE`` ``FREQ=WEEKLY;BYDAY=…``, ``BYMONTH`` for a season of whole months, ``UNTIL`` for a
range of dates, and ``EXDATE`` for the closed dates. A season that starts or ends within a month
(``du 15/04 au 31/10``) becomes one event per year for ``years`` years, and yearly closures are
listed for the same number of years.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import icalendar

from essmap.errors import NotFoundError
from essmap.schedules.model import PARIS, DateRange, Rule, Schedule, Season
from essmap.schedules.notation import describe_schedule, parse_schedule

PRODID: Final = "-//essmap//horaires des acteurs//FR"
_BYDAY: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ICAL_MEDIA_TYPE: Final = "text/calendar; charset=utf-8"
#: Years of daylight-saving changes written in the VTIMEZONE (calendars that know Europe/Paris use
#: their own rules; the others need the changes spelled out).
TIMEZONE_YEARS: Final = 10


def _first_on_or_after(day: date, weekdays: set[int], rule: Rule) -> date | None:
    """The first date on or after ``day`` that falls on one of ``weekdays`` while ``rule`` applies."""
    for k in range(372):
        candidate = day + timedelta(days=k)
        if candidate.weekday() in weekdays and rule.applies(candidate):
            return candidate
    return None


def _last_on_or_before(day: date, weekdays: set[int], rule: Rule, first: date) -> date | None:
    candidate = day
    while candidate >= first:
        if candidate.weekday() in weekdays and rule.applies(candidate):
            return candidate
        candidate -= timedelta(days=1)
    return None


def _spans(rule: Rule, start: date, years: int) -> Iterator[tuple[date, date | None, list[int] | None]]:
    """Date spans of the events of a rule: (from, until or None, BYMONTH or None)."""
    period = rule.period
    if period is None:
        yield start, None, None
    elif isinstance(period, Season) and period.whole_months:
        first, last = period.start.month, period.end.month
        months = list(range(first, last + 1)) if first <= last else [*range(first, 13), *range(1, last + 1)]
        yield start, None, months
    elif isinstance(period, Season):
        for year in range(start.year - 1, start.year + years):
            end_year = year if period.start <= period.end else year + 1
            end = _clamped(end_year, period.end.month, period.end.day)
            begin = _clamped(year, period.start.month, period.start.day)
            if end >= start:
                yield max(begin, start), end, None
    elif isinstance(period, DateRange) and period.end >= start:
        yield max(period.start, start), period.end, None


def _clamped(year: int, month: int, day: int) -> date:
    """A date, 29 February becoming 28 February in a common year."""
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, day - 1)


def _closed_dates(schedule: Schedule, first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        if schedule.is_closed(day):
            yield day
        day += timedelta(days=1)


def schedule_to_ical(
    schedule: Schedule,
    *,
    uid: str,
    summary: str,
    location: str | None = None,
    description: str | None = None,
    url: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    start: date | None = None,
    now: datetime | None = None,
    years: int = 2,
) -> bytes:
    """An iCalendar file of a schedule's weekly slots (RFC 5545, UTF-8).

    Parameters
    ----------
    schedule
        A parsed schedule with at least one slot.
    uid
        A stable identifier (the actor's id): each event's UID is made from it, so that a calendar
        that imports the file again updates its events instead of adding them twice.
    summary
        The title of the events (for example the actor's name).
    location, description, url
        Shown with each event; the schedule's note is added to the description.
    lon, lat
        The place (WGS 84), written as ``GEO``.
    start
        The first date of the events (today in Europe/Paris by default).
    now
        The time stamp of the file (``DTSTAMP``; now by default).
    years
        How many years ahead a season that starts or ends within a month, and yearly closures,
        are written out.

    Raises
    ------
    NotFoundError
        If the schedule has no weekly slot (a note alone), or none from ``start`` on (a range of
        dates that is over).
    """
    if not schedule.has_slots:
        raise NotFoundError("aucun créneau hebdomadaire dans ces horaires : pas d'agenda à proposer")
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    first_day = start or stamp.astimezone(PARIS).date()
    horizon = date(first_day.year + years, first_day.month, min(first_day.day, 28))
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", summary)
    calendar.add("x-wr-timezone", "Europe/Paris")
    notes = "\n".join(t for t in (description, describe_schedule(schedule)) if t)
    count = 0
    for rule in schedule.rules:
        groups: dict[tuple[time, time], set[int]] = {}
        for slot in rule.slots:
            groups.setdefault((slot.start, slot.end), set()).add(slot.day)
        for (begin, end), weekdays in groups.items():
            for span_start, span_end, months in _spans(rule, first_day, years):
                first = _first_on_or_after(span_start, weekdays, rule)
                if first is None or (span_end is not None and first > span_end):
                    continue
                last_day = span_end
                if span_end is not None:
                    last_day = _last_on_or_before(span_end, weekdays, rule, first)
                event = icalendar.Event()
                count += 1
                event.add("uid", f"{uid}-{count}@essmap")
                event.add("dtstamp", stamp)
                event.add("summary", summary)
                dtstart = datetime.combine(first, begin, tzinfo=PARIS)
                end_day = first + timedelta(days=1) if end <= begin else first
                event.add("dtstart", dtstart)
                event.add("dtend", datetime.combine(end_day, end, tzinfo=PARIS))
                recur: dict[str, Any] = {"freq": "weekly", "byday": [_BYDAY[d] for d in sorted(weekdays)]}
                if months is not None:
                    recur["bymonth"] = months
                if last_day is not None:
                    recur["until"] = datetime.combine(last_day, begin, tzinfo=PARIS).astimezone(UTC)
                event.add("rrule", recur)
                excluded = [
                    datetime.combine(d, begin, tzinfo=PARIS)
                    for d in _closed_dates(schedule, first, last_day or horizon)
                    if d.weekday() in weekdays and rule.applies(d)
                ]
                if excluded:
                    event.add("exdate", excluded)
                if location:
                    event.add("location", location)
                if notes:
                    event.add("description", notes)
                if url:
                    event.add("url", url)
                if lon is not None and lat is not None:
                    event.add("geo", (lat, lon))
                calendar.add_component(event)
    if not count:
        raise NotFoundError("aucun créneau à venir dans ces horaires : pas d'agenda à proposer")
    # the VTIMEZONE is written from the zoneinfo database, for as many years as events may run
    last_tz_day = max(horizon, date(first_day.year + TIMEZONE_YEARS, 1, 1))
    calendar.add_missing_timezones(first_date=first_day - timedelta(days=1), last_date=last_tz_day)
    return calendar.to_ical()


def actor_ical(
    actor: Mapping[str, Any],
    *,
    lon: float | None = None,
    lat: float | None = None,
    start: date | None = None,
    now: datetime | None = None,
) -> bytes:
    """The iCalendar file of an actor's schedule (``schedule``, ``id``, ``name``, ``address``,
    ``commune``, ``website`` of an actor record; missing values are left out).

    Raises
    ------
    NotFoundError
        If the actor has no schedule, or one without weekly slots.
    ScheduleError
        If its schedule cannot be read (imports refuse such schedules).
    """
    text = _text(actor.get("schedule"))
    if text is None:
        raise NotFoundError(f"aucun horaire renseigné pour « {actor.get('name')} »")
    place = ", ".join(t for t in (_text(actor.get("address")), _text(actor.get("commune"))) if t)
    return schedule_to_ical(
        parse_schedule(text),
        uid=str(actor.get("id")),
        summary=str(actor.get("name")),
        location=place or None,
        url=_text(actor.get("website")),
        lon=lon,
        lat=lat,
        start=start,
        now=now,
    )


def _text(value: object) -> str | None:
    if value is None or not isinstance(value, str):
        return None
    return value.strip() or None
