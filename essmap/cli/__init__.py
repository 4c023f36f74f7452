"""The ``essmap`` command."""

from __future__ import annotations

import sys

from essmap.priority import lower_priority

__all__ = ["main"]

#: Command groups that are background work: bulk writes, which take a processor core for seconds
#: and must leave it to a server on the same machine (see :mod:`essmap.priority`).
BACKGROUND_GROUPS = frozenset({"import"})


def main(argv: list[str] | None = None) -> None:
    """Run the command line; library errors become a clear message and a non-zero exit status.

    Typer (in standalone mode) reports usage errors itself and exits; essmap's own errors come
    out of it unhandled and are printed here without a traceback. A background command lowers its
    CPU priority first, before loading the commands and the libraries they use (over a second of
    work).
    """
    args = sys.argv[1:] if argv is None else argv
    if args[:1] and args[0] in BACKGROUND_GROUPS:
        lower_priority(_background_niceness())
    from essmap.cli import analysis, community, data, maps, network, residents, serve  # noqa: F401  (each registers its commands)
    from essmap.cli.app import app, err_console
    from essmap.cli.language import install
    from essmap.errors import EssmapError, InvalidInputError

    install()
    try:
        app(args=argv, prog_name="essmap")
    except InvalidInputError as exc:
        err_console.print(f"[bold red]Erreur[/] : {exc}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except EssmapError as exc:
        err_console.print(f"[bold red]Erreur[/] : {exc}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(1)


def _background_niceness() -> int:
    """``ESSMAP_BACKGROUND_NICENESS`` (a bad value is reported by the command, which reads the
    settings again: here it counts as the default)."""
    from pydantic import ValidationError

    from essmap.settings import Settings, get_settings

    try:
        return get_settings().background_niceness
    except ValidationError:
        return int(Settings.model_fields["background_niceness"].default)
