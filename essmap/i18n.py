"""Message catalogues: user-facing text in French (the source language) and in Basque (euskara).

Every user-facing string is written in French in the code, marked for translation with
:func:`gettext` (``_``) in Python, and listed in the catalogues ``essmap/locale/<lang>/LC_MESSAGES/
essmap.po`` (standard gettext files, kept with Babel: ``pybabel extract`` / ``update``, see
``babel.cfg``). The French catalogue is complete (each message translates to itself, or to a
corrected wording); the Basque one translates what it can, and a message it lacks falls back to
French. The catalogues are read from the ``.po`` files themselves (no compiled ``.mo`` to keep in
step).

Pages get their messages for one language as a plain dict (:func:`messages_for`), to use in their
scripts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from gettext import c2py
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

#: Languages essmap speaks, the default first.
LANGUAGES: Final = ("fr", "eu")
DEFAULT_LANGUAGE: Final = "fr"
#: Names of the languages, in themselves (for a language switch).
LANGUAGE_NAMES: Final = {"fr": "Français", "eu": "Euskara"}
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DOMAIN: Final = "essmap"


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(lang: str) -> Catalog | None:
    """The catalogue of a language (None when there is none)."""
    path = catalogue_path(lang)
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


@functools.cache
def _table(lang: str) -> dict[str, str]:
    found = catalogue(lang)
    if found is None:
        return {}
    return {str(m.id): str(m.string) for m in found if m.id and m.string and not m.fuzzy}


def gettext(message: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """``message`` (French) in ``lang``: the catalogue's translation, else the French catalogue's
    wording, else the message itself."""
    if lang != DEFAULT_LANGUAGE:
        translated = _table(lang).get(message)
        if translated:
            return translated
    return _table(DEFAULT_LANGUAGE).get(message) or message


_ = gettext


def _french_plural(n: int) -> int:
    return 0 if abs(n) < 2 else 1  # French: 0 and 1 are singular


@functools.cache
def _plural_table(lang: str) -> tuple[dict[str, tuple[str, ...]], Callable[[int], int]]:
    """The plural messages of a catalogue (by singular form) and its rule choosing a form."""
    found = catalogue(lang)
    if found is None:
        return {}, _french_plural
    forms = {
        str(m.id[0]): tuple(str(f) for f in m.string)
        for m in found
        if isinstance(m.id, tuple | list) and m.string and all(m.string) and not m.fuzzy
    }
    return forms, c2py(found.plural_expr)


def ngettext(singular: str, plural: str, n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The form of a message (French) for the number ``n`` in ``lang``, with the same fallbacks as
    :func:`gettext`; ``{n}`` in the message is left for the caller to format."""
    for code in dict.fromkeys((lang, DEFAULT_LANGUAGE)):
        forms, rule = _plural_table(code)
        found = forms.get(singular)
        if found:
            return found[min(rule(n), len(found) - 1)]
    return (singular, plural)[_french_plural(n)]


def N_(message: str) -> str:  # noqa: N802  (the gettext convention)
    """Mark a message for the catalogues where it is defined, to translate where it is shown."""
    return message


def messages_for(messages: Iterable[str], lang: str) -> dict[str, str]:
    """Some messages (French) in ``lang``, as a dict for a page's script."""
    return {m: gettext(m, lang) for m in messages}


def negotiate(requested: str | None, accept_language: str | None) -> str:
    """The language of an answer: ``requested`` (a ``lang`` parameter) when essmap speaks it, else
    the first of ``Accept-Language`` that it speaks, else French."""
    if requested in LANGUAGES:
        return str(requested)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in LANGUAGES:
            return base
    return DEFAULT_LANGUAGE
