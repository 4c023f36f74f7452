"""The resident map: where are the short-circuit supply points near me?

:func:`render_resident_map` returns the complete HTML of the page (a folium map whose layers are
drawn by ``static/resident.js`` from one embedded data block):

- QPV outlines, one layer per generation (the latest shown); schematic outlines say so in the
  legend and in their popup;
- actors by category, each with its colour and symbol, clustered with supercluster so that only
  the markers in view exist (tens of thousands of actors stay fast); co-located actors fan out on
  click; popups give name, category, address, what, when, contact, source, and warn when the
  location is approximate (:func:`essmap.model.approximate_mask`);
- a legend that filters categories, the layers control, "locate me", full screen, scale bar;
- a click on the map (or "locate me", or an address) lists the three nearest supply points with
  their straight-line distance ("à vol d'oiseau"), computed in the browser; served by essmap with
  a street network (``walk_network``), the list is then replaced by the server's answer on foot
  (``/nearest?mode=walk``: walking minutes and metres, a directions link each), drawn by
  ``static/residentwalk.js``; the straight-line list stays while it waits or if it fails;
- a panel lists the actors without a location.

Pass ``asset_url=None`` (default) for a standalone file that needs no network (every script and
style inline), or the URL prefix under which :func:`essmap.maps.assets.served_files` are served.
Background tiles come from ``settings.tile_url`` (none when it is empty).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from essmap.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, N_, gettext, messages_for
from essmap.labels import GENERATION_LABEL_FR, PRECISION_LABELS_FR, PRECISION_NOTES_FR, SCHEMATIC_NOTE_FR
from essmap.maps.assets import script_messages
from essmap.maps.page import (
    COORD_SCALE,
    MAX_ZOOM,
    PageScript,
    backdrop_data,
    base_map,
    bounds_of,
    data_attribution,
    encode_columns,
    encode_points,
    feature_collection,
    present,
    render_page,
)
from essmap.maps.style import (
    category_styles,
)
from essmap.model import ACTOR_COLUMNS, approximate_mask, located_mask
from essmap.schedules import PARIS, describe_pickup, schedule_details, upcoming_pickups
from essmap.settings import Settings

#: Actor columns sent to the page (shown in popups and lists): all of them, and the French
#: description of the schedule.
POPUP_COLUMNS: Final = [*ACTOR_COLUMNS, "schedule_description"]
#: Pick-ups sent per actor with a schedule: the page shows the first one that has not ended, so
#: that a page rendered some days ago (a saved file, a cached page) still shows the right one.
PICKUPS_SENT: Final = 8
Mode = Literal["full", "embed"]
GENERATION_COLORS: Final = {2024: "#c2185b", 2015: "#3949ab"}
TITLE: Final = N_("essmap : circuits courts et quartiers prioritaires")


def _qpv_layers(neighbourhoods: gpd.GeoDataFrame, lang: str) -> list[dict[str, Any]]:
    """One entry per generation, latest first: label, colour, schematic flag, GeoJSON."""
    if neighbourhoods.empty:
        return []
    gens = sorted({int(g) for g in neighbourhoods["generation"].dropna()}, reverse=True)
    out = []
    for k, gen in enumerate(gens):
        part = neighbourhoods[neighbourhoods["generation"] == gen]
        schematic = (part["geometry_source"].astype("string") == "schematic").fillna(False).to_numpy()
        props = []
        for row, is_schematic in zip(part.itertuples(index=False), schematic, strict=True):
            population = row.population
            props.append(
                {
                    "code": str(row.code),
                    "name": str(row.name),
                    "generation": gen,
                    "communes": str(row.commune_names) if present(row.commune_names) else None,
                    "population": int(population) if present(population) else None,
                    "population_source": str(row.population_source)
                    if present(row.population_source)
                    else None,
                    "source": str(row.source) if present(row.source) else None,
                    "schematic": bool(is_schematic),
                }
            )
        out.append(
            {
                "generation": gen,
                "label": gettext(GENERATION_LABEL_FR, lang).format(generation=gen),
                "color": GENERATION_COLORS.get(gen, "#00796b"),
                "schematic": bool(schematic.any()),
                "visible": k == 0,
                "count": len(part),
                "features": feature_collection(part, props),
            }
        )
    return out


def _with_schedules(actors: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Actors sorted by name (the list view's order) with the French description of their schedule."""
    if actors.empty:
        return actors.assign(schedule_description=pd.Series(dtype="string"))
    described = {
        text: schedule_details(text)["schedule_description"] for text in actors["schedule"].dropna().unique()
    }
    order = actors["name"].astype("string").fillna("").str.casefold().argsort(kind="stable")
    out = actors.iloc[order.to_numpy()].copy()
    out["schedule_description"] = out["schedule"].map(described).astype("string")
    return out


def _pickups(schedules: pd.Series, now: datetime) -> dict[str, list[list[str]]]:
    """The next pick-ups of each actor with a schedule, by row: ``[start, end, French description]``."""
    by_text: dict[str, list[list[str]]] = {}
    out: dict[str, list[list[str]]] = {}
    for row, text in enumerate(schedules.tolist()):
        if not isinstance(text, str) or not text.strip():
            continue
        if text not in by_text:
            found = upcoming_pickups(text, after=now, count=PICKUPS_SENT)
            by_text[text] = [[p.start.isoformat(), p.end.isoformat(), describe_pickup(p)] for p in found]
        if by_text[text]:
            out[str(row)] = by_text[text]
    return out


