"""Public contributions and their moderation: ``POST /proposals`` (no key), the moderators' list,
accept and refuse (moderator key), and the moderation page ``/moderation``.

A proposal is validated as an edit is and stored as pending: it changes nothing the public sees
until a moderator accepts it, which applies it as an edit by « proposition publique » with its
history entry. Anti-spam needs no third party: a honeypot field that people never see (a form
filled by a robot fills it) and a rate limit per client address, counted in the store. No ``from
__future__ import annotations``: FastAPI reads the handlers' annotations at run time.
"""

import functools
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

from api.auth import Moderator, check_proposal_rate, client_id
from api.bodies import read_json
from api.deps import after_write
from api.errors import ConflictError
from api.factory import BaseFactory
from api.geojson import FastJSONResponse
from api.openapi import NOT_FOUND
from api.query import QueryModel
from api.security import html_page
from essmap.editing import MAX_CONTACT_CHARS, MAX_MESSAGE_CHARS, proposal_view, propose
from essmap.errors import InvalidInputError, Problem, VersionConflictError
from essmap.sources.common import control_character_problem
from essmap.store import Store

STATIC = FilePath(__file__).resolve().parent.parent / "static"
#: Files of the moderation page, served under /moderation/.
MODERATION_FILES = {"moderation.js": "text/javascript", "moderation.css": "text/css"}
ProposalId = Annotated[str, Path(description="Identifiant de la proposition")]


class ProposalIn(BaseModel):
    """A proposal from the public (the body of ``POST /proposals``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["new", "change", "report"] = Field(
        description="new : un nouveau lieu ; change : une correction d'un acteur ; report : un signalement"
    )
    actor_id: str | None = Field(None, max_length=200, description="L'acteur concerné (change, report)")
    feature: dict[str, Any] | None = Field(
        None,
        description=(
            "new : le lieu (Feature GeoJSON, name et category obligatoires) ; change : une fusion JSON "
            '(RFC 7396) de l\'acteur, par exemple {"properties": {"schedule": "mar 17h-19h"}}'
        ),
    )
    message: str | None = Field(
        None, description=f"Ce qui est faux, ou un commentaire ({MAX_MESSAGE_CHARS} car.)"
    )
    contact: str | None = Field(
        None, description=f"Pour que l'équipe puisse répondre ; jamais publié ({MAX_CONTACT_CHARS} car.)"
    )
    honeypot: str | None = Field(
        None, description="Champ piège des formulaires : doit rester vide (un robot le remplit)"
    )


class Decision(BaseModel):
    """The optional body of accept and refuse."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=MAX_MESSAGE_CHARS, description="Note de modération")


class ProposalsQuery(QueryModel):
    status: Literal["pending", "accepted", "refused", "all"] = Field(
        "pending", description="État des propositions listées (en attente par défaut)"
    )
    limit: int = Field(100, ge=1, le=1000, description="Nombre de propositions")
    offset: int = Field(0, ge=0, description="Nombre de propositions à sauter")


