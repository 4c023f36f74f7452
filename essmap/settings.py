"""Settings, read from environment variables with the prefix ``ESSMAP_``.

List values are given as JSON (``ESSMAP_THRESHOLDS_M='[400, 800]'``) or comma-separated
(``ESSMAP_THRESHOLDS_M=400,800``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from platformdirs import user_data_path
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from essmap.model import CATEGORIES, DEFAULT_SUPPLY_CATEGORIES


def default_data_dir() -> Path:
    """The per-user data folder (for example ``~/.local/share/essmap`` on Linux)."""
    return user_data_path("essmap", appauthor=False)


def _split_list(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """essmap settings. Every field can be set with ``ESSMAP_<FIELD NAME IN CAPITALS>``."""

    model_config = SettingsConfigDict(env_prefix="ESSMAP_", extra="ignore")

    # --- data ---------------------------------------------------------------------------------
    data_dir: Path = Field(default_factory=default_data_dir, description="Data directory")
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the PostGIS store (postgresql://user:password@host:port/db); "
        "when set, it replaces the embedded GeoPackage store",
    )
    database_pool_size: int = Field(default=10, ge=2, description="Connections per process to PostGIS")
    init_from_demo: bool = Field(
        default=True, description="Initialise a new data directory from the shipped demo set"
    )

    # --- analysis ------------------------------------------------------------------------------
    supply_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SUPPLY_CATEGORIES)
    )
    thresholds_m: Annotated[list[float], NoDecode] = Field(default_factory=lambda: [400.0, 800.0])
    band_m: float = Field(default=300.0, gt=0, description="Band around a QPV (quartier vécu)")
    low_access_share: float = Field(default=0.33, ge=0, le=1)
    low_access_residents: int = Field(default=500, ge=0)
    duplicate_distance_m: float = Field(default=50.0, gt=0)
    max_k: int = Field(default=100, ge=1)
    max_radius_m: float = Field(default=50_000.0, gt=0)
    nearest_max_distance_m: float = Field(
        default=30_000.0,
        gt=0,
        description="Default maximum distance of a nearest query: farther actors are not answered",
    )
    max_threshold_m: float = Field(default=5_000.0, gt=0)
    max_suggestions: int = Field(default=100, ge=1)
    siting_spacing_m: float = Field(default=100.0, gt=0)

    # --- geocoding -----------------------------------------------------------------------------
    geocoder_url: str | None = Field(
        default=None,
        description="Base URL of the national address web service; empty (the default) to geocode "
        "with the local index of imported addresses only",
    )
    geocoder_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait for the address web service, in seconds"
    )

    # --- maps ----------------------------------------------------------------------------------
    tile_url: str | None = Field(
        default=None,
        description=(
            "Background tile URL template ({z}/{x}/{y}); empty (the default) for the offline backdrop "
            "of commune outlines. Use a tile server whose usage policy allows your traffic"
        ),
    )
    tile_attribution: str = Field(
        default="", description="Attribution the tile server asks for, shown on the maps with its tiles"
    )

    # --- API -----------------------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    items_default_limit: int = Field(default=10, ge=1)
    items_max_limit: int = Field(default=1000, ge=1)
    max_request_bytes: int = Field(default=5_000_000, ge=1)
    max_batch_points: int = Field(default=10_000, ge=1)
    telemetry: bool = Field(
        default=False,
        description=(
            "FastAPI's OpenTelemetry spans, metrics and logs (with an OpenTelemetry provider configured "
            "in the process); off, a request skips its checks"
        ),
    )

    # --- API: availability, hosts and proxies (issue 10: no request stalls the server) ----------
    heavy_concurrency: int = Field(
        default=2,
        ge=1,
        description=(
            "Heavy requests (batch locate, within, items pages) computing at once in each server "
            "process; others wait their turn without holding a thread"
        ),
    )
    max_batch_results: int = Field(
        default=100_000,
        ge=1,
        description="Largest k x points of one POST /locate (nearest supply points answered in all)",
    )
    cache_entries: int = Field(
        default=64, ge=1, description="Values derived from the store kept by the API (LRU), per process"
    )
    background_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description=(
            "How much lower the CPU priority of background work is (as nice sets it): `essmap import`, "
            "and the server's rebuilds after a data change, so that requests keep being answered on a "
            "busy machine; 0 keeps the usual priority"
        ),
    )
    background_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description=(
            "Largest share of a processor a server process's rebuilds after a data change take while "
            "it answers from the previous data (they pause between steps); 1 does not pace them"
        ),
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "Public base URL of the API (https://essmap.example.org/api): links are built from it, never "
            "from the request's Host header"
        ),
    )
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"],
        description=(
            "Host names the API answers to when public_url is not set (others get a 400); "
            "'*.example.org' allows subdomains, '*' any host"
        ),
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Addresses of reverse proxies whose X-Forwarded-For/-Proto headers are trusted "
            "(uvicorn's forwarded_allow_ips); none by default"
        ),
    )

    # --- walking (street network; essmap.network) -------------------------------------------
    # Walking distances are measured on the imported street network (``essmap import network``);
    # without one, they are estimated as the straight-line distance times ``walk_detour_factor``
    # and every answer says so (``distance_method``: ``network`` or ``estimate``).
    walk_speed_kmh: float = Field(
        default=4.8, gt=0, le=20, description="Walking speed (4.8 km/h: 400 m in 5 minutes)"
    )
    walk_detour_factor: float = Field(
        default=1.3, ge=1, le=5, description="Walking estimate without a network: straight line times this"
    )
    isochrone_minutes: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 10.0, 15.0], description="Walking times of the isochrones, minutes"
    )
    walk_max_snap_m: float = Field(
        default=250.0,
        gt=0,
        description="Farther than this from every walkable way, a point's walking figures are estimated",
    )
    walk_max_distance_m: float = Field(
        default=5_000.0, gt=0, description="Largest walking distance a walk-mode query searches, metres"
    )
    isochrone_cell_m: float = Field(
        default=20.0, ge=2, le=200, description="Side of the cells isochrones are drawn from, metres"
    )
    directions_url: str = Field(
        default=(
            "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot"
            "&route={from_lat}%2C{from_lon}%3B{to_lat}%2C{to_lon}"
        ),
        description="Template of the walking directions link of a result ({from_lat}, {from_lon}, …)",
    )

    # --- edits, keys and public proposals (issue 12) ---------------------------------------------
    writes_per_minute: int = Field(
        default=60, ge=1, description="Writes (edits) one API key may make per minute; more get a 429"
    )
    proposals_per_minute: int = Field(
        default=10, ge=1, description="Public proposals a client address may send per minute; more get a 429"
    )
    client_hash_key: SecretStr | None = Field(
        default=None,
        description=(
            "Secret mixed into the hash of client addresses kept with proposals (for rate limits); set the "
            "same value on every server of a deployment. Unset, it is derived from the store's location, "
            "which keeps the addresses out of the store but does not make their hashes secret"
        ),
    )
    stale_after_days: int = Field(
        default=365, ge=1, description="Days after which an actor not verified again is listed as stale"
    )

    @field_validator(
        "supply_categories",
        "thresholds_m",
        "cors_origins",
        "trusted_hosts",
        "forwarded_allow_ips",
        "isochrone_minutes",
        mode="before",
    )
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("supply_categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"at least one supply category is needed; known: {list(CATEGORIES)}")
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        return value

    @field_validator("thresholds_m")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("thresholds must be a non-empty list of positive distances in metres")
        return value

    @field_validator("isochrone_minutes")
    @classmethod
    def _positive_minutes(cls, value: list[float]) -> list[float]:
        if not value or any(not 0 < v <= 120 for v in value):
            raise ValueError("isochrone minutes must be a non-empty list of times in ]0, 120]")
        return sorted(set(value))

    @field_validator("tile_url", "public_url", "geocoder_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _tiles_are_credited(self) -> Settings:
        if self.tile_url and not self.tile_attribution.strip():
            raise ValueError(
                "ESSMAP_TILE_URL needs ESSMAP_TILE_ATTRIBUTION: the credit its tile server asks for "
                "(for example « © les contributeurs d'OpenStreetMap »)"
            )
        return self

    @property
    def default_threshold_m(self) -> float:
        """The threshold used when one is needed and none is given: the shortest walk."""
        return min(self.thresholds_m)

    @property
    def store_path(self) -> Path:
        """Path of the embedded GeoPackage store."""
        return self.data_dir / "essmap.gpkg"


def get_settings() -> Settings:
    """Read settings from the environment."""
    return Settings()
