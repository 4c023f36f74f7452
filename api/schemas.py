"""Response schemas, for the OpenAPI document only (bodies are written directly, not validated)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Link(_Open):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(_Open):
    title: str
    description: str
    links: list[Link]


class Conformance(_Open):
    conformsTo: list[str]  # noqa: N815  (OGC member name)


class SpatialExtent(_Open):
    bbox: list[list[float]]
    crs: str


class Extent(_Open):
    spatial: SpatialExtent


class Collection(_Open):
    id: str
    title: str
    description: str
    itemType: str  # noqa: N815  (OGC member name)
    crs: list[str]
    extent: Extent | None = None
    links: list[Link]


class Collections(_Open):
    collections: list[Collection]
    links: list[Link]


class Feature(_Open):
    type: Literal["Feature"]
    id: str | int | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None


class FeatureCollection(_Open):
    type: Literal["FeatureCollection"]
    features: list[Feature]


class OGCFeatureCollection(FeatureCollection):
    numberMatched: int = Field(ge=0)  # noqa: N815  (OGC member name)
    numberReturned: int = Field(ge=0)  # noqa: N815
    timeStamp: str | None = None  # noqa: N815
    links: list[Link]


class PickupOut(BaseModel):
    start: str = Field(description="Début, ISO 8601 avec le décalage UTC (2026-06-02T18:30:00+02:00)")
    end: str = Field(description="Fin, ISO 8601 avec le décalage UTC")


class ActorHitProperties(_Open):
    name: str | None
    category: str | None
    schedule: str | None = Field(default=None, description="Horaires, tels qu'écrits")
    schedule_description: str | None = Field(default=None, description="Horaires en une phrase (français)")
    next_pickup: PickupOut | None = Field(default=None, description="Prochain retrait (heure de Paris)")
    next_pickup_description: str | None = Field(
        default=None, description="Prochain retrait en français (mardi 2 juin 2026, 18h30–19h30)"
    )
    last_verified: str | None = Field(default=None, description="Date de dernière vérification (AAAA-MM-JJ)")
    distance_m: float = Field(ge=0, description="Distance en ligne droite, en mètres")


class ActorHitFeature(Feature):
    properties: ActorHitProperties  # type: ignore[assignment]


class ActorHitCollection(FeatureCollection):
    features: list[ActorHitFeature]  # type: ignore[assignment]


class AddressUnderstood(BaseModel):
    query: str = Field(description="L'adresse donnée")
    label: str = Field(description="L'adresse comprise (meilleure réponse de la recherche d'adresse)")
    lon: float
    lat: float


class OpenFilterOut(BaseModel):
    day: str
    time: str
    tolerance_min: float


class NearestCollection(ActorHitCollection):
    numberReturned: int = Field(ge=0)  # noqa: N815
    address: AddressUnderstood | None = Field(default=None, description="Avec address : l'adresse comprise")
    open: OpenFilterOut | None = Field(default=None, description="Le filtre d'ouverture appliqué")
    max_distance_m: float = Field(gt=0, description="Distance maximale de la recherche, en mètres")
    beyond_m: float | None = Field(
        default=None,
        description=(
            "Sans acteur à moins de max_distance_m : distance du plus proche (null s'il n'y en a aucun)"
        ),
    )
    detail: str | None = Field(default=None, description="Phrase disant qu'aucun acteur n'est assez proche")


class ActorHitPage(ActorHitCollection):
    numberMatched: int = Field(ge=0)  # noqa: N815  (OGC member name)
    numberReturned: int = Field(ge=0)  # noqa: N815
    links: list[Link]
    address: AddressUnderstood | None = Field(default=None, description="Avec address : l'adresse comprise")
    open: OpenFilterOut | None = Field(default=None, description="Le filtre d'ouverture appliqué")


class GeocodeCollection(FeatureCollection):
    version: str
    query: str
    limit: int


MEASURED_MODE = Field(description="straight : à vol d'oiseau ; walk : à pied")
MEASURED_METHOD = Field(
    description=(
        "Comment les distances ont été mesurées : straight (vol d'oiseau), network (à pied sur le "
        "réseau de rues), estimate (à pied, estimé : vol d'oiseau × facteur de détour) ; mixed quand "
        "les lignes diffèrent (chacune le dit)"
    )
)
DistanceMethodOut = Literal["straight", "network", "estimate", "mixed"]


class CoverageGaps(FeatureCollection):
    mode: Literal["straight", "walk"] = MEASURED_MODE
    distance_method: DistanceMethodOut = MEASURED_METHOD


class SiteCollection(FeatureCollection):
    mode: Literal["straight", "walk"] = MEASURED_MODE
    distance_method: DistanceMethodOut = MEASURED_METHOD
    numberRequested: int = Field(ge=1, description="Nombre de sites demandés")  # noqa: N815
    numberReturned: int = Field(ge=0, description="Nombre de sites proposés")  # noqa: N815
    detail: str | None = Field(
        default=None, description="Pourquoi moins de sites que demandé sont proposés (absent sinon)"
    )


class QPVRelationOut(BaseModel):
    generation: int
    relation: Literal["inside", "band", "outside"] | None = Field(
        description="inside : dans le QPV ; band : dans la bande autour ; outside : au-delà ; "
        "null : aucun QPV de cette génération"
    )
    code: str | None
    name: str | None
    distance_m: float | None = Field(description="0 dans le QPV, sinon distance au contour, en mètres")
    geometry_source: Literal["official", "schematic", "other"] | None = Field(
        description="Origine du contour du QPV : official (officiel), schematic (schématique), other"
    )


class SupplyPoint(BaseModel):
    id: str
    name: str
    category: str
    distance_m: float = Field(ge=0)
    lon: float
    lat: float


class LocateResult(BaseModel):
    lon: float
    lat: float
    band_m: float
    neighbourhoods: list[QPVRelationOut]
    nearest_supply: list[SupplyPoint]


class LocateBatchItem(LocateResult):
    index: int = Field(ge=0, description="Position du point dans la requête")
    ref: str | None = Field(default=None, description="Identifiant du point donné par la requête")


class LocateBatch(BaseModel):
    count: int = Field(ge=0)
    results: list[LocateBatchItem]


class CoverageRow(_Open):
    code: str
    generation: int
    name: str | None
    threshold_m: float
    method: str
    low_access: bool
    nearest_supply_m: float | None = Field(
        description="Distance du contour du QPV au point d'approvisionnement le plus proche (0 : dans le QPV)"
    )
    geometry_source: Literal["official", "schematic", "other"] | None = Field(
        description="Origine du contour du QPV : official (officiel), schematic (schématique), other"
    )
    mode: Literal["straight", "walk"] = MEASURED_MODE
    distance_method: Literal["straight", "network", "estimate"] = Field(
        description=(
            "straight (vol d'oiseau), network (à pied sur le réseau de rues) ou estimate (à pied, estimé)"
        )
    )


class Coverage(BaseModel):
    supply_categories: list[str]
    thresholds_m: list[float]
    mode: Literal["straight", "walk"] = MEASURED_MODE
    distance_method: DistanceMethodOut = MEASURED_METHOD
    rows: list[CoverageRow]


class Health(BaseModel):
    status: Literal["ok"]


class ProblemDetail(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
