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
- a click on the map (or "locate me") lists the three nearest supply points with their
  straight-line distance ("à vol d'oiseau"), computed in the browser;
- a panel lists the actors without a location.

Pass ``asset_url=None`` (default) for a standalone file that needs no network (every script and
style inline), or the URL prefix under which :func:`essmap.maps.assets.served_files` are served.
Background tiles come from ``settings.tile_url`` (none when it is empty).
"""

from __future__ import annotations

from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from essmap.labels import GENERATION_LABEL_FR, PRECISION_LABELS_FR, PRECISION_NOTES_FR, SCHEMATIC_NOTE_FR
from essmap.maps.page import (
    COORD_SCALE,
    MAX_ZOOM,
    PageScript,
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
from essmap.settings import Settings

#: Actor columns sent to the page (shown in popups and lists): all of them.
POPUP_COLUMNS: Final = list(ACTOR_COLUMNS)
GENERATION_COLORS: Final = {2024: "#c2185b", 2015: "#3949ab"}
TITLE: Final = "essmap : circuits courts et quartiers prioritaires"


def _qpv_layers(neighbourhoods: gpd.GeoDataFrame) -> list[dict[str, Any]]:
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
                "label": GENERATION_LABEL_FR.format(generation=gen),
                "color": GENERATION_COLORS.get(gen, "#00796b"),
                "schematic": bool(schematic.any()),
                "visible": k == 0,
                "count": len(part),
                "features": feature_collection(part, props),
            }
        )
    return out


def resident_data(
    neighbourhoods: gpd.GeoDataFrame, actors: gpd.GeoDataFrame, *, settings: Settings
) -> dict[str, Any]:
    """The data block of the resident page (JSON-ready)."""
    located = located_mask(actors)
    placed = actors[located]
    unplaced = actors[~located]
    present_categories = sorted(set(actors["category"].dropna().astype(str)))
    categories: list[dict[str, Any]] = list(category_styles(present_categories))
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
        "categories": categories,
        "supplyCategories": list(settings.supply_categories),
        "approximateCount": approximate,
        "precisionLabels": PRECISION_LABELS_FR,
        "precisionNotes": PRECISION_NOTES_FR,
        "schematicNote": SCHEMATIC_NOTE_FR,
        "actors": {
            "n": len(placed),
            **encode_points(placed.geometry.values),
            "cols": encode_columns(pd.DataFrame(placed[POPUP_COLUMNS]), POPUP_COLUMNS),
        },
        "unlocated": unlocated,
        "qpv": _qpv_layers(neighbourhoods),
        "attribution": data_attribution(neighbourhoods, actors),
        "bounds": bounds_of(neighbourhoods, placed),
    }


def render_resident_map(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    settings: Settings,
    asset_url: str | None = None,
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
    """
    m, tiles = base_map(settings, title=TITLE)
    data = resident_data(neighbourhoods, actors, settings=settings)
    options: dict[str, Any] = {"maxZoom": MAX_ZOOM}
    refs = {"tiles": tiles} if tiles is not None else {}
    m.add_child(PageScript("EssmapResident.init", data, options, refs))
    return render_page(m, "resident", asset_url=asset_url)


def located_count(actors: gpd.GeoDataFrame) -> int:
    """Number of actors that have a location."""
    return int(np.count_nonzero(located_mask(actors)))
