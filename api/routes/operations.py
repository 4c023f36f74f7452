"""Operations: a health check that answers without reading the store."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import CheckedRoute
from api.geojson import FastJSONResponse
from api.openapi import content
from api.schemas import Health

router = APIRouter(tags=["operations"], route_class=CheckedRoute)


@router.get("/health", response_class=FastJSONResponse, responses={200: content(Health)})
async def health() -> Response:
    """Health check (answers at once, without reading the store)."""
    return FastJSONResponse(b'{"status":"ok"}')
