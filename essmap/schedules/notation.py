"""The schedule notation: a short French text (``mar 18:30-19:30 ; jeu 18:00-19:00``), read
tolerantly and written back in one normal form.

Grammar (accents and case ignored; README.md, section "Schedules", shows examples)::

    schedule := part (";" | newline) part ...      notes "(...)" or "# ..." anywhere
    part     := [period ":"] slots [closed]  |  closed
    slots    := days times ("," | "et") days times ...
    days     := day (("," | "et" | "/") day)*  |  day "-" day  |  "du" day "au" day  |  "tous les jours"
    times    := range (("," | "et") range)*
    range    := time "-" time  |  "de" time "à" time          (18:30, 18h30, 18h; an end at or
                                                              before the start is the next day)
    period   := month "-" month  |  month  |  date "-" date  |  "du" date "au" date
    closed   := ("fermé" | "sauf" | "fermeture") dates
    dates    := (date | "du" date "au" date) ("," | "et") ...
    date     := 2026-12-25  |  25/12/2026  |  25/12 (every year)  |  25 décembre [2026]
"""

from __future__ import annotations

import calendar
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from typing import Any, Final

from essmap.schedules.model import (
    PARIS,
    Closure,
    DateRange,
    MonthDay,
    Period,
    Pickup,
    Rule,
    Schedule,
    ScheduleError,
    Season,
    Slot,
)

DAY_NAMES_FR: Final = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DAY_ABBREVIATIONS_FR: Final = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
MONTH_NAMES_FR: Final = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
MONTH_ABBREVIATIONS_FR: Final = (
    "janv",
    "févr",
    "mars",
    "avr",
    "mai",
    "juin",
    "juil",
    "août",
    "sept",
    "oct",
    "nov",
    "déc",
)
#: Largest schedule text read (a schedule is a few lines; this bounds the work of one cell).
MAX_SCHEDULE_CHARS: Final = 2000

_DAYS: dict[str, int] = {}
for _n, _names in enumerate(
    (
        ("lundi", "lun", "lu", "monday", "mon", "mo"),
        ("mardi", "mar", "ma", "tuesday", "tue", "tu"),
        ("mercredi", "mer", "me", "wednesday", "wed", "we"),
        ("jeudi", "jeu", "je", "thursday", "thu", "th"),
        ("vendredi", "ven", "ve", "friday", "fri", "fr"),
        ("samedi", "sam", "sa", "saturday", "sat"),
        ("dimanche", "dim", "di", "sunday", "sun", "su"),
    )
):
    _DAYS.update(dict.fromkeys(_names, _n))
_MONTHS: dict[str, int] = {}
for _n, _names in enumerate(
    (
        ("janvier", "janv", "jan", "january"),
        ("fevrier", "fevr", "fev", "feb", "february"),
        ("mars", "march"),
        ("avril", "avr", "apr", "april"),
        ("mai", "may"),
        ("juin", "jun", "june"),
        ("juillet", "juil", "jul", "july"),
        ("aout", "aou", "aug", "august"),
        ("septembre", "sept", "sep", "september"),
        ("octobre", "oct", "october"),
        ("novembre", "nov", "november"),
        ("decembre", "dec", "december"),
    ),
    start=1,
):
    _MONTHS.update(dict.fromkeys(_names, _n))
_DAY_NAMES_FOLDED = frozenset(DAY_NAMES_FR)
_CLOSED_WORDS = frozenset(
    {
        "ferme",
        "fermes",
        "fermee",
        "fermees",
        "fermeture",
        "fermetures",
        "sauf",
        "closed",
        "except",
        "conges",
    }
)
_ALL_DAYS_WORDS = frozenset({"jours", "jour", "tlj", "quotidien", "daily"})
_FILLER = frozenset({"le", "les", "l", "chaque", "tous", "toutes", "de", "d", "et", "du", "au", "a", "er"})

