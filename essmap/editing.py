"""Edits above the store: what a change changes, and restoring an earlier version.

The store applies changes (:class:`essmap.store.Store`); this module holds the rules that read
the history and compare records, shared by the CLI and the API.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Final

import geopandas as gpd
import pandas as pd

from essmap.errors import AlreadyExistsError, InvalidInputError, NotFoundError, Problem
from essmap.labels import FIELD_LABELS_FR, field_value_fr
from essmap.model import ACTOR_COLUMNS, actor_frame
from essmap.sources import actors_from_features
from essmap.sources.common import control_character_problem
from essmap.store import Store
from essmap.store.base import ActorRecord, actor_rows, record_json
from essmap.store.moderation import PUBLIC_AUTHOR, Proposal, row_of_record

#: Fields compared by :func:`differences`, in display order (the point last).
COMPARED: tuple[str, ...] = (*(c for c in ACTOR_COLUMNS if c != "id"), "geometry")


def differences(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The fields that differ between two records (:func:`~essmap.store.base.record_json` form).

    Each difference is ``{"field", "label", "before", "after"}`` (``label``: the field's French
    name); a missing record counts as all-empty.
    """
    old, new = before or {}, after or {}
    return [
        {"field": name, "label": FIELD_LABELS_FR[name], "before": old.get(name), "after": new.get(name)}
        for name in COMPARED
        if old.get(name) != new.get(name)
    ]


def record_dict(record: ActorRecord) -> dict[str, Any]:
    """A stored record in :func:`~essmap.store.base.record_json` form."""
    return record_json({**record.fields, "geometry": record.geometry})


def restore_version(store: Store, actor_id: str, version: int, *, author: str) -> ActorRecord:
    """Make an earlier version of an actor its current one again, as a new change (with history).

    A deleted actor is created again.

    Raises
    ------
    NotFoundError
        If the actor never had that version.
    """
    wanted = next(
        (c.after for c in store.actor_history(actor_id) if c.version == version and c.after is not None), None
    )
    if wanted is None:
        raise NotFoundError(f"l'acteur « {actor_id} » n'a pas de version {version} dans son historique")
    row = row_of_record(wanted)
    table = actor_frame(pd.DataFrame([{k: v for k, v in row.items() if k != "geometry"}]), [row["geometry"]])
    try:
        store.get_actor(actor_id)
    except NotFoundError:
        return store.create_actor(table, author=author)
    return store.replace_actor(table, expected_version=None, author=author)


# --- edits and proposals read from GeoJSON features -------------------------------------------------

#: Name of a request body in error messages (the "file" of each problem).
REQUEST_BODY: Final = "corps de la requête"
#: Properties a client may send back although they are not stored (the API adds them).
READ_ONLY_PROPERTIES: Final = frozenset({"category_label"})
#: Members of a merge patch of a feature (RFC 7396 on the feature's JSON).
PATCH_MEMBERS: Final = frozenset({"type", "id", "properties", "geometry"})


def _problem(message: str, field: str | None = None) -> Problem:
    return Problem(message, file=REQUEST_BODY, row=1, field=field)


