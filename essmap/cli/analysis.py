"""Analysis commands: nearest, locate, coverage, suggest (the proximity and coverage engine)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import geopandas as gpd
import pandas as pd
import typer
from rich.table import Column, Table

from essmap.analysis.siting import DEFAULT_SITE_COUNT
from essmap.cli.app import app, console, err_console, print_json, settings, store
from essmap.errors import InvalidParameterError
from essmap.geocoding import point_from_address
from essmap.labels import (
    CATEGORY_LABELS_FR,
    METHOD_LABELS_FR,
    degrees_fr,
    distance_fr,
    nothing_within_fr,
    number_fr,
    sites_shortfall_fr,
)
from essmap.model import approximate_mask, plain_value, plain_values
from essmap.settings import Settings
from essmap.store import Store

if TYPE_CHECKING:
    from essmap.index import SpatialIndex
    from essmap.network import WalkHit

# Negative longitudes (-1.47) must be read as arguments, not as unknown short options.
NUMBERS = {"ignore_unknown_options": True}

JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON au lieu d'un texte lisible.")]
Lon = Annotated[
    float | None, typer.Argument(help="Longitude WGS 84 (ex. -1.4748) ; ou --address.", show_default=False)
]
Lat = Annotated[
    float | None, typer.Argument(help="Latitude WGS 84 (ex. 43.4929) ; ou --address.", show_default=False)
]
PointLon = Annotated[float, typer.Argument(help="Longitude WGS 84 (ex. -1.4748).", show_default=False)]
PointLat = Annotated[float, typer.Argument(help="Latitude WGS 84 (ex. 43.4929).", show_default=False)]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        "-a",
        help="Une adresse au lieu de lon et lat (base d'adresses importée, ou service national "
        "si ESSMAP_GEOCODER_URL).",
        show_default=False,
    ),
]
Categories = Annotated[
    list[str] | None,
    typer.Option("--category", "-c", help="Catégorie d'acteurs (répétable) ; toutes par défaut."),
]

SupplyCategories = Annotated[
    list[str] | None,
    typer.Option("--category", "-c", help="Catégorie comptée comme approvisionnement (répétable)."),
]


class DistanceMode(StrEnum):
    straight = "straight"
    walk = "walk"


ModeOption = Annotated[
    DistanceMode,
    typer.Option(
        "--mode",
        help="straight : à vol d'oiseau ; walk : à pied, sur le réseau de rues importé "
        "(estimé sans réseau : vol d'oiseau × facteur de détour).",
    ),
]


def decimal_fr(value: float) -> str:
    """A short decimal number with a French decimal comma: "1,3"."""
    return f"{value:g}".replace(".", ",")


def query_point(
    st: Store, cfg: Settings, lon: float | None, lat: float | None, address: str | None
) -> tuple[float, float, str | None]:
    """The point of a command: lon and lat, or the best match of an address (and its label)."""
    if address is not None:
        if lon is not None or lat is not None:
            raise InvalidParameterError("--address", "donnez soit --address, soit lon et lat, pas les deux")
        found_lon, found_lat, label = point_from_address(st, cfg, address)
        return found_lon, found_lat, label
    if lon is None or lat is None:
        missing = "lon" if lon is None else "lat"
        raise InvalidParameterError(missing, f"{missing} manque : donnez lon et lat, ou --address")
    return lon, lat, None


def _place(lon: float, lat: float, label: str | None) -> str:
    """Where a command answers from, for people."""
    return f"« {label} » ({lon:.5f}, {lat:.5f})" if label else f"({lon:.5f}, {lat:.5f})"


def _address_json(address: str | None, lon: float, lat: float, label: str | None) -> dict[str, Any]:
    return {} if address is None else {"address": {"query": address, "label": label, "lon": lon, "lat": lat}}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a table as JSON-ready dicts (missing values are None)."""
    columns = {str(c): plain_values(frame[c]) for c in frame.columns}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


