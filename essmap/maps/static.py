"""Static map (PNG) of one QPV or of the whole territory with its coverage, for reports.

Drawn with matplotlib in the metric CRS of the area (Lambert-93 in mainland France), with no
background tiles: QPVs shaded by coverage share at a threshold (same classes and colours as the
planner map), gap polygons hatched, catchment rings and supply points by category, QPV labels,
a scale bar, a north arrow, and a caption with the method and the sources. Figures come from
:func:`essmap.analysis.views.static_view`, computed by the caller.
"""

from __future__ import annotations

import io
from typing import Any, Final

import geopandas as gpd
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from essmap.analysis.views import StaticView
from essmap.errors import InvalidParameterError
from essmap.geo import metric_crs_of
from essmap.i18n import ngettext
from essmap.labels import METHOD_LABELS_FR, category_label
from essmap.maps.overview import coverage_share
from essmap.maps.style import (
    COVERAGE_COLORS,
    NO_DATA_COLOR,
    category_color,
    coverage_class,
    coverage_class_labels,
)
from essmap.model import located_mask
from essmap.settings import Settings

GAP_COLOR: Final = "#b71c1c"
NICE_LENGTHS_M: Final = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000)


def _scale_length(width_m: float) -> int:
    target = width_m / 5
    return max((n for n in NICE_LENGTHS_M if n <= target), default=NICE_LENGTHS_M[0])


def _format_length(metres: int) -> str:
    return f"{metres // 1000} km" if metres >= 1000 else f"{metres} m"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def render_static_map(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    view: StaticView,
    *,
    settings: Settings,
    dpi: int = 150,
) -> bytes:
    """A PNG image of the QPVs of ``view`` (one QPV, or a whole generation) with their coverage.

    Parameters
    ----------
    neighbourhoods, actors
        Tables of :mod:`essmap.model` (WGS 84); the other QPVs of the generation are drawn greyed.
    view
        The QPVs shown and their coverage (:func:`essmap.analysis.views.static_view`).
    settings
        Supply categories.
    dpi
        Resolution (the image is 10 x 8.5 inches before trimming).

    Raises
    ------
    InvalidParameterError
        Resolution out of range.
    """
    if not 50 <= dpi <= 600:
        raise InvalidParameterError(
            "dpi", f"la résolution doit être entre 50 et 600 points par pouce (reçu : {dpi})"
        )
    shown, qpv_code, threshold = view.shown, view.qpv_code, view.coverage.threshold_m
    supply = list(settings.supply_categories)
    table, gaps, rings = view.coverage.table, view.coverage.gaps, view.coverage.catchments
    located = actors[located_mask(actors)]
    points = located[located["category"].isin(supply)]

    crs = metric_crs_of(shown)
    qpv_m = shown.to_crs(crs)
    x0, y0, x1, y1 = qpv_m.total_bounds
    pad = threshold if qpv_code else max(threshold, 0.05 * max(x1 - x0, y1 - y0))
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad

    fig = Figure(figsize=(10, 8.5), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.14, 0.96, 0.78))
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_facecolor("white")

    gen = int(shown["generation"].iloc[0])
    others = neighbourhoods[
        (neighbourhoods["generation"] == gen) & ~neighbourhoods["code"].isin(shown["code"])
    ]
    if not others.empty:
        others.to_crs(crs).plot(ax=ax, facecolor="#f5f5f5", edgecolor="#9e9e9e", linewidth=0.8, zorder=1)

    by_code = {str(r.code): r for r in table.itertuples(index=False)}
    shares = []
    for row in qpv_m.itertuples(index=False):
        cov = by_code.get(str(row.code))
        share, basis = coverage_share(cov) if cov is not None else (None, "area")
        shares.append((share, basis))
        klass = coverage_class(share)
        colour = NO_DATA_COLOR if klass is None else COVERAGE_COLORS[klass]
        schematic = str(row.geometry_source) == "schematic"
        gpd.GeoSeries([row.geometry], crs=crs).plot(
            ax=ax,
            facecolor=colour,
            edgecolor="#263238",
            linewidth=1.2,
            linestyle="--" if schematic else "-",
            alpha=0.85,
            zorder=2,
        )
    if not gaps.empty:
        gaps.to_crs(crs).plot(
            ax=ax, facecolor="none", edgecolor=GAP_COLOR, hatch="///", linewidth=1.0, zorder=3
        )
    ring_m = rings.to_crs(crs)
    ring_m = ring_m[~ring_m.geometry.is_empty]  # a threshold of a few nanometres draws no disc
    if not ring_m.empty:
        ring_m.boundary.plot(
            ax=ax,
            color=[category_color(str(c)) for c in ring_m["category"]],
            linewidth=0.9,
            alpha=0.8,
            zorder=4,
        )
    pts = points.to_crs(crs)
    for cat in dict.fromkeys(pts["category"].astype(str)):
        sel = pts[pts["category"] == cat]
        ax.scatter(
            sel.geometry.x,
            sel.geometry.y,
            s=36,
            color=category_color(cat),
            edgecolor="white",
            linewidth=1.0,
            zorder=5,
        )
    for row, (share, basis) in zip(qpv_m.itertuples(index=False), shares, strict=True):
        anchor = row.geometry.representative_point()
        what = "des habitants" if basis == "residents" else "de la surface"
        ax.annotate(
            f"{row.name}\n{_percent(share)} {what}",
            (anchor.x, anchor.y),
            ha="center",
            va="center",
            fontsize=8,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.75, "linewidth": 0},
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    _scale_bar(ax, x0, y0, x1, y1)
    _north_arrow(ax)

    title = (
        f"{shown['name'].iloc[0]} ({shown['code'].iloc[0]}, QPV {int(shown['generation'].iloc[0])})"
        if qpv_code
        else f"Quartiers prioritaires {int(shown['generation'].iloc[0])} : "
        + ngettext("{n} quartier", "{n} quartiers", len(shown)).format(n=len(shown))
    )
    fig.suptitle(title, fontsize=14, fontweight="bold", y=0.985)
    fig.text(
        0.5,
        0.935,
        f"Part des habitants à moins de {threshold:g} m (à vol d'oiseau) d'un point d'approvisionnement",
        ha="center",
        fontsize=10,
    )
    handles: list[Any] = [
        Patch(facecolor=c, edgecolor="#263238", label=label)
        for c, label in zip(reversed(COVERAGE_COLORS), reversed(coverage_class_labels()), strict=True)
    ]
    handles.append(Patch(facecolor="none", edgecolor=GAP_COLOR, hatch="///", label="zone non desservie"))
    handles.append(Line2D([], [], color="#555", linewidth=1, label=f"rayon de {threshold:g} m"))
    for cat in dict.fromkeys(points["category"].astype(str)):
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markerfacecolor=category_color(cat),
                markeredgecolor="white",
                markersize=7,
                label=category_label(cat),
            )
        )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=True)
    fig.text(0.02, 0.02, _caption(shown, actors, table), fontsize=7, va="bottom", ha="left", wrap=True)

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": "essmap"})
    return buf.getvalue()


