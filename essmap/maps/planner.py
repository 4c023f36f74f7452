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
- beside the map, an overview: a sortable table of every QPV (share covered, residents beyond the
  threshold, nearest supply point, low-access flag), the suggested sites, and downloads of the
  table (CSV, through the one formula-safe writer) and of the map (PNG, from the API).

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
from essmap.labels import (
    GENERATION_LABEL_FR,
    GEOMETRY_SOURCE_LABELS_FR,
    METHOD_LABELS_FR,
    SCHEMATIC_NOTE_FR,
    category_label,
    sites_shortfall_fr,
)
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
    NO_DATA_COLOR,
    category_color,
    category_styles,
    coverage_class,
    coverage_class_labels,
)
from essmap.model import located_mask
from essmap.settings import Settings
from essmap.sources import csv_text

TITLE: Final = "essmap : couverture des quartiers prioritaires par les circuits courts"
#: The element the overview (table, sites, downloads) is drawn in, beside the map.
OVERVIEW: Final = (
    '<aside class="essmap-overview" id="essmap-overview" aria-labelledby="essmap-overview-title"></aside>'
)


def _float(value: Any) -> float | None:
    return float(value) if present(value) and np.isfinite(float(value)) else None


def coverage_share(row: Any) -> tuple[float | None, str]:
    """The share shown for a coverage row, and what it measures ("residents" or "area")."""
    total = _float(row.residents_total)
    covered = _float(row.residents_covered)
    if str(row.method) in ("grid", "area") and total is not None and total > 0 and covered is not None:
        return min(max(covered / total, 0.0), 1.0), "residents"
    return _float(row.area_share), "area"


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
    """The coverage table of the view as a CSV file in a ``data:`` URL (for a standalone page),
    written by the one formula-safe CSV writer."""
    text = csv_text(view.coverage.table)
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
        URLs of the overview's downloads: ``csv`` (the table) and ``png`` (the map). By default
        the table is carried by the page itself and the map image is not offered.
    """
    data = planner_data(neighbourhoods, actors, view, settings=settings)
    threshold = f"{view.coverage.threshold_m:g}"
    data["downloads"] = {
        "csv": (downloads or {}).get("csv") or table_download(view),
        "csvName": f"couverture_qpv_{threshold}m.csv",
        "png": (downloads or {}).get("png"),
        "pngName": f"carte_amenageurs_{threshold}m.png",
    }
    backdrop = backdrop_data(communes, data["bounds"]) if communes is not None else None
    m, tiles = base_map(settings, title=TITLE, backdrop=backdrop)
    refs = {"tiles": tiles} if tiles is not None else {}
    m.add_child(PageScript("EssmapPlanner.init", data, {"maxZoom": MAX_ZOOM}, refs))
    root = m.get_root()
    root.html.add_child(RawHTML(OVERVIEW), name="essmap_overview")  # type: ignore[attr-defined]
    return render_page(m, "planner", asset_url=asset_url)