@app.command(context_settings=NUMBERS)
def nearest(
    lon: Lon = None,
    lat: Lat = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Nombre d'acteurs.")] = 3,
    category: Categories = None,
    max_distance: Annotated[
        float | None,
        typer.Option(
            "--max-distance",
            help="Distance maximale, en mètres (30 km par défaut à vol d'oiseau, 5 km à pied ; réglable).",
        ),
    ] = None,
    mode: ModeOption = DistanceMode.straight,
    address: AddressOption = None,
    as_json: JsonOption = False,
) -> None:
    """Les acteurs les plus proches d'un point ou d'une adresse (à vol d'oiseau, ou à pied avec
    --mode walk)."""
    from essmap.index import build_index

    cfg = settings()
    st = store(cfg)
    x, y, label = query_point(st, cfg, lon, lat, address)
    index = build_index(st, cfg)
    if mode is DistanceMode.walk:
        _nearest_walk(
            st,
            index,
            cfg,
            x,
            y,
            k=k,
            categories=category,
            max_distance=max_distance,
            as_json=as_json,
            place=(address, label),
        )
        return
    answer = index.nearest_answer(x, y, k=k, categories=category or None, max_distance_m=max_distance)
    hits = answer.hits
    precision = index.actors["location_precision"].astype(object).to_numpy()
    approximate = approximate_mask(index.actors)
    if as_json:
        print_json(
            {
                **_address_json(address, x, y, label),
                "max_distance_m": answer.max_distance_m,
                "beyond_m": None if answer.beyond_m is None else round(answer.beyond_m, 1),
                "hits": [
                    {
                        "id": h.id,
                        "name": h.name,
                        "category": h.category,
                        "distance_m": round(h.distance_m, 1),
                        "location_precision": plain_value(precision[h.row]),
                        "location_approximate": bool(approximate[h.row]),
                    }
                    for h in hits
                ],
            }
        )
        return
    if not hits and answer.beyond_m is not None:
        console.print(nothing_within_fr(answer.max_distance_m, answer.beyond_m))
        return
    if not hits:
        console.print(f"Aucun acteur trouvé près de {_place(x, y, label)}.")
        return
    console.print(f"Acteurs les plus proches de {_place(x, y, label)}, à vol d'oiseau :", soft_wrap=True)
    for n, h in enumerate(hits, 1):
        label = CATEGORY_LABELS_FR.get(h.category, h.category)
        note = " (position approximative)" if approximate[h.row] else ""
        console.print(f"  {n}. {h.name} — {label} — {distance_fr(h.distance_m)}{note}", soft_wrap=True)


def _walk_record(hit: WalkHit, index: SpatialIndex, url: str | None) -> dict[str, Any]:
    precision = index.actors["location_precision"].astype(object).to_numpy()
    approximate = approximate_mask(index.actors)
    return {
        "id": hit.id,
        "name": hit.name,
        "category": hit.category,
        "distance_m": round(hit.distance_m, 1),
        "walk_minutes": round(hit.walk_minutes, 1),
        "distance_method": hit.distance_method,
        "straight_m": round(hit.straight_m, 1),
        "location_precision": plain_value(precision[hit.row]),
        "location_approximate": bool(approximate[hit.row]),
        "directions_url": url,
    }


def _walk_lines(hits: list[WalkHit], index: SpatialIndex) -> None:
    from essmap.network.walking import minutes_text

    approximate = approximate_mask(index.actors)
    for n, h in enumerate(hits, 1):
        label = CATEGORY_LABELS_FR.get(h.category, h.category)
        note = " (estimation)" if h.distance_method == "estimate" else ""
        if approximate[h.row]:
            note += " (position approximative)"
        walk = f"{distance_fr(h.distance_m)}, {minutes_text(h.walk_minutes)} à pied"
        console.print(f"  {n}. {h.name} — {label} — {walk}{note}", soft_wrap=True)


def _walk_header(method: str, cfg: Settings) -> str:
    if method == "network":
        return "à pied (réseau de rues)"
    factor = decimal_fr(cfg.walk_detour_factor)
    return f"à pied, estimation (vol d'oiseau × {factor} : pas de réseau de rues ici)"