def _caption(shown: gpd.GeoDataFrame, actors: gpd.GeoDataFrame, table: pd.DataFrame) -> str:
    methods = sorted({str(m) for m in table["method"].dropna()}) if len(table) else []
    lines = [
        "Méthode : distances à vol d'oiseau (en ligne droite) ; habitants : "
        + ("; ".join(METHOD_LABELS_FR.get(m, m) for m in methods) or "non renseignés")
        + "."
    ]
    sources = sorted({str(s) for s in shown["source"].dropna()})
    n_sources = actors["source"].dropna().nunique() if len(actors) else 0
    lines.append(
        "Sources : QPV "
        + ("; ".join(sources[:3]) or "non renseignée")
        + " ; acteurs : "
        + ngettext("{n} source", "{n} sources", n_sources).format(n=n_sources)
        + "."
    )
    if (shown["geometry_source"].astype("string") == "schematic").fillna(False).any():
        lines.append("Contours en pointillés : schématiques (approximatifs), pas les limites officielles.")
    lines.append("Réalisé avec essmap, sans fond de carte.")
    return "\n".join(lines)


def _scale_bar(ax: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    length = _scale_length(x1 - x0)
    bx = x0 + 0.04 * (x1 - x0)
    by = y0 + 0.04 * (y1 - y0)
    height = 0.012 * (y1 - y0)
    half = length / 2
    ax.add_patch(Rectangle((bx, by), half, height, facecolor="black", edgecolor="black", zorder=7))
    ax.add_patch(Rectangle((bx + half, by), half, height, facecolor="white", edgecolor="black", zorder=7))
    ax.text(bx, by + 1.8 * height, "0", ha="center", fontsize=7, zorder=7)
    ax.text(bx + length, by + 1.8 * height, _format_length(length), ha="center", fontsize=7, zorder=7)


def _north_arrow(ax: Any) -> None:
    ax.annotate(
        "N",
        xy=(0.96, 0.95),
        xytext=(0.96, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5},
        zorder=7,
    )


def image_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG image, read from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    return width, height


__all__ = ["image_size", "render_static_map"]
