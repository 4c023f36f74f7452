"""What a map shows, computed in one place: coverage at a threshold, suggested sites, the QPVs drawn.

The map modules (:mod:`essmap.maps`) only draw; their callers (the CLI, the API) compute these views
with the functions here and pass them on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd

from essmap.analysis.catchments import supply_isochrones
from essmap.analysis.coverage import catchments, coverage, coverage_gaps
from essmap.analysis.siting import SiteSuggestions, site_suggestions
from essmap.analysis.summary import stale_actors
from essmap.errors import InvalidParameterError, NotFoundError
from essmap.geocoding.reverse import NearbyAddress, nearest_addresses
from essmap.network.graph import StreetNetwork
from essmap.network.options import Mode, WalkOptions, check_mode
from essmap.settings import Settings

__all__ = [
    "CoverageView",
    "PlannerView",
    "StaticView",
    "check_threshold",
    "coverage_view",
    "planner_view",
    "select_neighbourhoods",
    "static_view",
]


@dataclass(frozen=True)
class CoverageView:
    """What a map of coverage at one threshold shows: the table, the gaps and the catchments.

    In walk mode (``mode == "walk"``), the threshold is walked and the catchments are isochrones;
    the tables' ``distance_method`` columns say whether each figure was measured on the street
    network or estimated.
    """

    threshold_m: float
    table: pd.DataFrame
    gaps: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    mode: str = "straight"


@dataclass(frozen=True)
class PlannerView:
    """The planner map's figures: coverage at one threshold, the suggested sites (or None), the
    address nearest to each site (None where no imported address is near), in walk mode the
    isochrones of every supply point at the settings' walking times (or None), and the actors not
    verified for more than ``stale_after_days`` days
    (:func:`essmap.analysis.summary.stale_actors`; None when not asked for)."""

    coverage: CoverageView
    suggestions: SiteSuggestions | None
    site_addresses: tuple[NearbyAddress | None, ...] = ()
    isochrones: gpd.GeoDataFrame | None = None
    stale: pd.DataFrame | None = None
    stale_after_days: int = 365

    @property
    def sites(self) -> gpd.GeoDataFrame | None:
        """The suggested sites (:data:`essmap.analysis.siting.SITE_COLUMNS`), or None."""
        return None if self.suggestions is None else self.suggestions.sites


@dataclass(frozen=True)
class StaticView:
    """A static map's figures: the QPVs drawn (one, or a whole generation) and their coverage."""

    shown: gpd.GeoDataFrame
    qpv_code: str | None
    coverage: CoverageView


def check_threshold(threshold_m: float | None, settings: Settings) -> float:
    """The threshold to map: the given one, else ``settings.default_threshold_m``; checked.

    Raises
    ------
    InvalidParameterError
        For a distance that is not positive or exceeds ``settings.max_threshold_m``.
    """
    value = settings.default_threshold_m if threshold_m is None else threshold_m
    if not math.isfinite(value) or value <= 0 or value > settings.max_threshold_m:
        raise InvalidParameterError(
            "threshold",
            f"le seuil doit être une distance positive d'au plus {settings.max_threshold_m:g} m "
            f"(reçu : {value:g})",
        )
    return float(value)


def coverage_view(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    threshold_m: float,
    settings: Settings,
    grid: gpd.GeoDataFrame | None = None,
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
) -> CoverageView:
    """Coverage, gap polygons and catchments at one threshold, with the settings' options.

    ``mode="walk"`` measures walks on ``network`` (estimated where it is None or does not reach),
    with the settings' walking options.
    """
    mode = check_mode(mode)
    walking = _walking(mode, network, settings)
    supply = list(settings.supply_categories)
    if grid is not None and grid.empty:
        grid = None
    table = coverage(
        neighbourhoods,
        actors,
        thresholds_m=[threshold_m],
        supply_categories=supply,
        grid=grid,
        low_access_share=settings.low_access_share,
        low_access_residents=settings.low_access_residents,
        max_threshold_m=settings.max_threshold_m,
        **walking,
    )
    gaps = coverage_gaps(
        neighbourhoods,
        actors,
        threshold_m=threshold_m,
        supply_categories=supply,
        grid=grid,
        max_threshold_m=settings.max_threshold_m,
        **walking,
    )
    rings = catchments(
        actors,
        threshold_m=threshold_m,
        supply_categories=supply,
        max_threshold_m=settings.max_threshold_m,
        **walking,
    )
    return CoverageView(float(threshold_m), table, gaps, rings, mode)


