"""The planner map: which QPVs are within reach of short-circuit supply, where are the gaps?

:func:`render_planner_map` returns the complete HTML of the page (a folium map whose layers are
drawn by ``static/planner.js``). At one threshold (a straight-line distance in metres):

- each QPV shaded by its coverage share, in classes with a legend; the share is that of its
  residents (population grid or population spread by area) or, when its population is unknown,
  that of its area; a tooltip gives its indicators and the method;
- the gap polygons (parts of QPVs beyond the threshold of every supply point);
- the catchment ring around each supply point, and the supply points themselves;
- suggested new sites, numbered in pick order, with the residents each one brings within reach,
  their coordinates and the nearest street address (when addresses were imported);
- in walk mode (the view's ``mode``), the threshold is walked, the catchments are isochrones, and
  a layer draws the walking isochrones of every supply point at the settings' minutes (5, 10 and
  15 by default), on the street network or, without one, estimated (straight line divided by the
  detour factor: discs, labelled as estimates);
- beside the map, an overview: a sortable table of every QPV (share covered, residents beyond the
  threshold, nearest supply point, low-access flag), the suggested sites, and downloads of the
  table (CSV, through the one formula-safe writer) and of the map (PNG, from the API); and the
  actors to verify again (not verified for more than ``settings.stale_after_days`` days).

Every figure comes from :func:`essmap.analysis.views.planner_view` (coverage, gaps, catchments,
suggested sites), computed by the caller; nothing is computed here. Assets and tiles work as for
the resident map (``asset_url`` None: standalone page); without tiles, the communes given are
drawn as a light backdrop.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from essmap.analysis.views import PlannerView
from essmap.i18n import messages_for, ngettext
from essmap.labels import (
    GENERATION_LABEL_FR,
    GEOMETRY_SOURCE_LABELS_FR,
    METHOD_LABELS_FR,
    SCHEMATIC_NOTE_FR,
    category_label,
    sites_shortfall_fr,
)
from essmap.maps.assets import script_messages
from essmap.maps.overview import coverage_share, overview_csv
from essmap.maps.page import (
    MAX_ZOOM,
    PageScript,
    RawHTML,
    backdrop_data,
    base_map,
    bounds_of,
    data_attribution,
    feature_collection,
    present,
    render_page,
)
from essmap.maps.style import (
    COVERAGE_COLORS,
    ISOCHRONE_COLORS,
    NO_DATA_COLOR,
    category_color,
    category_styles,
    coverage_class,
    coverage_class_labels,
)
from essmap.model import located_mask
from essmap.network.options import WalkOptions
from essmap.settings import Settings

TITLE: Final = "essmap : couverture des quartiers prioritaires par les circuits courts"
#: The element the overview (table, sites, downloads) is drawn in, beside the map.
OVERVIEW: Final = (
    '<aside class="essmap-overview" id="essmap-overview" aria-labelledby="essmap-overview-title"></aside>'
)


def _float(value: Any) -> float | None:
    return float(value) if present(value) and np.isfinite(float(value)) else None


def _qpv_layers(neighbourhoods: gpd.GeoDataFrame, table: pd.DataFrame) -> list[dict[str, Any]]:
    """One shaded layer per generation (latest first), with each QPV's indicators."""
    by_key = {(int(r.generation), str(r.code)): r for r in table.itertuples(index=False)}
    gens = sorted({int(g) for g in neighbourhoods["generation"].dropna()}, reverse=True)
    layers = []
    for k, gen in enumerate(gens):
        part = neighbourhoods[neighbourhoods["generation"] == gen]
        props = []
        for q in part.itertuples(index=False):
            row = by_key.get((gen, str(q.code)))
            share, basis = coverage_share(row) if row is not None else (None, "area")
            klass = coverage_class(share)
            props.append(
                {
                    "code": str(q.code),
                    "name": str(q.name),
                    "generation": gen,
                    "communes": str(q.commune_names) if present(q.commune_names) else None,
                    "population": int(q.population) if present(q.population) else None,
                    "populationSource": str(q.population_source) if present(q.population_source) else None,
                    "schematic": str(q.geometry_source) == "schematic",
                    "geometrySource": str(q.geometry_source) if present(q.geometry_source) else None,
                    "share": share,
                    "basis": basis,
                    "class": klass,
                    "color": NO_DATA_COLOR if klass is None else COVERAGE_COLORS[klass],
                    "areaShare": _float(row.area_share) if row is not None else None,
                    "areaM2": _float(row.area_m2) if row is not None else None,
                    "residentsTotal": _float(row.residents_total) if row is not None else None,
                    "residentsCovered": _float(row.residents_covered) if row is not None else None,
                    "residentsUncovered": _float(row.residents_uncovered) if row is not None else None,
                    "supplyPoints": int(row.supply_points) if row is not None else None,
                    "nearestSupplyM": _float(row.nearest_supply_m) if row is not None else None,
                    "method": str(row.method) if row is not None else "none",
                    "lowAccess": bool(row.low_access) if row is not None else False,
                }
            )
        layers.append(
            {
                "generation": gen,
                "label": GENERATION_LABEL_FR.format(generation=gen),
                "visible": k == 0,
                "schematic": bool(
                    (part["geometry_source"].astype("string") == "schematic").fillna(False).any()
                ),
                "features": feature_collection(part, props),
            }
        )
    return layers


