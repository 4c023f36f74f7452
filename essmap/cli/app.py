"""The Typer application and helpers shared by every command group."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from essmap.cli.language import EssmapTyper
from essmap.errors import InvalidInputError, Problem
from essmap.importing import open_seeded_store
from essmap.settings import Settings, get_settings
from essmap.store import Store

app = EssmapTyper(
    name="essmap",
    help=(
        "essmap : cartes et requêtes de proximité des circuits courts "
        "autour des quartiers prioritaires (QPV)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def settings() -> Settings:
    """The settings from the environment; a bad ``ESSMAP_*`` value is a clear error naming it."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = [
            Problem(
                f"réglage invalide : {error['msg']}",
                field="ESSMAP_" + "_".join(str(part) for part in error["loc"][:1]).upper(),
            )
            for error in exc.errors()
        ]
        raise InvalidInputError(problems) from None


def store(cfg: Settings | None = None) -> Store:
    return open_seeded_store(cfg or settings())


def print_json(data: Any) -> None:
    """Print one JSON object on standard output (UTF-8, no escapes of accents)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@contextlib.contextmanager
def progress_stages(description: str, stages: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over an import's stages, on standard error (only on a terminal)."""
    if not err_console.is_terminal:
        yield lambda _stage: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=stages)
        started = [False]

        def update(stage: str) -> None:
            bar.update(task, description=f"{description} : {stage}", advance=1 if started[0] else 0)
            started[0] = True

        yield update
