"""Reader of actors: CSV (lon/lat, or x/y with a CRS), GeoJSON and GeoPackage."""

from __future__ import annotations

import json
import re
import warnings as warnings_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essmap.errors import InvalidInputError, Problem
from essmap.geo import TERRITORIES, territory_keys
from essmap.model import (
    APPROXIMATE_PRECISIONS,
    CATEGORIES,
    LOCATION_PRECISIONS,
    WGS84,
    actor_frame,
)
from essmap.schedules import schedule_problem
from essmap.sources.common import (
    Progress,
    clean_text,
    control_character_problems,
    find_column,
    no_progress,
    slugify,
)
from essmap.sources.coordinates import (
    COORDINATE_ALIASES,
    ID_ALIASES,
    RawCoordinates,
    csv_coordinates,
    point_coordinates,
    to_wgs84,
)
from essmap.sources.inputs import Source, input_format, open_input, read_csv_table, read_geo_file


@dataclass
class ParsedActors:
    """Actors read from a file."""

    table: gpd.GeoDataFrame
    file: str
    rows_read: int
    warnings: list[Problem] = field(default_factory=list)


# --- actors -----------------------------------------------------------------------------------

_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ID_ALIASES,
    "name": ("name", "nom", "actor", "acteur"),
    "category": ("category", "categorie", "categorie_essmap"),
    "address": ("address", "adresse", "address_as_published"),
    "commune": ("commune", "ville", "city", "lib_com"),
    **COORDINATE_ALIASES,
    "location_precision": ("location_precision", "precision"),
    "location_approximate": ("location_approximate", "approximate", "approximatif", "position_approximative"),
    "coordinates_source": ("coordinates_source", "source_coordonnees"),
    "website": ("website", "site", "site_web", "url"),
    "email": ("email", "e_mail", "mail", "courriel"),
    "phone": ("phone", "telephone", "tel"),
    "description": ("description",),
    "schedule": ("schedule", "horaires", "opening_hours", "when"),
    "source": ("source", "source_url"),
    "last_verified": ("last_verified", "verified", "date_verification"),
}
#: Fields that may hold several lines (tab, line feed and carriage return allowed).
MULTILINE_FIELDS = frozenset({"address", "description", "schedule"})

