"""French texts of pydantic's validation errors, shared by the API (request parameters and bodies)
and the command line (arguments and options): one table, by error type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from essmap.i18n import N_, gettext

#: pydantic's error types and what they mean, for people (``{…}``: from the error's ``ctx``).
VALIDATION_MESSAGES: dict[str, str] = {
    "missing": N_("paramètre obligatoire absent"),
    "int_parsing": N_("doit être un nombre entier"),
    "int_from_float": N_("doit être un nombre entier"),
    "int_type": N_("doit être un nombre entier"),
    "float_parsing": N_("doit être un nombre"),
    "float_type": N_("doit être un nombre"),
    "finite_number": N_("doit être un nombre fini"),
    "bool_parsing": N_("doit être true ou false"),
    "bool_type": N_("doit être true ou false"),
    "string_type": N_("doit être un texte"),
    "string_too_long": N_("{max_length} caractères au plus"),
    "string_pattern_mismatch": N_("format invalide"),
    "too_long": N_("{max_length} éléments au plus"),
    "too_short": N_("{min_length} éléments au moins"),
    "dict_type": N_("un objet JSON est attendu"),
    "model_type": N_("un objet JSON est attendu"),
    "model_attributes_type": N_("un objet JSON est attendu"),
    "list_type": N_("une liste est attendue"),
    "json_invalid": N_("JSON invalide"),
    "json_type": N_("JSON invalide"),
    "extra_forbidden": N_("paramètre inconnu"),
}
#: ``string_too_short`` by its minimum (one: "not empty").
TOO_SHORT_MESSAGES: dict[int, str] = {1: N_("ne doit pas être vide")}
TOO_SHORT_MESSAGE = N_("{min_length} caractères au moins")
BOUND_MESSAGES: dict[str, str] = {
    "greater_than": N_("doit être strictement supérieur à {gt}"),
    "greater_than_equal": N_("doit être supérieur ou égal à {ge}"),
    "less_than": N_("doit être strictement inférieur à {lt}"),
    "less_than_equal": N_("doit être inférieur ou égal à {le}"),
}
#: Longest received value repeated in a message (longer ones are cut).
ECHO_CHARS = 60


def validation_message(err: Mapping[str, Any], *, translate: Callable[[str], str] = gettext) -> str:
    """What a pydantic error (one item of ``ValidationError.errors()``) means, in French (or in
    the language of ``translate``), with its limits (``max_length``, ``ge``…) from its ``ctx``."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "string_too_short":
        minimum = int(ctx.get("min_length", 1))
        return translate(TOO_SHORT_MESSAGES.get(minimum, TOO_SHORT_MESSAGE)).format(min_length=minimum)
    if kind in VALIDATION_MESSAGES:
        return translate(VALIDATION_MESSAGES[kind]).format_map({"max_length": "", "min_length": "", **ctx})
    if kind in BOUND_MESSAGES:
        value = str(err.get("input", "")).strip().lower()
        if value.lstrip("+-") in {"nan", "inf", "infinity"}:
            return translate(VALIDATION_MESSAGES["finite_number"])
        bounds = {k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()}
        return translate(BOUND_MESSAGES[kind]).format(**bounds)
    if kind in {"enum", "literal_error"}:
        expected = ctx.get("expected", "")
        expected = str(expected).replace(" or ", ", ").replace("'", "")
        return translate(N_("valeur non reconnue ; valeurs possibles : {expected}")).format(expected=expected)
    if kind == "value_error" and "error" in ctx:  # a validator's own message (French)
        return str(ctx["error"])
    return translate(N_("valeur invalide"))


def echo_value(value: object, *, translate: Callable[[str], str] = gettext) -> str:
    """A received value as repeated in a message: at most :data:`ECHO_CHARS` characters."""
    text = str(value)
    if len(text) <= ECHO_CHARS:
        return text
    more = translate(N_("{n} caractères en tout")).format(n=len(text))
    return f"{text[:ECHO_CHARS]}… ({more})"
