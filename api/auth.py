"""Who is asking: API keys and roles, client addresses, and the rate limits of writes and proposals.

- A key travels as ``Authorization: Bearer KEY`` (FastAPI's :class:`~fastapi.security.HTTPBearer`,
  which also documents the scheme in the OpenAPI document). Reads need none; a write without a
  valid key is a 401 (with ``WWW-Authenticate: Bearer``), with too small a role a 403.
- The client address is the peer of the connection; ``X-Forwarded-For`` is read only when that
  peer is one of the configured reverse proxies (``forwarded_allow_ips``). Only its keyed hash
  (:func:`essmap.keys.client_hash`) is ever stored.
- Rate limits are counted in the store (changes by a key's name, proposals by a client's hash),
  so every server process on one store shares them; over the limit is a 429 with ``Retry-After``.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import AuthenticationError, ForbiddenError, TooManyRequestsError
from essmap.keys import client_hash, key_for_secret
from essmap.settings import Settings
from essmap.store.moderation import ApiKey

#: Length of the window of the rate limits, in seconds.
WINDOW_S = 60
ROLE_NAMES_FR = {"editor": "éditeur", "moderator": "modérateur", "admin": "administrateur"}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="cle_api",
    description="Clé d'API (essmap keys create) : « Authorization: Bearer essmap_… »",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def since_iso(seconds: float) -> str:
    """The time ``seconds`` ago, as the store writes times (ISO 8601 UTC, milliseconds)."""
    then = datetime.now(UTC) - timedelta(seconds=seconds)
    return then.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: What a request without a key is told, by the role it needs and whether it reads or writes.
KEY_REQUIRED_FR = {
    ("editor", False): "clé d'API requise pour modifier les données",
    ("moderator", True): "clé de modérateur requise pour lire les propositions",
    ("moderator", False): "clé de modérateur requise pour traiter les propositions",
}
HEADER_HINT_FR = "en-tête « Authorization: Bearer CLÉ »"


async def api_key(request: Request, credentials: Credentials, *, role: str = "editor") -> ApiKey:
    """The active key of the request (401 without one, or with an unknown or revoked one); the
    message says which key ``role`` the request needs."""
    if credentials is None:
        reads = request.method in {"GET", "HEAD"}
        needed = KEY_REQUIRED_FR.get((role, reads), KEY_REQUIRED_FR[("editor", False)])
        raise AuthenticationError(f"{needed} : {HEADER_HINT_FR}")
    key = await run_in_threadpool(key_for_secret, request.app.state.store, credentials.credentials)
    if key is None:
        raise AuthenticationError("clé d'API inconnue ou révoquée")
    return key


def _role(role: str) -> object:
    async def check(request: Request, credentials: Credentials) -> ApiKey:
        key = await api_key(request, credentials, role=role)
        if not key.allows(role):
            raise ForbiddenError(
                f"la clé « {key.name} » ({ROLE_NAMES_FR.get(key.role, key.role)}) ne permet pas cette "
                f"opération : rôle {ROLE_NAMES_FR[role]} au moins requis"
            )
        return key

    check.__name__ = f"require_{role}"
    return check


#: The key of an editor (or stronger role) making a write, rate limits not yet checked.
Editor = Annotated[ApiKey, Depends(_role("editor"))]
#: The key of a moderator (or admin).
Moderator = Annotated[ApiKey, Depends(_role("moderator"))]


async def check_write_rate(request: Request, key: ApiKey) -> None:
    """Refuse a write when the key made ``writes_per_minute`` changes in the last minute (429)."""
    settings: Settings = request.app.state.settings
    store = request.app.state.store
    done = await run_in_threadpool(store.changes_since, key.name, since_iso(WINDOW_S))
    if done >= settings.writes_per_minute:
        raise TooManyRequestsError(
            f"la clé « {key.name} » a fait {done} modifications dans la dernière minute "
            f"(limite : {settings.writes_per_minute}) ; réessayez dans une minute",
            retry_after_s=WINDOW_S,
        )


def _is_trusted(address: str, trusted: list[str]) -> bool:
    if "*" in trusted:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address in trusted  # a Unix socket path, say
    for entry in trusted:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: Request, trusted: list[str]) -> str:
    """The client's address: the peer, or what a trusted proxy says in ``X-Forwarded-For``.

    The address taken from the header is the last one not added by a trusted proxy (a client
    can put anything at its start).
    """
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def client_id(request: Request) -> str:
    """The keyed hash of the client's address (what proposals store and rate limits count)."""
    settings: Settings = request.app.state.settings
    secret: bytes = request.app.state.client_secret  # client_hash_secret(settings), made by create_app
    return client_hash(client_address(request, settings.forwarded_allow_ips), secret=secret)


async def check_proposal_rate(request: Request, client: str) -> None:
    """Refuse a proposal when the client sent ``proposals_per_minute`` in the last minute (429)."""
    settings: Settings = request.app.state.settings
    store = request.app.state.store
    sent = await run_in_threadpool(store.proposals_since, client, since_iso(WINDOW_S))
    if sent >= settings.proposals_per_minute:
        raise TooManyRequestsError(
            f"trop de propositions envoyées depuis votre adresse ({sent} dans la dernière minute, "
            f"limite : {settings.proposals_per_minute}) ; réessayez dans une minute",
            retry_after_s=WINDOW_S,
        )
