"""Schedules: the notation, the next pick-up across daylight-saving changes, closed dates, slots
that cross midnight, the open-at filter, the structured form and the iCalendar files."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from essmap.errors import InvalidInputError, NotFoundError
from essmap.schedules import (
    PARIS,
    Closure,
    DateRange,
    MonthDay,
    OpenAround,
    Rule,
    Schedule,
    ScheduleError,
    Season,
    Slot,
    WeeklySlots,
    actor_ical,
    describe_schedule,
    format_schedule,
    is_open,
    next_pickup,
    next_pickups,
    open_around,
    open_mask,
    parse_day,
    parse_schedule,
    parse_time,
    pickups_between,
    schedule_as_dict,
    schedule_info,
    schedule_to_ical,
)
from essmap.sources import actors_from_file


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


TUESDAY_EVENING = Schedule((Rule((Slot(1, time(18, 30), time(19, 30)),)),))


# --- the notation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "mar 18:30-19:30",
        "Mar. 18h30 - 19h30",
        "MARDI 18H30-19H30",
        "mardi de 18h30 à 19h30",
        "le mardi de 18 h 30 a 19 h 30",
        "les mardis 18h30–19h30",
        "tue 18:30-19:30",
    ],
)
def test_tolerant_spellings_of_one_slot(text: str) -> None:
    assert parse_schedule(text) == TUESDAY_EVENING


def test_two_slots_a_season_a_note_and_closed_dates() -> None:
    schedule = parse_schedule(
        "avr-oct : mar 18:30-19:30 ; jeu 18:00-19:00 ; fermé 2026-12-25, 2027-01-01 (sous le préau)"
    )
    april_october = Season(MonthDay(4, 1), MonthDay(10, 31))
    assert schedule.rules == (
        Rule((Slot(1, time(18, 30), time(19, 30)),), april_october),
        Rule((Slot(3, time(18), time(19)),)),
    )
    assert schedule.closures == (
        Closure(date(2026, 12, 25), date(2026, 12, 25)),
        Closure(date(2027, 1, 1), date(2027, 1, 1)),
    )
    assert schedule.note == "sous le préau"


def test_days_ranges_several_times_and_every_day() -> None:
    week = parse_schedule("du lundi au vendredi de 9h à 12h et 14h-18h")
    assert {(s.day, s.start, s.end) for s in week.slots} == {
        (d, t0, t1) for d in range(5) for t0, t1 in ((time(9), time(12)), (time(14), time(18)))
    }
    assert len(parse_schedule("tous les jours 8h-13h").slots) == 7
    assert [s.day for s in parse_schedule("lun-mer, sam 9h-12h").slots] == [0, 1, 2, 5]
    assert [s.day for s in parse_schedule("ven-lun 10h-11h").slots] == [0, 4, 5, 6]  # wraps the week


def test_periods_and_closures_in_every_documented_form() -> None:
    assert parse_schedule("d'avril à octobre : mar 18h-19h").rules[0].period == Season(
        MonthDay(4, 1), MonthDay(10, 31)
    )
    winter = Season(MonthDay(10, 1), MonthDay(3, 31))
    assert parse_schedule("oct-mars : sam 10h-12h").rules[0].period == winter
    assert parse_schedule("fev : sam 10h-12h").rules[0].period == Season(MonthDay(2, 1), MonthDay(2, 29))
    assert parse_schedule("du 15/04 au 30/09 : mer 18h-19h").rules[0].period == Season(
        MonthDay(4, 15), MonthDay(9, 30)
    )
    assert parse_schedule("2026-05-01..2026-06-30 : mer 18h-19h").rules[0].period == DateRange(
        date(2026, 5, 1), date(2026, 6, 30)
    )
    closed = parse_schedule("mer 18h-19h sauf 24/12 et 1er janvier ; fermé du 01/08/2026 au 15/08/2026")
    assert closed.closures == (
        Closure(MonthDay(12, 24), MonthDay(12, 24)),
        Closure(MonthDay(1, 1), MonthDay(1, 1)),
        Closure(date(2026, 8, 1), date(2026, 8, 15)),
    )


def test_a_note_alone_and_notes_after_a_hash() -> None:
    alone = parse_schedule("(jour de distribution non publié)")
    assert alone.rules == ()
    assert alone.note == "jour de distribution non publié"
    assert not alone.has_slots
    hashed = parse_schedule("mar 18h-19h # apporter ses sacs\njeu 18h-19h")
    assert [s.day for s in hashed.slots] == [1, 3]
    assert hashed.note == "apporter ses sacs"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mar 25:00-26:00", "heure « 25:00 » invalide"),
        ("mar 18h60-19h", "heure « 18h60 » invalide"),
        ("mardi", "horaire manquant pour mar"),
        ("18h-19h", "jour manquant"),
        ("xyz 18h-19h", "« xyz » non compris"),
        ("mar 18h30-18h30", "durée nulle"),
        ("mar 18h30", "heure de fin attendue"),
        ("mar 18-19", "écrivez les heures avec h"),
        ("mar 18h-19h (sous le préau", "parenthèse"),
        ("mar 18h-19h)", "parenthèse"),
        ("fermé 30/02/2026", "inexistante"),
        ("fermé", "date de fermeture attendue"),
        ("avr-zzz : mar 18h-19h", "mois de fin de saison"),
        ("2026-06-30..2026-05-01 : mar 18h-19h", "la fin précède le début"),
        ("15/04..2026-10-31 : mar 18h-19h", "deux dates avec année ou deux dates sans année"),
        ("mar 18h-19h : jeu", "période"),
        ("x" * 3000, "plus de 2000 caractères"),
    ],
)
def test_malformed_entries_say_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(ScheduleError, match=expected) as caught:
        parse_schedule(text)
    assert isinstance(caught.value, InvalidInputError)


def test_parse_day_and_time_for_query_parameters() -> None:
    names = ("lun", "Mardi", "MER.", "jeu", "vendredi", "sam", "Sunday")
    assert [parse_day(d) for d in names] == list(range(7))
    assert parse_time("18h45") == parse_time("18:45") == time(18, 45)
    assert parse_time("9h") == parse_time("9") == time(9)
    for bad_day in ("mars", "", "demain"):
        with pytest.raises(ScheduleError, match="jour"):
            parse_day(bad_day)
    for bad_time in ("24:00", "18h5", "soir"):
        with pytest.raises(ScheduleError, match="heure"):
            parse_time(bad_time)


# --- the normal form and the structured form --------------------------------------------------

_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
_slots = st.tuples(st.integers(0, 6), _times, _times).filter(lambda s: s[1] != s[2]).map(lambda s: Slot(*s))
_month_days = st.builds(MonthDay, st.integers(1, 12), st.integers(1, 28))
_dates = st.dates(date(2024, 1, 1), date(2030, 12, 31))
_periods = st.one_of(
    st.none(),
    st.builds(Season, _month_days, _month_days),
    st.tuples(_dates, _dates).map(lambda d: DateRange(min(d), max(d))),
)
_closures = st.one_of(
    st.tuples(_dates, _dates).map(lambda d: Closure(min(d), max(d))),
    _month_days.map(lambda md: Closure(md, md)),
)
_notes = st.one_of(st.none(), st.text("abcdé ;:#-()0123456789", min_size=1, max_size=20))


@settings(max_examples=200, deadline=None)
@given(
    rules=st.lists(
        st.builds(Rule, st.lists(_slots, min_size=1, max_size=4).map(tuple), _periods), max_size=3
    ),
    closures=st.lists(_closures, max_size=3),
    note=_notes,
)
def test_the_normal_form_reads_back_as_the_same_schedule(
    rules: list[Rule], closures: list[Closure], note: str | None
) -> None:
    note = " ".join(note.split()) if note else None
    if note and (note.count("(") != note.count(")") or "#" in note):
        note = note.replace("(", "").replace(")", "").replace("#", "") or None
        note = " ".join(note.split()) if note else None
    schedule = Schedule(tuple(rules), tuple(closures), note or None)
    text = format_schedule(schedule)
    assert parse_schedule(text) == schedule, text
    assert parse_schedule(schedule_as_dict(schedule)) == schedule
    assert parse_schedule(json.dumps(schedule_as_dict(schedule))) == schedule


def test_structured_form_in_a_json_object() -> None:
    data = {
        "slots": [
            {"day": "mardi", "start": "18h30", "end": "19:30", "period": "avr-oct"},
            {"day": "jeu", "start": "18:00", "end": "19:00"},
        ],
        "closed": ["2026-12-25", "24/12"],
        "note": "sous le préau",
    }
    assert parse_schedule(data) == parse_schedule(
        "avr-oct : mar 18:30-19:30 ; jeu 18:00-19:00 ; fermé 2026-12-25, 24/12 (sous le préau)"
    )
    assert parse_schedule(json.dumps(data)) == parse_schedule(data)
    for bad, message in [
        ({"slots": [{"day": "mar", "start": "18:30"}]}, "day, start, end"),
        ({"slots": [{"day": "mar", "start": "18:30", "end": "19:30", "où": "ici"}]}, "day, start, end"),
        ({"horaires": []}, "clés inconnues"),
        ({"slots": [{"day": "mars", "start": "18:30", "end": "19:30"}]}, "jour « mars » inconnu"),
        ({"slots": [], "closed": [25]}, "closed"),
        ({"slots": "mar 18h-19h"}, "listes"),
    ]:
        with pytest.raises(ScheduleError, match=message):
            parse_schedule(bad)
    with pytest.raises(ScheduleError, match="JSON illisible"):
        parse_schedule('{"slots": [')


def test_french_description_for_residents() -> None:
    text = describe_schedule(
        parse_schedule("avr-oct : mar, jeu 18h30-19h30 ; ven 22h-1h ; sam 20h-24h ; fermé 25/12")
    )
    assert text == (
        "Le mardi et le jeudi de 18h30 à 19h30 (d'avril à octobre) ; "
        "le vendredi de 22h à 1h (le lendemain), le samedi de 20h à minuit ; fermé le 25 décembre"
    )


# --- the next pick-up -------------------------------------------------------------------------


def test_next_pickup_keeps_local_time_across_the_spring_change() -> None:
    # 2026-03-29 is the last Sunday of March: clocks go from 02:00 CET to 03:00 CEST
    sunday = parse_schedule("dim 18:30-19:30")
    before_change = paris(2026, 3, 29, 1, 0)  # 00:00 UTC
    pickup = next_pickup(sunday, before_change)
    assert pickup is not None
    assert (pickup.start.date(), pickup.start.time()) == (date(2026, 3, 29), time(18, 30))
    assert pickup.start.utcoffset() == timedelta(hours=2)
    assert pickup.start.astimezone(UTC) - before_change.astimezone(UTC) == timedelta(hours=16, minutes=30)
    # Tuesdays one week apart, either side of the change: 18:30 local, 17:30 then 16:30 UTC
    week_before = next_pickup(TUESDAY_EVENING, paris(2026, 3, 23, 12))
    week_after = next_pickup(TUESDAY_EVENING, paris(2026, 3, 28, 12))
    assert week_before is not None
    assert week_after is not None
    assert week_before.start.astimezone(UTC).time() == time(17, 30)
    assert week_after.start.astimezone(UTC).time() == time(16, 30)
    assert week_after.start.time() == week_before.start.time() == time(18, 30)
    assert week_after.start.astimezone(UTC) - week_before.start.astimezone(UTC) == timedelta(days=6, hours=23)


def test_next_pickup_keeps_local_time_across_the_autumn_change() -> None:
    # 2026-10-25 is the last Sunday of October: clocks go from 03:00 CEST back to 02:00 CET
    sunday = parse_schedule("dim 18:30-19:30")
    before_change = paris(2026, 10, 25, 1, 0)  # 2026-10-24 23:00 UTC
    pickup = next_pickup(sunday, before_change)
    assert pickup is not None
    assert pickup.start.time() == time(18, 30)
    assert pickup.start.utcoffset() == timedelta(hours=1)
    assert pickup.start.astimezone(UTC) - before_change.astimezone(UTC) == timedelta(hours=18, minutes=30)
    # a slot across the night of the change lasts one hour more than its wall-clock length
    night = next_pickup(parse_schedule("sam 23:00-04:00"), paris(2026, 10, 24, 12))
    assert night is not None
    assert night.end.astimezone(UTC) - night.start.astimezone(UTC) == timedelta(hours=6)


def test_a_closed_date_moves_the_next_pickup_a_week_on() -> None:
    once = parse_schedule("mar 18:30-19:30 ; fermé 2026-12-22")
    pickup = next_pickup(once, paris(2026, 12, 20, 10))
    assert pickup is not None
    assert pickup.start == paris(2026, 12, 29, 18, 30)
    yearly = parse_schedule("jeu 18h-19h sauf 24/12")  # Thursday 24 December 2026 and 2037
    for year in (2026, 2037):
        pickup = next_pickup(yearly, paris(year, 12, 23, 10))
        assert pickup is not None
        assert pickup.start == paris(year, 12, 31, 18)
    holidays = parse_schedule("mer 18h-19h ; fermé du 2026-08-01 au 2026-08-31")
    pickup = next_pickup(holidays, paris(2026, 7, 30, 10))
    assert pickup is not None
    assert pickup.start.date() == date(2026, 9, 2)


def test_a_slot_that_crosses_midnight() -> None:
    late = parse_schedule("ven 22:00-01:00")
    assert is_open(late, paris(2026, 5, 8, 23, 30))
    assert is_open(late, paris(2026, 5, 9, 0, 30))  # Saturday, still Friday's slot
    assert not is_open(late, paris(2026, 5, 9, 1, 30))
    assert not is_open(late, paris(2026, 5, 8, 21, 30))
    assert is_open(late, paris(2026, 5, 8, 21, 30), tolerance_min=30)
    in_progress = next_pickup(late, paris(2026, 5, 9, 0, 30))
    assert in_progress is not None
    assert (in_progress.start, in_progress.end) == (paris(2026, 5, 8, 22), paris(2026, 5, 9, 1))
    assert open_around(late, day=parse_day("sam"), at=time(0, 30), tolerance_min=0)
    assert not open_around(late, day=parse_day("sam"), at=time(1, 30), tolerance_min=0)
    # a closed Friday cancels the slot into Saturday morning too (1 May 2026 is a Friday)
    closed = parse_schedule("ven 22:00-01:00 ; fermé 2026-05-01")
    assert not is_open(closed, paris(2026, 5, 2, 0, 30))
    assert is_open(closed, paris(2026, 5, 9, 0, 30))
    # Sunday night into Monday: the week wraps
    assert open_around(parse_schedule("dim 23h-2h"), day=0, at=time(1), tolerance_min=0)


def test_seasons_and_date_ranges() -> None:
    summer = parse_schedule("avr-oct : mar 18:30-19:30")
    pickup = next_pickup(summer, paris(2026, 11, 1, 12))
    assert pickup is not None
    assert pickup.start == paris(2027, 4, 6, 18, 30)
    winter = parse_schedule("oct-mars : sam 10h-12h")
    pickup = next_pickup(winter, paris(2026, 6, 1, 12))
    assert pickup is not None
    assert pickup.start == paris(2026, 10, 3, 10)
    may = parse_schedule("2026-05-01..2026-05-31 : mer 18h-19h")
    assert next_pickup(may, paris(2026, 6, 1)) is None
    assert next_pickup(parse_schedule("(pas d'horaire publié)"), paris(2026, 6, 1)) is None
    # a naive datetime is read as Paris wall-clock time
    naive = next_pickup(TUESDAY_EVENING, datetime(2026, 3, 28, 12))
    assert naive is not None
    assert naive.start == paris(2026, 3, 31, 18, 30)


def test_pickups_between_lists_each_occurrence_once() -> None:
    schedule = parse_schedule("mar 18:30-19:30 ; mar, jeu 18:30-19:30 ; fermé 2026-06-11")
    found = list(pickups_between(schedule, paris(2026, 6, 1), paris(2026, 6, 15)))
    assert [p.start.date() for p in found] == [date(2026, 6, 2), date(2026, 6, 4), date(2026, 6, 9)]


# --- the open-at filter -----------------------------------------------------------------------


def test_open_around_a_time_on_a_weekday() -> None:
    schedule = parse_schedule("mar 18:30-19:30 ; jeu 9h-12h")
    tuesday = parse_day("mar")
    assert open_around(schedule, day=tuesday, at=time(18, 45), tolerance_min=0)
    assert open_around(schedule, day=tuesday, at=time(18, 0), tolerance_min=30)
    assert not open_around(schedule, day=tuesday, at=time(17, 59), tolerance_min=30)
    assert not open_around(schedule, day=tuesday, at=time(19, 30), tolerance_min=0)  # the end is excluded
    assert not open_around(schedule, day=parse_day("mer"), at=time(18, 45), tolerance_min=60)


def test_open_around_with_a_date_applies_seasons_and_closures() -> None:
    summer = parse_schedule("avr-oct : mar 18:30-19:30 ; fermé 2026-06-09")
    tuesday = parse_day("mar")
    assert open_around(summer, day=tuesday, at=time(18, 45))  # weekly: whatever the season
    assert not open_around(summer, day=tuesday, at=time(18, 45), on_or_after=date(2026, 12, 1))
    assert open_around(summer, day=tuesday, at=time(18, 45), on_or_after=date(2026, 6, 1))
    assert not open_around(summer, day=tuesday, at=time(18, 45), on_or_after=date(2026, 6, 8))


def test_filters_over_a_column_of_actors() -> None:
    column = [None, "", "mar 18:30-19:30", "jeu 18h-19h", "mar 18h-18h20", float("nan")]
    mask = open_mask(column, day=parse_day("mar"), at=parse_time("18:45"), tolerance_min=0)
    assert mask.tolist() == [False, False, True, False, False, False]
    wide = OpenAround("mardi", "18h45", tolerance_min=30)
    assert wide.mask(column).tolist() == [False, False, True, False, True, False]
    with pytest.raises(ScheduleError, match="jour"):
        OpenAround("demain", "18:45")
    with pytest.raises(ScheduleError, match="tolérance"):
        OpenAround("mar", "18:45", tolerance_min=-5)
    weekly = WeeklySlots(column)
    assert wide.mask(column, weekly=weekly).tolist() == wide.mask(column).tolist()
    pickups = next_pickups(column, paris(2026, 6, 1, 12))
    assert [p.start if p else None for p in pickups] == [
        None,
        None,
        paris(2026, 6, 2, 18, 30),
        paris(2026, 6, 4, 18),
        paris(2026, 6, 2, 18),
        None,
    ]


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.sampled_from(
            [
                "mar 18:30-19:30",
                "ven 22:00-01:00",
                "dim 23h-2h",
                "avr-oct : mer 9h-12h",
                "lun-ven 8h-9h, 17h-19h ; fermé 2026-06-09",
                "tous les jours 12h-14h sauf 25/12",
                "(note)",
                "",
            ]
        ),
        max_size=8,
    ),
    day=st.integers(0, 6),
    minutes=st.integers(0, 24 * 60 - 1),
    tolerance=st.sampled_from([0, 15, 30, 90]),
    on=st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2027, 12, 31))),
)
def test_weekly_arrays_answer_like_the_schedules(
    texts: list[str], day: int, minutes: int, tolerance: int, on: date | None
) -> None:
    at = time(minutes // 60, minutes % 60)
    wanted = OpenAround(
        ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")[day],
        f"{at:%H:%M}",
        tolerance_min=tolerance,
        on_or_after=on,
    )
    expected = [parse_schedule(t) if t else None for t in texts]
    assert wanted.mask(texts, weekly=WeeklySlots(texts)).tolist() == [
        s is not None and open_around(s, day=day, at=at, tolerance_min=tolerance, on_or_after=on)
        for s in expected
    ]


def test_schedule_info_for_features_and_popups() -> None:
    info = schedule_info("mar 18h30-19h30", now=paris(2026, 6, 1, 12))
    assert info == {
        "schedule": "mar 18h30-19h30",
        "schedule_description": "Le mardi de 18h30 à 19h30",
        "schedule_structured": {"slots": [{"day": "mar", "start": "18:30", "end": "19:30"}], "closed": []},
        "next_pickup": {"start": "2026-06-02T18:30:00+02:00", "end": "2026-06-02T19:30:00+02:00"},
        "next_pickup_description": "mardi 2 juin 2026, 18h30–19h30",
    }
    assert set(schedule_info(None, now=paris(2026, 6, 1)).values()) == {None}
    assert set(schedule_info("mardi soir", now=paris(2026, 6, 1)).values()) == {"mardi soir", None}
    note = schedule_info("(horaires à venir)", now=paris(2026, 6, 1))
    assert (note["schedule_description"], note["next_pickup"]) == ("Horaires à venir", None)


# --- iCalendar --------------------------------------------------------------------------------


def _expanded(ics: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Every occurrence of every event of an iCalendar file in [start, end), by its own rules."""
    calendar = icalendar.Calendar.from_ical(ics)
    out = []
    for event in calendar.walk("VEVENT"):
        dtstart = event.decoded("dtstart")
        duration = event.decoded("dtend") - dtstart
        rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=dtstart)
        excluded = {d.dt for exdate in _as_list(event.get("exdate")) for d in exdate.dts}
        for occurrence in rule.between(start, end, inc=True):
            if occurrence not in excluded:
                out.append((occurrence, occurrence + duration))
    return sorted(out, key=lambda pair: pair[0].astimezone(UTC))


