"""Coverage of the QPVs by supply points: ``/coverage``, ``/coverage/gaps``, ``/suggestions``.

Each answer is computed and serialised once per store revision and parameters, in the app's cache
(its builder thread), and awaited there without holding a thread. ``mode=walk`` measures walks on
the store's street network (the one the walk mode of ``/nearest`` loads, from the same cache
entry), estimated without one; every answer says how (``mode``, ``distance_method``). The query
models are made from the settings so that the OpenAPI document states the server's maxima. No
``from __future__ import annotations``: FastAPI reads the handlers' annotations at run time.
"""

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from fastapi import Query, Request
from pydantic import Field
from starlette.responses import Response

from api.deps import cached_response
from api.factory import BaseFactory
from api.geojson import FastJSONResponse, GeoJSONResponse, dumps, geodataframe_collection, records
from api.openapi import NOT_MODIFIED, geojson
from api.query import ModeQuery
from api.schemas import Coverage, CoverageGaps, SiteCollection
from api.walking import walk_arguments
from essmap.analysis.coverage import coverage as compute_coverage
from essmap.analysis.coverage import coverage_gaps
from essmap.analysis.siting import DEFAULT_SITE_COUNT, site_suggestions
from essmap.labels import sites_shortfall_fr
from essmap.model import Category
from essmap.network import Mode
from essmap.settings import Settings
from essmap.sources import csv_text
from essmap.store import Store

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
#: Coordinates of computed shapes and sites: 6 decimals of a degree (about 10 cm), as RFC 7946 advises.
COORDINATE_DECIMALS = 6


def _supply(settings: Settings, category: list[Category] | None) -> list[str]:
    return [c.value for c in category] if category else list(settings.supply_categories)


def _members(table: pd.DataFrame, mode: Mode, walking: dict[str, Any]) -> dict[str, Any]:
    """Top-level members saying how the answer's distances were measured: its ``mode``, and its
    ``distance_method`` (that of every row, ``mixed`` when rows differ: each says its own; with no
    row, the method the mode would use)."""
    methods = set(table["distance_method"].dropna().astype(str)) if len(table) else set()
    if len(methods) == 1:
        method = methods.pop()
    elif methods:
        method = "mixed"
    elif mode == "straight":
        method = "straight"
    else:
        method = "network" if walking.get("network") is not None else "estimate"
    return {"mode": mode, "distance_method": method}


def coverage_body(
    store: Store,
    settings: Settings,
    thresholds: list[float],
    supply: list[str],
    as_csv: bool,
    walking: dict[str, Any],
) -> bytes:
    """Coverage of every QPV within each threshold, as CSV or JSON (``walking``: the mode
    arguments of :func:`api.walking.walk_arguments`)."""
    table = compute_coverage(
        store.load_neighbourhoods(),
        store.load_actors(),
        thresholds_m=thresholds,
        supply_categories=supply,
        grid=store.load_population_grid(),
        low_access_share=settings.low_access_share,
        low_access_residents=settings.low_access_residents,
        max_threshold_m=settings.max_threshold_m,
        **walking,
    )
    if as_csv:
        return csv_text(table).encode()
    body = {
        "supply_categories": supply,
        "thresholds_m": thresholds,
        **_members(table, walking["mode"], walking),
        "rows": records(table),
    }
    return dumps(body).encode()


def gaps_geojson(
    store: Store, settings: Settings, threshold: float, supply: list[str], walking: dict[str, Any]
) -> bytes:
    """The parts of each QPV beyond ``threshold`` of every supply point (GeoJSON)."""
    table = coverage_gaps(
        store.load_neighbourhoods(),
        store.load_actors(),
        threshold_m=threshold,
        supply_categories=supply,
        grid=store.load_population_grid(),
        max_threshold_m=settings.max_threshold_m,
        **walking,
    )
    table.insert(0, "_id", [f"{g}-{c}" for g, c in zip(table["generation"], table["code"], strict=True)])
    return geodataframe_collection(
        table,
        id_column="_id",
        drop=("_id",),
        members=_members(table, walking["mode"], walking),
        decimals=COORDINATE_DECIMALS,
    )


def suggestions_geojson(
    store: Store,
    settings: Settings,
    count: int,
    threshold: float,
    generation: int | None,
    walking: dict[str, Any],
) -> bytes:
    """Ranked sites for new supply points (GeoJSON), with why there are fewer than asked, if so."""
    answer = site_suggestions(
        store.load_neighbourhoods(),
        store.load_actors(),
        count=count,
        threshold_m=threshold,
        supply_categories=settings.supply_categories,
        spacing_m=settings.siting_spacing_m,
        grid=store.load_population_grid(),
        generation=generation,
        max_count=settings.max_suggestions,
        max_threshold_m=settings.max_threshold_m,
        **walking,
    )
    sites = answer.sites.copy()
    sites.insert(0, "_id", [str(r) for r in sites["rank"]])
    members: dict[str, object] = {
        "numberRequested": count,
        "numberReturned": len(sites),
        **_members(answer.sites, walking["mode"], walking),
    }
    detail = sites_shortfall_fr(answer)
    if detail:
        members["detail"] = detail
    return geodataframe_collection(
        sites, id_column="_id", drop=("_id",), members=members, decimals=COORDINATE_DECIMALS
    )


