"""Data commands: ``info``, ``import`` and ``export``."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from essmap.analysis.summary import stale_actors, summarise
from essmap.cli.app import app, console, err_console, print_json, progress_stages, settings, store
from essmap.cli.language import EssmapTyper
from essmap.i18n import ngettext
from essmap.importing import ImportReport, import_actors, import_population, import_qpv
from essmap.labels import CATEGORY_LABELS_FR, GEOMETRY_SOURCE_LABELS_FR, PRECISION_LABELS_FR, label_of
from essmap.sources import table_to_file

import_app = EssmapTyper(
    help="Importer des données (QPV, population, acteurs, carroyage, adresses, communes).",
    no_args_is_help=True,
)
export_app = EssmapTyper(help="Exporter des données en GeoJSON, CSV ou GeoPackage.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

JsonOption = Annotated[
    bool, typer.Option("--json", help="Sortie JSON (un objet) au lieu d'un texte lisible.")
]


@app.command()
def info(as_json: JsonOption = False) -> None:
    """Résumé des données : quartiers, acteurs, étendue et provenance."""
    cfg = settings()
    st = store(cfg)
    actors = st.load_actors()
    summary = summarise(st.load_neighbourhoods(), actors, st.load_population_grid())
    summary["data_dir"] = str(cfg.data_dir)
    stale = stale_actors(actors, today=date.today(), stale_after_days=cfg.stale_after_days)
    summary["stale_actors"] = {
        "stale_after_days": cfg.stale_after_days,
        "count": len(stale),
        "never_verified": int(stale["days_since_verified"].isna().sum()),
        "actors": stale.astype(object).where(stale.notna(), None).to_dict(orient="records"),
    }
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]Données[/] : {cfg.data_dir}")
    by_gen = summary["neighbourhoods_by_generation"]
    gens = ", ".join(f"{n} de {g}" for g, n in by_gen.items()) or "aucun"  # type: ignore[attr-defined]
    console.print(f"[bold]Quartiers prioritaires (QPV)[/] : {summary['neighbourhoods']} ({gens})")
    console.print(
        f"[bold]Acteurs[/] : {summary['actors']} dont {summary['located_actors']} localisés "
        f"et {summary['unlocated_actors']} sans localisation"
    )
    if summary["approximate_locations"]:
        console.print(f"  dont {summary['approximate_locations']} à la position approximative")
    table = Table("Catégorie", "Acteurs", "Localisés")
    located = summary["located_actors_by_category"]
    for cat, n in summary["actors_by_category"].items():  # type: ignore[attr-defined]
        table.add_row(CATEGORY_LABELS_FR.get(cat, cat), str(n), str(located.get(cat, 0)))  # type: ignore[attr-defined]
    console.print(table)
    bbox = summary["bbox"]
    if bbox:
        console.print("[bold]Étendue[/] (lon/lat WGS 84) : " + ", ".join(f"{v:.5f}" for v in bbox))  # type: ignore[attr-defined]
    prov = summary["provenance"]
    console.print("[bold]Provenance[/]")
    labels = {
        "geometry_source": "contours des QPV",
        "population_sources": "population",
        "location_precision": "précision des localisations",
        "coordinates_source": "origine des coordonnées",
    }
    codes = {"geometry_source": GEOMETRY_SOURCE_LABELS_FR, "location_precision": PRECISION_LABELS_FR}
    for key, label in labels.items():
        values = prov[key]  # type: ignore[index]
        table_of = codes.get(key)
        text = (
            "; ".join(f"{label_of(table_of, k) if table_of else k} : {v}" for k, v in values.items()) or "—"
        )
        console.print(f"  {label} : {text}")
    if summary["population_grid_squares"]:
        console.print(f"[bold]Carroyage de population[/] : {summary['population_grid_squares']} carreaux")
    _print_stale(stale, cfg.stale_after_days)


#: Stale actors listed by ``essmap info`` (``--json`` lists them all).
STALE_SHOWN = 20


def _print_stale(stale: pd.DataFrame, stale_after_days: int) -> None:
    never = int(stale["days_since_verified"].isna().sum())
    console.print(
        f"[bold]Fiches à revérifier[/] (non vérifiées depuis plus de {stale_after_days} jours) : "
        f"{len(stale)}, dont {never} jamais vérifiée(s)"
    )
    if stale.empty:
        return
    table = Table("Acteur", "Identifiant", "Commune", "Vérifiée le")
    for row in stale.head(STALE_SHOWN).itertuples(index=False):
        when = (
            "jamais"
            if pd.isna(row.last_verified)
            else f"{row.last_verified} (il y a {row.days_since_verified} j)"
        )
        table.add_row(str(row.name), str(row.id), "" if pd.isna(row.commune) else str(row.commune), when)
    console.print(table)
    if len(stale) > STALE_SHOWN:
        console.print(f"  … et {len(stale) - STALE_SHOWN} autre(s) : essmap info --json les liste toutes")


def _report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    for warning in report.warnings:
        err_console.print(f"[yellow]Attention[/] : {warning}", soft_wrap=True)
    what = {"qpv": "quartiers", "actors": "acteurs", "population": "populations"}[report.kind]
    read = ngettext("{n} entrée lue", "{n} entrées lues", report.read).format(n=report.read)
    console.print(f"{report.file} : {read} ; {what} créés : {report.created}, mis à jour : {report.updated}")
    if report.merged:
        merged = len(report.merged)
        console.print(
            ngettext(
                "{n} quartier assemblé à partir de plusieurs entités (une par commune)",
                "{n} quartiers assemblés à partir de plusieurs entités (une par commune)",
                merged,
            ).format(n=merged)
        )


FileArg = Annotated[Path, typer.Argument(help="Fichier à importer.", show_default=False)]


@import_app.command("qpv")
def import_qpv_cmd(
    file: FileArg,
    generation: Annotated[
        int | None, typer.Option(help="Génération (2015 ou 2024) ; déduite du fichier sinon.")
    ] = None,
    geometry_source: Annotated[
        str | None, typer.Option(help="official, schematic ou other (official par défaut).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Provenance (nom du fichier par défaut).")] = None,
    population: Annotated[
        Path | None, typer.Option(help="Table CSV de population (code, population, référence) à joindre.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Encodage des attributs d'un shapefile sans fichier .cpg (ex. UTF-8).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Importer des contours de QPV (shapefile officiel 2015, GeoJSON/GeoPackage 2024…)."""
    st = store()
    with progress_stages("Import des QPV", 5) as progress:
        report = import_qpv(
            st,
            file,
            generation=generation,
            geometry_source=geometry_source,
            source=source,
            population=population,
            encoding=encoding,
            progress=progress,
        )
    _report(report, as_json)