def _nearest_walk(
    st: Store,
    index: SpatialIndex,
    cfg: Settings,
    lon: float,
    lat: float,
    *,
    k: int,
    categories: list[str] | None,
    max_distance: float | None,
    as_json: bool,
    place: tuple[str | None, str | None] = (None, None),
) -> None:
    from essmap.network import build_walking_index, directions_url

    walking = build_walking_index(st, cfg, index=index)
    answer = walking.nearest_answer(lon, lat, k=k, categories=categories or None, max_distance_m=max_distance)
    if as_json:

        def url(hit: WalkHit) -> str:
            to_lon, to_lat = walking.actor_lonlat(hit.row)
            return directions_url(
                cfg.directions_url, from_lon=lon, from_lat=lat, to_lon=to_lon, to_lat=to_lat
            )

        print_json(
            {
                **_address_json(place[0], lon, lat, place[1]),
                "mode": "walk",
                "distance_method": answer.distance_method,
                "walk_speed_kmh": cfg.walk_speed_kmh,
                "max_distance_m": answer.max_distance_m,
                "beyond_m": None if answer.beyond_m is None else round(answer.beyond_m, 1),
                "beyond_method": "straight",
                "hits": [_walk_record(h, index, url(h)) for h in answer.hits],
            }
        )
        return
    if not answer.hits and answer.beyond_m is not None:
        console.print(
            f"Aucun acteur à moins de {distance_fr(answer.max_distance_m)} à pied ; "
            f"le plus proche est à {distance_fr(answer.beyond_m)} à vol d'oiseau."
        )
        return
    if not answer.hits:
        console.print(f"Aucun acteur trouvé près de {_place(lon, lat, place[1])}.")
        return
    how = _walk_header(answer.distance_method, cfg)
    console.print(f"Acteurs les plus proches de {_place(lon, lat, place[1])}, {how} :", soft_wrap=True)
    _walk_lines(answer.hits, index)


@app.command(context_settings=NUMBERS)
def within(
    radius: Annotated[float, typer.Option("--radius", "-r", help="Rayon en mètres.", show_default=False)],
    lon: Lon = None,
    lat: Lat = None,
    category: Categories = None,
    mode: ModeOption = DistanceMode.straight,
    address: AddressOption = None,
    as_json: JsonOption = False,
) -> None:
    """Les acteurs à moins d'une distance d'un point ou d'une adresse (à vol d'oiseau, ou à pied
    avec --mode walk)."""
    from essmap.index import build_index

    cfg = settings()
    st = store(cfg)
    x, y, label = query_point(st, cfg, lon, lat, address)
    index = build_index(st, cfg)
    if mode is DistanceMode.walk:
        from essmap.network import build_walking_index

        walking = build_walking_index(st, cfg, index=index)
        hits = walking.within(x, y, radius_m=radius, categories=category or None)
        method = walking.point_method(x, y)
        if as_json:
            print_json(
                {
                    **_address_json(address, x, y, label),
                    "mode": "walk",
                    "distance_method": method,
                    "radius_m": radius,
                    "hits": [_walk_record(h, index, None) for h in hits],
                }
            )
            return
        console.print(f"{len(hits)} acteur(s) à moins de {distance_fr(radius)}, {_walk_header(method, cfg)}")
        _walk_lines(hits, index)
        return
    found = index.within(x, y, radius_m=radius, categories=category or None)
    if as_json:
        print_json(
            {
                **_address_json(address, x, y, label),
                "mode": "straight",
                "radius_m": radius,
                "hits": [
                    {"id": h.id, "name": h.name, "category": h.category, "distance_m": round(h.distance_m, 1)}
                    for h in found
                ],
            }
        )
        return
    console.print(f"{len(found)} acteur(s) à moins de {distance_fr(radius)} à vol d'oiseau")
    for n, h in enumerate(found, 1):
        label = CATEGORY_LABELS_FR.get(h.category, h.category)
        console.print(f"  {n}. {h.name} — {label} — {distance_fr(h.distance_m)}", soft_wrap=True)