def resident_data(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    settings: Settings,
    lang: str = DEFAULT_LANGUAGE,
    mode: Mode = "full",
    api: dict[str, str] | None = None,
    walk_network: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The data block of the resident page (JSON-ready).

    ``api`` gives the URLs the page may use when an essmap server serves it (``geocode``,
    ``nearest``, ``ical`` with ``{id}``, ``full`` and ``embed`` pages, ``languages`` switch); None
    for a standalone file. ``walk_network``: the server holds a street network, so the nearest
    list asks ``api["nearest"]`` for walking distances. ``now`` is when the pick-ups sent start
    (now by default).
    """
    now = now or datetime.now(PARIS)
    actors = _with_schedules(actors)
    located = located_mask(actors)
    placed = actors[located]
    unplaced = actors[~located]
    present_categories = sorted(set(actors["category"].dropna().astype(str)))
    categories: list[dict[str, Any]] = list(category_styles(present_categories, lang=lang))
    located_counts = placed["category"].astype("string").value_counts()
    total_counts = actors["category"].astype("string").value_counts()
    for c in categories:
        c["located"] = int(located_counts.get(c["key"], 0))
        c["total"] = int(total_counts.get(c["key"], 0))
        c["supply"] = c["key"] in settings.supply_categories
    approximate = int(approximate_mask(placed).sum())
    unlocated = [
        {k: (str(v) if present(v) else None) for k, v in rec.items()}
        for rec in pd.DataFrame(unplaced[POPUP_COLUMNS]).to_dict(orient="records")
    ]
    return {
        "coordScale": COORD_SCALE,
        "lang": lang,
        "languages": [{"code": c, "name": LANGUAGE_NAMES[c]} for c in LANGUAGES],
        "mode": mode,
        "api": api,
        "walkNetwork": bool(walk_network and api and api.get("nearest")),
        "messages": messages_for(script_messages("resident"), lang),
        "renderedAt": now.isoformat(),
        "categories": categories,
        "supplyCategories": list(settings.supply_categories),
        "nearestMaxDistanceM": settings.nearest_max_distance_m,
        "approximateCount": approximate,
        "precisionLabels": {k: gettext(v, lang) for k, v in PRECISION_LABELS_FR.items()},
        "precisionNotes": {k: gettext(v, lang) for k, v in PRECISION_NOTES_FR.items()},
        "schematicNote": gettext(SCHEMATIC_NOTE_FR, lang),
        "actors": {
            "n": len(placed),
            **encode_points(placed.geometry.values),
            "cols": encode_columns(pd.DataFrame(placed[POPUP_COLUMNS]), POPUP_COLUMNS),
            "pickups": _pickups(placed["schedule"], now),
        },
        "unlocated": unlocated,
        "qpv": _qpv_layers(neighbourhoods, lang),
        "attribution": data_attribution(neighbourhoods, actors),
        "bounds": bounds_of(neighbourhoods, placed),
    }


def render_resident_map(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    settings: Settings,
    asset_url: str | None = None,
    lang: str = DEFAULT_LANGUAGE,
    mode: Mode = "full",
    api: dict[str, str] | None = None,
    walk_network: bool = False,
    now: datetime | None = None,
    communes: gpd.GeoDataFrame | None = None,
) -> str:
    """The resident map as a complete HTML page.

    Parameters
    ----------
    neighbourhoods, actors
        Tables of :mod:`essmap.model` (WGS 84), e.g. ``store.load_neighbourhoods()`` and
        ``store.load_actors()``; unlocated actors are listed, not placed.
    settings
        Supply categories (nearest list), background tiles and their attribution.
    asset_url
        None for a standalone page with every asset inline; else the URL prefix of the assets.
    lang
        ``fr`` or ``eu``: the language of the page (messages from essmap's catalogues).
    mode
        ``full``: the map with the address search and the list of actors beside it;
        ``embed``: the map alone, with a compact legend, for partners' iframes.
    api
        The URLs of the essmap server that serves the page (see :func:`resident_data`); None
        for a standalone file (the search then looks among the actors).
    walk_network
        Whether the server's store holds a street network: the nearest list then shows the
        walking distances ``api["nearest"]`` answers (``mode=walk``), with directions links.
    now
        When the pick-ups shown start (now by default).
    communes
        Commune outlines and names (``store.load_communes()``), drawn as the backdrop when no tile
        server is set.
    """
    data = resident_data(
        neighbourhoods,
        actors,
        settings=settings,
        lang=lang,
        mode=mode,
        api=api,
        walk_network=walk_network,
        now=now,
    )
    backdrop = backdrop_data(communes, data["bounds"]) if communes is not None else None
    m, tiles = base_map(settings, title=gettext(TITLE, lang), bounds=data["bounds"], backdrop=backdrop)
    options: dict[str, Any] = {"maxZoom": MAX_ZOOM}
    refs = {"tiles": tiles} if tiles is not None else {}
    m.add_child(PageScript("EssmapResident.init", data, options, refs))
    return render_page(m, "resident", asset_url=asset_url, lang=lang)


def located_count(actors: gpd.GeoDataFrame) -> int:
    """Number of actors that have a location."""
    return int(np.count_nonzero(located_mask(actors)))
