"""User-facing labels: one French table per concept, shared by the CLI, the maps and the API.

Every label a resident or a planner reads for a code (a category, a location precision, a way of
counting residents) comes from here, so that a concept is named the same way
everywhere and the pages can later be given other languages from one place.
"""

from __future__ import annotations

from typing import Final

from essmap.i18n import DEFAULT_LANGUAGE, N_, gettext

#: Actor categories.
CATEGORY_LABELS_FR: Final[dict[str, str]] = {
    "amap_delivery_point": N_("Point de livraison AMAP"),
    "cooperative_grocery": N_("Épicerie coopérative"),
    "urban_farm": N_("Ferme urbaine"),
    "community_garden": N_("Jardin partagé"),
    "producer_shop": N_("Magasin de producteurs"),
    "market": N_("Marché"),
    "association": N_("Association"),
    "public_body": N_("Organisme public"),
    "training": N_("Formation"),
    "other": N_("Autre"),
}

#: Location precisions.
PRECISION_LABELS_FR: Final[dict[str, str]] = {
    "exact": N_("exacte"),
    "building": N_("bâtiment"),
    "street": N_("rue"),
    "neighbourhood": N_("quartier"),
    "commune": N_("commune"),
    "unknown": N_("inconnue"),
    "none": N_("aucune"),
}

#: What an approximate location means, by precision (shown in popups).
PRECISION_NOTES_FR: Final[dict[str, str]] = {
    "street": N_("le point est placé dans la rue, il peut être décalé de plusieurs centaines de mètres."),
    "neighbourhood": N_(
        "seul le quartier est connu, le point peut être décalé de plusieurs centaines de mètres."
    ),
    "commune": N_("seule la commune est connue, le point peut être à plusieurs kilomètres du lieu réel."),
    "unknown": N_("la précision du point n'est pas connue ; vérifiez l'adresse avant de vous déplacer."),
    # the published location is precise, but the point was placed approximately (by hand…)
    "placed": N_(
        "le point a été placé approximativement, il peut être décalé de plusieurs centaines de mètres."
    ),
}
#: How residents were counted (the ``method`` column of the coverage table).
METHOD_LABELS_FR: Final[dict[str, str]] = {
    "grid": N_("population du carroyage (carreaux de 200 m de l'Insee)"),
    "area": N_("population du quartier répartie selon la surface"),
    "none": N_("population inconnue : part de la surface couverte"),
}

#: Fields of an actor, as the edit forms, the moderation page and the CLI name them.
FIELD_LABELS_FR: Final[dict[str, str]] = {
    "id": N_("identifiant"),
    "name": N_("nom"),
    "category": N_("catégorie"),
    "address": N_("adresse"),
    "commune": N_("commune"),
    "location_precision": N_("précision de la localisation"),
    "location_approximate": N_("position approximative"),
    "coordinates_source": N_("origine des coordonnées"),
    "website": N_("site web"),
    "email": N_("courriel"),
    "phone": N_("téléphone"),
    "description": N_("description (quoi)"),
    "schedule": N_("horaires (quand)"),
    "source": N_("source"),
    "last_verified": N_("vérifié le"),
    "geometry": N_("position"),
}

GENERATION_LABEL_FR: Final = N_("Quartiers prioritaires {generation}")
SCHEMATIC_NOTE_FR: Final = N_(
    "Contour schématique : tracé approximatif, ce n'est pas la limite officielle du quartier."
)


def distance_fr(metres: float) -> str:
    """A distance for people: "350 m", "1,2 km", "662 km"."""
    if metres < 1000:
        return f"{metres:.0f} m"
    if metres < 10_000:
        return f"{metres / 1000:.1f} km".replace(".", ",")
    return f"{metres / 1000:.0f} km"


def nothing_within_fr(max_distance_m: float, beyond_m: float | None) -> str:
    """What a nearest search says when no actor is within its maximum distance."""
    text = f"Aucun acteur à moins de {distance_fr(max_distance_m)}"
    return text + (f" ; le plus proche est à {distance_fr(beyond_m)}." if beyond_m is not None else ".")


def category_label(category: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Label of a category in a language (French by default; the key itself if unknown)."""
    label = CATEGORY_LABELS_FR.get(category)
    return category if label is None else gettext(label, lang)