@app.command(context_settings=NUMBERS)
def locate(lon: PointLon, lat: PointLat, as_json: JsonOption = False) -> None:
    """Le quartier prioritaire (QPV) qui contient un point, ou le plus proche, par génération."""
    from essmap.index import build_index

    cfg = settings()
    index = build_index(store(cfg), cfg)
    found = index.locate(lon, lat)
    if as_json:
        print_json(
            {
                str(gen): None
                if rel is None
                else {
                    "code": rel.code,
                    "name": rel.name,
                    "relation": rel.relation,
                    "distance_m": round(rel.distance_m, 1),
                }
                for gen, rel in found.items()
            }
        )
        return
    if not found:
        console.print("Aucun quartier prioritaire dans les données.")
        return
    console.print(f"Point ({lon:.5f}, {lat:.5f}) :")
    for gen, rel in found.items():
        if rel is None:
            console.print(f"  QPV {gen} : aucun quartier de cette liste dans ce territoire")
        elif rel.relation == "inside":
            console.print(f"  QPV {gen} : dans le quartier {rel.code} « {rel.name} »", soft_wrap=True)
        elif rel.relation == "band":
            console.print(
                f"  QPV {gen} : à {distance_fr(rel.distance_m)} du quartier {rel.code} « {rel.name} », "
                f"dans la bande de {distance_fr(index.band_m)} (quartier vécu)",
                soft_wrap=True,
            )
        else:
            console.print(
                f"  QPV {gen} : hors des quartiers ; le plus proche est {rel.code} « {rel.name} », "
                f"à {distance_fr(rel.distance_m)}",
                soft_wrap=True,
            )


def _walk_arguments(st: Store, cfg: Settings, mode: DistanceMode) -> dict[str, Any]:
    """The mode arguments of an analysis: in walk mode, the stored network and the walking options."""
    if mode is DistanceMode.straight:
        return {"mode": "straight"}
    from essmap.network import WalkOptions, network_from_store

    return {"mode": "walk", "network": network_from_store(st), "walk": WalkOptions.from_settings(cfg)}


def _threshold_fr(metres: float, mode: DistanceMode, cfg: Settings) -> str:
    """A threshold for people; in walk mode with its walking time: "400 m (5 min)"."""
    if mode is DistanceMode.straight:
        return distance_fr(metres)
    from essmap.network.walking import minutes_text

    return f"{distance_fr(metres)} ({minutes_text(metres / (cfg.walk_speed_kmh * 1000 / 60))})"


def _distances_fr(methods: pd.Series, cfg: Settings) -> str:
    """How an analysis measured its distances, for its title."""
    found = set(methods.dropna().astype(str))
    if not found or found == {"straight"}:
        return "distances à vol d'oiseau"
    if found == {"network"}:
        return "distances à pied sur le réseau de rues"
    factor = decimal_fr(cfg.walk_detour_factor)
    if found == {"estimate"}:
        return f"distances à pied estimées : vol d'oiseau × {factor}, pas de réseau de rues"
    return f"distances à pied, sur le réseau de rues ou estimées (vol d'oiseau × {factor})"


def _nearest_reference_fr(methods: pd.Series) -> str:
    """Where the nearest supply point of a QPV is measured from (see ``Zone.nearest_supply``)."""
    found = set(methods.dropna().astype(str))
    if found <= {"straight"}:
        return (
            "Point le plus proche : distance à vol d'oiseau depuis le contour du quartier (0 m quand "
            "un point d'approvisionnement est dans le quartier)."
        )
    if found == {"estimate"}:
        return (
            "Point le plus proche : estimé depuis le contour du quartier (vol d'oiseau × détour ; 0 m "
            "quand un point d'approvisionnement est dans le quartier)."
        )
    return "Point le plus proche : mesuré à pied depuis le centre du quartier."


