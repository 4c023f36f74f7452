"""The serve command: run the HTTP API with uvicorn on the configured store (issue: HTTP API)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from essmap.cli.app import app, console, settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute (0.0.0.0 pour le réseau local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port d'écoute.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Processus serveurs (un par cœur pour la production ; chacun charge les données).",
            min=1,
            max=64,
        ),
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Journaliser chaque requête.")] = True,
) -> None:
    """Lancer l'API HTTP et les cartes (OGC API - Features, proximité, couverture)."""
    # The API package imports FastAPI; the library does not, so it is imported only here.
    import uvicorn

    from api.app import create_app

    cfg = settings()
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    console.print(f"[bold]essmap[/] : données {cfg.data_dir}")
    console.print(
        f"API et cartes sur http://{shown}:{port}/ (documentation : http://{shown}:{port}/docs)",
        soft_wrap=True,
    )
    if workers > 1:
        console.print(f"{workers} processus serveurs")
    console.print("Arrêt : Ctrl+C")
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "access_log": access_log}
    if workers == 1:
        uvicorn.run(create_app(cfg), **options)
    else:
        # each worker process builds its own app from the same ESSMAP_* environment
        uvicorn.run("api.main:create_app", factory=True, workers=workers, **options)
