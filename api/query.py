"""Query parameters as pydantic models, used by FastAPI as query parameter models.

A route takes all its query parameters as one model (``q: Annotated[NearestQuery, Query()]``).
FastAPI validates the query string with it and lists each field as a parameter in the OpenAPI
document. ``extra="forbid"`` makes an unknown parameter FastAPI's own validation error, which
:mod:`api.errors` answers with a 400 problem naming it (OGC API - Features asks for a 400).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from essmap.model import Category


class QueryModel(BaseModel):
    """The query parameters of one operation; any other parameter is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Lon = Annotated[float, Field(ge=-180, le=180, description="Longitude WGS 84 (ex. -1.4748)")]
Lat = Annotated[float, Field(ge=-90, le=90, description="Latitude WGS 84 (ex. 43.4929)")]
Categories = Annotated[
    list[Category] | None,
    Field(description="Catégorie d'acteurs (répétable : category=a&category=b) ; toutes par défaut"),
]
JsonFormat = Annotated[Literal["json"] | None, Field(description="Format : json")]


class PageQuery(QueryModel):
    """Paging of a list of features (the one rule: api.urls.page_of)."""

    limit: int | None = Field(
        None,
        ge=1,
        description=(
            "Nombre d'objets par page (réglage items_default_limit, 10 par défaut). Une valeur au-delà "
            "du maximum du serveur (réglage items_max_limit, 1000 par défaut) est ramenée à ce maximum, "
            "sans erreur."
        ),
    )
    offset: int = Field(0, ge=0, description="Nombre d'objets à sauter (pagination)")


def category_values(category: list[Category] | None) -> list[str] | None:
    """The category names asked for, or None for every category."""
    return [c.value for c in category] if category else None
