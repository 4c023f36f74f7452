"""Update essmap's message catalogues after marking or changing user-facing strings.

    python scripts/catalogues.py

1. extracts the marked French messages (``_()``, ``gettext()``, ``N_()`` in Python, ``_()`` in the
   maps' scripts; see ``babel.cfg``) into ``essmap/locale/essmap.pot``;
2. merges them into each language's catalogue (no fuzzy matching: a changed message is a new one);
3. fills the French catalogue: French is the source language, so each message is its own
   translation. Other languages keep their translations; a new message stays empty there until
   someone translates it, and the pages show it in French meanwhile.

Lines are not wrapped, so that a changed message is a one-line change in review.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

TOP = Path(__file__).resolve().parents[1]
LOCALE = TOP / "essmap" / "locale"
TEMPLATE = LOCALE / "essmap.pot"


def pybabel(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *args], cwd=TOP, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"pybabel {args[0]} failed:\n{done.stderr}")


def fill_french(path: Path) -> int:
    """Give every French message itself as translation; returns how many were filled."""
    with path.open("rb") as f:
        catalog = read_po(f)
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            forms = tuple(message.string or ())
            if not all(forms):
                message.string = (message.id[0], *([message.id[1]] * (len(forms) - 1)))
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False)
    return filled


def messages(path: Path) -> list[tuple[object, tuple[str, ...]]]:
    """The messages of a template, with their flags (what a change of the template is about)."""
    with path.open("rb") as f:
        return [(m.id, tuple(sorted(m.flags))) for m in read_po(f) if m.id]


def main() -> int:
    extracted = TEMPLATE.with_suffix(".pot.new")
    pybabel("extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "--sort-output", "--no-wrap",
            "-o", str(extracted.relative_to(TOP)), ".")  # fmt: skip
    if TEMPLATE.exists() and messages(TEMPLATE) == messages(extracted):
        extracted.unlink()  # the same messages: the files stay as they are (no new creation date)
    else:
        extracted.replace(TEMPLATE)
    pybabel("update", "--no-fuzzy-matching", "--no-wrap", "-i", str(TEMPLATE.relative_to(TOP)),
            "-d", str(LOCALE.relative_to(TOP)), "-D", "essmap")  # fmt: skip
    filled = fill_french(LOCALE / "fr" / "LC_MESSAGES" / "essmap.po")
    print(f"{filled} French messages filled; translate the new empty ones in the other catalogues")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