def _model(model: type[BaseModel], data: Any) -> Any:
    """``data`` validated by ``model``; its errors are FastAPI's (a 400 problem naming each field;
    an unknown member's lists the model's members)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        members = {"accepted": tuple(model.model_fields)}
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        for error in errors:
            if error["type"] == "extra_forbidden":
                error["ctx"] = members
        raise RequestValidationError(errors) from exc


def _schema(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _views(store: Store, status: str, limit: int, offset: int) -> list[dict[str, Any]]:
    found = store.list_proposals(status=None if status == "all" else status, limit=limit, offset=offset)
    return [proposal_view(store, p) for p in found]


def _decide(store: Store, proposal_id: str, accept: bool, by: str, note: str | None) -> dict[str, Any]:
    try:
        proposal = store.decide_proposal(proposal_id, accept=accept, by=by, note=note)
    except VersionConflictError as exc:  # decided already: a conflict, not a stale If-Match
        raise ConflictError(str(exc)) from exc
    return proposal_view(store, proposal)


@functools.cache
def _moderation_html() -> str:
    return (STATIC / "moderation.html").read_text(encoding="utf-8")


@dataclass
class ProposalsFactory(BaseFactory):
    """``/proposals`` (public and moderators) and the moderation page."""

    tags: ClassVar[list[str]] = ["contributions"]

    def register_routes(self) -> None:
        settings = self.settings
        router = self.router

        @router.post(
            "/proposals",
            status_code=201,
            response_class=FastJSONResponse,
            responses={
                201: {"description": "Proposition enregistrée, en attente de modération"},
                404: {"description": "Acteur inconnu (problem+json)"},
                429: {"description": "Trop de propositions depuis cette adresse (Retry-After)"},
            },
            openapi_extra=_schema(ProposalIn),
        )
        async def send_proposal(request: Request) -> Response:
            """Propose a place, a correction or report an error (no key; moderated before publication)."""
            client = client_id(request)
            await check_proposal_rate(request, client)
            body: ProposalIn = _model(ProposalIn, await read_json(request, settings))
            if body.honeypot:
                raise InvalidInputError(
                    Problem("proposition refusée : le champ piège doit rester vide", field="honeypot")
                )
            proposal = await run_in_threadpool(
                functools.partial(
                    propose,
                    request.app.state.store,
                    kind=body.kind,
                    client=client,
                    actor_id=body.actor_id,
                    feature=body.feature,
                    message=body.message,
                    contact=body.contact,
                )
            )
            return FastJSONResponse(
                {"id": proposal.id, "kind": proposal.kind, "status": proposal.status},
                status_code=201,
            )

        @router.get(
            "/proposals",
            response_class=FastJSONResponse,
            responses={200: {"description": "Propositions, avec leurs différences"}},
        )
        async def list_proposals(
            request: Request, key: Moderator, q: Annotated[ProposalsQuery, Query()]
        ) -> Response:
            """Proposals (pending by default), each with what it changes (moderator key)."""
            views = await run_in_threadpool(_views, request.app.state.store, q.status, q.limit, q.offset)
            return FastJSONResponse({"proposals": views}, headers={"Cache-Control": "no-store"})

        @router.get(
            "/proposals/{proposalId}",
            response_class=FastJSONResponse,
            responses={200: {"description": "Une proposition"}, **NOT_FOUND},
        )
        async def get_proposal(request: Request, key: Moderator, proposalId: ProposalId) -> Response:  # noqa: N803
            """One proposal with what it changes (moderator key)."""
            store = request.app.state.store
            proposal = await run_in_threadpool(store.get_proposal, proposalId)
            view = await run_in_threadpool(proposal_view, store, proposal)
            return FastJSONResponse(view, headers={"Cache-Control": "no-store"})

        for action, accept in (("accept", True), ("refuse", False)):
            self._decision_route(action, accept)

        @router.get("/moderation", response_class=HTMLResponse, include_in_schema=False)
        async def moderation_page() -> Response:
            """The moderation page (the moderator types a key; it stays in the tab's sessionStorage)."""
            return html_page(_moderation_html(), headers={"Cache-Control": "no-cache"})

        @router.get("/moderation/{name}", include_in_schema=False)
        async def moderation_asset(name: str) -> Response:
            """The script and the stylesheet of the moderation page."""
            if name not in MODERATION_FILES:
                raise HTTPException(404)
            return FileResponse(STATIC / name, media_type=MODERATION_FILES[name])

    def _decision_route(self, action: str, accept: bool) -> None:
        settings = self.settings

        @self.router.post(
            f"/proposals/{{proposalId}}/{action}",
            response_class=FastJSONResponse,
            responses={
                200: {"description": "Proposition traitée"},
                **NOT_FOUND,
                409: {"description": "Proposition déjà traitée, ou identifiant déjà pris"},
            },
            openapi_extra=_schema(Decision, required=False),
            name=f"{action}_proposal",
        )
        async def decide(request: Request, key: Moderator, proposalId: ProposalId) -> Response:  # noqa: N803
            body = await read_json(request, settings, optional=True)
            decision: Decision = _model(Decision, body or {})
            if decision.note and (why := control_character_problem(decision.note, multiline=True)):
                raise InvalidInputError(Problem(why, field="note"))
            store = request.app.state.store
            view = await run_in_threadpool(_decide, store, proposalId, accept, key.name, decision.note)
            if accept:
                after_write(request)
            return FastJSONResponse(view)
