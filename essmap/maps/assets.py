"""The JavaScript and CSS of essmap's web maps, inlined into a page or linked under a URL prefix.

Two kinds of files:

- third-party files (Leaflet, its locate and full-screen controls, supercluster), installed from
  the npm lock file by ``scripts/assets.sh`` into ``essmap/maps/vendor/<package>/`` (never
  committed);
- essmap's own files in ``essmap/maps/static/``.

A page either carries every file inline (``asset_url=None``: a standalone file that works with no
network, written by the CLI) or links them under a URL prefix (``asset_url="/maps/assets"``: the
API serves :func:`served_files` there, each as ``<prefix>/<relative path>``).

folium adds CDN links for Leaflet, jQuery, Bootstrap and Font Awesome by default;
:func:`make_offline` removes every one of them from a folium figure and puts essmap's files in
their place.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Final

from branca.element import Element, Figure
from folium.elements import JSCSSMixin

from essmap.errors import EssmapError

MAPS_DIR: Final = Path(__file__).parent
VENDOR_DIR: Final = MAPS_DIR / "vendor"
STATIC_DIR: Final = MAPS_DIR / "static"

#: Third-party files, in load order, relative to the vendor folder.
VENDOR_JS: Final = (
    "leaflet/leaflet.js",
    "leaflet.locatecontrol/L.Control.Locate.min.js",
    "leaflet.fullscreen/Control.FullScreen.umd.js",
    "supercluster/supercluster.min.js",
)
VENDOR_CSS: Final = (
    "leaflet/leaflet.css",
    "leaflet.locatecontrol/L.Control.Locate.min.css",
    "leaflet.fullscreen/Control.FullScreen.css",
)
#: Images that vendor CSS refers to (served with it; inlined as data URIs in standalone pages).
VENDOR_FILES: Final = (
    "leaflet/images/layers.png",
    "leaflet/images/layers-2x.png",
    "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png",
)
#: essmap's own files, relative to the static folder.
OWN_JS: Final = ("essmap.js",)
OWN_CSS: Final = ("essmap.css",)
#: Page-specific scripts.
PAGE_JS: Final = {
    "resident": ("resident.js", "residentwalk.js", "residentpage.js"),
    "planner": ("planner.js",),
    "embedcode": ("embedcode.js",),
}
#: Files only pages served by the API link (they talk to it): the public contribution forms.
SERVED_ONLY: Final = ("contribute.js", "contribute.css")

_SOURCE_MAP = re.compile(r"^\s*(//|/\*)# sourceMappingURL=.*$", re.MULTILINE)
_CSS_URL = re.compile(r"""url\((['"]?)(?!data:|#|https?:)([^'")]+)\1\)""")


class MissingAssetsError(EssmapError, FileNotFoundError):
    """The map's JavaScript files were not installed (``scripts/assets.sh`` was not run)."""


def vendor_path(relative: str) -> Path:
    """Path of an installed third-party file.

    Raises
    ------
    MissingAssetsError
        If the file is not installed.
    """
    path = VENDOR_DIR / relative
    if not path.is_file():
        raise MissingAssetsError(
            f"fichier de carte absent : {path} ; installez les fichiers JavaScript des cartes "
            "avec scripts/assets.sh (npm ci)"
        )
    return path


def assets_installed() -> bool:
    """Whether every third-party file is installed (``scripts/assets.sh`` was run)."""
    return all((VENDOR_DIR / rel).is_file() for rel in (*VENDOR_JS, *VENDOR_CSS, *VENDOR_FILES))


def served_files() -> dict[str, Path]:
    """Every file a page may link, by its path under the asset URL prefix.

    Third-party files are under ``vendor/``, essmap's own under ``static/``.
    """
    files = {f"vendor/{rel}": vendor_path(rel) for rel in (*VENDOR_JS, *VENDOR_CSS, *VENDOR_FILES)}
    for rel in (*OWN_JS, *OWN_CSS, *(js for scripts in PAGE_JS.values() for js in scripts), *SERVED_ONLY):
        files[f"static/{rel}"] = STATIC_DIR / rel
    return files


@cache
def _read(path: Path) -> str:
    return _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@cache
def _inline_css(path: Path) -> str:
    """CSS with every relative ``url(...)`` replaced by a data URI, so nothing is fetched."""

    def repl(match: re.Match[str]) -> str:
        target = (path.parent / match.group(2)).resolve()
        return f'url("{_data_uri(target)}")' if target.is_file() else "none"

    return _CSS_URL.sub(repl, _read(path))


def _script(text: str) -> str:
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


def _style(text: str) -> str:
    return "<style>" + text.replace("</style", "<\\/style") + "</style>"


@cache
def _default_icon_fix() -> str:
    # Leaflet finds its default marker images through a CSS URL; once inlined that detection fails,
    # so default markers (used by plain folium markers) get their images as data URIs.
    icon = _data_uri(vendor_path("leaflet/images/marker-icon.png"))
    icon2x = _data_uri(vendor_path("leaflet/images/marker-icon-2x.png"))
    shadow = _data_uri(vendor_path("leaflet/images/marker-shadow.png"))
    return (
        "L.Icon.Default.imagePath='';"
        f"L.Icon.Default.mergeOptions({{iconUrl:'{icon}',iconRetinaUrl:'{icon2x}',shadowUrl:'{shadow}'}});"
    )


def asset_tags(page: str | None = None, *, asset_url: str | None = None) -> str:
    """The ``<script>`` and ``<style>``/``<link>`` tags a map page needs, for the page's ``<head>``.

    Parameters
    ----------
    page
        ``"resident"``, ``"planner"`` or None (only Leaflet, its plugins and essmap's common code).
    asset_url
        None to inline every file; else the URL prefix under which :func:`served_files` are served.
    """
    own_js = [*OWN_JS, *(PAGE_JS[page] if page else ())]
    if asset_url is None:
        parts = [_style(_inline_css(vendor_path(rel))) for rel in VENDOR_CSS]
        parts += [_style(_read(STATIC_DIR / rel)) for rel in OWN_CSS]
        parts += [_script(_read(vendor_path(rel))) for rel in VENDOR_JS]
        parts.append(_script(_default_icon_fix()))
        parts += [_script(_read(STATIC_DIR / rel)) for rel in own_js]
        return "\n".join(parts)
    base = asset_url.rstrip("/")
    links = [f'<link rel="stylesheet" href="{base}/vendor/{rel}">' for rel in VENDOR_CSS]
    links += [f'<link rel="stylesheet" href="{base}/static/{rel}">' for rel in OWN_CSS]
    links += [f'<script src="{base}/vendor/{rel}"></script>' for rel in VENDOR_JS]
    links += [f'<script src="{base}/static/{rel}"></script>' for rel in own_js]
    return "\n".join(links)


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def make_offline(figure: Figure, page: str | None = None, *, asset_url: str | None = None) -> None:
    """Replace every CDN link folium would add to ``figure`` by essmap's own assets.

    Call it once every element has been added, just before rendering.
    """
    for element in _walk(figure):
        if isinstance(element, JSCSSMixin):
            element.default_js = []
            element.default_css = []
    figure.header.add_child(Element(asset_tags(page, asset_url=asset_url)), name="essmap_assets")


@cache
def script_messages(page: str | None = None, *, files: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The French messages a page's scripts show, as marked in them with ``_('…')`` (read with
    Babel's JavaScript extractor, the way ``pybabel extract`` finds them for the catalogues);
    ``files`` names the scripts instead (``contribute.js``)."""
    from babel.messages.extract import extract

    found: dict[str, None] = {}
    scripts = files if files is not None else (*OWN_JS, *(PAGE_JS[page] if page else ()))
    for rel in scripts:
        source = (STATIC_DIR / rel).read_bytes()
        for _line, message, _comments, _context in extract(
            "javascript", io.BytesIO(source), keywords={"_": None}
        ):
            if isinstance(message, str):
                found[message] = None
    return tuple(found)
