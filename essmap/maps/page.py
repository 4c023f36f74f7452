"""The folium scaffold shared by the resident and planner pages, and how their data is embedded.

A page is a folium map (Leaflet, optional background tiles, scale bar) plus one data block (JSON,
gzip-compressed and base64-encoded when large) and one call to the page's JavaScript
(``EssmapResident.init`` or ``EssmapPlanner.init`` in ``static/``), which draws every layer and
control from the data.

Without background tiles (``ESSMAP_TILE_URL`` empty, the default), a page given the communes of
the store draws them as a light backdrop: their outlines and names around the data
(:func:`backdrop_data`, drawn by ``static/essmap.js`` when the map is made).
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
from collections.abc import Mapping
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure

from essmap.i18n import ngettext
from essmap.maps.assets import make_offline
from essmap.settings import Settings

#: Data blocks longer than this (characters of JSON) are gzip-compressed and base64-encoded.
COMPRESS_ABOVE: Final = 100_000
#: Leaflet's highest zoom, also the highest zoom of the actor clustering.
MAX_ZOOM: Final = 19
#: Coordinates are sent as integers of this many units per degree (1e6: about 0.1 m).
COORD_SCALE: Final = 1_000_000


class RawHTML(Element):
    """A piece of HTML rendered as is (branca would parse an Element's text as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class PageScript(Element):
    """The data block (in the body) and the call ``<init>(map, options)`` (after the map)."""

    def __init__(
        self,
        init_function: str,
        data: dict[str, Any],
        options: dict[str, Any],
        refs: Mapping[str, Element] | None = None,
    ) -> None:
        super().__init__()
        self._name = "PageScript"
        self.init_function = init_function
        self.data = data
        self.options = options
        self.refs = refs or {}

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        assert isinstance(figure, Figure)
        assert self._parent is not None, "add the page script to a map first"
        data_id = f"essmap-data-{self.get_name()}"
        figure.html.add_child(RawHTML(data_tag(self.data, data_id)), name=data_id)
        options = {**self.options, "dataId": data_id}
        refs = ", ".join(f"{safe_json(k)}: {v.get_name()}" for k, v in self.refs.items())
        args = f"Object.assign({safe_json(options)}, {{{refs}}})"
        call = f"{self.init_function}({self._parent.get_name()}, {args});"
        figure.script.add_child(RawHTML(call), name=self.get_name())
        return ""


def safe_json(data: Any) -> str:
    """Compact JSON that can sit inside an HTML ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def data_tag(data: dict[str, Any], element_id: str, *, compress_above: int = COMPRESS_ABOVE) -> str:
    """A ``<script>`` element holding ``data``: JSON, or gzip + base64 above ``compress_above``."""
    text = safe_json(data)
    if len(text) <= compress_above:
        return f'<script type="application/json" id="{element_id}">{text}</script>'
    packed = base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=4, mtime=0))
    return (
        f'<script type="application/octet-stream" id="{element_id}" data-encoding="gzip-base64">'
        f"{packed.decode('ascii')}</script>"
    )


def first_view(bounds: list[list[float]] | None) -> tuple[list[float] | None, int]:
    """Centre and zoom that show ``bounds`` (``[[south, west], [north, east]]``) on a screen of
    about 1000 x 600 pixels: the map starts on its data, never on the whole world (whose
    background tiles it would fetch first). The page script then fits the data exactly."""
    if bounds is None:
        return [46.6, 2.4], 6  # mainland France
    (south, west), (north, east) = bounds
    centre = [(south + north) / 2, (west + east) / 2]

    def mercator_y(lat: float) -> float:
        lat = max(-85.0, min(85.0, lat))
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    width = max((east - west) / 360, 1e-9)
    height = max(abs(mercator_y(north) - mercator_y(south)) / (2 * math.pi), 1e-9)
    zoom = math.floor(min(math.log2(1000 / 256 / width), math.log2(600 / 256 / height)))
    return centre, max(2, min(16, zoom))


#: The backdrop shows the communes within this distance of the data's extent (in degrees, about
#: 20 km): enough to name the places around, never the whole country.
BACKDROP_MARGIN_DEG: Final = 0.2
BACKDROP_ID: Final = "essmap-backdrop"


def backdrop_data(
    communes: gpd.GeoDataFrame, bounds: list[list[float]] | None, *, margin_deg: float = BACKDROP_MARGIN_DEG
) -> dict[str, Any] | None:
    """The backdrop of a page: the communes around ``bounds`` (``[[south, west], [north, east]]``)
    as GeoJSON, each with its name and a point inside it for the label, and their sources.

    None when there is no commune there (or no data to centre on).
    """
    if communes is None or communes.empty or bounds is None:
        return None
    (south, west), (north, east) = bounds
    near = communes.cx[west - margin_deg : east + margin_deg, south - margin_deg : north + margin_deg]
    near = near[near.geometry.notna() & ~near.geometry.is_empty]
    if near.empty:
        return None
    labels = near.geometry.representative_point()
    props = [
        {"code": str(code), "name": str(name), "label": [round(p.y, 6), round(p.x, 6)]}
        for code, name, p in zip(near["code"], near["name"], labels, strict=True)
    ]
    sources = sorted({str(src) for src in near["source"].dropna()})
    return {"communes": feature_collection(near, props), "sources": sources}


def base_map(
    settings: Settings,
    *,
    title: str,
    bounds: list[list[float]] | None = None,
    backdrop: dict[str, Any] | None = None,
) -> tuple[folium.Map, folium.TileLayer | None]:
    """An empty folium map with the page title and the background tiles of the settings, if any,
    starting on ``bounds`` (see :func:`first_view`) when given; without tiles, the ``backdrop``
    (:func:`backdrop_data`) is drawn instead.

    The page script adds a metric scale bar and the other controls.
    """
    centre, zoom = first_view(bounds) if bounds is not None else (None, 1)
    m = folium.Map(
        location=centre,
        zoom_start=zoom,
        tiles=None,
        control_scale=False,
        max_zoom=MAX_ZOOM,
        zoom_snap=1,
        # popups and tooltips appear and go at once: Leaflet's fade can leave the element of a
        # tooltip closed and opened again quickly on the map (and less motion is easier to follow)
        fade_animation=False,
    )
    tiles = None
    if settings.tile_url:
        tiles = folium.TileLayer(
            tiles=settings.tile_url,
            attr=settings.tile_attribution,
            name="Fond de carte",
            max_zoom=MAX_ZOOM,
            overlay=False,
            control=False,
        )
        tiles.add_to(m)
    root = m.get_root()
    assert isinstance(root, Figure)
    root.title = title
    root.header.add_child(RawHTML('<meta name="color-scheme" content="light">'), name="color_scheme")
    if tiles is None and backdrop is not None:
        # before the map's script: essmap.js draws it when Leaflet makes the map
        root.html.add_child(RawHTML(data_tag(backdrop, BACKDROP_ID)), name=BACKDROP_ID, index=0)
    return m, tiles


#: folium's viewport forbids zooming the page, which people with low vision need (WCAG 1.4.4).
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>', re.DOTALL)
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1.0">'


def render_page(m: folium.Map, page: str, *, asset_url: str | None, lang: str = "fr") -> str:
    """The complete HTML of a page in ``lang``, with no link to any outside host (unless tiles are
    set), and a viewport that lets people zoom."""
    root = m.get_root()
    assert isinstance(root, Figure)
    make_offline(root, page, asset_url=asset_url)
    html: str = root.render()
    html = _VIEWPORT.sub(VIEWPORT, html, count=1)
    return html.replace("<html>", f'<html lang="{escape(lang)}">', 1)


# --- data encoding --------------------------------------------------------------------------------


def _strings(series: pd.Series) -> list[str | None]:
    values = series.astype("string")
    return values.astype(object).where(values.notna(), None).tolist()


def encode_columns(frame: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Text columns as lists, or as ``{"values": [...], "codes": [...]}`` when values repeat.

    A code of -1 means a missing value.
    """
    out: dict[str, Any] = {}
    n = len(frame)
    for col in columns:
        values = frame[col].astype("string")
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if len(uniques) <= max(8, n // 4):
            out[col] = {"values": [str(u) for u in uniques], "codes": codes.tolist()}
        else:
            out[col] = _strings(values)
    return out


def encode_points(geometry: Any) -> dict[str, list[int]]:
    """Point coordinates as delta-encoded integers (``COORD_SCALE`` units per degree)."""
    coords = shapely.get_coordinates(np.asarray(geometry, dtype=object))
    scaled = np.round(coords * COORD_SCALE).astype(np.int64)
    deltas = np.diff(scaled, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return {"lon": deltas[:, 0].tolist(), "lat": deltas[:, 1].tolist()}


def feature_collection(frame: pd.DataFrame, properties: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (coordinates rounded to 6 decimals) from geometries and properties."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    rounded = shapely.transform(geoms, lambda c: np.round(c, 6))
    features = [
        {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))}
        for geom, props in zip(rounded, properties, strict=True)
        if geom is not None and not geom.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def bounds_of(*frames: pd.DataFrame) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the geometries of every frame (None if all are empty)."""
    boxes = []
    for frame in frames:
        geoms = frame.geometry
        geoms = geoms[geoms.notna() & ~geoms.is_empty]
        if len(geoms):
            boxes.append(geoms.total_bounds)
    if not boxes:
        return None
    arr = np.array(boxes)
    return [
        [float(arr[:, 1].min()), float(arr[:, 0].min())],
        [float(arr[:, 3].max()), float(arr[:, 2].max())],
    ]


def present(value: Any) -> bool:
    """True for a non-missing, non-blank value."""
    if value is None or value is pd.NA:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return str(value).strip() != ""


def data_attribution(neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame) -> str:
    """Data attribution for the map's attribution control (HTML, escaped)."""
    qpv_sources = sorted({str(s) for s in neighbourhoods["source"].dropna()}) if len(neighbourhoods) else []
    n_sources = actors["source"].dropna().nunique() if len(actors) else 0
    parts = []
    if qpv_sources:
        shown = qpv_sources[:3]
        more = f" et {len(qpv_sources) - 3} autres" if len(qpv_sources) > 3 else ""
        parts.append("QPV : " + escape("; ".join(shown)) + more)
    if n_sources:
        parts.append(
            ngettext(
                "acteurs : {n} source, citée dans chaque fiche",
                "acteurs : {n} sources, citées dans chaque fiche",
                n_sources,
            ).format(n=n_sources)
        )
    return "Données " + " ; ".join(parts) if parts else ""