_TRUTH = {
    **dict.fromkeys(("true", "yes", "oui", "vrai", "1", "1.0", "x"), True),
    **dict.fromkeys(("false", "no", "non", "faux", "0", "0.0"), False),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: A web address with its scheme: http(s), a host, then anything but blanks.
_WEB_URL = re.compile(r"^https?://[^\s/?#@]+\.[^\s/?#@]+(?:[/?#]\S*)?$", re.IGNORECASE)
#: A web address without its scheme: ``www.otsokop.org``, ``otsokop.org/horaires``.
_BARE_WEB_ADDRESS = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?::\d{1,5})?(?:[/?#]\S*)?$", re.IGNORECASE
)


def web_address(text: str) -> tuple[str | None, bool]:
    """An actor's web address as stored: ``(url, completed)``.

    An http(s) URL is kept as it is; an address without scheme (``www.otsokop.org``,
    ``otsokop.org/horaires``) gets ``https://`` (``completed`` is then True); anything else
    (``javascript:``, ``data:``, a relative path) gives ``(None, False)``: it is refused.
    """
    if _WEB_URL.match(text):
        return text, False
    if _BARE_WEB_ADDRESS.match(text):
        return f"https://{text}", True
    return None, False


def _json_text(value: object) -> object:
    """A property read as a JSON object or array (a structured schedule) as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _territories_text() -> str:
    return ", ".join(t.name_fr for t in TERRITORIES)


def actors_from_file(
    file: Source,
    *,
    name: str | None = None,
    crs: str | None = None,
    allow_anywhere: bool = False,
    layer: str | None = None,
    progress: Progress = no_progress,
) -> ParsedActors:
    """Read actors from CSV (lon/lat, or x/y with ``crs``), GeoJSON or GeoPackage.

    Parameters
    ----------
    file
        A path or a binary file-like object; a zip archive holding one such file is read too.
    name
        The name of the input in messages (by default its path).
    crs
        CRS of the x/y columns of a CSV (for example ``EPSG:2154``).
    allow_anywhere
        Accept locations outside metropolitan France and the overseas departments.

    Raises
    ------
    InvalidInputError
        Listing every bad row, with the file, the row and the field.
    """
    progress("lecture")
    data = open_input(file, name=name)
    warnings: list[Problem] = []
    if input_format(data) == "csv":
        table = read_csv_table(data, required=[_ALIASES["name"], _ALIASES["category"]])
        frame, fname, warnings, problems = table.frame, table.file, table.warnings, table.problems
        raw = csv_coordinates(frame, file=fname, crs=crs)
    else:
        with warnings_module.catch_warnings():
            # a property holding objects for some features and text for others (a schedule in
            # its structured form or in the notation) is left as text, which is what is wanted
            warnings_module.filterwarnings("ignore", "Could not parse column .* as JSON", UserWarning)
            gdf, fname = read_geo_file(data, layer=layer)
        frame, raw, problems = _geo_fields(gdf, fname)
    progress("validation")
    return _parsed(frame, fname, data.label, raw, problems, warnings, allow_anywhere)


def actors_from_features(
    features: Sequence[Mapping[str, Any]], *, name: str, allow_anywhere: bool = False
) -> ParsedActors:
    """Read actors from GeoJSON Feature objects already parsed (an API request body), with the same
    validation as a file import.

    Each feature has ``properties`` (an object: the actor's fields) and a ``geometry`` that is a
    Point in lon/lat WGS 84, or null for an actor without a location. Values that are not text
    (numbers, booleans) are read as their text; objects and lists as JSON text.

    Raises
    ------
    InvalidInputError
        Listing every bad feature (numbered from 1) and field, with ``name`` as the file.
    """
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    points: list[shapely.Point | None] = []
    for n, feature in enumerate(features, 1):
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        if (
            not isinstance(feature, Mapping)
            or feature.get("type") != "Feature"
            or not isinstance(props, Mapping)
        ):
            problems.append(
                Problem("un objet Feature GeoJSON avec des propriétés est attendu", file=name, row=n)
            )
            records.append({})
            points.append(None)
            continue
        records.append({str(k): _property_text(v) for k, v in props.items()})
        geometry = feature.get("geometry")
        point = None
        if geometry is not None:
            coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
            if (
                not isinstance(geometry, Mapping)
                or geometry.get("type") != "Point"
                or not isinstance(coords, list)
                or len(coords) not in (2, 3)
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in coords)
            ):
                problems.append(
                    Problem("un point [lon, lat] ou null est attendu", file=name, row=n, field="geometry")
                )
            else:
                point = shapely.Point(float(coords[0]), float(coords[1]))
        points.append(point)
    if problems:
        raise InvalidInputError(problems)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points), crs=WGS84)
    gdf.index = pd.RangeIndex(1, len(gdf) + 1, name="feature")
    fields, raw, problems = _geo_fields(gdf, name)
    return _parsed(fields, name, name, raw, problems, [], allow_anywhere)


def _property_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _geo_fields(gdf: gpd.GeoDataFrame, fname: str) -> tuple[pd.DataFrame, RawCoordinates, list[Problem]]:
    """The text fields and point coordinates of a geodata table of actors."""
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).map(_json_text).astype("string")
    frame.index = gdf.index
    raw, problems = point_coordinates(gdf, file=fname)
    for group in (_ALIASES["name"], _ALIASES["category"]):
        if find_column(frame.columns, group) is None:
            raise InvalidInputError(
                Problem(
                    f"champ « {group[0]} » absent (champs trouvés : {list(frame.columns)})",
                    file=fname,
                    field=group[0],
                )
            )
    return frame, raw, problems


def _parsed(
    frame: pd.DataFrame,
    fname: str,
    label: str,
    raw: RawCoordinates,
    problems: list[Problem],
    warnings: list[Problem],
    allow_anywhere: bool,
) -> ParsedActors:
    actors, lon, lat, more, notes = _validate_actors(frame, fname, label, raw, allow_anywhere)
    problems = problems + more
    warnings = warnings + notes
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(problems)
    located = ~np.isnan(lon)
    geometry = np.full(len(actors), None, dtype=object)
    geometry[located] = shapely.points(lon[located], lat[located])
    return ParsedActors(actor_frame(actors, geometry), fname, len(frame), warnings)


def _validate_actors(
    frame: pd.DataFrame, fname: str, label: str, raw: RawCoordinates, allow_anywhere: bool
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[Problem], list[Problem]]:
    cols = {k: find_column(frame.columns, v) for k, v in _ALIASES.items()}
    problems: list[Problem] = []
    notes: list[Problem] = []

    def bad(rows: Iterable[object], fld: str | None, msg: Callable[[object], str]) -> None:
        problems.extend(Problem(msg(r), file=fname, row=int(r), field=fld) for r in rows)  # type: ignore[call-overload]

    def col(key: str) -> pd.Series:
        name = cols[key]
        return clean_text(frame[name]) if name else pd.Series(pd.NA, index=frame.index, dtype="string")

    for key, column in cols.items():
        if column is not None and key not in COORDINATE_ALIASES:
            problems += control_character_problems(
                frame[column], file=fname, field=column, multiline=key in MULTILINE_FIELDS
            )

    names = col("name")
    bad(names.index[names.isna()], cols["name"], lambda r: "nom manquant")
    categories = col("category").str.lower()
    unknown = categories.isna() | ~categories.isin(CATEGORIES)
    bad(
        categories.index[unknown],
        cols["category"],
        lambda r: (
            "catégorie manquante"
            if categories[r] is pd.NA
            else f"catégorie « {categories[r]} » inconnue ; valeurs admises : {', '.join(CATEGORIES)}"
        ),
    )

    lon, lat, coordinate_problems = to_wgs84(raw, file=fname, required=False)
    problems += coordinate_problems
    located = np.isfinite(lon) & np.isfinite(lat)
    with np.errstate(invalid="ignore"):
        keys = territory_keys(lon, lat)
    outside = located & (keys == "")
    if not allow_anywhere:
        bad(
            frame.index[outside],
            raw.fields[0],
            lambda r: (
                f"position ({lon[frame.index.get_loc(r)]:.5f}, {lat[frame.index.get_loc(r)]:.5f}) "
                "hors de la France "
                f"métropolitaine et des départements d'outre-mer ({_territories_text()}) ; "
                "l'option --allow-anywhere l'accepte"
            ),
        )

    precision = col("location_precision").str.lower()
    wrong_prec = precision.notna() & ~precision.isin(LOCATION_PRECISIONS)
    bad(
        precision.index[wrong_prec],
        cols["location_precision"],
        lambda r: (
            f"précision « {precision[r]} » inconnue ; valeurs admises : {', '.join(LOCATION_PRECISIONS)}"
        ),
    )
    precision = precision.where(
        precision.notna(), pd.Series(np.where(located, "unknown", "none"), index=frame.index)
    )
    precision = precision.where(located | (precision == "none"), "none")

    approx_raw = col("location_approximate").str.lower()
    approx = approx_raw.map(_TRUTH, na_action="ignore").astype("boolean")
    wrong_approx = approx_raw.notna() & approx.isna()
    bad(
        approx_raw.index[wrong_approx],
        cols["location_approximate"],
        lambda r: f"« {approx_raw[r]} » : oui/non (true/false, 1/0) attendu",
    )
    # by default, a point is approximate when the published location is (street, neighbourhood…)
    approx = approx.fillna(precision.isin(APPROXIMATE_PRECISIONS).astype("boolean"))
    approx = approx.where(pd.Series(located, index=frame.index), pd.NA)

    emails = col("email")
    bad(
        emails.index[emails.notna() & ~emails.fillna("").str.match(_EMAIL)],
        cols["email"],
        lambda r: f"adresse électronique « {emails[r]} » invalide",
    )
    websites = col("website")
    for row, text in websites.dropna().items():
        url, completed = web_address(str(text))
        if url is None:
            message = f"« {text} » : adresse web http(s) attendue (par exemple https://exemple.fr)"
            problems.append(Problem(message, file=fname, row=int(row), field=cols["website"]))
        elif completed:
            websites[row] = url
            message = f"adresse web « {text} » complétée en « {url} »"
            notes.append(Problem(message, file=fname, row=int(row), field=cols["website"]))

    verified = col("last_verified")
    wrong_date = verified.notna() & ~verified.fillna("").str.match(_DATE)
    bad(
        verified.index[wrong_date],
        cols["last_verified"],
        lambda r: f"date « {verified[r]} » invalide : format AAAA-MM-JJ attendu",
    )
    ok_dates = verified.notna() & ~wrong_date
    parsed_dates = pd.to_datetime(verified.where(ok_dates), errors="coerce", format="%Y-%m-%d")
    bad(
        verified.index[ok_dates & parsed_dates.isna()],
        cols["last_verified"],
        lambda r: f"date « {verified[r]} » inexistante",
    )

    schedules = col("schedule")
    for row, text in schedules.dropna().items():
        why = schedule_problem(str(text))
        if why is not None:
            message = f"horaires illisibles : {why}"
            problems.append(Problem(message, file=fname, row=int(row), field=cols["schedule"]))

    ids = col("id")
    generated = names.fillna("").map(slugify).astype("string")
    ids = ids.fillna(generated)
    empty_id = ids.fillna("") == ""
    bad(
        ids.index[empty_id & names.notna()],
        cols["name"] or "name",
        lambda r: "impossible de former un identifiant à partir du nom",
    )
    dup = ids.duplicated(keep=False) & ~empty_id
    if dup.any() and cols["id"] is None:
        # generated ids collide: disambiguate with the commune, then the address
        extra = (col("commune").fillna("") + " " + col("address").fillna("")).map(slugify)
        ids = ids.where(~dup, ids + "-" + extra.str.slice(0, 40)).str.rstrip("-")
        dup = ids.duplicated(keep=False) & ~empty_id
    bad(
        ids.index[dup],
        cols["id"] or cols["name"],
        lambda r: f"identifiant « {ids[r]} » en double dans le fichier",
    )

    coord_src = col("coordinates_source")
    coord_src = coord_src.where(coord_src.notna() | ~located, f"fichier {label}")
    source = col("source").fillna(label)
    table = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "category": categories,
            "address": col("address"),
            "commune": col("commune"),
            "location_precision": precision,
            "location_approximate": approx,
            "coordinates_source": coord_src,
            "website": websites,
            "email": emails,
            "phone": col("phone"),
            "description": col("description"),
            "schedule": schedules,
            "source": source,
            "last_verified": verified,
        },
        index=frame.index,
    )
    return table, lon, lat, problems, notes
