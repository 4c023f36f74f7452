"""Operations: a health check that answers without reading the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from starlette.responses import Response

from api.factory import BaseFactory
from api.geojson import FastJSONResponse
from api.openapi import content
from api.schemas import Health

HEALTHY = b'{"status":"ok"}'


@dataclass
class OperationsFactory(BaseFactory):
    """``/health``."""

    tags: ClassVar[list[str]] = ["operations"]

    def register_routes(self) -> None:
        @self.router.get("/health", response_class=FastJSONResponse, responses={200: content(Health)})
        async def health() -> Response:
            """Health check (answers at once, without reading the store)."""
            return FastJSONResponse(HEALTHY)
