"""Message catalogues: every marked French string is in the French catalogue; Basque falls back."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from essmap.i18n import LANGUAGES, catalogue, gettext, messages_for, negotiate, ngettext
from essmap.labels import CATEGORY_LABELS_FR, category_label

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}


def marked_messages() -> set[str]:
    """The French strings marked for translation in the code (the way ``pybabel extract`` finds them)."""
    found: set[str] = set()
    method_map = [
        ("essmap/**.py", "python"),
        ("api/**.py", "python"),
        ("essmap/maps/static/**.js", "javascript"),
    ]
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        if isinstance(message, str):
            found.add(message)
        else:  # plural forms
            found.update(m for m in message if m)
    return found


def test_every_marked_french_string_is_in_the_french_catalogue() -> None:
    marked = marked_messages()
    assert set(CATEGORY_LABELS_FR.values()) <= marked  # the extraction sees the label tables
    french = catalogue("fr")
    assert french is not None
    listed = {str(m.id) for m in french if m.id and isinstance(m.id, str) and m.string}
    listed |= {str(i) for m in french if isinstance(m.id, tuple) and all(m.string) for i in m.id}
    missing = sorted(marked - listed)
    assert missing == [], f"French strings missing from essmap/locale/fr (pybabel update): {missing}"


def test_basque_translates_or_falls_back_to_french() -> None:
    assert set(LANGUAGES) == {"fr", "eu"}
    assert category_label("market", "eu") == "Merkatua"
    assert category_label("market") == "Marché"
    basque = catalogue("eu")
    assert basque is not None
    untranslated = next(str(m.id) for m in basque if m.id and not m.string)
    assert gettext(untranslated, "eu") == gettext(untranslated, "fr")
    assert messages_for(["Marché", "Autre"], "eu") == {"Marché": "Merkatua", "Autre": "Bestelakoa"}


def test_language_negotiation() -> None:
    assert negotiate(None, None) == "fr"
    assert negotiate("eu", "fr-FR") == "eu"
    assert negotiate("de", "eu-ES,fr;q=0.8") == "eu"
    assert negotiate(None, "en-GB,en;q=0.9") == "fr"


def test_plural_forms_follow_the_french_rule() -> None:
    forms = ("{n} entrée lue", "{n} entrées lues")
    assert [ngettext(*forms, n).format(n=n) for n in (0, 1, 2, 1000)] == [
        "0 entrée lue",
        "1 entrée lue",
        "2 entrées lues",
        "1000 entrées lues",
    ]
    # a message no catalogue has still agrees in number
    assert ngettext("{n} chat", "{n} chats", 3, "eu") == "{n} chats"