_TOKEN = re.compile(
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    r"|(?P<slash>\d{1,2}/\d{1,2}(?:/\d{2,4})?)"
    r"|(?P<time>\d{1,2}\s*(?:h|:)\s*\d{2}(?!\d)|\d{1,2}\s*h(?![a-z]))"
    r"|(?P<number>\d+)"
    r"|(?P<word>[a-z]+)\.?"
    r"|(?P<range>\.\.|-)"
    r"|(?P<comma>,|/)"
    r"|(?P<colon>:)"
    r"|(?P<skip>[\s'])"
    r"|(?P<other>.)"
)
_DASHES = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2019": "'"}
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str  # as written
    value: str  # folded (no accents, lower case)


def _fold(text: str) -> str:
    """Lower case without accents, one character for one (positions are kept)."""
    out = []
    for char in text.translate(_DASHES):
        base = unicodedata.normalize("NFKD", char)[:1]
        out.append((base if base.isascii() else char).lower() if base else char)
    return "".join(out)


def _tokens(text: str) -> list[_Token]:
    folded = _fold(text)
    out = []
    for match in _TOKEN.finditer(folded):
        kind = match.lastgroup or "other"
        if kind == "skip" or (kind == "other" and match.group().isspace()):
            continue
        start, end = match.span(kind)
        out.append(_Token(kind, text[start:end], folded[start:end]))
    return out


# --- notes ------------------------------------------------------------------------------------


def _split_notes(text: str) -> tuple[str, list[str]]:
    """The text without its notes (parentheses, or ``#`` to the end of the line), and the notes."""
    notes: list[str] = []
    kept: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "(":
            depth, j = 0, i
            while j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth:
                raise ScheduleError(f"parenthèse ouverte sans parenthèse fermante : « {text[i:].strip()} »")
            notes.append(text[i + 1 : j])
            kept.append(" ")
            i = j + 1
        elif char == ")":
            raise ScheduleError("parenthèse fermante sans parenthèse ouvrante")
        elif char == "#":
            j = text.find("\n", i)
            j = len(text) if j < 0 else j
            notes.append(text[i + 1 : j])
            i = j
        else:
            kept.append(char)
            i += 1
    cleaned = [" ".join(n.split()) for n in notes]
    return "".join(kept), [n for n in cleaned if n]


# --- small parsers ----------------------------------------------------------------------------


def parse_day(text: str) -> int:
    """A weekday from its French or English name or abbreviation (``mar``, ``Mardi``, ``tue``):
    0 for Monday to 6 for Sunday.

    Raises
    ------
    ScheduleError
        For anything else.
    """
    folded = _fold(text.strip()).rstrip(".")
    day = _day_of(_Token("word", text, folded)) if re.fullmatch(r"[a-z]+", folded) else None
    if day is None:
        raise ScheduleError(f"jour « {text} » inconnu ; jours admis : {', '.join(DAY_ABBREVIATIONS_FR)}")
    return day


def parse_time(text: str) -> time:
    """A local time written ``18:45``, ``18h45``, ``18h`` or ``18``.

    Raises
    ------
    ScheduleError
        For anything else, or an hour or minute out of range.
    """
    return _time(text.strip(), _fold(text.strip()), allow_end_of_day=False)


def _time(written: str, folded: str, *, allow_end_of_day: bool) -> time:
    match = re.fullmatch(r"(\d{1,2})\s*(?:[h:]\s*(\d{2})?)?", folded)
    if not match:
        raise ScheduleError(f"heure « {written} » illisible : 18:30 ou 18h30 attendu")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if allow_end_of_day and hour == 24 and minute == 0:
        return time(0, 0)
    if hour > 23 or minute > 59:
        raise ScheduleError(f"heure « {written} » invalide")
    return time(hour, minute)


# --- the parser -------------------------------------------------------------------------------


