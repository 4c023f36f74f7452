"""The serve command: run the HTTP API with uvicorn on the configured store.

uvicorn is handed the import string ``api.main:app``: each server process builds the app from the
same ``ESSMAP_*`` environment, and the library never imports the API package.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import socket
from typing import Annotated, Any

import typer

from essmap.cli.app import app, console, settings
from essmap.settings import Settings

APP = "api.main:app"
ANY_ADDRESS = {"0.0.0.0", "::", ""}


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with essmap's own messages (index builds and their durations, failed
    builds, store migrations, server errors) written by the same handler, at info level."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["essmap"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _trusted_hosts(cfg: Settings, host: str) -> list[str]:
    """The hosts the server answers to: the settings', plus the address it listens on.

    A server listening on every address (``--host 0.0.0.0``) is reached by the machine's name
    too; any other name must be listed in ``ESSMAP_TRUSTED_HOSTS`` (or set ``ESSMAP_PUBLIC_URL``).
    """
    hosts = list(cfg.trusted_hosts)
    if host in ANY_ADDRESS:
        extra = [socket.gethostname()]
    else:
        try:
            extra = [f"[{host}]" if ipaddress.ip_address(host).version == 6 else host]
        except ValueError:  # a name
            extra = [host]
    return list(dict.fromkeys([*hosts, *extra]))


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
    import uvicorn

    cfg = settings()
    shown = "127.0.0.1" if host in ANY_ADDRESS else host
    console.print(f"[bold]essmap[/] : données {cfg.data_dir}")
    console.print(
        f"API et cartes sur http://{shown}:{port}/ (documentation : http://{shown}:{port}/docs)",
        soft_wrap=True,
    )
    if cfg.public_url:
        console.print(f"Liens publiés à partir de {cfg.public_url}")
    else:
        hosts = _trusted_hosts(cfg, host)
        os.environ["ESSMAP_TRUSTED_HOSTS"] = ",".join(hosts)  # read by every server process
        console.print(
            "Noms d'hôte acceptés : "
            + ", ".join(hosts)
            + " (autres : ESSMAP_TRUSTED_HOSTS ou ESSMAP_PUBLIC_URL)",
            soft_wrap=True,
        )
    if workers > 1:
        console.print(f"{workers} processus serveurs")
    console.print("Arrêt : Ctrl+C")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": "info",
        "log_config": _log_config(),
        "access_log": access_log,
        # X-Forwarded-For/-Proto only from the configured reverse proxies
        "proxy_headers": bool(cfg.forwarded_allow_ips),
        "forwarded_allow_ips": ",".join(cfg.forwarded_allow_ips) or None,
    }
    uvicorn.run(APP, **options)
