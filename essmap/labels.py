"""User-facing labels: one French table per concept, shared by the CLI, the maps and the API.

Every label a resident or a planner reads for a code (a category, a location precision, a way of
counting residents) comes from here, so that a concept is named the same way
everywhere and the pages can later be given other languages from one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from essmap.i18n import DEFAULT_LANGUAGE, N_, gettext, ngettext

if TYPE_CHECKING:
    from essmap.analysis.siting import SiteSuggestions

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
#: States of a public proposal.
PROPOSAL_STATUS_LABELS_FR: Final[dict[str, str]] = {
    "pending": N_("en attente"),
    "accepted": N_("acceptée"),
    "refused": N_("refusée"),
}
#: Kinds of public proposal.
PROPOSAL_KIND_LABELS_FR: Final[dict[str, str]] = {
    "new": N_("nouveau lieu"),
    "change": N_("correction"),
    "report": N_("signalement"),
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

#: Where a QPV's outline comes from (the ``geometry_source`` column).
GEOMETRY_SOURCE_LABELS_FR: Final[dict[str, str]] = {
    "official": N_("contour officiel"),
    "schematic": N_("contour schématique"),
    "other": N_("autre contour"),
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


def number_fr(value: float) -> str:
    """A count for people: rounded to a whole number, with French thousands separators (narrow
    no-break space): "1 631"."""
    return f"{value:,.0f}".replace(",", "\u202f")


def degrees_fr(lon: float, lat: float) -> str:
    """A point for people: longitude and latitude to 6 decimals (about 10 cm)."""
    return f"{lon:.6f}, {lat:.6f}"


def label_of(table: dict[str, str], key: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """The label of a code in one of the tables here (the code itself when the table lacks it)."""
    label = table.get(str(key))
    return str(key) if label is None else gettext(label, lang)


#: Actor fields holding a code, and the table of its labels.
VALUE_LABELS_FR: Final[dict[str, dict[str, str]]] = {
    "category": CATEGORY_LABELS_FR,
    "location_precision": PRECISION_LABELS_FR,
}


def field_value_fr(field: str, value: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """The value of an actor's field for people (moderation, history): the label of a code
    (category, precision), oui / non, a position as « lon ; lat », « — » when empty.

    ``value`` is in :func:`~essmap.store.base.record_json` form (a position is a GeoJSON point).
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext(N_("oui") if value else N_("non"), lang)
    if isinstance(value, dict) and value.get("type") == "Point":
        lon, lat = value["coordinates"][:2]
        return f"{lon:.5f} ; {lat:.5f}"
    if field in VALUE_LABELS_FR:
        return label_of(VALUE_LABELS_FR[field], value, lang)
    return str(value)


def sites_shortfall_fr(answer: SiteSuggestions, lang: str = DEFAULT_LANGUAGE) -> str | None:
    """Why fewer sites than requested are proposed (None when there are as many), for people.

    The CLI prints it and the API answers it as ``detail``, in the same words.
    """
    reason = answer.shortfall
    if reason is None:
        return None
    found, asked = len(answer.sites), answer.requested
    threshold = distance_fr(answer.threshold_m)
    head = ngettext(
        "{found} site proposé sur {asked} demandés",
        "{found} sites proposés sur {asked} demandés",
        found,
        lang,
    ).format(found=found, asked=asked)
    if reason == "covered":
        why = gettext(
            "tous les habitants dont le nombre est connu sont à moins de {threshold} d'un point "
            "d'approvisionnement ; un site de plus n'en toucherait aucun",
            lang,
        ).format(threshold=threshold)
    elif reason == "unreachable":
        why = gettext(
            "les {residents} habitants encore au-delà de {threshold} ne sont à moins de {threshold} "
            "d'aucun site candidat",
            lang,
        ).format(residents=number_fr(answer.remaining_residents), threshold=threshold)
    else:
        why = gettext(
            "aucun autre site n'amènerait au moins {gain} habitant de plus à moins de {threshold} "
            "(il en reste {residents}, trop dispersés)",
            lang,
        ).format(
            gain=f"{answer.min_gain_residents:g}".replace(".", ","),
            threshold=threshold,
            residents=number_fr(answer.remaining_residents),
        )
    text = f"{head} : {why}."
    if answer.unknown_population:
        text += " " + ngettext(
            "{n} quartier dont la population est inconnue ne compte pas.",
            "{n} quartiers dont la population est inconnue ne comptent pas.",
            answer.unknown_population,
            lang,
        ).format(n=answer.unknown_population)
    return text