def out_format(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in {".csv", ".geojson", ".json", ".gpkg"}:
        raise InvalidParameterError(
            "out", f"extension « {suffix} » non prise en charge : .csv, .geojson ou .gpkg"
        )
    return {".csv": "csv", ".gpkg": "gpkg"}.get(suffix, "geojson")


@app.command()
def coverage(
    threshold: Annotated[
        list[float] | None,
        typer.Option(
            "--threshold", "-t", help="Seuil de distance en mètres (répétable) ; 400 et 800 par défaut."
        ),
    ] = None,
    category: SupplyCategories = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Écrire le tableau (.csv ou .geojson).")
    ] = None,
    mode: ModeOption = DistanceMode.straight,
    as_json: JsonOption = False,
) -> None:
    """Couverture des QPV par les points d'approvisionnement en circuit court, par seuil (mètres,
    à vol d'oiseau ou à pied avec --mode walk)."""
    from essmap.analysis.coverage import coverage as compute

    cfg = settings()
    fmt = out_format(out) if out is not None else None
    st = store(cfg)
    qpv = st.load_neighbourhoods()
    table = compute(
        qpv,
        st.load_actors(),
        thresholds_m=threshold or cfg.thresholds_m,
        supply_categories=category or cfg.supply_categories,
        grid=st.load_population_grid(),
        low_access_share=cfg.low_access_share,
        low_access_residents=cfg.low_access_residents,
        max_threshold_m=cfg.max_threshold_m,
        **_walk_arguments(st, cfg, mode),
    )
    if out is not None and fmt is not None:
        from essmap.sources import table_to_file

        shapes = qpv[["generation", "code", "geometry"]].astype({"code": "string"})
        geo = gpd.GeoDataFrame(
            table.merge(shapes, on=["generation", "code"], how="left"), geometry="geometry", crs=qpv.crs
        )
        table_to_file(geo, out, fmt=fmt, layer="coverage", points=False, protected_dir=cfg.data_dir)
    if as_json:
        print_json(_records(table))
        return
    if table.empty:
        console.print("Aucun quartier prioritaire dans les données.")
        return
    # figures never break across lines (headers do, on their spaces); a long name folds inside
    # its cell rather than being cut
    grid = Table(
        Column("QPV", overflow="fold", ratio=1),
        Column("Seuil", no_wrap=True, justify="right"),
        Column("Surface\ncouverte", no_wrap=True, justify="right"),
        Column("Habitants\nà portée", no_wrap=True, justify="right"),
        Column("Points", no_wrap=True, justify="right"),
        Column("Point le\nplus\nproche", justify="right"),
        Column("Accès\nfaible", no_wrap=True),
        title=f"Couverture des QPV ({_distances_fr(table['distance_method'], cfg)})",
    )
    for row in table.itertuples():
        if row.method == "none":
            people = "inconnus"
        else:
            people = f"{number_fr(row.residents_covered)} / {number_fr(row.residents_total)}"
        if pd.isna(row.nearest_supply_m):
            closest = "—"
        elif row.nearest_supply_m <= 0:
            closest = "dans le quartier (0 m)"
        else:
            closest = distance_fr(row.nearest_supply_m)
        grid.add_row(
            f"{row.code} {row.name}",
            _threshold_fr(row.threshold_m, mode, cfg),
            f"{row.area_share * 100:.0f} %",
            people,
            str(row.supply_points),
            closest,
            "oui" if row.low_access else "non",
        )
    console.print(grid)
    methods = ", ".join(METHOD_LABELS_FR[m] for m in dict.fromkeys(table["method"]))
    console.print(f"Habitants : {methods}.")
    schematic = qpv.loc[qpv["geometry_source"] == "schematic", "code"].tolist()
    if schematic:
        console.print(
            "Contours schématiques (pas les limites officielles), résultats indicatifs : "
            f"{', '.join(schematic)}.",
            soft_wrap=True,
        )
    console.print(_nearest_reference_fr(table["distance_method"]))
    console.print(
        f"Accès faible : au moins {cfg.low_access_share * 100:.0f} % ou {cfg.low_access_residents} habitants "
        "au-delà du seuil."
    )
    if out is not None:
        console.print(f"Tableau écrit dans {out}")


@app.command()
def gaps(
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", "-t", help="Seuil de distance en mètres ; 400 par défaut (réglable)."),
    ] = None,
    category: SupplyCategories = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Écrire les zones (.geojson, .gpkg ou .csv).")
    ] = None,
    mode: ModeOption = DistanceMode.straight,
    as_json: JsonOption = False,
) -> None:
    """Zones non desservies : les parties des QPV au-delà du seuil de tout point
    d'approvisionnement, avec leur surface et leurs habitants (à pied avec --mode walk)."""
    from essmap.analysis.coverage import coverage_gaps

    cfg = settings()
    fmt = out_format(out) if out is not None else None
    st = store(cfg)
    used = threshold if threshold is not None else cfg.default_threshold_m
    table = coverage_gaps(
        st.load_neighbourhoods(),
        st.load_actors(),
        threshold_m=used,
        supply_categories=category or cfg.supply_categories,
        grid=st.load_population_grid(),
        max_threshold_m=cfg.max_threshold_m,
        **_walk_arguments(st, cfg, mode),
    )
    if out is not None and fmt is not None:
        from essmap.sources import table_to_file

        table_to_file(table, out, fmt=fmt, layer="gaps", points=False, protected_dir=cfg.data_dir)
    if as_json:
        print_json(_records(pd.DataFrame(table.drop(columns="geometry"))))
        return
    title = f"Zones à plus de {_threshold_fr(used, mode, cfg)} de tout point d'approvisionnement"
    if table.empty:
        console.print(f"{title} : aucune, chaque quartier est entièrement desservi.")
        return
    grid = Table(
        "QPV",
        "Surface non desservie",
        "Habitants",
        title=f"{title} ({_distances_fr(table['distance_method'], cfg)})",
    )
    for row in table.itertuples():
        people = "inconnus" if row.method == "none" or pd.isna(row.residents) else number_fr(row.residents)
        grid.add_row(f"{row.code} {row.name}", f"{row.area_m2 / 10_000:.2f} ha".replace(".", ","), people)
    console.print(grid)
    if out is not None:
        console.print(f"Zones écrites dans {out}")