def actor_from_feature(
    feature: Any,
    *,
    actor_id: str | None = None,
    source: str,
    allow_id: bool = True,
) -> gpd.GeoDataFrame:
    """One actor (a one-row actor table) from a GeoJSON Feature sent to the API, validated as an import.

    The properties are the actor's fields (:data:`~essmap.model.ACTOR_COLUMNS`); an unknown one is
    refused, never dropped silently (``category_label``, which the API adds to what it serves, is
    ignored). The id is ``actor_id`` (from the URL), else the feature's ``id`` or ``properties.id``,
    else made from the name. A missing ``source`` becomes ``source``, and so does the
    ``coordinates_source`` of a located actor.

    Parameters
    ----------
    feature
        The parsed JSON body.
    actor_id
        The id the URL names: an id in the body must be the same.
    source
        Provenance recorded when the feature gives none (``saisie dans essmap``…).
    allow_id
        False to refuse an id in the body (public proposals: essmap chooses the id).

    Raises
    ------
    InvalidInputError
        Naming every bad field (file "corps de la requête", row 1), as an import would.
    """
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise InvalidInputError(_problem("un objet Feature GeoJSON est attendu"))
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        raise InvalidInputError(_problem("« properties » doit être un objet", "properties"))
    problems = [
        _problem(f"champ inconnu ; champs admis : {', '.join(ACTOR_COLUMNS)}", str(name))
        for name in props
        if name not in ACTOR_COLUMNS and name not in READ_ONLY_PROPERTIES
    ]
    given = [str(v) for v in (feature.get("id"), props.get("id")) if v not in (None, "")]
    if given and not allow_id:
        problems.append(_problem("l'identifiant d'un nouveau lieu est attribué par essmap", "id"))
    wanted = [actor_id] if actor_id is not None else []
    if len(set(wanted + given)) > 1:
        problems.append(
            _problem(f"identifiants différents : {', '.join(dict.fromkeys(wanted + given))}", "id")
        )
    if problems:
        raise InvalidInputError(problems)
    fields = {k: v for k, v in props.items() if k in ACTOR_COLUMNS}
    chosen = (wanted + given)[:1]
    if chosen:
        fields["id"] = chosen[0]
    else:
        fields.pop("id", None)
    if fields.get("source") in (None, ""):
        fields["source"] = source
    if feature.get("geometry") is not None and fields.get("coordinates_source") in (None, ""):
        fields["coordinates_source"] = source
    clean = {"type": "Feature", "geometry": feature.get("geometry"), "properties": fields}
    table = actors_from_features([clean], name=REQUEST_BODY).table
    return table.reset_index(drop=True)


def merged_feature(record: ActorRecord, patch: Any) -> dict[str, Any]:
    """The feature of a record with a JSON merge patch (RFC 7396) applied.

    ``patch`` may change ``properties`` (a null removes a field) and ``geometry`` (null: no
    location); ``type`` and ``id`` may be sent and must match.

    Raises
    ------
    InvalidInputError
        For a patch that is not an object, or has other members.
    """
    if not isinstance(patch, Mapping):
        raise InvalidInputError(_problem("un objet JSON (fusion RFC 7396 d'un Feature) est attendu"))
    problems = [
        _problem(f"membre inconnu ; membres admis : {', '.join(sorted(PATCH_MEMBERS))}", str(name))
        for name in patch
        if name not in PATCH_MEMBERS
    ]
    if patch.get("type", "Feature") != "Feature":
        problems.append(_problem("« type » doit être « Feature »", "type"))
    if "properties" in patch and not isinstance(patch["properties"], Mapping):
        problems.append(_problem("« properties » doit être un objet", "properties"))
    if problems:
        raise InvalidInputError(problems)
    current = record_dict(record)
    geometry = current.pop("geometry")
    properties = {k: v for k, v in current.items() if v is not None}
    for name, value in (patch.get("properties") or {}).items():
        if value is None:
            properties.pop(name, None)
        else:
            properties[name] = value
    if "geometry" in patch:
        geometry = patch["geometry"]
        given = patch.get("properties") or {}
        # the old provenance and precision of the point do not describe a new one
        for name in ("coordinates_source", "location_approximate", "location_precision"):
            if name not in given:
                properties.pop(name, None)
    out: dict[str, Any] = {"type": "Feature", "geometry": geometry, "properties": properties}
    if "id" in patch:
        out["id"] = patch["id"]
    return out


def free_actor_id(store: Store, actor_id: str) -> str:
    """``actor_id``, or it with a short random suffix when an actor has it already."""
    candidate = actor_id
    for _ in range(20):
        try:
            store.get_actor(candidate)
        except NotFoundError:
            return candidate
        candidate = f"{actor_id}-{secrets.token_hex(2)}"
    raise AlreadyExistsError(f"impossible de trouver un identifiant libre pour « {actor_id} »")


def proposal_view(store: Store, proposal: Proposal) -> dict[str, Any]:
    """A proposal (contact included) with the actor's current record and what the proposal changes.

    ``current`` is the actor's record now (None for a new place, or an actor deleted since);
    ``differences`` compares it with the proposed record (:func:`differences`), each with its
    values for people (``before_text``, ``after_text``: labels of codes, plain values).
    """
    current = None
    if proposal.actor_id:
        try:
            current = record_dict(store.get_actor(proposal.actor_id))
        except NotFoundError:
            current = None
    view = proposal.as_dict()
    view["contact"] = proposal.contact
    view["current"] = current
    changed = differences(current, proposal.record) if proposal.record is not None else []
    view["differences"] = [
        {**d, **{f"{k}_text": field_value_fr(d["field"], d[k]) for k in ("before", "after")}} for d in changed
    ]
    return view