@dataclass
class CoverageFactory(BaseFactory):
    """``/coverage``, ``/coverage/gaps`` and ``/suggestions``."""

    tags: ClassVar[list[str]] = ["couverture"]

    def register_routes(self) -> None:
        settings = self.settings
        router = self.router
        default_threshold = settings.default_threshold_m
        distance = Annotated[float, Field(gt=0, le=settings.max_threshold_m)]
        threshold_description = f"Seuil de distance en mètres ({default_threshold:g} par défaut)"
        supply_description = (
            "Catégorie comptée comme approvisionnement (répétable) ; par défaut "
            + ", ".join(settings.supply_categories)
        )

        class CoverageQuery(ModeQuery):
            threshold_m: list[distance] | None = Field(
                None,
                description=(
                    "Seuil de distance en mètres (répétable) ; par défaut "
                    + ", ".join(f"{t:g}" for t in settings.thresholds_m)
                ),
            )
            category: list[Category] | None = Field(None, description=supply_description)
            f: Literal["json", "csv"] = Field("json", description="Format : json ou csv")

        class GapsQuery(ModeQuery):
            threshold_m: float | None = Field(
                None, gt=0, le=settings.max_threshold_m, description=threshold_description
            )
            category: list[Category] | None = Field(None, description=supply_description)

        class SuggestionsQuery(ModeQuery):
            count: int = Field(
                DEFAULT_SITE_COUNT,
                ge=1,
                le=settings.max_suggestions,
                description="Nombre de sites à proposer",
            )
            threshold_m: float | None = Field(
                None, gt=0, le=settings.max_threshold_m, description=threshold_description
            )
            generation: int | None = Field(
                None, description="Liste de QPV à servir, 2015 ou 2024 (la plus récente présente par défaut)"
            )

        @router.get(
            "/coverage",
            response_class=FastJSONResponse,
            responses={
                200: {"model": Coverage, "content": {"application/json": {}, "text/csv": {}}},
                **NOT_MODIFIED,
            },
        )
        async def coverage(request: Request, q: Annotated[CoverageQuery, Query()]) -> Response:
            """Coverage of each QPV by supply points within each distance threshold (JSON or CSV)."""
            thresholds = list(dict.fromkeys(q.threshold_m or settings.thresholds_m))
            supply = _supply(settings, q.category)
            as_csv = q.f == "csv"
            store, cache = request.app.state.store, request.app.state.cache
            return await cached_response(
                request,
                ("coverage", q.mode, tuple(thresholds), tuple(supply), as_csv),
                lambda: coverage_body(
                    store,
                    settings,
                    thresholds,
                    supply,
                    as_csv,
                    walk_arguments(store, settings, cache, q.mode),
                ),
                (lambda body: Response(body, media_type=CSV_MEDIA_TYPE)) if as_csv else FastJSONResponse,
            )

        @router.get(
            "/coverage/gaps",
            response_class=GeoJSONResponse,
            responses={200: geojson(CoverageGaps), **NOT_MODIFIED},
        )
        async def gaps(request: Request, q: Annotated[GapsQuery, Query()]) -> Response:
            """The parts of each QPV beyond the threshold of every supply point (GeoJSON polygons)."""
            threshold = q.threshold_m if q.threshold_m is not None else default_threshold
            supply = _supply(settings, q.category)
            store, cache = request.app.state.store, request.app.state.cache
            return await cached_response(
                request,
                ("gaps", q.mode, threshold, tuple(supply)),
                lambda: gaps_geojson(
                    store, settings, threshold, supply, walk_arguments(store, settings, cache, q.mode)
                ),
                GeoJSONResponse,
            )

        @router.get(
            "/suggestions",
            response_class=GeoJSONResponse,
            responses={200: geojson(SiteCollection), **NOT_MODIFIED},
        )
        async def suggestions(request: Request, q: Annotated[SuggestionsQuery, Query()]) -> Response:
            """Where new supply points would bring the most uncovered residents within reach (GeoJSON)."""
            threshold = q.threshold_m if q.threshold_m is not None else default_threshold
            store, cache = request.app.state.store, request.app.state.cache
            return await cached_response(
                request,
                ("suggestions", q.mode, q.count, threshold, q.generation),
                lambda: suggestions_geojson(
                    store,
                    settings,
                    q.count,
                    threshold,
                    q.generation,
                    walk_arguments(store, settings, cache, q.mode),
                ),
                GeoJSONResponse,
            )
