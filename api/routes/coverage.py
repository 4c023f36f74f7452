"""Coverage of the QPVs by supply points: ``/coverage``, ``/coverage/gaps``, ``/suggestions``.

Results are computed once per store revision and parameters (a small cache), in a worker thread.
Made by :func:`make_router` so that the OpenAPI document states the server's maxima. No
``from __future__ import annotations``: FastAPI reads the handlers' annotations at run time.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field
from starlette.responses import Response

from api.caching import cache_headers, etag_for, not_modified
from api.deps import CheckedRoute, SettingsDep, StoreDep
from api.geojson import FastJSONResponse, GeoJSONResponse, geodataframe_collection, records
from api.openapi import NOT_MODIFIED, geojson
from api.schemas import Coverage, FeatureCollection
from essmap.analysis.coverage import coverage as compute_coverage
from essmap.analysis.coverage import coverage_gaps
from essmap.analysis.siting import suggest_sites
from essmap.model import Category
from essmap.settings import Settings
from essmap.store import Store


class ResultCache:
    """The last few analysis results, by store revision and parameters."""

    def __init__(self, size: int = 32) -> None:
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def _supply(settings: Settings, category: list[Category] | None) -> list[str]:
    return [c.value for c in category] if category else list(settings.supply_categories)


def _conditional(request: Request, store: Store, build: Callable[[str], Response]) -> Response:
    revision = store.revision()
    etag = etag_for(revision, request)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    response = build(revision)
    response.headers.update(cache_headers(etag))
    return response


def make_router(settings: Settings) -> APIRouter:
    """The coverage routes, with the maxima of ``settings`` in their OpenAPI description."""
    router = APIRouter(tags=["couverture"], route_class=CheckedRoute)
    results = ResultCache()  # one per app: keys hold the store revision, the app holds the store
    default_threshold = settings.default_threshold_m
    distance_t = Annotated[float, Field(gt=0, le=settings.max_threshold_m)]
    thresholds_t = Annotated[
        list[distance_t] | None,
        Query(
            description=(
                "Seuil de distance en mètres (répétable) ; par défaut "
                + ", ".join(f"{t:g}" for t in settings.thresholds_m)
            ),
        ),
    ]
    threshold_t = Annotated[
        float | None,
        Query(
            gt=0,
            le=settings.max_threshold_m,
            description=f"Seuil de distance en mètres ({default_threshold:g} par défaut)",
        ),
    ]
    supply_t = Annotated[
        list[Category] | None,
        Query(
            description=(
                "Catégorie comptée comme approvisionnement (répétable) ; par défaut "
                + ", ".join(settings.supply_categories)
            )
        ),
    ]

    @router.get(
        "/coverage",
        response_class=FastJSONResponse,
        responses={
            200: {"model": Coverage, "content": {"application/json": {}, "text/csv": {}}},
            **NOT_MODIFIED,
        },
    )
    def coverage(
        request: Request,
        store: StoreDep,
        settings: SettingsDep,
        threshold_m: thresholds_t = None,
        category: supply_t = None,
        f: Annotated[Literal["json", "csv"], Query(description="Format : json ou csv")] = "json",
    ) -> Response:
        """Coverage of each QPV by supply points within each distance threshold (JSON or CSV)."""
        thresholds = list(dict.fromkeys(threshold_m or settings.thresholds_m))
        supply = _supply(settings, category)

        def build(revision: str) -> Response:
            table = results.get(
                ("coverage", revision, tuple(thresholds), tuple(supply)),
                lambda: compute_coverage(
                    store.load_neighbourhoods(),
                    store.load_actors(),
                    thresholds_m=thresholds,
                    supply_categories=supply,
                    grid=store.load_population_grid(),
                    low_access_share=settings.low_access_share,
                    low_access_residents=settings.low_access_residents,
                    max_threshold_m=settings.max_threshold_m,
                ),
            )
            if f == "csv":
                return Response(table.to_csv(index=False), media_type="text/csv; charset=utf-8")
            body = {"supply_categories": supply, "thresholds_m": thresholds, "rows": records(table)}
            return FastJSONResponse(body)

        return _conditional(request, store, build)

    @router.get(
        "/coverage/gaps",
        response_class=GeoJSONResponse,
        responses={200: geojson(FeatureCollection), **NOT_MODIFIED},
    )
    def gaps(
        request: Request,
        store: StoreDep,
        settings: SettingsDep,
        threshold_m: threshold_t = None,
        category: supply_t = None,
    ) -> Response:
        """The parts of each QPV beyond the threshold of every supply point (GeoJSON polygons)."""
        threshold = threshold_m if threshold_m is not None else default_threshold
        supply = _supply(settings, category)

        def build(revision: str) -> Response:
            body = results.get(
                ("gaps", revision, threshold, tuple(supply)),
                lambda: _gaps_geojson(store, settings, threshold, supply),
            )
            return GeoJSONResponse(body)

        return _conditional(request, store, build)

    @router.get(
        "/suggestions",
        response_class=GeoJSONResponse,
        responses={200: geojson(FeatureCollection), **NOT_MODIFIED},
    )
    def suggestions(
        request: Request,
        store: StoreDep,
        settings: SettingsDep,
        count: Annotated[
            int, Query(ge=1, le=settings.max_suggestions, description="Nombre de sites à proposer")
        ] = 5,
        threshold_m: threshold_t = None,
        generation: Annotated[
            int | None,
            Query(description="Liste de QPV à servir, 2015 ou 2024 (la plus récente présente par défaut)"),
        ] = None,
    ) -> Response:
        """Where new supply points would bring the most uncovered residents within reach (GeoJSON)."""
        threshold = threshold_m if threshold_m is not None else default_threshold

        def build(revision: str) -> Response:
            body = results.get(
                ("suggestions", revision, count, threshold, generation),
                lambda: _suggestions_geojson(store, settings, count, threshold, generation),
            )
            return GeoJSONResponse(body)

        return _conditional(request, store, build)

    return router


def _gaps_geojson(store: Store, settings: Settings, threshold: float, supply: list[str]) -> bytes:
    table = coverage_gaps(
        store.load_neighbourhoods(),
        store.load_actors(),
        threshold_m=threshold,
        supply_categories=supply,
        grid=store.load_population_grid(),
        max_threshold_m=settings.max_threshold_m,
    )
    table.insert(0, "_id", [f"{g}-{c}" for g, c in zip(table["generation"], table["code"], strict=True)])
    return geodataframe_collection(table, id_column="_id", drop=("_id",))


def _suggestions_geojson(
    store: Store, settings: Settings, count: int, threshold: float, generation: int | None
) -> bytes:
    sites = suggest_sites(
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
    )
    sites.insert(0, "_id", [str(r) for r in sites["rank"]])
    return geodataframe_collection(sites, id_column="_id", drop=("_id",))