def _one_method(*columns: pd.Series) -> str | None:
    """The one distance method of some columns, ``mixed`` when they differ (None when empty)."""
    found = {str(m) for column in columns for m in column.dropna()}
    if not found:
        return None
    return found.pop() if len(found) == 1 else "mixed"


def walk_data(view: PlannerView, settings: Settings) -> dict[str, Any] | None:
    """In walk mode, what the page says of walking: speed, detour factor, the threshold's walking
    minutes, how distances were measured (``network``, ``estimate`` or ``mixed``), and the
    isochrones of the supply points with their legend (the longest walks first, drawn beneath)."""
    if view.coverage.mode != "walk":
        return None
    options = WalkOptions.from_settings(settings)
    iso = view.isochrones
    if iso is None:
        iso = gpd.GeoDataFrame({"minutes": [], "distance_method": []}, geometry=[], crs="EPSG:4326")
    minutes = sorted({float(m) for m in iso["minutes"]}) or list(options.minutes)
    colors = {m: ISOCHRONE_COLORS[min(i, len(ISOCHRONE_COLORS) - 1)] for i, m in enumerate(minutes)}
    drawn = iso.sort_values("minutes", ascending=False, kind="stable")
    props = [
        {
            "id": str(r.id),
            "name": str(r.name),
            "category": str(r.category),
            "minutes": float(r.minutes),
            "distanceM": round(float(r.distance_m), 1),
            "method": str(r.distance_method),
            "color": colors[float(r.minutes)],
        }
        for r in drawn.itertuples(index=False)
    ]
    method = _one_method(view.coverage.table["distance_method"], iso["distance_method"]) or "estimate"
    return {
        "speedKmh": options.speed_kmh,
        "detourFactor": options.detour_factor,
        "thresholdMinutes": options.minutes_of(view.coverage.threshold_m),
        "method": method,
        "minutes": [{"minutes": m, "color": colors[m]} for m in minutes],
        "isochrones": feature_collection(drawn, props),
    }


def stale_title(count: int, stale_after_days: int) -> str:
    """The heading of the actors to verify again: "À vérifier : 3 acteurs non vérifiés depuis plus
    d'un an" (or "de N jours" when the setting is not a year)."""
    if stale_after_days == 365:
        text = ngettext(
            "À vérifier : {n} acteur non vérifié depuis plus d'un an",
            "À vérifier : {n} acteurs non vérifiés depuis plus d'un an",
            count,
        )
    else:
        text = ngettext(
            "À vérifier : {n} acteur non vérifié depuis plus de {days} jours",
            "À vérifier : {n} acteurs non vérifiés depuis plus de {days} jours",
            count,
        )
    return text.format(n=count, days=stale_after_days)


#: Actors to verify again listed on the page at most (``essmap info --json`` lists them all).
STALE_SHOWN: Final = 200


def stale_data(view: PlannerView) -> dict[str, Any] | None:
    """The actors to verify again (never verified first, then the oldest), for the overview: the
    first :data:`STALE_SHOWN`, and how many more there are."""
    if view.stale is None:
        return None
    more = max(len(view.stale) - STALE_SHOWN, 0)
    return {
        "title": stale_title(len(view.stale), view.stale_after_days),
        "days": view.stale_after_days,
        "more": more,
        "moreNote": ngettext(
            "… et {n} autre : essmap info --json les liste toutes",
            "… et {n} autres : essmap info --json les liste toutes",
            more,
        ).format(n=more)
        if more
        else None,
        "actors": [
            {
                "id": str(r.id),
                "name": str(r.name),
                "category": category_label(str(r.category)),
                "commune": str(r.commune) if present(r.commune) else None,
                "lastVerified": str(r.last_verified) if present(r.last_verified) else None,
            }
            for r in view.stale.head(STALE_SHOWN).itertuples(index=False)
        ],
    }


