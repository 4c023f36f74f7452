"""Who may write, and what the public proposes: API keys and proposals, kept in the store.

Keys are stored as the hash of the secret only (:mod:`essmap.keys` makes and checks them); a key
has a name and a role (``editor`` < ``moderator`` < ``admin``) and can be revoked. A proposal is a
change sent by anyone without a key (a new place, a change to an actor, or an error report); it is
stored as pending and changes nothing until a moderator accepts it, which applies it as an edit
(with its history entry, by ``proposition publique``) in the same transaction, or refuses it.

The tables and their SQL are the same on both stores (text columns, ISO 8601 UTC times); each store
only runs the statements (:meth:`ModeratedStore._query`, :meth:`ModeratedStore._execute`).
"""

from __future__ import annotations

import abc
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from essmap.errors import AlreadyExistsError, InvalidParameterError, NotFoundError, VersionConflictError
from essmap.store.base import TransactionalStore, now_utc, record_json

#: Roles, weakest first: each one may do what the ones before it may.
ROLES: Final = ("editor", "moderator", "admin")
#: Kinds of proposal.
PROPOSAL_KINDS: Final = ("new", "change", "report")
#: States of a proposal.
PROPOSAL_STATUSES: Final = ("pending", "accepted", "refused")
#: Author of the changes that accepted proposals make (the history says so).
PUBLIC_AUTHOR: Final = "proposition publique"

#: The history by author and time, for :meth:`ModeratedStore.changes_since` (schema version 4).
HISTORY_AUTHOR_INDEX: Final = "CREATE INDEX IF NOT EXISTS actor_history_author ON actor_history (author, at)"
TABLES_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS api_keys (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
    "key_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT)",
    "CREATE TABLE IF NOT EXISTS proposals (id TEXT PRIMARY KEY, kind TEXT NOT NULL, actor_id TEXT, "
    "record TEXT, base_version INTEGER, message TEXT, contact TEXT, client TEXT NOT NULL, "
    "status TEXT NOT NULL, created_at TEXT NOT NULL, decided_at TEXT, decided_by TEXT, note TEXT)",
    "CREATE INDEX IF NOT EXISTS proposals_status ON proposals (status, created_at)",
    "CREATE INDEX IF NOT EXISTS proposals_client ON proposals (client, created_at)",
)

_KEY_COLUMNS = "name, role, created_at, revoked_at"
_PROPOSAL_COLUMNS = (
    "id, kind, actor_id, record, base_version, message, contact, client, status, created_at, "
    "decided_at, decided_by, note"
)


@dataclass(frozen=True)
class ApiKey:
    """A key's name, role and dates (never its secret)."""

    name: str
    role: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, role: str) -> bool:
        """Whether this key may do what ``role`` may (an active key of that role or a stronger one)."""
        return self.active and ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Proposal:
    """A change proposed by the public.

    ``record`` is the proposed actor (:func:`~essmap.store.base.record_json` form) for ``new`` and
    ``change``; None for a ``report``, whose ``message`` says what is wrong. ``base_version`` is the
    version of the actor when the change was proposed.
    """

    id: str
    kind: str
    actor_id: str | None
    record: dict[str, Any] | None
    base_version: int | None
    message: str | None
    contact: str | None
    client: str
    status: str
    created_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "actor_id": self.actor_id,
            "record": self.record,
            "base_version": self.base_version,
            "message": self.message,
            "status": self.status,
            "created_at": self.created_at,
            "decided_at": self.decided_at,
            "decided_by": self.decided_by,
            "note": self.note,
        }


def _proposal(row: Sequence[Any]) -> Proposal:
    record = json.loads(row[3]) if row[3] else None
    return Proposal(
        str(row[0]),
        str(row[1]),
        row[2],
        record,
        None if row[4] is None else int(row[4]),
        row[5],
        row[6],
        str(row[7]),
        str(row[8]),
        str(row[9]),
        row[10],
        row[11],
        row[12],
    )


