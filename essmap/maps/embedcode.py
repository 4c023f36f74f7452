"""The page that writes the ``<iframe>`` code of the embeddable resident map (``/embed``).

A partner chooses the categories shown, the language and the size, and moves the preview to the
view wanted; the page writes the code to paste (the view and the filter are kept in the iframe's
URL). Rendering only: ``static/embedcode.js`` does the rest in the browser.
"""

from __future__ import annotations

from html import escape
from typing import Final

from essmap.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, N_, gettext, messages_for
from essmap.maps.assets import asset_tags, script_messages
from essmap.maps.page import VIEWPORT, data_tag
from essmap.maps.style import category_styles
from essmap.settings import Settings

TITLE: Final = N_("Intégrer la carte des circuits courts dans un site")
#: The title of the embedded map's iframe (for screen readers), in the embedded map's language.
IFRAME_TITLE: Final = N_("Carte des circuits courts")


def render_embed_code_page(
    *, settings: Settings, asset_url: str | None, lang: str = DEFAULT_LANGUAGE, embed_url: str = "/embed"
) -> str:
    """The HTML of the page that writes the iframe code of ``embed_url`` (on the same server)."""
    del settings  # the categories offered are every category; the settings may choose later
    data = {
        "lang": lang,
        "embedUrl": embed_url,
        "messages": messages_for(script_messages("embedcode"), lang),
        "categories": category_styles(lang=lang),
        "languages": [
            {"code": c, "name": LANGUAGE_NAMES[c], "iframeTitle": gettext(IFRAME_TITLE, c)} for c in LANGUAGES
        ],
    }
    title = escape(gettext(TITLE, lang))
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n{VIEWPORT}\n'
        f"<title>{title}</title>\n{asset_tags('embedcode', asset_url=asset_url)}\n</head>\n"
        f'<body class="essmap-page essmap-embed-code">\n<main id="essmap-embed-code">\n<h1>{title}</h1>\n'
        f"</main>\n{data_tag(data, 'essmap-embed-code-data')}\n</body>\n</html>\n"
    )
