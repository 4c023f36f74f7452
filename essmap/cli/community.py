"""Commands of the people who keep the data alive: API keys, public proposals, history."""

from __future__ import annotations

import getpass
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from essmap.cli.app import app, console, print_json, settings, store
from essmap.cli.language import EssmapTyper
from essmap.editing import differences, proposal_view, restore_version
from essmap.errors import NotFoundError
from essmap.keys import create_key
from essmap.labels import (
    FIELD_LABELS_FR,
    PROPOSAL_KIND_LABELS_FR,
    PROPOSAL_STATUS_LABELS_FR,
    field_value_fr,
    label_of,
)
from essmap.store.moderation import ROLES

keys_app = EssmapTyper(
    help="Clés d'API des contributeurs (éditeurs, modérateurs, administrateurs).", no_args_is_help=True
)
proposals_app = EssmapTyper(help="Propositions du public : lister, accepter, refuser.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(proposals_app, name="proposals")

JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON au lieu d'un texte lisible.")]
Role = StrEnum("Role", {r: r for r in ROLES})  # type: ignore[misc]


def operator() -> str:
    """Who acts from the command line, for the history."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "inconnu"
    return f"ligne de commande ({user})"


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Nom de la clé (personne ou structure).")],
    role: Annotated[Role, typer.Option("--role", help="Rôle : editor, moderator ou admin.")],
) -> None:
    """Créer une clé ; elle n'est affichée qu'une fois, seule son empreinte est gardée."""
    key, secret = create_key(store(), name=name, role=str(role.value))
    console.print(f"Clé « {key.name} » ({key.role}) créée. Conservez-la : elle ne sera plus affichée.")
    print(secret)


@keys_app.command("list")
def keys_list(as_json: JsonOption = False) -> None:
    """Lister les clés (jamais leur secret)."""
    keys = store().list_keys()
    if as_json:
        print_json(
            [
                {"name": k.name, "role": k.role, "created_at": k.created_at, "revoked_at": k.revoked_at}
                for k in keys
            ]
        )
        return
    table = Table("Nom", "Rôle", "Créée le", "Révoquée le")
    for k in keys:
        table.add_row(k.name, k.role, k.created_at, k.revoked_at or "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="Nom de la clé.")]) -> None:
    """Révoquer une clé : elle ne permet plus d'écrire."""
    key = store().revoke_key(name)
    console.print(f"Clé « {key.name} » révoquée le {key.revoked_at}.")


class Status(StrEnum):
    pending = "pending"
    accepted = "accepted"
    refused = "refused"
    all = "all"


@proposals_app.command("list")
def proposals_list(
    status: Annotated[
        Status, typer.Option("--status", help="État des propositions listées.")
    ] = Status.pending,
    as_json: JsonOption = False,
) -> None:
    """Lister les propositions (en attente par défaut), avec ce qu'elles changent."""
    st = store()
    found = st.list_proposals(status=None if status is Status.all else status.value, limit=1000)
    views = [proposal_view(st, p) for p in found]
    if as_json:
        print_json(views)
        return
    if not views:
        console.print("Aucune proposition.")
        return
    for view in views:
        target = f" de « {view['actor_id']} »" if view["actor_id"] else ""
        kind = label_of(PROPOSAL_KIND_LABELS_FR, view["kind"])
        state = label_of(PROPOSAL_STATUS_LABELS_FR, view["status"])
        head = f"{view['id']} — {kind}{target} — {state} — {view['created_at']}"
        console.print(head, style="bold", markup=False, highlight=False)
        if view["message"]:
            console.print(f"  message : {view['message']}", soft_wrap=True, markup=False)
        for diff in view["differences"]:
            _print_difference(diff)


def _print_difference(diff: dict[str, Any]) -> None:
    """One changed field: its French name, its values before and after for people."""
    label = label_of(FIELD_LABELS_FR, diff["field"])
    before, after = (field_value_fr(diff["field"], diff[k]) for k in ("before", "after"))
    console.print(f"  {label} : {before} → {after}", soft_wrap=True, markup=False, highlight=False)


@proposals_app.command("accept")
def proposals_accept(
    proposal_id: Annotated[str, typer.Argument(help="Identifiant de la proposition.")],
    note: Annotated[str | None, typer.Option("--note", help="Note de modération.")] = None,
) -> None:
    """Accepter une proposition : elle est appliquée (avec son historique)."""
    decided = store().decide_proposal(proposal_id, accept=True, by=operator(), note=note)
    console.print(f"Proposition {decided.id} acceptée.")


@proposals_app.command("refuse")
def proposals_refuse(
    proposal_id: Annotated[str, typer.Argument(help="Identifiant de la proposition.")],
    note: Annotated[str | None, typer.Option("--note", help="Raison du refus.")] = None,
) -> None:
    """Refuser une proposition : rien ne change."""
    decided = store().decide_proposal(proposal_id, accept=False, by=operator(), note=note)
    console.print(f"Proposition {decided.id} refusée.")


@app.command()
def history(
    actor_id: Annotated[str, typer.Argument(help="Identifiant de l'acteur.")],
    restore: Annotated[
        int | None, typer.Option("--restore", help="Rétablir cette version (nouvelle modification).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Historique d'un acteur : qui a changé quoi, quand ; --restore rétablit une version."""
    st = store(settings())
    if restore is not None:
        record = restore_version(st, actor_id, restore, author=operator())
        console.print(f"Version {restore} de « {actor_id} » rétablie (nouvelle version {record.version}).")
        return
    changes = st.actor_history(actor_id)
    if not changes:
        raise NotFoundError(f"aucun historique pour l'acteur « {actor_id} »")
    if as_json:
        print_json([{**c.as_dict(), "differences": differences(c.before, c.after)} for c in changes])
        return
    actions = {"create": "création", "update": "modification", "delete": "suppression"}
    for c in changes:
        console.print(f"[bold]v{c.version}[/] {c.at} — {actions.get(c.action, c.action)} par {c.author}")
        for diff in differences(c.before, c.after):
            _print_difference(diff)
