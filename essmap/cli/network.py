"""Street network commands: ``essmap import network``, ``essmap network info``, ``essmap isochrones``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from essmap.cli.analysis import SupplyCategories, decimal_fr, out_format
from essmap.cli.app import app, console, err_console, print_json, progress_stages, settings, store
from essmap.cli.data import import_app

if TYPE_CHECKING:
    from essmap.network import NetworkInfo

network_app = typer.Typer(help="Réseau de rues pour les distances à pied.", no_args_is_help=True)
app.add_typer(network_app, name="network")

JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON au lieu d'un texte lisible.")]


def _km(metres: float) -> str:
    return f"{metres / 1000:,.1f} km".replace(",", "\u202f").replace(".", ",")


@import_app.command("network")
def import_network_cmd(
    file: Annotated[
        Path, typer.Argument(help="Extrait OpenStreetMap (.osm, .osm.pbf, ou .zip).", show_default=False)
    ],
    as_json: JsonOption = False,
) -> None:
    """Importer le réseau de rues d'un extrait OpenStreetMap (voies praticables à pied), à la place de
    l'ancien."""
    from essmap.importing import import_network
    from essmap.network import network_info

    st = store()
    with progress_stages("Import du réseau", 3) as progress:
        report = import_network(st, file, progress=progress)
    info = network_info(st)
    if as_json:
        print_json({**report.as_dict(), "network": None if info is None else info.as_dict()})
        return
    for warning in report.warnings:
        err_console.print(f"[yellow]Attention[/] : {warning}", soft_wrap=True)
    console.print(f"{report.file} : {report.read} voies praticables à pied lues ; réseau de rues remplacé")
    if info is not None:
        _print_info(info)


def _print_info(info: NetworkInfo) -> None:
    console.print(
        f"Réseau : {_km(info.length_m)} de voies, {info.segments} tronçons, {info.nodes} nœuds, "
        f"mesuré en {info.crs} ; source {info.source}, importé le {info.imported_at[:10]}",
        soft_wrap=True,
    )


@network_app.command("info")
def network_info_cmd(as_json: JsonOption = False) -> None:
    """Description du réseau de rues importé (ou son absence : distances à pied estimées)."""
    from essmap.network import network_info

    cfg = settings()
    info = network_info(store(cfg))
    if as_json:
        print_json(
            {
                "network": None if info is None else info.as_dict(),
                "walk_speed_kmh": cfg.walk_speed_kmh,
                "walk_detour_factor": cfg.walk_detour_factor,
            }
        )
        return
    if info is None:
        console.print(
            "Aucun réseau de rues importé : les distances à pied sont estimées (vol d'oiseau × "
            f"{decimal_fr(cfg.walk_detour_factor)}). Importez-en un avec « essmap import network "
            "EXTRAIT.osm.pbf ».",
            soft_wrap=True,
        )
        return
    _print_info(info)
    console.print(f"Vitesse de marche : {decimal_fr(cfg.walk_speed_kmh)} km/h")


@app.command()
def isochrones(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Fichier à écrire (.geojson, .gpkg ou .csv).", show_default=False),
    ],
    minutes: Annotated[
        list[float] | None,
        typer.Option(
            "--minutes", "-m", help="Durée de marche en minutes (répétable) ; 5, 10 et 15 par défaut."
        ),
    ] = None,
    category: SupplyCategories = None,
) -> None:
    """Isochrones à pied de chaque point d'approvisionnement (polygones), sur le réseau de rues."""
    from essmap.analysis.catchments import supply_isochrones
    from essmap.network import WalkOptions, network_from_store
    from essmap.sources import table_to_file

    cfg = settings()
    fmt = out_format(out)
    st = store(cfg)
    table = supply_isochrones(
        st.load_actors(),
        network=network_from_store(st),
        walk=WalkOptions.from_settings(cfg),
        supply_categories=category or cfg.supply_categories,
        minutes=minutes or None,
    )
    table_to_file(table, out, fmt=fmt, layer="isochrones", points=False, protected_dir=cfg.data_dir)
    estimated = int((table["distance_method"] == "estimate").sum())
    console.print(f"{len(table)} isochrones écrites dans {out}")
    if estimated:
        console.print(
            f"dont {estimated} estimées (pas de réseau de rues à cet endroit) : disques de la distance "
            f"de marche divisée par {decimal_fr(cfg.walk_detour_factor)}"
        )
