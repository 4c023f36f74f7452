"""The planner overview's table for people: what the page shows, as a spreadsheet opens it.

The coverage table (:func:`essmap.analysis.coverage.coverage`) keeps exact values in English
columns for programs (``/coverage?f=csv``, ``essmap coverage --format csv``). Planners download
the overview they read on the page instead: French headings, shares in whole percent, whole
residents and metres, "oui"/"non", written for a French spreadsheet (semicolons, decimal comma,
UTF-8 with a byte order mark, so that accents survive) by the one CSV writer.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from essmap.analysis.views import PlannerView
from essmap.i18n import gettext
from essmap.labels import GEOMETRY_SOURCE_LABELS_FR, METHOD_LABELS_FR
from essmap.sources import csv_text

__all__ = ["coverage_share", "overview_csv", "overview_table"]

#: How distances were measured (the ``distance_method`` column), for people.
_DISTANCE_METHODS_FR = {
    "straight": "à vol d'oiseau",
    "network": "à pied sur les rues",
    "estimate": "à pied, estimé (vol d'oiseau × détour)",
}


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def coverage_share(row: Any) -> tuple[float | None, str]:
    """The share shown for a coverage row, and what it measures ("residents" or "area")."""
    total = _number(row.residents_total)
    covered = _number(row.residents_covered)
    if str(row.method) in ("grid", "area") and total is not None and total > 0 and covered is not None:
        return min(max(covered / total, 0.0), 1.0), "residents"
    return _number(row.area_share), "area"


def _whole(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def overview_table(view: PlannerView) -> pd.DataFrame:
    """One row per QPV, as the overview shows it (most residents beyond the threshold first)."""
    table = view.coverage.table
    rows = []
    for row in table.itertuples(index=False):
        share, basis = coverage_share(row)
        rows.append(
            {
                "Quartier": str(row.name),
                "Code": str(row.code),
                "Génération": int(row.generation),
                "Part couverte (%)": None if share is None else round(share * 100),
                "Part de": "habitants" if basis == "residents" else "surface",
                "Habitants au-delà du seuil": _whole(row.residents_uncovered),
                "Point d'approvisionnement le plus proche (m)": _whole(row.nearest_supply_m),
                "Accès faible": "oui" if bool(row.low_access) else "non",
                "Seuil (m)": _whole(row.threshold_m),
                "Distances": _DISTANCE_METHODS_FR.get(str(row.distance_method), str(row.distance_method)),
                "Habitants comptés par": gettext(METHOD_LABELS_FR.get(str(row.method), str(row.method))),
                "Contour": gettext(
                    GEOMETRY_SOURCE_LABELS_FR.get(str(row.geometry_source), "origine inconnue")
                ),
            }
        )
    frame = pd.DataFrame(rows)
    if len(frame):
        beyond = frame["Habitants au-delà du seuil"].fillna(-1)
        frame = frame.iloc[beyond.sort_values(ascending=False, kind="stable").index].reset_index(drop=True)
        for column in (
            "Part couverte (%)",
            "Habitants au-delà du seuil",
            "Point d'approvisionnement le plus proche (m)",
        ):
            frame[column] = frame[column].astype("Int64")
    return frame


def overview_csv(view: PlannerView) -> str:
    """The overview table as CSV text for a French spreadsheet."""
    return csv_text(overview_table(view), spreadsheet_fr=True)
