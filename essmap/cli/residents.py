"""Residents' commands: address search, schedules (next pick-up, open at a time, calendar file),
and the import of the address file behind the local geocoder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from essmap.cli.app import app, console, err_console, print_json, progress_stages, settings, store
from essmap.cli.data import import_app
from essmap.geocoding import MAX_LIMIT, feature_collection, geocoder_for
from essmap.importing import import_addresses
from essmap.labels import CATEGORY_LABELS_FR
from essmap.schedules import (
    PARIS,
    OpenAround,
    actor_ical,
    describe_pickup,
    describe_schedule,
    format_schedule,
    next_pickup,
    parse_schedule,
    schedule_info,
)
from essmap.sources import write_output

JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON au lieu d'un texte lisible.")]
_TYPES_FR = {"housenumber": "adresse", "street": "voie", "municipality": "commune"}


@import_app.command("addresses")
def import_addresses_cmd(
    file: Annotated[Path, typer.Argument(help="Fichier BAN d'un département (CSV).", show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Importer le fichier d'adresses BAN d'un département (recherche locale) ; remplace l'ancien."""
    with progress_stages("Import des adresses", 4) as progress:
        report = import_addresses(store(), file, progress=progress)
    if as_json:
        print_json(report.as_dict())
        return
    for warning in report.warnings:
        err_console.print(f"[yellow]Attention[/] : {warning}", soft_wrap=True)
    console.print(f"{report.file} : {report.read} adresses lues ; adresses de recherche remplacées")


@app.command()
def geocode(
    text: Annotated[str, typer.Argument(help="Adresse, voie, commune ou code postal.", show_default=False)],
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="Nombre de résultats.")
    ] = 5,
    autocomplete: Annotated[
        bool, typer.Option(help="Lire le dernier mot comme un début de mot (saisie en cours).")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Sortie GeoJSON (format du service national d'adresses).")
    ] = False,
) -> None:
    """Chercher une adresse (base d'adresses importée, ou service national si ESSMAP_GEOCODER_URL)."""
    cfg = settings()
    results = geocoder_for(store(cfg), cfg).search(text, limit=limit, autocomplete=autocomplete)
    if as_json:
        print_json(feature_collection(results, query=text, limit=limit))
        return
    if not results:
        console.print(f"Aucune adresse trouvée pour « {text} ».")
        return
    table = Table("Adresse", "Type", "Score", "Longitude", "Latitude")
    for r in results:
        table.add_row(r.label, _TYPES_FR[r.type], f"{r.score:.2f}", f"{r.lon:.6f}", f"{r.lat:.6f}")
    console.print(table)


@app.command()
def schedule(
    actor_id: Annotated[str, typer.Argument(help="Identifiant de l'acteur.", show_default=False)],
    ical: Annotated[
        Path | None, typer.Option("--ical", help="Écrire l'agenda de l'acteur (fichier .ics).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Les horaires d'un acteur, son prochain retrait, et son agenda iCalendar."""
    cfg = settings()
    record = store(cfg).get_actor(actor_id)
    now = datetime.now(PARIS)
    info = schedule_info(record.fields.get("schedule"), now=now)
    if ical is not None:
        point = record.geometry
        data = actor_ical(
            record.fields,
            lon=None if point is None else point.x,
            lat=None if point is None else point.y,
            now=now,
        )
        write_output(ical, data, protected_dir=cfg.data_dir)
    if as_json:
        print_json({"id": record.id, "name": record.fields.get("name"), **info})
        return
    console.print(f"[bold]{record.fields.get('name')}[/]")
    if info["schedule"] is None:
        console.print("Horaires non renseignés.")
        return
    parsed = parse_schedule(info["schedule"])
    console.print(f"Horaires : {describe_schedule(parsed)}", soft_wrap=True)
    console.print(f"Forme normalisée : {format_schedule(parsed)}", soft_wrap=True, markup=False)
    pickup = next_pickup(parsed, now)
    if pickup is None:
        console.print("Prochain retrait : aucun créneau à venir.")
    else:
        console.print(f"Prochain retrait : {describe_pickup(pickup)}")
    if ical is not None:
        console.print(f"Agenda écrit dans {ical}")


@app.command("open")
def open_at(
    day: Annotated[str, typer.Argument(help="Jour (lun, mar… ou lundi, mardi…).", show_default=False)],
    time_text: Annotated[
        str, typer.Argument(metavar="HEURE", help="Heure (18:45, 18h45).", show_default=False)
    ],
    tolerance: Annotated[
        float, typer.Option("--tolerance", min=0, max=1440, help="Marge en minutes autour de l'heure.")
    ] = 30,
    as_json: JsonOption = False,
) -> None:
    """Les acteurs ouverts (un créneau de retrait) un jour de la semaine autour d'une heure."""
    cfg = settings()
    actors = store(cfg).load_actors()
    wanted = OpenAround(day, time_text, tolerance_min=tolerance, on_or_after=datetime.now(PARIS).date())
    selected = actors[wanted.mask(actors["schedule"])]
    now = datetime.now(PARIS)
    rows = [
        {
            "id": row["id"],
            "name": row["name"],
            "category": row["category"],
            **schedule_info(row["schedule"], now=now),
        }
        for _, row in selected.iterrows()
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"Aucun acteur ouvert {day} vers {time_text} (à {tolerance:g} minutes près).")
        return
    for row in rows:
        label = CATEGORY_LABELS_FR.get(row["category"], row["category"])
        console.print(f"  {row['name']} — {label} — {row['schedule_description']}", soft_wrap=True)
