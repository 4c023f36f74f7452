"""Pieces shared by the readers and writers: progress callbacks, column aliases, text checks,
names, and the spreadsheet-formula escape of CSV cells."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from essmap.errors import InvalidInputError, Problem

Progress = Callable[[str], None]


def no_progress(stage: str) -> None:
    """A progress callback that reports nothing."""
    del stage


# --- names and columns ------------------------------------------------------------------------


def _norm_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphenated identifier made from a name."""
    return _norm_key(text).replace("_", "-")


def normalise_name(name: str) -> str:
    """A name reduced for comparisons: no accents, no case, single spaces."""
    return " ".join(_norm_key(name).split("_"))


def find_column(columns: Iterable[str], aliases: Sequence[str]) -> str | None:
    """The column matching the first of ``aliases`` (case, accents and punctuation ignored).

    Use :func:`check_unique_columns` first: two columns of one key would make the match ambiguous.
    """
    by_key = {_norm_key(c): c for c in columns}
    for alias in aliases:
        if alias in by_key:
            return by_key[alias]
    return None


def check_unique_columns(columns: Sequence[str], *, file: str, row: int | None = None) -> None:
    """Refuse a header in which two columns have one name (case, accents and punctuation ignored).

    Raises
    ------
    InvalidInputError
        Naming each group of columns that collide (``Nom`` and ``nom``, or ``name`` twice).
    """
    groups: dict[str, list[str]] = {}
    for column in columns:
        key = _norm_key(column)
        if key:
            groups.setdefault(key, []).append(str(column))
    problems = [
        Problem(
            "colonnes de même nom : " + ", ".join(f"« {c} »" for c in same) + " ; gardez-en une seule",
            file=file,
            row=row,
            field=same[0],
        )
        for same in groups.values()
        if len(same) > 1
    ]
    if problems:
        raise InvalidInputError(problems)


def clean_text(series: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; empty strings become missing."""
    out = series.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


# --- control characters -----------------------------------------------------------------------

#: Control characters (C0, DEL, C1). Tab, line feed and carriage return are allowed only in the
#: fields that may hold several lines (see ``multiline`` of :func:`control_character_problems`).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character_problem(text: str, *, multiline: bool = False) -> str | None:
    """What is wrong with a text holding a control character (None when it holds none).

    Such characters are invisible, cut text short in databases (a NUL ends a C string) and are
    never meant in a name, a code or an address line: they are refused, never removed. Only the
    fields that may hold several lines (a description, opening hours, an address, a message)
    accept tab, line feed and carriage return.
    """
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    if found is None:
        return None
    char = found.group(0)
    hint = " (une seule ligne attendue dans ce champ)" if char in "\t\n\r" else ""
    return f"caractère de contrôle U+{ord(char):04X} à la position {found.start() + 1} : refusé{hint}"


def control_character_problems(
    values: pd.Series, *, file: str, field: str, multiline: bool = False
) -> list[Problem]:
    """Problems of the values holding a control character (a NUL byte, an escape…), by row
    (see :func:`control_character_problem`)."""
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL
    text = values.astype("string")
    hits = text.str.contains(pattern, na=False)
    problems = []
    for row in text.index[hits.to_numpy(dtype=bool)]:
        message = control_character_problem(str(text[row]), multiline=multiline)
        assert message is not None
        problems.append(Problem(message, file=file, row=int(row), field=field))
    return problems


# --- spreadsheet formulas in CSV cells ---------------------------------------------------------

#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"'*[=+\-@\t\r]")  # used with match(): anchored where matching starts


def escape_formula(text: str) -> str:
    """A text cell made safe for spreadsheets: a quote before a leading ``= + - @``, tab or CR.

    A text that already starts with quotes before such a character gets one more, so that
    :func:`unescape_formula` gives back exactly the original text.
    """
    return "'" + text if _ESCAPED.match(text) else text


def unescape_formula(text: str) -> str:
    """Undo :func:`escape_formula` on a text cell read back from a CSV (one leading quote removed)."""
    return text[1:] if text.startswith("'") and _ESCAPED.match(text, 1) else text