class _Part:
    """A cursor over the tokens of one part of a schedule (between two semicolons)."""

    def __init__(self, tokens: list[_Token], text: str) -> None:
        self.tokens = tokens
        self.text = text.strip()
        self.i = 0

    def peek(self, offset: int = 0) -> _Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, message: str) -> ScheduleError:
        return ScheduleError(f"« {self.text} » : {message}")

    def at_range(self) -> bool:
        """Whether the cursor is on a range separator: ``-``, ``..``, ``à`` or ``au``."""
        token = self.peek()
        return token is not None and (token.kind == "range" or self.is_word("a", "au"))

    def is_word(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "word" and token.value in words


def _day_of(token: _Token | None) -> int | None:
    """The weekday a word names (``mar``, ``mardi``, ``mardis``), or None."""
    if token is None or token.kind != "word":
        return None
    key = token.value
    if key.endswith("s") and key[:-1] in _DAY_NAMES_FOLDED:
        key = key[:-1]
    return _DAYS.get(key)


def _month_of(token: _Token | None, *, in_period: bool) -> int | None:
    if token is None or token.kind != "word":
        return None
    if in_period and token.value == "mar":
        return 3
    return _MONTHS.get(token.value)


def _date(part: _Part) -> date | MonthDay:
    """A date at the cursor: ISO, dd/mm[/yyyy], or ``25 décembre [2026]``."""
    token = part.peek()
    if token is None:
        raise part.fail("date attendue")
    try:
        if token.kind == "iso":
            part.take()
            year, month, day = (int(v) for v in token.value.split("-"))
            return date(year, month, day)
        if token.kind == "slash":
            part.take()
            numbers = [int(v) for v in token.value.split("/")]
            if len(numbers) == 2:
                return MonthDay(numbers[1], numbers[0])
            year = numbers[2] + (2000 if numbers[2] < 100 else 0)
            return date(year, numbers[1], numbers[0])
        if token.kind == "number" and len(token.value) <= 2:
            part.take()
            if part.is_word("er"):
                part.take()
            found = _month_of(part.peek(), in_period=False)
            if found is None:
                raise part.fail(f"mois attendu après « {token.text} »")
            month = found
            part.take()
            year_token = part.peek()
            if year_token is not None and year_token.kind == "number" and len(year_token.value) == 4:
                part.take()
                return date(int(year_token.value), month, int(token.value))
            return MonthDay(month, int(token.value))
    except ValueError as exc:  # date() out of range
        raise part.fail(f"date « {token.text} » inexistante ({exc})") from None
    except ScheduleError as exc:
        raise part.fail(f"date « {token.text} » : {exc}") from None
    raise part.fail(f"date attendue à la place de « {token.text} »")


def _date_range(part: _Part) -> tuple[date | MonthDay, date | MonthDay]:
    """``date``, ``date - date``, ``date .. date`` or ``du date au date``."""
    if part.is_word("du"):
        part.take()
    first = _date(part)
    if part.at_range():
        part.take()
        return first, _date(part)
    return first, first


def _period(part: _Part) -> Period:
    """The season or range of dates before the colon of a part."""
    while part.is_word("de", "d", "du", "en"):
        part.take()
    first_month = _month_of(part.peek(), in_period=True)
    if first_month is not None:
        part.take()
        last_month = first_month
        if part.at_range():
            part.take()
            last_month = _month_of(part.peek(), in_period=True) or 0
            if not last_month:
                raise part.fail("mois de fin de saison attendu (avr-oct, d'avril à octobre)")
            part.take()
        month_end = calendar.monthrange(2000, last_month)[1]  # a leap year: February has 29 days
        season = Season(MonthDay(first_month, 1), MonthDay(last_month, month_end))
        return _end_of(part, season)
    start, end = _date_range(part)
    if isinstance(start, MonthDay) and isinstance(end, MonthDay):
        return _end_of(part, Season(start, end))
    if isinstance(start, date) and isinstance(end, date):
        try:
            return _end_of(part, DateRange(start, end))
        except ScheduleError as exc:
            raise part.fail(str(exc)) from None
    raise part.fail("période : deux dates avec année ou deux dates sans année attendues")


def _end_of(part: _Part, period: Period) -> Period:
    token = part.peek()
    if token is not None:
        raise part.fail(f"« {token.text} » inattendu dans la période (avant « : »)")
    return period


def _closures(part: _Part) -> list[Closure]:
    """Closed dates after ``fermé`` / ``sauf``: dates and ranges separated by commas or ``et``."""
    part.take()  # the keyword
    found: list[Closure] = []
    while part.peek() is not None:
        token = part.peek()
        assert token is not None
        if token.kind in {"comma", "colon"} or (token.kind == "word" and token.value in {"et", "le", "les"}):
            part.take()
            continue
        start, end = _date_range(part)
        try:
            found.append(Closure(start, end))
        except ScheduleError as exc:
            raise part.fail(str(exc)) from None
    if not found:
        raise part.fail("date de fermeture attendue après le mot-clé")
    return found


def _time_range(part: _Part) -> tuple[time, time]:
    """``18:30-19:30``, ``de 18h30 à 19h30``, ``18-19h``."""
    first = part.take()
    if not part.at_range():
        raise part.fail(f"« {first.text} » : heure de fin attendue (18:30-19:30)")
    part.take()
    last = part.peek()
    if last is None or last.kind not in {"time", "number"}:
        raise part.fail(f"« {first.text} » : heure de fin attendue (18:30-19:30)")
    part.take()
    if first.kind == "number" and last.kind == "number":
        raise part.fail(f"« {first.text}-{last.text} » : écrivez les heures avec h ou « : » (18h-19h)")
    try:
        start = _time(first.text, first.value, allow_end_of_day=False)
        end = _time(last.text, last.value, allow_end_of_day=True)
        if start == end:
            raise ScheduleError(f"créneau « {first.text}-{last.text} » de durée nulle")
    except ScheduleError as exc:
        raise part.fail(str(exc)) from None
    return start, end


def _slots(part: _Part) -> tuple[list[Slot], list[Closure]]:
    """Days and times up to the end of the part (or closed dates introduced by a keyword)."""
    slots: list[Slot] = []
    days: list[int] = []
    times: list[tuple[time, time]] = []
    closures: list[Closure] = []

    def flush() -> None:
        if days and not times:
            names = ", ".join(DAY_ABBREVIATIONS_FR[d] for d in days)
            raise part.fail(f"horaire manquant pour {names} (mar 18:30-19:30)")
        slots.extend(Slot(d, s, e) for d in days for s, e in times)

    while (token := part.peek()) is not None:
        day = _day_of(token)
        if token.kind == "word" and token.value in _CLOSED_WORDS:
            closures = _closures(part)
            break
        if day is not None:
            if times:
                flush()
                days, times = [], []
            part.take()
            if part.at_range():
                after = part.peek(1)
                last = _day_of(after)
                if last is not None:
                    part.take()
                    part.take()
                    days += [(day + k) % 7 for k in range((last - day) % 7 + 1)]
                    continue
            days.append(day)
        elif token.kind == "word" and token.value in _ALL_DAYS_WORDS:
            if times:
                flush()
                days, times = [], []
            part.take()
            days += range(7)
        elif token.kind in {"time", "number"}:
            if not days:
                raise part.fail(f"jour manquant avant l'horaire « {token.text} » (mar 18:30-19:30)")
            times.append(_time_range(part))
        elif token.kind == "comma" or (token.kind == "word" and token.value in _FILLER):
            part.take()
        elif token.kind == "colon":
            raise part.fail("« : » inattendu ; une saison s'écrit au début (avr-oct : mar 18:30-19:30)")
        else:
            raise part.fail(
                f"« {token.text} » non compris ; jours : {', '.join(DAY_ABBREVIATIONS_FR)}, "
                "horaires : 18:30-19:30, fermetures : fermé 2026-12-25"
            )
    flush()
    return slots, closures


def _parse_part(tokens: list[_Token], text: str) -> tuple[Rule | None, list[Closure]]:
    colons = [i for i, t in enumerate(tokens) if t.kind == "colon"]
    period: Period | None = None
    if colons and not (tokens[0].kind == "word" and tokens[0].value in _CLOSED_WORDS):
        head = _Part(tokens[: colons[0]], text)
        if not head.tokens:
            raise head.fail("période attendue avant « : » (avr-oct : mar 18:30-19:30)")
        period = _period(head)
        tokens = tokens[colons[0] + 1 :]
    part = _Part(tokens, text)
    if part.is_word(*_CLOSED_WORDS):
        if period is not None:
            raise part.fail("une période ne s'applique pas à des fermetures")
        return None, _closures(part)
    slots, closures = _slots(part)
    if not slots:
        raise part.fail("aucun créneau (mar 18:30-19:30)")
    return Rule(tuple(slots), period), closures


def parse_schedule_text(text: str) -> Schedule:
    """Read a schedule written in the French notation (see the module docstring).

    Raises
    ------
    ScheduleError
        Saying which part is wrong and why.
    """
    if len(text) > MAX_SCHEDULE_CHARS:
        raise ScheduleError(f"horaires de plus de {MAX_SCHEDULE_CHARS} caractères")
    body, notes = _split_notes(text)
    rules: list[Rule] = []
    closures: list[Closure] = []
    for piece in re.split(r"[;\n]", body):
        tokens = _tokens(piece)
        if not tokens:
            continue
        rule, closed = _parse_part(tokens, piece)
        if rule is not None:
            rules.append(rule)
        closures += closed
    return Schedule(tuple(rules), tuple(closures), " ; ".join(notes) or None)


# --- the structured form (a JSON object) ------------------------------------------------------

_SLOT_KEYS = frozenset({"day", "start", "end", "period"})
_SCHEDULE_KEYS = frozenset({"slots", "closed", "note"})


def schedule_from_dict(data: Mapping[str, Any]) -> Schedule:
    """Read the structured form of a schedule (a JSON object, e.g. in GeoJSON properties)::

        {"slots": [{"day": "mar", "start": "18:30", "end": "19:30", "period": "avr-oct"}],
         "closed": ["2026-12-25", "24/12"], "note": "sous le préau"}

    ``period`` (optional) and each ``closed`` entry are written as in the text notation.

    Raises
    ------
    ScheduleError
        For an unknown key, a missing one, or a value that cannot be read.
    """
    if not isinstance(data, Mapping):
        raise ScheduleError('objet JSON attendu ({"slots": [...], "closed": [...], "note": ...})')
    unknown = set(data) - _SCHEDULE_KEYS
    if unknown:
        raise ScheduleError(f"clés inconnues {sorted(unknown)} ; clés admises : slots, closed, note")
    slots_data = data.get("slots", [])
    closed_data = data.get("closed", [])
    note = data.get("note")
    if not isinstance(slots_data, list) or not isinstance(closed_data, list):
        raise ScheduleError("« slots » et « closed » doivent être des listes")
    if note is not None and not isinstance(note, str):
        raise ScheduleError("« note » doit être un texte")
    by_period: dict[str, list[Slot]] = {}
    periods: dict[str, Period | None] = {}
    for n, item in enumerate(slots_data, 1):
        keys = set(item) if isinstance(item, Mapping) else set()
        if not isinstance(item, Mapping) or keys - _SLOT_KEYS or not {"day", "start", "end"} <= keys:
            raise ScheduleError(f"créneau {n} : objet avec day, start, end (et period) attendu")
        if not all(isinstance(item.get(k, ""), str) for k in _SLOT_KEYS):
            raise ScheduleError(f"créneau {n} : day, start, end et period sont des textes")
        try:
            start = _time(item["start"], _fold(item["start"]), allow_end_of_day=False)
            end = _time(item["end"], _fold(item["end"]), allow_end_of_day=True)
            slot = Slot(parse_day(item["day"]), start, end)
        except ScheduleError as exc:
            raise ScheduleError(f"créneau {n} : {exc}") from None
        key = _fold(item.get("period") or "").strip()
        if key not in periods:
            periods[key] = _period(_Part(_tokens(key), item["period"])) if key else None
        by_period.setdefault(key, []).append(slot)
    closures: list[Closure] = []
    for entry in closed_data:
        if not isinstance(entry, str):
            raise ScheduleError("« closed » : liste de dates en texte attendue")
        closures += _closures(_Part([_Token("word", "fermé", "ferme"), *_tokens(entry)], entry))
    rules = tuple(Rule(tuple(slots), periods[key]) for key, slots in by_period.items())
    return Schedule(rules, tuple(closures), " ".join(note.split()) or None if note else None)


def schedule_as_dict(schedule: Schedule) -> dict[str, Any]:
    """The structured form of a schedule (the inverse of :func:`schedule_from_dict`)."""
    out: dict[str, Any] = {
        "slots": [
            {
                "day": DAY_ABBREVIATIONS_FR[slot.day],
                "start": f"{slot.start:%H:%M}",
                "end": f"{slot.end:%H:%M}",
                **({"period": format_period(rule.period)} if rule.period is not None else {}),
            }
            for rule in schedule.rules
            for slot in rule.slots
        ],
        "closed": [format_closure(c) for c in schedule.closures],
    }
    if schedule.note:
        out["note"] = schedule.note
    return out


# --- entry points -----------------------------------------------------------------------------


def parse_schedule(value: str | Mapping[str, Any]) -> Schedule:
    """Read a schedule: the French notation, its structured form (a mapping), or that form as
    JSON text (as GeoJSON properties holding an object are read).

    Examples
    --------
    >>> parse_schedule("mar 18h30-19h30 ; fermé 2026-12-22").slots[0].day
    1

    Raises
    ------
    ScheduleError
        Saying what is wrong.
    """
    if isinstance(value, Mapping):
        return schedule_from_dict(value)
    return _parse_cached(value)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Schedule:
    stripped = text.strip()
    if stripped.startswith("{"):
        if len(stripped) > MAX_SCHEDULE_CHARS * 4:
            raise ScheduleError("horaires structurés trop longs")
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ScheduleError(f"objet JSON illisible : {exc.msg} (position {exc.pos + 1})") from None
        return schedule_from_dict(data)
    return parse_schedule_text(text)


def schedule_problem(value: str | Mapping[str, Any] | None) -> str | None:
    """Why a schedule cannot be read, or None if it can (or is empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        parse_schedule(value)
    except ScheduleError as exc:
        return str(exc)
    return None


# --- the normal form --------------------------------------------------------------------------


def _format_date(value: date | MonthDay) -> str:
    if isinstance(value, MonthDay):
        return f"{value.day:02d}/{value.month:02d}"
    return value.isoformat()


def format_period(period: Period) -> str:
    """A season or a range of dates in the notation (``avr-oct``, ``du 15/04 au 31/10``)."""
    if isinstance(period, Season) and period.whole_months:
        first = MONTH_ABBREVIATIONS_FR[period.start.month - 1]
        last = MONTH_ABBREVIATIONS_FR[period.end.month - 1]
        return _fold(first) if first == last else f"{_fold(first)}-{_fold(last)}"
    return f"du {_format_date(period.start)} au {_format_date(period.end)}"


def format_closure(closure: Closure) -> str:
    """A closed date or range in the notation (``2026-12-25``, ``24/12``, ``du … au …``)."""
    if closure.start == closure.end:
        return _format_date(closure.start)
    return f"du {_format_date(closure.start)} au {_format_date(closure.end)}"


def _day_groups(slots: tuple[Slot, ...]) -> list[tuple[list[int], list[tuple[time, time]]]]:
    """Slots grouped by days that share the same times: ``([1, 3], [(18:30, 19:30)])``."""
    by_day: dict[int, list[tuple[time, time]]] = {}
    for slot in slots:
        by_day.setdefault(slot.day, []).append((slot.start, slot.end))
    groups: dict[tuple[tuple[time, time], ...], list[int]] = {}
    for day in sorted(by_day):
        groups.setdefault(tuple(by_day[day]), []).append(day)
    return [(days, list(times)) for times, days in groups.items()]


def _runs(days: list[int]) -> list[tuple[int, int]]:
    """Consecutive days as (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for day in days:
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _days_notation(days: list[int]) -> str:
    if len(days) == 7:
        return "tous les jours"
    parts = []
    for first, last in _runs(days):
        names = DAY_ABBREVIATIONS_FR
        if last - first >= 2:
            parts.append(f"{names[first]}-{names[last]}")
        else:
            parts += [names[d] for d in range(first, last + 1)]
    return ", ".join(parts)


def format_schedule(schedule: Schedule) -> str:
    """The normal form of a schedule: ``avr-oct : mar 18:30-19:30 ; fermé 2026-12-25 (note)``.

    Reading it back with :func:`parse_schedule` gives the same schedule.
    """
    parts = []
    for rule in schedule.rules:
        slots = ", ".join(
            _days_notation(days) + " " + ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in times)
            for days, times in _day_groups(rule.slots)
        )
        parts.append(f"{format_period(rule.period)} : {slots}" if rule.period is not None else slots)
    if schedule.closures:
        parts.append("fermé " + ", ".join(format_closure(c) for c in schedule.closures))
    text = " ; ".join(parts)
    if schedule.note:
        note = f"({schedule.note})" if "(" not in schedule.note and ")" not in schedule.note else None
        text = f"{text} {note}" if note else f"{text}\n# {schedule.note}"
    return text.strip()


def normalise_schedule(value: str | Mapping[str, Any]) -> str:
    """The normal form of a schedule given as text or structured form (see :func:`format_schedule`)."""
    return format_schedule(parse_schedule(value))


def _hm_fr(value: time) -> str:
    return f"{value.hour}h{value.minute:02d}" if value.minute else f"{value.hour}h"


def _date_fr(value: date | MonthDay) -> str:
    month = MONTH_NAMES_FR[value.month - 1]
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {month}" + (f" {value.year}" if isinstance(value, date) else "")


def _days_fr(days: list[int]) -> str:
    if len(days) == 7:
        return "tous les jours"
    parts = []
    for first, last in _runs(days):
        if last - first >= 2:
            parts.append(f"du {DAY_NAMES_FR[first]} au {DAY_NAMES_FR[last]}")
        else:
            parts += [f"le {DAY_NAMES_FR[d]}" for d in range(first, last + 1)]
    return ", ".join(parts[:-1]) + " et " + parts[-1] if len(parts) > 1 else parts[0]


def _times_fr(times: list[tuple[time, time]]) -> str:
    words = [
        f"de {_hm_fr(s)} à {'minuit' if e == time(0) else _hm_fr(e)}"
        + (" (le lendemain)" if e <= s and e != time(0) else "")
        for s, e in times
    ]
    return ", ".join(words[:-1]) + " et " + words[-1] if len(words) > 1 else words[0]


def describe_schedule(schedule: Schedule) -> str:
    """A French sentence for residents: ``Le mardi de 18h30 à 19h30 (d'avril à octobre)``."""
    sentences = []
    for rule in schedule.rules:
        text = ", ".join(f"{_days_fr(days)} {_times_fr(times)}" for days, times in _day_groups(rule.slots))
        if isinstance(rule.period, Season) and rule.period.whole_months:
            first = MONTH_NAMES_FR[rule.period.start.month - 1]
            last = MONTH_NAMES_FR[rule.period.end.month - 1]
            text += f" ({first})" if first == last else f" (d{_elide(first)} à {last})"
        elif rule.period is not None:
            text += f" (du {_date_fr(rule.period.start)} au {_date_fr(rule.period.end)})"
        sentences.append(text)
    if schedule.closures:
        closed = ", ".join(
            f"le {_date_fr(c.start)}" if c.start == c.end else f"du {_date_fr(c.start)} au {_date_fr(c.end)}"
            for c in schedule.closures
        )
        sentences.append(f"fermé {closed}")
    if schedule.note:
        sentences.append(schedule.note)
    text = " ; ".join(sentences)
    return text[:1].upper() + text[1:]


def describe_pickup(pickup: Pickup) -> str:
    """A pick-up for residents: ``mardi 31 mars 2026, 18h30–19h30`` (local times)."""
    start, end = pickup.start.astimezone(PARIS), pickup.end.astimezone(PARIS)
    day = f"{DAY_NAMES_FR[start.weekday()]} {_date_fr(start.date())}"
    return f"{day}, {_hm_fr(start.time())}–{_hm_fr(end.time())}"


def _elide(word: str) -> str:
    return "'" + word if word[:1] in "aeiouyh" else "e " + word