#: Longest message and contact of a public proposal, in characters.
MAX_MESSAGE_CHARS: Final = 2000
MAX_CONTACT_CHARS: Final = 200
#: Fields essmap and the editors keep, which a public proposal may not set (it is refused, naming
#: the field): when the record was last verified, and where it comes from (« proposition publique »).
MANAGED_FIELDS: Final = ("last_verified", "source", "coordinates_source")


def _text(
    value: str | None, field: str, limit: int, problems: list[Problem], *, multiline: bool = True
) -> str | None:
    text = (value or "").strip() or None
    if text is not None and len(text) > limit:
        problems.append(_problem(f"{len(text)} caractères ; {limit} au plus", field))
    why = control_character_problem(text, multiline=multiline) if text is not None else None
    if why is not None:
        problems.append(_problem(why, field))
    return text


def _managed_field_problems(feature: Mapping[str, Any] | None) -> list[Problem]:
    props = feature.get("properties") if isinstance(feature, Mapping) else None
    if not isinstance(props, Mapping):
        return []
    return [
        _problem("champ tenu par l'équipe d'essmap ; une proposition ne peut pas le donner", name)
        for name in MANAGED_FIELDS
        if name in props
    ]


def propose(
    store: Store,
    *,
    kind: str,
    client: str,
    actor_id: str | None = None,
    feature: Mapping[str, Any] | None = None,
    message: str | None = None,
    contact: str | None = None,
) -> Proposal:
    """Store a proposal from the public, pending, after the validation an edit gets.

    - ``new``: ``feature`` is the place proposed (a GeoJSON Feature); its id is made from its name
      (with a suffix when taken);
    - ``change``: ``feature`` is a JSON merge patch of the actor ``actor_id`` (as
      :func:`merged_feature`); a change that changes nothing is kept as a report if it has a
      message;
    - ``report``: ``message`` says what is wrong with the actor ``actor_id``.

    A proposal may not set the fields of :data:`MANAGED_FIELDS`; the message, the contact and the
    actor's id may not hold control characters (the message may hold line breaks).

    Raises
    ------
    InvalidInputError
        Naming every bad field; NotFoundError for an unknown actor.
    """
    problems: list[Problem] = []
    message = _text(message, "message", MAX_MESSAGE_CHARS, problems)
    contact = _text(contact, "contact", MAX_CONTACT_CHARS, problems, multiline=False)
    if actor_id is not None and (why := control_character_problem(actor_id)) is not None:
        problems.append(_problem(why, "actor_id"))
    problems += _managed_field_problems(feature)
    if kind == "new" and feature is None:
        problems.append(_problem("le lieu proposé (un Feature GeoJSON) est requis", "feature"))
    if kind != "new" and not actor_id:
        problems.append(_problem("l'identifiant de l'acteur concerné est requis", "actor_id"))
    if kind == "report" and message is None:
        problems.append(_problem("dites ce qui est faux ou ce qui a changé", "message"))
    if problems:
        raise InvalidInputError(problems)
    if kind == "new":
        row = actor_rows(actor_from_feature(feature, source=PUBLIC_AUTHOR, allow_id=False))[0]
        row["id"] = free_actor_id(store, str(row["id"]))
        return store.add_proposal(
            kind="new", client=client, actor_id=row["id"], row=row, message=message, contact=contact
        )
    assert actor_id is not None
    current = store.get_actor(actor_id)
    proposed: dict[str, Any] | None = None
    if kind == "change":
        table = actor_from_feature(
            merged_feature(current, feature or {}), actor_id=actor_id, source=PUBLIC_AUTHOR
        )
        proposed = actor_rows(table)[0]
        if not differences(record_dict(current), record_json(proposed)):
            if message is None:
                raise InvalidInputError(
                    _problem("la correction proposée ne change rien à la fiche", "feature")
                )
            kind, proposed = "report", None
    return store.add_proposal(
        kind=kind,
        client=client,
        actor_id=actor_id,
        row=proposed,
        base_version=current.version,
        message=message,
        contact=contact,
    )
