"""Address text reduced for matching: no accents, no case, abbreviations spelled out.

The same rules apply to the indexed addresses and to what a resident types, so that
``12 av. de Lattre-de-Tassigny, Bayonne`` and ``12 Avenue de Lattre de Tassigny 64100 Bayonne``
give the same words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

#: Abbreviations of street types and titles in French addresses, and the word each stands for.
ABBREVIATIONS: Final[dict[str, str]] = {
    "av": "avenue",
    "ave": "avenue",
    "avn": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "blvd": "boulevard",
    "boul": "boulevard",
    "r": "rue",
    "pl": "place",
    "ch": "chemin",
    "chem": "chemin",
    "che": "chemin",
    "imp": "impasse",
    "all": "allee",
    "al": "allee",
    "fbg": "faubourg",
    "faub": "faubourg",
    "rte": "route",
    "rt": "route",
    "sq": "square",
    "crs": "cours",
    "qu": "quai",
    "res": "residence",
    "resid": "residence",
    "lot": "lotissement",
    "lotiss": "lotissement",
    "pass": "passage",
    "psg": "passage",
    "prom": "promenade",
    "esp": "esplanade",
    "carr": "carrefour",
    "rpt": "rond point",
    "sen": "sente",
    "hameau": "hameau",
    "ham": "hameau",
    "st": "saint",
    "ste": "sainte",
    "gal": "general",
    "gen": "general",
    "mal": "marechal",
    "mar": "marechal",
    "pdt": "president",
    "pres": "president",
    "dr": "docteur",
    "cdt": "commandant",
    "lt": "lieutenant",
    "cpt": "capitaine",
    "ml": "mail",
}
#: Words that carry no meaning for matching ("rue *de la* Paix").
STOP_WORDS: Final = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "et", "en"})
#: Suffixes of house numbers (``12 bis``, ``3 ter``, ``5 b``).
REPETITIONS: Final = frozenset({"bis", "ter", "quater", "quinquies", "a", "b", "c", "d", "e", "f", "g"})

_SEPARATORS = re.compile(r"[^a-z0-9]+")
_NUMBER = re.compile(r"^(\d{1,5})([a-z]{0,3})$")
_POSTCODE = re.compile(r"^\d{5}$")


def fold(text: str) -> str:
    """Lower case, accents removed, every other character a space; ``œ`` and ``æ`` spelled out."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SEPARATORS.sub(" ", plain).strip()


def words(text: str) -> list[str]:
    """The words of an indexed text (a street or a city name): folded, abbreviations spelled out
    (``r.`` becomes ``rue``), stop words left out."""
    out: list[str] = []
    for raw in fold(text).split():
        expanded = ABBREVIATIONS.get(raw, raw)
        out += [w for w in expanded.split() if w not in STOP_WORDS]
    return out


@dataclass(frozen=True)
class Query:
    """What a typed address holds: a house number, a postcode, words, and the word being typed.

    ``words`` are matched exactly; ``prefix`` (the last word, when the text does not end with a
    space and autocompletion is on) is matched as the beginning of a word, or as ``prefix_word``
    when it is an abbreviation.
    """

    housenumber: int | None
    repetition: str
    postcode: str | None
    postcode_prefix: str | None
    words: tuple[str, ...]
    prefix: str | None
    prefix_word: str | None

    @property
    def empty(self) -> bool:
        """Whether the query holds nothing to search for."""
        return not (self.words or self.prefix or self.postcode or self.postcode_prefix)


def parse_query(text: str, *, autocomplete: bool = True) -> Query:
    """Split typed text into a house number, a postcode and words (see :class:`Query`)."""
    raw = fold(text).split()
    typing = autocomplete and bool(raw) and not text[-1:].isspace()
    housenumber: int | None = None
    repetition = ""
    postcode: str | None = None
    postcode_prefix: str | None = None
    found: list[str] = []
    for position, token in enumerate(raw):
        last = position == len(raw) - 1
        if _POSTCODE.match(token) and postcode is None:
            postcode = token
            continue
        number = _NUMBER.match(token)
        if position == 0 and number and len(raw) > 1:
            housenumber, repetition = int(number.group(1)), number.group(2)
            continue
        if position == 1 and housenumber is not None and not repetition and token in REPETITIONS - {"a"}:
            repetition = token
            continue
        if last and typing and token.isdigit() and 2 <= len(token) < 5 and not found and postcode is None:
            postcode_prefix = token
            continue
        found.append(token)
    prefix: str | None = None
    prefix_word: str | None = None
    if typing and found and not raw[-1].isdigit():
        prefix = found.pop()
        prefix_word = ABBREVIATIONS.get(prefix)
        if prefix in STOP_WORDS:
            prefix = prefix_word = None
    exact: list[str] = []
    for token in found:
        expanded = ABBREVIATIONS.get(token, token)
        exact += [w for w in expanded.split() if w not in STOP_WORDS]
    if prefix_word is not None and " " in prefix_word:
        *more, prefix_word = prefix_word.split()
        exact += more
    # a word typed twice ("saint" of the street and of the city) counts once
    unique = tuple(dict.fromkeys(exact))
    return Query(housenumber, repetition, postcode, postcode_prefix, unique, prefix, prefix_word)