def planner_data(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    view: PlannerView,
    *,
    settings: Settings,
) -> dict[str, Any]:
    """The data block of the planner page (JSON-ready), from a :class:`PlannerView`."""
    supply = list(settings.supply_categories)
    table, gaps, rings = view.coverage.table, view.coverage.gaps, view.coverage.catchments
    picked = view.sites
    names = {str(c): str(n) for c, n in zip(neighbourhoods["code"], neighbourhoods["name"], strict=True)}
    gap_props = [
        {
            "code": str(r.code),
            "name": str(r.name),
            "generation": int(r.generation),
            "areaM2": _float(r.area_m2),
            "residents": _float(r.residents),
            "method": str(r.method),
            "schematic": str(r.geometry_source) == "schematic",
        }
        for r in gaps.itertuples(index=False)
    ]
    ring_props = [
        {
            "id": str(r.id),
            "name": str(r.name),
            "category": str(r.category),
            "color": category_color(str(r.category)),
        }
        for r in rings.itertuples(index=False)
    ]
    located = actors[located_mask(actors)]
    supply_points = located[located["category"].isin(supply)]
    points = [
        {
            "id": str(r.id),
            "name": str(r.name),
            "category": str(r.category),
            "label": category_label(str(r.category)),
            "lon": round(float(r.geometry.x), 6),
            "lat": round(float(r.geometry.y), 6),
        }
        for r in supply_points.itertuples(index=False)
    ]
    site_list = []
    if picked is not None:
        addresses = list(view.site_addresses) or [None] * len(picked)
        for r, address in zip(picked.itertuples(index=False), addresses, strict=True):
            site_list.append(
                {
                    "rank": int(r.rank),
                    "gain": _float(r.gain_residents),
                    "cumulative": _float(r.cumulative_residents),
                    "code": str(r.code) if present(r.code) else None,
                    "qpvName": names.get(str(r.code)) if present(r.code) else None,
                    "lon": round(float(r.geometry.x), 6),
                    "lat": round(float(r.geometry.y), 6),
                    "address": None
                    if address is None
                    else {"label": address.label, "distanceM": round(address.distance_m, 1)},
                }
            )
    methods = sorted({str(m) for m in table["method"].dropna()}) if len(table) else []
    return {
        "threshold": view.coverage.threshold_m,
        "mode": view.coverage.mode,
        "walk": walk_data(view, settings),
        "stale": stale_data(view),
        "messages": messages_for(script_messages("planner"), "fr"),
        "classes": [
            {"label": label, "color": color}
            for label, color in zip(coverage_class_labels(), COVERAGE_COLORS, strict=True)
        ],
        "noDataColor": NO_DATA_COLOR,
        "methods": {m: METHOD_LABELS_FR.get(m, m) for m in methods},
        "methodLabels": METHOD_LABELS_FR,
        "schematicNote": SCHEMATIC_NOTE_FR,
        "supplyCategories": [category_label(c) for c in supply],
        "categories": category_styles(supply),
        "qpv": _qpv_layers(neighbourhoods, table),
        "gaps": feature_collection(gaps, gap_props),
        "catchments": feature_collection(rings, ring_props),
        "supply": points,
        "sites": site_list,
        "sitesRequested": view.suggestions.requested if view.suggestions is not None else 0,
        "sitesNote": sites_shortfall_fr(view.suggestions) if view.suggestions is not None else None,
        "geometrySources": {k: GEOMETRY_SOURCE_LABELS_FR[k] for k in sorted(GEOMETRY_SOURCE_LABELS_FR)},
        "attribution": data_attribution(neighbourhoods, actors),
        "bounds": bounds_of(neighbourhoods, supply_points),
    }


def table_download(view: PlannerView) -> str:
    """The overview table of the view as a CSV file in a ``data:`` URL (for a standalone page)."""
    text = overview_csv(view)
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def render_planner_map(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    view: PlannerView,
    *,
    settings: Settings,
    asset_url: str | None = None,
    communes: gpd.GeoDataFrame | None = None,
    downloads: Mapping[str, str] | None = None,
) -> str:
    """The planner map as a complete HTML page.

    Parameters
    ----------
    neighbourhoods, actors
        Tables of :mod:`essmap.model` (WGS 84).
    view
        Coverage at one threshold and suggested sites
        (:func:`essmap.analysis.views.planner_view`).
    settings
        Supply categories and tiles.
    asset_url
        None for a standalone page with every asset inline; else the URL prefix of the assets.
    communes
        Commune outlines and names (``store.load_communes()``), drawn as the backdrop when no tile
        server is set.
    downloads
        URLs of the overview's downloads: ``csv`` (the table for a spreadsheet), ``data`` (the
        exact figures, for programs) and ``png`` (the map). By default the table is carried by the
        page itself, and the exact figures and the map image are not offered.
    """
    data = planner_data(neighbourhoods, actors, view, settings=settings)
    threshold = f"{view.coverage.threshold_m:g}m" + ("_a_pied" if view.coverage.mode == "walk" else "")
    data["downloads"] = {
        "csv": (downloads or {}).get("csv") or table_download(view),
        "csvName": f"couverture_qpv_{threshold}.csv",
        "data": (downloads or {}).get("data"),
        "png": (downloads or {}).get("png"),
        "pngName": f"carte_amenageurs_{threshold}.png",
    }
    backdrop = backdrop_data(communes, data["bounds"]) if communes is not None else None
    m, tiles = base_map(settings, title=TITLE, backdrop=backdrop)
    refs = {"tiles": tiles} if tiles is not None else {}
    m.add_child(PageScript("EssmapPlanner.init", data, {"maxZoom": MAX_ZOOM}, refs))
    root = m.get_root()
    root.html.add_child(RawHTML(OVERVIEW), name="essmap_overview")  # type: ignore[attr-defined]
    return render_page(m, "planner", asset_url=asset_url)
