"""The ``essmap`` command."""

from __future__ import annotations

import sys

from essmap.cli import analysis, community, data, maps, network, residents, serve  # noqa: F401  (each registers its commands)
from essmap.cli.app import app, err_console
from essmap.cli.language import install
from essmap.errors import EssmapError, InvalidInputError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line; library errors become a clear message and a non-zero exit status.

    Typer (in standalone mode) reports usage errors itself and exits; essmap's own errors come
    out of it unhandled and are printed here without a traceback.
    """
    install()
    try:
        app(args=argv, prog_name="essmap")
    except InvalidInputError as exc:
        err_console.print(f"[bold red]Erreur[/] : {exc}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except EssmapError as exc:
        err_console.print(f"[bold red]Erreur[/] : {exc}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(1)