def _as_list(value: object) -> list[icalendar.prop.vDDDLists]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]  # type: ignore[list-item]


def test_ical_events_match_the_schedule() -> None:
    schedule = parse_schedule(
        "avr-oct : mar, jeu 18h30-19h30 ; du 15/04 au 15/10 : sam 10h-12h ; ven 22h-01h ; "
        "2026-05-01..2026-07-31 : lun 17h-18h ; "
        "fermé 2026-12-25, 24/12, du 2026-08-01 au 2026-08-15 (sous le préau)"
    )
    ics = schedule_to_ical(
        schedule,
        uid="amap-test",
        summary="AMAP test",
        location="Bayonne",
        lon=-1.47,
        lat=43.49,
        start=date(2026, 3, 1),
        now=paris(2026, 3, 1, 12),
    )
    calendar = icalendar.Calendar.from_ical(ics)
    assert str(calendar["version"]) == "2.0"
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["tzid"]) for z in zones] == ["Europe/Paris"]
    events = calendar.walk("VEVENT")
    assert all(e.decoded("dtstart").tzinfo.key == "Europe/Paris" for e in events)
    assert all("BYDAY" in e["RRULE"] for e in events)
    assert any(e["RRULE"].get("BYMONTH") == [4, 5, 6, 7, 8, 9, 10] for e in events)
    assert any("UNTIL" in e["RRULE"] for e in events)
    assert any(e.get("exdate") for e in events)
    assert len({str(e["uid"]) for e in events}) == len(events)
    assert all(str(e["location"]) == "Bayonne" for e in events)
    assert "sous le préau" in str(events[0]["description"])
    window = (paris(2026, 3, 1), paris(2028, 3, 1))
    expected = [(p.start, p.end) for p in pickups_between(schedule, *window)]
    got = _expanded(ics, *window)
    assert [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in got] == [
        (a.astimezone(UTC), b.astimezone(UTC)) for a, b in expected
    ]
    assert len(expected) > 150  # the comparison covers many occurrences, DST changes included


