"""How walking is measured: speed, detour factor of the estimate, snapping, isochrone times.

One :class:`WalkOptions` carries the walking settings (``ESSMAP_WALK_*``, see
:class:`essmap.settings.Settings`) to the library functions, so that the index, the analyses and
the command line measure walks the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from essmap.errors import InvalidParameterError
from essmap.settings import Settings

__all__ = [
    "DISTANCE_METHODS",
    "MODES",
    "DistanceMethod",
    "Mode",
    "WalkOptions",
    "check_mode",
]

#: How distances are measured: in a straight line, or walking.
Mode = Literal["straight", "walk"]
MODES: Final = ("straight", "walk")
#: How a distance was obtained: a straight line, a walk on the street network, or an estimate
#: (straight line times the detour factor, where there is no network).
DistanceMethod = Literal["straight", "network", "estimate"]
DISTANCE_METHODS: Final = ("straight", "network", "estimate")


def check_mode(mode: object) -> Mode:
    """Validate a distance mode (``straight`` or ``walk``)."""
    if mode == "straight":
        return "straight"
    if mode == "walk":
        return "walk"
    raise InvalidParameterError(
        "mode", f"mode = « {mode} » inconnu ; valeurs admises : straight (à vol d'oiseau), walk (à pied)"
    )


@dataclass(frozen=True)
class WalkOptions:
    """The walking settings.

    Parameters
    ----------
    speed_kmh
        Walking speed; walking minutes are distances at this speed.
    detour_factor
        Without a network, a walk is estimated as the straight-line distance times this.
    max_snap_m
        A point farther than this from every walkable segment is off the network: its walking
        figures are estimated.
    max_distance_m
        Largest walking distance a walk-mode query searches.
    cell_m
        Side of the raster cells isochrones are drawn from.
    minutes
        Walking times of the isochrones.
    """

    speed_kmh: float = 4.8
    detour_factor: float = 1.3
    max_snap_m: float = 250.0
    max_distance_m: float = 5_000.0
    cell_m: float = 20.0
    minutes: tuple[float, ...] = field(default=(5.0, 10.0, 15.0))

    def __post_init__(self) -> None:
        for name in ("speed_kmh", "max_snap_m", "max_distance_m", "cell_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidParameterError(name, f"{name} doit être un nombre positif (reçu {value})")
        if not (math.isfinite(self.detour_factor) and self.detour_factor >= 1):
            raise InvalidParameterError(
                "detour_factor", f"le facteur de détour doit être au moins 1 (reçu {self.detour_factor})"
            )
        object.__setattr__(self, "minutes", check_minutes(self.minutes))

    @property
    def metres_per_minute(self) -> float:
        """Metres walked in a minute."""
        return self.speed_kmh * 1000.0 / 60.0

    def minutes_of(self, distance_m: float) -> float:
        """Walking minutes of a distance in metres."""
        return distance_m / self.metres_per_minute

    def metres_of(self, minutes: float) -> float:
        """Metres walked in ``minutes``."""
        return minutes * self.metres_per_minute

    @classmethod
    def from_settings(cls, settings: Settings) -> WalkOptions:
        """The walking options of ``settings`` (``walk_*`` and ``isochrone_*`` fields)."""
        return cls(
            speed_kmh=settings.walk_speed_kmh,
            detour_factor=settings.walk_detour_factor,
            max_snap_m=settings.walk_max_snap_m,
            max_distance_m=settings.walk_max_distance_m,
            cell_m=settings.isochrone_cell_m,
            minutes=tuple(settings.isochrone_minutes),
        )


def check_minutes(minutes: Iterable[float] | float, maximum: float = 120.0) -> tuple[float, ...]:
    """Validate walking times: a non-empty list of minutes in ]0, ``maximum``], sorted, unique."""
    values = [minutes] if isinstance(minutes, int | float) else list(minutes)
    if not values:
        raise InvalidParameterError("minutes", "au moins une durée de marche est attendue")
    out = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                "minutes", f"durée « {value} » : un nombre de minutes est attendu"
            ) from None
        if isinstance(value, bool) or not (math.isfinite(number) and 0 < number <= maximum):
            raise InvalidParameterError("minutes", f"durée de {value} min hors de ]0, {maximum:g}]")
        out.append(number)
    return tuple(sorted(set(out)))
