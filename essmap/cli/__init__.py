"""The ``essmap`` command."""

from __future__ import annotations

import sys

import click

from essmap.cli import analysis, data, maps, serve  # noqa: F401  (each registers its commands)
from essmap.cli.app import app, err_console
from essmap.errors import EssmapError, InvalidInputError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line; library errors become a clear message and a non-zero exit status."""
    try:
        app(args=argv, standalone_mode=False, prog_name="essmap")
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("Interrompu.")
        sys.exit(130)
    except InvalidInputError as exc:
        err_console.print(f"[bold red]Erreur[/] : {exc}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except EssmapError as exc:
        err_console.print(f"[bold red]Erreur[/] : {exc}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(1)