def test_actor_ical_and_its_refusals() -> None:
    actor = {
        "id": "amap-x",
        "name": "AMAP X",
        "schedule": "mer 18h-19h",
        "address": "place des Gascons",
        "commune": "Bayonne",
        "website": "https://example.org/amap",
    }
    ics = actor_ical(actor, lon=-1.46, lat=43.5, start=date(2026, 6, 1), now=paris(2026, 6, 1))
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["summary"]) == "AMAP X"
    assert str(event["location"]) == "place des Gascons, Bayonne"
    assert event.decoded("dtstart") == paris(2026, 6, 3, 18)
    assert str(event["uid"]).startswith("amap-x-")
    with pytest.raises(NotFoundError, match="aucun horaire"):
        actor_ical({**actor, "schedule": None})
    with pytest.raises(NotFoundError, match="aucun créneau"):
        actor_ical({**actor, "schedule": "(horaires à venir)"})
    with pytest.raises(NotFoundError, match="aucun créneau à venir"):
        actor_ical({**actor, "schedule": "2025-05-01..2025-05-31 : mer 18h-19h"}, start=date(2026, 6, 1))


# --- imports ----------------------------------------------------------------------------------


def test_actor_import_refuses_a_malformed_schedule_naming_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "acteurs.csv"
    path.write_text(
        "name;category;lon;lat;horaires\n"
        "AMAP A;amap_delivery_point;-1.47;43.49;mar 18h30-19h30\n"
        "AMAP B;amap_delivery_point;-1.47;43.49;mardi soir\n"
        "AMAP C;amap_delivery_point;-1.47;43.49;\n"
        "AMAP D;amap_delivery_point;-1.47;43.49;jeu 18h-19h sauf 30/02/2026\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as caught:
        actors_from_file(path)
    problems = caught.value.problems
    assert [(p.row, p.field) for p in problems] == [(3, "horaires"), (5, "horaires")]
    assert "soir" in problems[0].message
    assert "inexistante" in problems[1].message


def test_actor_import_keeps_schedules_as_given(tmp_path: Path) -> None:
    path = tmp_path / "acteurs.csv"
    path.write_text(
        'name,category,lon,lat,schedule\nAMAP A,amap_delivery_point,-1.47,43.49,"Mardi 18h30-19h30"\n',
        encoding="utf-8",
    )
    assert actors_from_file(path).table["schedule"].tolist() == ["Mardi 18h30-19h30"]


def test_geojson_schedules_as_objects_or_text(tmp_path: Path) -> None:
    def feature(name: str, schedule: object) -> dict[str, object]:
        return {
            "type": "Feature",
            "properties": {"name": name, "category": "market", "schedule": schedule},
            "geometry": {"type": "Point", "coordinates": [-1.47, 43.49]},
        }

    structured = {"slots": [{"day": "mar", "start": "18:30", "end": "19:30"}], "note": "sous le préau"}
    mixed = tmp_path / "mixed.geojson"
    mixed.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [feature("A", structured), feature("B", "jeu 18h-19h"), feature("C", None)],
            }
        ),
        encoding="utf-8",
    )
    table = actors_from_file(mixed).table
    stored = table["schedule"].tolist()
    assert parse_schedule(stored[0]) == parse_schedule(structured)
    assert stored[1] == "jeu 18h-19h"
    assert stored[2] is None or table["schedule"].isna().iloc[2]
    objects = tmp_path / "objects.geojson"
    bad = {"slots": [{"day": "mar", "start": "18:30"}]}
    objects.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature("A", structured), feature("B", bad)]}),
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as caught:
        actors_from_file(objects)
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "schedule")]


def test_every_shipped_demo_schedule_reads() -> None:
    from essmap.importing import demo_data_dir

    table = actors_from_file(demo_data_dir() / "actors_demo.csv").table
    for text in table["schedule"].dropna():
        parse_schedule(text)  # raises if one cannot be read