class ModeratedStore(TransactionalStore):
    """:class:`TransactionalStore` with API keys and moderated proposals."""

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement outside any write transaction (``?`` placeholders); its rows."""

    @abc.abstractmethod
    def _execute(self, tx: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in a write transaction (``?`` placeholders); its rows, if any."""

    # --- keys ------------------------------------------------------------------------------------
    def add_key(self, name: str, role: str, key_hash: str) -> ApiKey:
        """Record a new key by the hash of its secret.

        Raises
        ------
        AlreadyExistsError
            If a key of that name exists (revoked or not).
        InvalidParameterError
            For an unknown role.
        """
        if role not in ROLES:
            raise InvalidParameterError("role", f"rôle « {role} » inconnu ; rôles : {', '.join(ROLES)}")
        key = ApiKey(name, role, now_utc())
        with self._transaction() as tx:
            if self._execute(tx, "SELECT 1 FROM api_keys WHERE name = ?", (name,)):
                raise AlreadyExistsError(f"une clé nommée « {name} » existe déjà")
            self._execute(
                tx,
                "INSERT INTO api_keys (name, role, key_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role, key_hash, key.created_at),
            )
        return key

    def list_keys(self) -> list[ApiKey]:
        """Every key, by name."""
        return [ApiKey(*row) for row in self._query(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY name")]

    def revoke_key(self, name: str) -> ApiKey:
        """Revoke a key (it stays listed); revoking it again changes nothing."""
        with self._transaction() as tx:
            rows = self._execute(tx, f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE name = ?", (name,))
            if not rows:
                raise NotFoundError(f"aucune clé nommée « {name} »")
            key = ApiKey(*rows[0])
            if key.active:
                key = ApiKey(key.name, key.role, key.created_at, now_utc())
                self._execute(tx, "UPDATE api_keys SET revoked_at = ? WHERE name = ?", (key.revoked_at, name))
        return key

    def key_for_hash(self, key_hash: str) -> ApiKey | None:
        """The active key whose secret has this hash, else None."""
        rows = self._query(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
        )
        return ApiKey(*rows[0]) if rows else None

    def changes_since(self, author: str, since: str) -> int:
        """How many changes ``author`` made since a time (ISO 8601 UTC): for rate limits."""
        rows = self._query("SELECT count(*) FROM actor_history WHERE author = ? AND at >= ?", (author, since))
        return int(rows[0][0])

    # --- proposals -------------------------------------------------------------------------------
    def add_proposal(
        self,
        *,
        kind: str,
        client: str,
        actor_id: str | None = None,
        row: Mapping[str, Any] | None = None,
        base_version: int | None = None,
        message: str | None = None,
        contact: str | None = None,
    ) -> Proposal:
        """Store a pending proposal (``row``: the proposed actor row, for ``new`` and ``change``)."""
        if kind not in PROPOSAL_KINDS:
            raise InvalidParameterError("kind", f"type de proposition « {kind} » inconnu")
        record = None if row is None else record_json(row)
        proposal = Proposal(
            _proposal_id(),
            kind,
            actor_id,
            record,
            base_version,
            message,
            contact,
            client,
            "pending",
            now_utc(),
        )
        with self._transaction() as tx:
            self._execute(
                tx,
                f"INSERT INTO proposals ({_PROPOSAL_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                (
                    proposal.id,
                    kind,
                    actor_id,
                    None if record is None else json.dumps(record, ensure_ascii=False, sort_keys=True),
                    base_version,
                    message,
                    contact,
                    client,
                    "pending",
                    proposal.created_at,
                    None,
                    None,
                    None,
                ),
            )
        return proposal

    def list_proposals(
        self, *, status: str | None = "pending", limit: int = 100, offset: int = 0
    ) -> list[Proposal]:
        """Proposals, oldest first (``status`` None: all of them)."""
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self._query(
            f"SELECT {_PROPOSAL_COLUMNS} FROM proposals {where} ORDER BY created_at, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_proposal(row) for row in rows]

    def get_proposal(self, proposal_id: str) -> Proposal:
        rows = self._query(f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE id = ?", (proposal_id,))
        if not rows:
            raise NotFoundError(f"aucune proposition d'identifiant « {proposal_id} »")
        return _proposal(rows[0])

    def proposals_since(self, client: str, since: str) -> int:
        """How many proposals a client sent since a time (ISO 8601 UTC): for rate limits."""
        rows = self._query(
            "SELECT count(*) FROM proposals WHERE client = ? AND created_at >= ?", (client, since)
        )
        return int(rows[0][0])

    def decide_proposal(
        self, proposal_id: str, *, accept: bool, by: str, note: str | None = None
    ) -> Proposal:
        """Accept (apply the proposed record as an edit) or refuse a pending proposal.

        Raises
        ------
        NotFoundError
            Unknown proposal, or a change to an actor deleted since.
        VersionConflictError
            If the proposal was decided already.
        AlreadyExistsError
            Accepting a new actor whose id was taken since.
        """
        at = now_utc()
        with self._transaction() as tx:
            rows = self._execute(
                tx, f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE id = ?", (proposal_id,)
            )
            if not rows:
                raise NotFoundError(f"aucune proposition d'identifiant « {proposal_id} »")
            proposal = _proposal(rows[0])
            if proposal.status != "pending":
                raise VersionConflictError(
                    f"la proposition « {proposal_id} » est déjà traitée ({proposal.status})",
                    current_version=None,
                )
            if accept and proposal.record is not None:
                self._apply(tx, proposal, at)
            status = "accepted" if accept else "refused"
            self._execute(
                tx,
                "UPDATE proposals SET status = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ?",
                (status, at, by, note, proposal_id),
            )
        return Proposal(
            **{**proposal.__dict__, "status": status, "decided_at": at, "decided_by": by, "note": note}
        )

    def _apply(self, tx: Any, proposal: Proposal, at: str) -> None:
        assert proposal.record is not None
        row = row_of_record(proposal.record)
        current = self._fetch_actors(tx, [row["id"]]).get(row["id"])
        if proposal.kind == "new":
            if current is not None:
                raise AlreadyExistsError(f"un acteur d'identifiant « {row['id']} » existe déjà")
            self._insert_actors(tx, [row], at)
            self._append_history(tx, [(row["id"], 1, "create", PUBLIC_AUTHOR, at, None, row)])
        else:
            if current is None:
                raise NotFoundError(f"l'acteur « {row['id']} » n'existe plus")
            old, version, _ = current
            self._update_actors(tx, [row], at)
            self._append_history(tx, [(row["id"], version + 1, "update", PUBLIC_AUTHOR, at, old, row)])
        self._bump(tx)


def row_of_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """An actor row from its :func:`~essmap.store.base.record_json` form (GeoJSON point to shapely)."""
    import shapely

    row = {k: v for k, v in record.items() if k != "geometry"}
    geometry = record.get("geometry")
    row["geometry"] = None if geometry is None else shapely.Point(*geometry["coordinates"][:2])
    return row


__all__ = [
    "PROPOSAL_KINDS",
    "PUBLIC_AUTHOR",
    "ROLES",
    "ApiKey",
    "ModeratedStore",
    "Proposal",
    "row_of_record",
]


def _proposal_id() -> str:
    """A new proposal's id: the time in nanoseconds then random digits, so that ids made within
    one millisecond (``created_at``'s precision) still list in the order they were made."""
    return f"{time.time_ns():x}{secrets.token_hex(3)}"
