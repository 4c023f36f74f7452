"""Query parameters as pydantic models, used by FastAPI as query parameter models.

A route takes all its query parameters as one model (``q: Annotated[NearestQuery, Query()]``).
FastAPI validates the query string with it and lists each field as a parameter in the OpenAPI
document. ``extra="forbid"`` makes an unknown parameter FastAPI's own validation error, which
:mod:`api.errors` answers with a 400 problem naming it (OGC API - Features asks for a 400).
The HTML pages' models (:class:`PageQueryModel`) ignore unknown parameters instead: a shared link
to a map carries a social network's or a newsletter's tracking parameters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from essmap.errors import InvalidParameterError
from essmap.model import Category
from essmap.schedules import PARIS, OpenAround, ScheduleError, parse_day


class QueryModel(BaseModel):
    """The query parameters of one operation; any other parameter is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: The configuration of an HTML page's parameters: one it does not know is kept aside
#: (``model_extra``) and ignored, since shared links carry ``fbclid``, ``utm_source``…
PAGE_CONFIG = ConfigDict(extra="allow", frozen=True)


class PageQueryModel(BaseModel):
    """The query parameters of an HTML page; any other parameter is ignored (see :data:`PAGE_CONFIG`)."""

    model_config = PAGE_CONFIG


def refuse_unknown(query: BaseModel) -> None:
    """Refuse the parameters a page's model let through, as :class:`QueryModel` does (400 naming
    them): for a route answering a page or JSON, when it answers JSON."""
    extra = query.model_extra or {}
    if extra:
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("query", name), "msg": "Extra inputs", "input": value}
                for name, value in extra.items()
            ]
        )


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


class ModeQuery(QueryModel):
    """How distances are measured: in a straight line, or walking on the street network."""

    mode: Literal["straight", "walk"] = Field(
        "straight",
        description=(
            "straight : à vol d'oiseau ; walk : à pied sur le réseau de rues importé (pour les acteurs : "
            "distance, minutes de marche et lien d'itinéraire ; pour la couverture : isochrones), estimé "
            "sans réseau : vol d'oiseau × facteur de détour (distance_method : estimate)"
        ),
    )


class OpenQuery(QueryModel):
    """The filter "open on DAY around TIME" (the actors' schedules, Europe/Paris time)."""

    open_day: str | None = Field(
        None,
        description="Acteurs ouverts ce jour de la semaine (lun, mar… ou lundi, mardi…) ; avec open_time",
        examples=["mar"],
    )
    open_time: str | None = Field(
        None, description="… autour de cette heure (18:45 ou 18h45, heure de Paris) ; avec open_day"
    )
    open_tolerance_min: float = Field(
        30, ge=0, le=1440, description="Marge autour de open_time, en minutes (30 par défaut)"
    )

    def open_filter(self) -> OpenAround | None:
        """The filter asked for (None without ``open_day`` and ``open_time``); seasons and closed
        dates count from today (Europe/Paris)."""
        if self.open_day is None and self.open_time is None:
            return None
        if self.open_day is None or self.open_time is None:
            missing = "open_day" if self.open_day is None else "open_time"
            raise InvalidParameterError(missing, f"{missing} manquant : open_day et open_time vont ensemble")
        try:
            parse_day(self.open_day)
        except ScheduleError as exc:
            raise InvalidParameterError("open_day", str(exc)) from None
        try:
            return OpenAround(
                self.open_day,
                self.open_time,
                tolerance_min=self.open_tolerance_min,
                on_or_after=datetime.now(PARIS).date(),
            )
        except ScheduleError as exc:
            raise InvalidParameterError("open_time", str(exc)) from None

    def open_members(self) -> dict[str, object]:
        """The filter as a top-level member of an answer (empty without a filter)."""
        if self.open_day is None:
            return {}
        return {
            "open": {"day": self.open_day, "time": self.open_time, "tolerance_min": self.open_tolerance_min}
        }


class PointQuery(QueryModel):
    """Where a proximity query is asked from: ``lon`` and ``lat``, or an ``address``."""

    lon: Annotated[float | None, Field(ge=-180, le=180, description="Longitude WGS 84 (ex. -1.4748)")] = None
    lat: Annotated[float | None, Field(ge=-90, le=90, description="Latitude WGS 84 (ex. 43.4929)")] = None
    address: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description=(
            "Adresse à la place de lon et lat (ex. « 12 avenue de Lattre de Tassigny Bayonne ») : "
            "le point de la meilleure réponse de la recherche d'adresse ; la réponse dit l'adresse comprise"
        ),
    )
