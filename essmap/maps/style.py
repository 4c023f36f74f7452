"""Colours, symbols and French labels shared by the web maps and the static images."""

from __future__ import annotations

import itertools
from typing import Final

from essmap.i18n import DEFAULT_LANGUAGE
from essmap.labels import category_label
from essmap.model import CATEGORIES

#: One distinct colour per actor category.
CATEGORY_COLORS: Final[dict[str, str]] = {
    "amap_delivery_point": "#2e7d32",
    "cooperative_grocery": "#1565c0",
    "urban_farm": "#8d6e63",
    "community_garden": "#7cb342",
    "producer_shop": "#ef6c00",
    "market": "#c62828",
    "association": "#6a1b9a",
    "public_body": "#455a64",
    "training": "#00838f",
    "other": "#757575",
}

#: One glyph per category: SVG path data on a 24 x 24 grid, drawn as white strokes.
CATEGORY_GLYPHS: Final[dict[str, str]] = {
    # a basket
    "amap_delivery_point": "M4 10h16l-2 9H6z M8 10l4-5 4 5 M9 13v3 M12 13v3 M15 13v3",
    # a shop front
    "cooperative_grocery": "M5 11v9h14v-9 M3 11l2-6h14l2 6z M10 20v-5h4v5",
    # a barn
    "urban_farm": "M4 20V10l8-6 8 6v10z M9 20v-6h6v6 M9 14l6 6 M15 14l-6 6",
    # a sprout
    "community_garden": "M12 20v-9 M12 13c-4 0-6-3-6-6 4 0 6 3 6 6z M12 11c0-3 2-5 6-5 0 3-2 5-6 5z M7 20h10",
    # a price tag
    "producer_shop": "M4 12l8-8h8v8l-8 8z M16 8h.5",
    # a market stall
    "market": "M3 9l2-4h14l2 4z M3 9c0 2 6 2 6 0 0 2 6 2 6 0 0 2 6 2 6 0 M5 11v9 M19 11v9 M5 20h14",
    # two people
    "association": (
        "M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6z M3 20c0-4 3-6 6-6s6 2 6 6 "
        "M16 5.5a2.5 2.5 0 0 1 0 5 M17 14c2 .5 4 2 4 6"
    ),
    # a public building with columns
    "public_body": "M3 9l9-5 9 5z M6 10v8 M10 10v8 M14 10v8 M18 10v8 M3 20h18",
    # a graduation cap
    "training": "M2 9l10-5 10 5-10 5z M6 11v5c3 2 9 2 12 0v-5 M22 9v6",
    # a dot
    "other": "M8 12a4 4 0 1 0 8 0 4 4 0 1 0-8 0z",
}

#: Classes of coverage share (lower bounds included, the last upper bound included too).
COVERAGE_BREAKS: Final = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: One colour per class, from least (red) to best covered (green).
COVERAGE_COLORS: Final = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
NO_DATA_COLOR: Final = "#bdbdbd"
#: Outline colours of the walking isochrones, shortest walk first (the darkest); purple, apart
#: from the coverage classes' red to green.
ISOCHRONE_COLORS: Final = ("#4a148c", "#7b1fa2", "#ab47bc", "#ce93d8")


def category_color(category: str) -> str:
    return CATEGORY_COLORS.get(category, CATEGORY_COLORS["other"])


def coverage_class(share: float | None) -> int | None:
    """Index of the coverage class of a share in [0, 1] (None for a missing share)."""
    if share is None or share != share:  # NaN
        return None
    for i in range(len(COVERAGE_COLORS)):
        if share < COVERAGE_BREAKS[i + 1]:
            return i
    return len(COVERAGE_COLORS) - 1


def coverage_class_labels() -> list[str]:
    """French labels of the coverage classes, as "0 à 20 %"."""
    return [f"{round(lo * 100)} à {round(hi * 100)} %" for lo, hi in itertools.pairwise(COVERAGE_BREAKS)]


def category_styles(
    categories: list[str] | None = None, *, lang: str = DEFAULT_LANGUAGE
) -> list[dict[str, str]]:
    """Label (in ``lang``), colour and glyph of each category, in the model's order."""
    keys = [c for c in CATEGORIES if categories is None or c in categories]
    keys += [c for c in categories or [] if c not in CATEGORIES]
    return [
        {
            "key": c,
            "label": category_label(c, lang),
            "color": category_color(c),
            "glyph": CATEGORY_GLYPHS.get(c, CATEGORY_GLYPHS["other"]),
        }
        for c in keys
    ]