def _walking(mode: Mode, network: StreetNetwork | None, settings: Settings) -> dict[str, Any]:
    """The walk-mode arguments of the analyses (none in straight-line mode)."""
    if mode == "straight":
        return {}
    return {"mode": "walk", "network": network, "walk": WalkOptions.from_settings(settings)}


def planner_view(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    settings: Settings,
    threshold_m: float | None = None,
    grid: gpd.GeoDataFrame | None = None,
    sites: int = 3,
    addresses: pd.DataFrame | None = None,
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
    today: date | None = None,
) -> PlannerView:
    """Coverage at a threshold and ``sites`` suggested new supply points, for the planner map;
    with ``addresses`` (``store.load_addresses()``), the street address nearest to each site.

    In walk mode (``mode="walk"``, walks on ``network`` or estimated), the view also holds the
    isochrones of every supply point at the settings' ``isochrone_minutes``. The actors to verify
    again are those not verified for more than ``settings.stale_after_days`` days on ``today``
    (the current date by default).

    Raises
    ------
    InvalidParameterError
        For a threshold or a number of sites out of range.
    """
    threshold = check_threshold(threshold_m, settings)
    if sites < 0 or sites > settings.max_suggestions:
        raise InvalidParameterError(
            "sites", f"le nombre de sites doit être entre 0 et {settings.max_suggestions} (reçu : {sites})"
        )
    if grid is not None and grid.empty:
        grid = None
    mode = check_mode(mode)
    view = coverage_view(
        neighbourhoods,
        actors,
        threshold_m=threshold,
        settings=settings,
        grid=grid,
        mode=mode,
        network=network,
    )
    picked = None
    if sites > 0 and len(neighbourhoods):
        picked = site_suggestions(
            neighbourhoods,
            actors,
            count=sites,
            threshold_m=threshold,
            supply_categories=list(settings.supply_categories),
            grid=grid,
            spacing_m=settings.siting_spacing_m,
            max_count=settings.max_suggestions,
            max_threshold_m=settings.max_threshold_m,
            **_walking(mode, network, settings),
        )
    found: tuple[NearbyAddress | None, ...] = ()
    if picked is not None and addresses is not None and len(picked.sites):
        points = picked.sites.geometry
        found = tuple(nearest_addresses(addresses, points.x.to_numpy(), points.y.to_numpy()))
    isochrones = None
    if mode == "walk":
        isochrones = supply_isochrones(
            actors,
            network=network,
            walk=WalkOptions.from_settings(settings),
            supply_categories=list(settings.supply_categories),
        )
    stale = stale_actors(actors, today=today or date.today(), stale_after_days=settings.stale_after_days)
    return PlannerView(view, picked, found, isochrones, stale, settings.stale_after_days)


def select_neighbourhoods(
    neighbourhoods: gpd.GeoDataFrame, *, qpv_code: str | None, generation: int | None
) -> gpd.GeoDataFrame:
    """The QPVs to draw: one code (its latest generation unless given), else a whole generation.

    Raises
    ------
    NotFoundError
        If the code or the generation is not in the table.
    """
    table = neighbourhoods
    if generation is not None:
        table = table[table["generation"] == generation]
        if table.empty:
            raise NotFoundError(f"aucun quartier prioritaire de la génération {generation}")
    if qpv_code is not None:
        table = table[table["code"].astype("string").str.upper() == qpv_code.strip().upper()]
        if table.empty:
            raise NotFoundError(f"aucun quartier prioritaire de code {qpv_code}")
    if table.empty:
        raise NotFoundError("aucun quartier prioritaire à cartographier : importez d'abord des QPV")
    latest = int(table["generation"].max())
    return table[table["generation"] == latest]


def static_view(
    neighbourhoods: gpd.GeoDataFrame,
    actors: gpd.GeoDataFrame,
    *,
    settings: Settings,
    qpv_code: str | None = None,
    generation: int | None = None,
    threshold_m: float | None = None,
    grid: gpd.GeoDataFrame | None = None,
    mode: Mode = "straight",
    network: StreetNetwork | None = None,
) -> StaticView:
    """The QPVs of a static map (one code, or a whole generation) and their coverage.

    Raises
    ------
    NotFoundError
        Unknown code or generation, or no QPV at all.
    InvalidParameterError
        Threshold out of range.
    """
    threshold = check_threshold(threshold_m, settings)
    shown = select_neighbourhoods(neighbourhoods, qpv_code=qpv_code, generation=generation)
    view = coverage_view(
        shown, actors, threshold_m=threshold, settings=settings, grid=grid, mode=mode, network=network
    )
    return StaticView(shown, qpv_code, view)
