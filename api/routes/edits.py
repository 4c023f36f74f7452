"""Edits of actors, OGC API - Features Part 4 style: create, replace, update (JSON merge), delete;
each actor's history, restoring an earlier version, and confirming a record (``last_verified``).

Every change needs an editor's key (:mod:`api.auth`), counts against the key's rate limit, and is
validated as an import is (:func:`essmap.editing.actor_from_feature`). Changes to an existing
actor need ``If-Match`` with the ETag of the version they were made on (428 without it, 412 when
it is no longer the current one), so no update is lost silently. The store records each change in
the actor's history with the key's name as author. No ``from __future__ import annotations``:
FastAPI reads the handlers' annotations at run time.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import quote

from fastapi import Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.auth import Editor, check_write_rate
from api.bodies import read_json
from api.caching import actor_etag, if_match
from api.deps import after_write
from api.errors import PreconditionRequiredError
from api.factory import BaseFactory
from api.geojson import FastJSONResponse
from api.openapi import NOT_FOUND, Responses
from api.routes.collections import actor_response
from api.urls import url
from essmap.editing import actor_from_feature, differences, merged_feature, restore_version
from essmap.errors import NotFoundError, VersionConflictError
from essmap.store import Store
from essmap.store.base import ActorRecord
from essmap.store.moderation import ApiKey

T = TypeVar("T")

ITEMS = "/collections/actors/items"
FeatureId = Annotated[str, Path(description="Identifiant de l'acteur")]
#: Provenance recorded for an actor created or replaced through the API without a ``source``.
API_SOURCE = "saisie dans essmap"

FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": {
            "type": "object",
            "nullable": True,
            "description": "Point lon/lat WGS 84, ou null pour un acteur sans localisation",
        },
        "properties": {
            "type": "object",
            "description": "Champs de l'acteur (name et category obligatoires), comme à l'import",
        },
    },
    "example": {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.4748, 43.4929]},
        "properties": {"name": "Épicerie solidaire du Polo", "category": "cooperative_grocery"},
    },
}


def _body(description: str, *media: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {m: {"schema": FEATURE_SCHEMA} for m in media},
        }
    }


def _problems(*statuses: int) -> Responses:
    texts = {
        401: "Clé d'API absente, inconnue ou révoquée",
        403: "Rôle de la clé insuffisant",
        409: "Un acteur de cet identifiant existe déjà",
        412: "La version indiquée par If-Match n'est plus la version courante",
        428: "En-tête If-Match absent",
        429: "Trop de modifications dans la dernière minute (Retry-After)",
    }
    return {status: {"description": texts[status]} for status in statuses}


WRITE_PROBLEMS = _problems(401, 403, 429)
CHANGE_PROBLEMS = {**WRITE_PROBLEMS, **NOT_FOUND, **_problems(412, 428)}


async def _current(request: Request, actor_id: str, *, required: bool = True) -> ActorRecord:
    """The actor as it is now, checked against ``If-Match`` (428 without it, 412 when stale)."""
    record: ActorRecord = await run_in_threadpool(request.app.state.store.get_actor, actor_id)
    etag = actor_etag(record.version, record.updated_at)
    matched = if_match(request, etag)
    if matched is None and required:
        raise PreconditionRequiredError(
            f"en-tête If-Match requis : l'ETag de la version lue de l'acteur (actuellement {etag}) ; "
            "il évite d'écraser une modification faite entre-temps"
        )
    if matched is False:
        raise VersionConflictError(
            f"l'acteur « {actor_id} » a changé depuis sa lecture (version actuelle : ETag {etag}) : "
            "relisez-le avant de le modifier",
            current_version=record.version,
        )
    return record


async def _write(request: Request, key: ApiKey, change: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one change of the store (rate limit first), then mark it for this process's next reads."""
    await check_write_rate(request, key)
    result = await run_in_threadpool(change, *args, **kwargs)
    after_write(request)
    return result


async def _replace(request: Request, key: ApiKey, current: ActorRecord, feature: Any) -> Response:
    """Validate ``feature`` as the next version of ``current``, store it, answer the new version."""
    table = await run_in_threadpool(actor_from_feature, feature, actor_id=current.id, source=API_SOURCE)
    store = request.app.state.store
    record = await _write(
        request, key, store.replace_actor, table, expected_version=current.version, author=key.name
    )
    return actor_response(request, record)


def history_json(store: Store, actor_id: str) -> dict[str, Any]:
    """An actor's history: every change with its author, time, records before and after, differences."""
    changes = store.actor_history(actor_id)
    if not changes:
        raise NotFoundError(f"aucun historique pour l'acteur « {actor_id} »")
    return {
        "actor_id": actor_id,
        "changes": [
            {
                "version": c.version,
                "action": c.action,
                "author": c.author,
                "at": c.at,
                "before": c.before,
                "after": c.after,
                "differences": differences(c.before, c.after),
            }
            for c in changes
        ],
    }


def _verify(store: Store, record: ActorRecord, author: str) -> ActorRecord:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return store.patch_actor(
        record.id, {"last_verified": today}, expected_version=record.version, author=author
    )