@app.command()
def suggest(
    count: Annotated[
        int, typer.Option("--count", "-n", help="Nombre de sites à proposer (comme l'API).")
    ] = DEFAULT_SITE_COUNT,
    candidates: Annotated[
        Path | None,
        typer.Option(
            "--candidates", help="Fichier de sites candidats (CSV lon/lat, GeoJSON…) ; grille sinon."
        ),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", "-t", help="Seuil de distance en mètres (400 par défaut).")
    ] = None,
    spacing: Annotated[
        float | None,
        typer.Option("--spacing", help="Pas de la grille de candidats, en mètres (100 par défaut)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Écrire les sites (.geojson ou .csv).")
    ] = None,
    mode: ModeOption = DistanceMode.straight,
    as_json: JsonOption = False,
) -> None:
    """Où ouvrir de nouveaux points d'approvisionnement pour toucher le plus d'habitants non couverts."""
    from essmap.analysis.siting import site_suggestions

    cfg = settings()
    fmt = out_format(out) if out is not None else None
    st = store(cfg)
    cands = None
    if candidates is not None:
        from essmap.sources import points_from_file

        cands = points_from_file(candidates)
    answer = site_suggestions(
        st.load_neighbourhoods(),
        st.load_actors(),
        count=count,
        threshold_m=threshold if threshold is not None else cfg.default_threshold_m,
        supply_categories=cfg.supply_categories,
        candidates=cands,
        spacing_m=spacing if spacing is not None else cfg.siting_spacing_m,
        grid=st.load_population_grid(),
        max_count=cfg.max_suggestions,
        max_threshold_m=cfg.max_threshold_m,
        **_walk_arguments(st, cfg, mode),
    )
    sites, shortfall = answer.sites, sites_shortfall_fr(answer)
    if out is not None and fmt is not None:
        from essmap.sources import table_to_file

        table_to_file(sites, out, fmt=fmt, layer="suggestions", points=True, protected_dir=cfg.data_dir)
    if as_json:
        frame = pd.DataFrame(sites.drop(columns="geometry"))
        frame["lon"] = sites.geometry.x.round(6)
        frame["lat"] = sites.geometry.y.round(6)
        print_json(_records(frame))
        if shortfall:
            err_console.print(shortfall, soft_wrap=True)
        return
    used = threshold if threshold is not None else cfg.default_threshold_m
    how = _distances_fr(sites["distance_method"], cfg)
    if not sites.empty:
        console.print(f"Sites proposés (seuil {_threshold_fr(used, mode, cfg)}, {how} ; lon, lat WGS 84) :")
    for row in sites.itertuples():
        where = f"({degrees_fr(row.geometry.x, row.geometry.y)})"
        if not pd.isna(row.candidate_id):
            where = f"{row.candidate_id} {where}"
        qpv = "" if pd.isna(row.code) else f", surtout pour le QPV {row.code}"
        console.print(
            f"  {row.rank}. {where} : {number_fr(row.gain_residents)} habitants de plus à portée "
            f"(cumul {number_fr(row.cumulative_residents)}){qpv}",
            soft_wrap=True,
        )
    if shortfall:
        console.print(shortfall, soft_wrap=True)
    if out is not None:
        console.print(f"Sites écrits dans {out}")
