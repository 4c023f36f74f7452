"""Map commands: ``essmap map resident|planner|static``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from essmap.analysis.views import planner_view, static_view
from essmap.cli.analysis import DistanceMode, ModeOption
from essmap.cli.app import app, console, settings, store
from essmap.cli.language import EssmapTyper
from essmap.i18n import _
from essmap.maps.planner import render_planner_map
from essmap.maps.resident import render_resident_map
from essmap.maps.static import image_size, render_static_map
from essmap.model import located_mask
from essmap.settings import Settings
from essmap.sources import check_output_path, write_output

map_app = EssmapTyper(
    help="Produire des cartes : pages HTML interactives (habitants, aménageurs) ou image PNG.",
    no_args_is_help=True,
)
app.add_typer(map_app, name="map")

OutHtml = Annotated[Path, typer.Option("--out", "-o", help="Fichier HTML à écrire.", show_default=False)]
OutPng = Annotated[Path, typer.Option("--out", "-o", help="Fichier PNG à écrire.", show_default=False)]
Threshold = Annotated[
    float | None,
    typer.Option(
        "--threshold", "-t", help="Seuil en mètres, à vol d'oiseau (par défaut le plus court des réglages)."
    ),
]


def _settings_for(out: Path) -> Settings:
    """The settings, once the output path is known to be writable where allowed (before rendering)."""
    cfg = settings()
    check_output_path(out, protected_dir=cfg.data_dir)
    return cfg


def _write(out: Path, data: str | bytes, cfg: Settings) -> None:
    """Write a map through the one safe output writer (never inside the data folder)."""
    write_output(out, data, protected_dir=cfg.data_dir)


@map_app.command("resident")
def resident(out: OutHtml) -> None:
    """Carte des habitants : points d'approvisionnement en circuit court, QPV, les plus proches."""
    cfg = _settings_for(out)
    st = store(cfg)
    neighbourhoods, actors = st.load_neighbourhoods(), st.load_actors()
    html = render_resident_map(neighbourhoods, actors, settings=cfg, communes=st.load_communes())
    _write(out, html, cfg)
    located = int(located_mask(actors).sum())
    console.print(
        f"Carte des habitants écrite dans {out} : {located} acteurs placés, "
        f"{len(actors) - located} sans localisation (listés à part), {len(neighbourhoods)} quartiers."
    )
    if not cfg.tile_url:
        console.print("Sans fond de carte (ESSMAP_TILE_URL est vide).")


@map_app.command("planner")
def planner(
    out: OutHtml,
    threshold: Threshold = None,
    sites: Annotated[
        int, typer.Option("--sites", help="Nombre de nouveaux sites à suggérer (0 : aucun).")
    ] = 3,
    mode: ModeOption = DistanceMode.straight,
) -> None:
    """Carte des aménageurs : couverture des QPV à un seuil, zones non desservies, sites suggérés
    (à pied avec --mode walk : seuil marché et isochrones des points d'approvisionnement)."""
    cfg = _settings_for(out)
    st = store(cfg)
    neighbourhoods, actors = st.load_neighbourhoods(), st.load_actors()
    network = None
    if mode is DistanceMode.walk:
        from essmap.network import network_from_store

        network = network_from_store(st)
    view = planner_view(
        neighbourhoods,
        actors,
        settings=cfg,
        threshold_m=threshold,
        grid=st.load_population_grid(),
        sites=sites,
        addresses=st.load_addresses(),
        mode=mode.value,
        network=network,
    )
    html = render_planner_map(neighbourhoods, actors, view, settings=cfg, communes=st.load_communes())
    _write(out, html, cfg)
    used = view.coverage.threshold_m
    if mode is DistanceMode.straight:
        console.print(f"Carte des aménageurs écrite dans {out} (seuil : {used:g} m à vol d'oiseau).")
        return
    how = (
        _("isochrones sur le réseau de rues")
        if network is not None
        else _("isochrones estimées : pas de réseau de rues importé (vol d'oiseau × {factor})").format(
            factor=f"{cfg.walk_detour_factor:g}".replace(".", ",")
        )
    )
    console.print(
        _("Carte des aménageurs écrite dans {out} (seuil : {threshold} m à pied ; {how}).").format(
            out=out, threshold=f"{used:g}", how=how
        )
    )


@map_app.command("static")
def static(
    out: OutPng,
    qpv: Annotated[
        str | None, typer.Option("--qpv", help="Code du quartier à cartographier (tous sinon).")
    ] = None,
    generation: Annotated[
        int | None, typer.Option("--generation", help="Génération des QPV (la plus récente sinon).")
    ] = None,
    threshold: Threshold = None,
    dpi: Annotated[int, typer.Option("--dpi", help="Résolution en points par pouce.")] = 150,
) -> None:
    """Image PNG d'un QPV ou de tout le territoire avec sa couverture (sans fond de carte)."""
    cfg = _settings_for(out)
    st = store(cfg)
    neighbourhoods, actors = st.load_neighbourhoods(), st.load_actors()
    view = static_view(
        neighbourhoods,
        actors,
        settings=cfg,
        qpv_code=qpv,
        generation=generation,
        threshold_m=threshold,
        grid=st.load_population_grid(),
    )
    png = render_static_map(neighbourhoods, actors, view, settings=cfg, dpi=dpi)
    _write(out, png, cfg)
    width, height = image_size(png)
    what = f"du quartier {qpv}" if qpv else "du territoire"
    console.print(f"Carte {what} écrite dans {out} ({width} × {height} pixels).")