@dataclass
class EditsFactory(BaseFactory):
    """Writes to ``/collections/actors/items``, histories and restores (editor keys)."""

    tags: ClassVar[list[str]] = ["édition"]

    def register_routes(self) -> None:
        settings = self.settings
        router = self.router
        json_types = ("application/geo+json", "application/json")

        @router.post(
            ITEMS,
            status_code=201,
            response_class=Response,
            responses={
                201: {"description": "Acteur créé (Location, ETag)"},
                **WRITE_PROBLEMS,
                **_problems(409),
            },
            openapi_extra=_body("L'acteur à créer : un Feature GeoJSON", *json_types),
        )
        async def create_actor(request: Request, key: Editor) -> Response:
            """Create an actor (editor key); its id is the body's, or made from its name."""
            feature = await read_json(request, settings)
            table = await run_in_threadpool(actor_from_feature, feature, source=API_SOURCE)
            store = request.app.state.store
            record = await _write(request, key, store.create_actor, table, author=key.name)
            response = actor_response(request, record, status_code=201)
            response.headers["Location"] = url(request, f"{ITEMS}/{quote(record.id, safe='')}")
            return response

        @router.put(
            ITEMS + "/{featureId}",
            response_class=Response,
            responses={200: {"description": "Acteur remplacé (nouvel ETag)"}, **CHANGE_PROBLEMS},
            openapi_extra=_body("La nouvelle version complète de l'acteur", *json_types),
        )
        async def replace_actor(request: Request, key: Editor, featureId: FeatureId) -> Response:  # noqa: N803
            """Replace an actor (editor key, If-Match): fields left out become empty."""
            current = await _current(request, featureId)
            return await _replace(request, key, current, await read_json(request, settings))

        @router.patch(
            ITEMS + "/{featureId}",
            response_class=Response,
            responses={200: {"description": "Acteur modifié (nouvel ETag)"}, **CHANGE_PROBLEMS},
            openapi_extra=_body(
                "Fusion JSON (RFC 7396) : les propriétés données remplacent les actuelles, null en efface "
                "une ; « geometry » remplace le point (null : sans localisation)",
                "application/merge-patch+json",
                "application/json",
            ),
        )
        async def update_actor(request: Request, key: Editor, featureId: FeatureId) -> Response:  # noqa: N803
            """Change some fields of an actor (editor key, If-Match), as a JSON merge patch."""
            current = await _current(request, featureId)
            patch = await read_json(request, settings)
            return await _replace(request, key, current, merged_feature(current, patch))

        @router.delete(
            ITEMS + "/{featureId}",
            status_code=204,
            response_class=Response,
            responses={204: {"description": "Acteur supprimé (son historique est gardé)"}, **CHANGE_PROBLEMS},
        )
        async def delete_actor(request: Request, key: Editor, featureId: FeatureId) -> Response:  # noqa: N803
            """Delete an actor (editor key, If-Match); its history is kept and it can be restored."""
            current = await _current(request, featureId)
            store = request.app.state.store
            await _write(
                request, key, store.delete_actor, featureId, expected_version=current.version, author=key.name
            )
            return Response(status_code=204)

        @router.post(
            ITEMS + "/{featureId}/verify",
            response_class=Response,
            responses={
                200: {"description": "Acteur confirmé (last_verified : aujourd'hui)"},
                **CHANGE_PROBLEMS,
            },
        )
        async def verify_actor(request: Request, key: Editor, featureId: FeatureId) -> Response:  # noqa: N803
            """Confirm an actor's record as checked today (editor key, If-Match): sets last_verified."""
            current = await _current(request, featureId)
            record = await _write(request, key, _verify, request.app.state.store, current, key.name)
            return actor_response(request, record)

        @router.get(
            ITEMS + "/{featureId}/history",
            response_class=FastJSONResponse,
            responses={200: {"description": "Historique des modifications"}, **NOT_FOUND},
        )
        async def actor_history(request: Request, featureId: FeatureId) -> Response:  # noqa: N803
            """Every change of an actor, oldest first: author, time, before, after, differences."""
            history = await run_in_threadpool(history_json, request.app.state.store, featureId)
            return FastJSONResponse(history)

        @router.post(
            ITEMS + "/{featureId}/history/{version}/restore",
            response_class=Response,
            responses={
                200: {"description": "Version rétablie (nouvelle modification)"},
                **WRITE_PROBLEMS,
                **NOT_FOUND,
            },
        )
        async def restore_actor(
            request: Request,
            key: Editor,
            featureId: FeatureId,  # noqa: N803
            version: Annotated[int, Path(ge=1, description="Version à rétablir")],
        ) -> Response:
            """Make an earlier version of an actor the current one again, as a new change (editor key)."""
            if request.headers.get("if-match") is not None:
                await _current(request, featureId)
            store = request.app.state.store
            record = await _write(request, key, restore_version, store, featureId, version, author=key.name)
            return actor_response(request, record)
