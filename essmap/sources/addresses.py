"""Reader of the official address file of a département (Base Adresse Nationale, BAN).

The BAN publishes one CSV per département (``adresses-64.csv``): semicolon-separated, UTF-8,
one row per address, with the columns ``id``, ``numero``, ``rep``, ``nom_voie``, ``code_postal``,
``code_insee``, ``nom_commune``, ``lon``, ``lat`` and others that essmap leaves aside. The file
is read through the one CSV reader of :mod:`essmap.sources.inputs` (zip archives included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from essmap.errors import InvalidInputError, Problem
from essmap.sources.common import Progress, clean_text, control_character_problems, find_column, no_progress
from essmap.sources.coordinates import csv_coordinates, to_wgs84
from essmap.sources.inputs import Source, read_csv_table

#: The BAN columns essmap reads (each with the names it accepts).
BAN_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "id": ("id", "cle_interop"),
    "numero": ("numero",),
    "rep": ("rep", "suffixe"),
    "nom_voie": ("nom_voie", "voie_nom"),
    "code_postal": ("code_postal",),
    "code_insee": ("code_insee", "commune_insee"),
    "nom_commune": ("nom_commune", "commune_nom"),
    "lon": ("lon", "long"),
    "lat": ("lat",),
}
_OPTIONAL: Final = frozenset({"rep"})
#: Most problems listed in one error (a wrong file would otherwise give one per row).
MAX_PROBLEMS: Final = 100
_POSTCODE = re.compile(r"^\d{5}$")
_CITYCODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_NUMBER = re.compile(r"^\d{1,5}$")


@dataclass
class ParsedAddresses:
    """Addresses read from a BAN file, as an address table (the columns of
    :data:`essmap.store.addresses.ADDRESS_COLUMNS`, in that order)."""

    table: pd.DataFrame
    file: str
    rows_read: int
    warnings: list[Problem] = field(default_factory=list)


def housenumber_text(numero: pd.Series, rep: pd.Series) -> pd.Series:
    """The house number as shown: ``12``, ``12 bis``, ``3 B``."""
    rep_text = rep.fillna("")
    return (numero + (" " + rep_text).where(rep_text != "", "")).astype("string")


def addresses_from_ban(
    file: Source, *, name: str | None = None, progress: Progress = no_progress
) -> ParsedAddresses:
    """Read a BAN address file (CSV of one département) as an address table.

    Parameters
    ----------
    file
        A path or a binary file-like object (a zip archive holding the CSV is read too).
    name
        The name of the input in messages.

    Returns
    -------
    ParsedAddresses
        ``table`` has the columns of :data:`essmap.store.addresses.ADDRESS_COLUMNS`; ``label`` is
        ``12 bis Avenue de Lattre de Tassigny 64100 Bayonne``.

    Raises
    ------
    InvalidInputError
        For a missing column, or listing the bad rows (at most :data:`MAX_PROBLEMS`) with the
        file, the row and the field: a longitude or latitude that is not a number or out of range,
        a missing street name, a house number that is not a number, a postcode or INSEE code of the
        wrong form, an id given twice.
    """
    progress("lecture")
    required = [aliases for key, aliases in BAN_COLUMNS.items() if key not in _OPTIONAL]
    table = read_csv_table(file, name=name, required=required, keep=list(BAN_COLUMNS.values()))
    frame, fname = table.frame, table.file
    progress("validation")
    cols = {key: find_column(frame.columns, aliases) for key, aliases in BAN_COLUMNS.items()}
    problems = list(table.problems)

    def text(key: str) -> pd.Series:
        column = cols[key]
        return clean_text(frame[column]) if column else pd.Series(pd.NA, index=frame.index, dtype="string")

    def bad(mask: pd.Series | np.ndarray, key: str, message: str) -> None:
        values = text(key)
        for row in frame.index[np.asarray(mask, dtype=bool)]:
            shown = "" if values[row] is pd.NA else values[row]
            problems.append(Problem(message.format(shown), file=fname, row=int(row), field=cols[key]))

    for key, column in cols.items():
        if column is not None and key not in ("lon", "lat"):
            problems += control_character_problems(frame[column], file=fname, field=column)
    ids, numero, rep, street = text("id"), text("numero"), text("rep"), text("nom_voie")
    postcode, citycode, city = text("code_postal"), text("code_insee"), text("nom_commune")
    bad(ids.isna(), "id", "identifiant manquant")
    bad(ids.duplicated(keep="first") & ids.notna(), "id", "identifiant « {} » déjà donné plus haut")
    not_a_number = numero.notna() & ~numero.fillna("0").str.match(_NUMBER)
    bad(not_a_number, "numero", "numéro « {} » : un entier attendu")
    bad(street.isna(), "nom_voie", "nom de voie manquant")
    bad(~postcode.fillna("").str.match(_POSTCODE), "code_postal", "code postal « {} » : 5 chiffres attendus")
    bad(
        ~citycode.fillna("").str.upper().str.match(_CITYCODE),
        "code_insee",
        "code INSEE « {} » : 5 caractères attendus (64102, 2A004)",
    )
    bad(city.isna(), "nom_commune", "nom de commune manquant")
    raw = csv_coordinates(frame[[str(cols["lon"]), str(cols["lat"])]], file=fname, crs=None)
    lon, lat, coordinate_problems = to_wgs84(raw, file=fname, required=True)
    problems += coordinate_problems
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], Problem(f"… et {more} autres erreurs", file=fname)]
        raise InvalidInputError(problems)
    progress("adresses")
    numbers = numero.fillna("").str.lstrip("0").mask(numero.fillna("").str.fullmatch("0+"), "0")
    housenumber = housenumber_text(numbers, rep).mask(numero.isna(), pd.NA)
    parts = [housenumber.fillna(""), street, postcode, city]
    label = parts[0].str.cat(parts[1:], sep=" ").str.strip()
    out = pd.DataFrame(
        {
            "id": ids,
            "label": label,
            "housenumber": housenumber,
            "street": street,
            "postcode": postcode,
            "citycode": citycode.str.upper(),
            "city": city,
            "lon": lon,
            "lat": lat,
        },
        index=frame.index,
    ).reset_index(drop=True)
    return ParsedAddresses(out, fname, len(frame), list(table.warnings))