@import_app.command("actors")
def import_actors_cmd(
    file: FileArg,
    crs: Annotated[
        str | None, typer.Option(help="Système de coordonnées des colonnes x/y d'un CSV (ex. EPSG:2154).")
    ] = None,
    allow_anywhere: Annotated[
        bool, typer.Option(help="Accepter des positions hors de France métropolitaine et des DOM.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Importer des acteurs (CSV, GeoJSON ou GeoPackage) ; mise à jour par identifiant."""
    cfg = settings()
    st = store(cfg)
    with progress_stages("Import des acteurs", 4) as progress:
        report = import_actors(
            st,
            file,
            crs=crs,
            allow_anywhere=allow_anywhere,
            duplicate_distance_m=cfg.duplicate_distance_m,
            progress=progress,
        )
    _report(report, as_json)


@import_app.command("population")
def import_population_cmd(
    file: FileArg,
    reference: Annotated[
        str | None, typer.Option(help="Référence des chiffres (ex. « Insee RP 2013 »).")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Année de référence des chiffres.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Joindre une table de population par code de QPV (CSV : code_qp, population, référence)."""
    report = import_population(store(), file, reference=reference, year=year)
    _report(report, as_json)


class Layer(StrEnum):
    qpv = "qpv"
    actors = "actors"


class Format(StrEnum):
    geojson = "geojson"
    csv = "csv"
    gpkg = "gpkg"


@export_app.callback(invoke_without_command=True)
def _export_help() -> None:
    """Exporter des données en GeoJSON, CSV ou GeoPackage."""


def _export(layer: Layer, fmt: Format, out: Path) -> None:
    cfg = settings()
    st = store(cfg)
    table = st.load_neighbourhoods() if layer is Layer.qpv else st.load_actors()
    table_to_file(
        table, out, fmt=fmt.value, layer=layer.value, points=layer is Layer.actors, protected_dir=cfg.data_dir
    )
    written = ngettext("{n} entrée écrite", "{n} entrées écrites", len(table)).format(n=len(table))
    console.print(f"{written} dans {out}")


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Format de sortie.")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Fichier de sortie.")]


@export_app.command("qpv")
def export_qpv(out: OutOption, fmt: FormatOption = Format.geojson) -> None:
    """Exporter les quartiers prioritaires."""
    _export(Layer.qpv, fmt, out)


@export_app.command("actors")
def export_actors(out: OutOption, fmt: FormatOption = Format.geojson) -> None:
    """Exporter les acteurs (les acteurs sans localisation ont une géométrie vide)."""
    _export(Layer.actors, fmt, out)


@import_app.command("grid")
def import_grid_cmd(file: FileArg, as_json: JsonOption = False) -> None:
    """Importer un carroyage de population Insee (Filosofi, carreaux de 200 m, CSV) ; remplace l'ancien."""
    from essmap.importing import import_grid

    with progress_stages("Import du carroyage", 4) as progress:
        report = import_grid(store(), file, progress=progress)
    if as_json:
        print_json(report.as_dict())
        return
    for warning in report.warnings:
        err_console.print(f"[yellow]Attention[/] : {warning}", soft_wrap=True)
    read = ngettext("{n} carreau lu", "{n} carreaux lus", report.read).format(n=report.read)
    console.print(f"{report.file} : {read} ; carroyage de population remplacé")


@import_app.command("communes")
def import_communes_cmd(
    file: FileArg,
    source: Annotated[str | None, typer.Option(help="Provenance (nom du fichier par défaut).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Importer des contours de communes (fichier ANCT, IGN Admin Express…) : fond des cartes hors ligne."""
    from essmap.importing import import_communes

    with progress_stages("Import des communes", 4) as progress:
        report = import_communes(store(), file, source=source, progress=progress)
    if as_json:
        print_json(report.as_dict())
        return
    for warning in report.warnings:
        err_console.print(f"[yellow]Attention[/] : {warning}", soft_wrap=True)
    read = ngettext("{n} entité lue", "{n} entités lues", report.read).format(n=report.read)
    stored = ngettext("{n} commune", "{n} communes", report.created).format(n=report.created)
    console.print(f"{report.file} : {read} ; {stored} pour le fond des cartes (remplace les précédentes)")
