"""Reader of actors: CSV (lon/lat, or x/y with a CRS), GeoJSON and GeoPackage."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from essmap.errors import InvalidInputError, Problem
from essmap.geo import TERRITORIES, territory_keys
from essmap.model import (
    APPROXIMATE_PRECISIONS,
    CATEGORIES,
    LOCATION_PRECISIONS,
    WGS84,
    actor_frame,
)
from essmap.sources._common import (
    CSV_SUFFIXES,
    Progress,
    _find_column,
    _noop,
    _read_geo,
    _text,
    read_csv_table,
    slugify,
)


@dataclass
class ParsedActors:
    """Actors read from a file."""

    table: gpd.GeoDataFrame
    file: str
    rows_read: int
    warnings: list[Problem] = field(default_factory=list)


# --- actors -----------------------------------------------------------------------------------

_ACTOR_ALIASES = {
    "id": ("id", "identifiant", "actor_id"),
    "name": ("name", "nom", "actor", "acteur"),
    "category": ("category", "categorie", "categorie_essmap"),
    "address": ("address", "adresse", "address_as_published"),
    "commune": ("commune", "ville", "city", "lib_com"),
    "lon": ("lon", "lng", "long", "longitude"),
    "lat": ("lat", "latitude"),
    "x": ("x", "coord_x"),
    "y": ("y", "coord_y"),
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

_TRUTH = {
    **dict.fromkeys(("true", "yes", "oui", "vrai", "1", "1.0", "x"), True),
    **dict.fromkeys(("false", "no", "non", "faux", "0", "0.0"), False),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _territories_text() -> str:
    return ", ".join(t.name_fr for t in TERRITORIES)


def actors_from_file(
    path: Path | str,
    *,
    crs: str | None = None,
    allow_anywhere: bool = False,
    layer: str | None = None,
    progress: Progress = _noop,
) -> ParsedActors:
    """Read actors from CSV (lon/lat, or x/y with ``crs``), GeoJSON or GeoPackage.

    Parameters
    ----------
    crs
        CRS of the x/y columns of a CSV (for example ``EPSG:2154``).
    allow_anywhere
        Accept locations outside metropolitan France and the overseas departments.

    Raises
    ------
    InvalidInputError
        Listing every bad row, with the file, the row and the field.
    """
    path = Path(path)
    progress("lecture")
    suffix = path.suffix.lower()
    warnings: list[Problem] = []
    if suffix in CSV_SUFFIXES:
        frame, warnings, geom_problems = read_csv_table(
            path, required=[_ACTOR_ALIASES["name"], _ACTOR_ALIASES["category"]]
        )
        fname = str(path)
        xs, ys, src_crs, coord_fields = _csv_coordinates(frame, fname, crs)
    else:
        gdf, fname = _read_geo(path, layer=layer)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype("string")
        frame.index = gdf.index
        xs, ys, geom_problems = _point_coordinates(gdf, fname)
        src_crs = gdf.crs
        coord_fields = ("geometry", "geometry")
        for group in (_ACTOR_ALIASES["name"], _ACTOR_ALIASES["category"]):
            if _find_column(frame.columns, group) is None:
                raise InvalidInputError(
                    Problem(
                        f"champ « {group[0]} » absent (champs trouvés : {list(frame.columns)})",
                        file=fname,
                        field=group[0],
                    )
                )
    progress("validation")
    table, lon, lat, problems = _validate_actors(frame, fname, xs, ys, src_crs, coord_fields, allow_anywhere)
    problems = geom_problems + problems
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InvalidInputError(problems)
    located = ~np.isnan(lon)
    geometry = np.full(len(table), None, dtype=object)
    geometry[located] = shapely.points(lon[located], lat[located])
    return ParsedActors(actor_frame(table, geometry), fname, len(frame), warnings)


def _csv_coordinates(
    frame: pd.DataFrame, fname: str, crs: str | None
) -> tuple[pd.Series, pd.Series, object, tuple[str, str]]:
    lon_col = _find_column(frame.columns, _ACTOR_ALIASES["lon"])
    lat_col = _find_column(frame.columns, _ACTOR_ALIASES["lat"])
    x_col = _find_column(frame.columns, _ACTOR_ALIASES["x"])
    y_col = _find_column(frame.columns, _ACTOR_ALIASES["y"])
    empty = pd.Series(pd.NA, index=frame.index, dtype="string")
    if lon_col and lat_col:
        src: object = WGS84
        if crs is not None:
            src = _parse_crs(crs, fname)
        return _text(frame[lon_col]), _text(frame[lat_col]), src, (lon_col, lat_col)
    if x_col and y_col:
        if crs is None:
            raise InvalidInputError(
                Problem(
                    f"colonnes « {x_col} »/« {y_col} » sans système de coordonnées : précisez --crs "
                    "(par exemple EPSG:2154)",
                    file=fname,
                    field=x_col,
                )
            )
        return _text(frame[x_col]), _text(frame[y_col]), _parse_crs(crs, fname), (x_col, y_col)
    if lon_col or lat_col or x_col or y_col:
        present = lon_col or lat_col or x_col or y_col
        raise InvalidInputError(
            Problem(
                "une seule colonne de coordonnées : il faut lon et lat (ou x et y)", file=fname, field=present
            )
        )
    return empty, empty, WGS84, ("lon", "lat")


def _parse_crs(text: str, fname: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise InvalidInputError(
            Problem(f"système de coordonnées « {text} » inconnu : {exc}", file=fname, field="crs")
        ) from exc


def _point_coordinates(gdf: gpd.GeoDataFrame, fname: str) -> tuple[pd.Series, pd.Series, list[Problem]]:
    geoms = gdf.geometry.to_numpy()
    problems: list[Problem] = []
    xs = pd.Series(pd.NA, index=gdf.index, dtype="string")
    ys = pd.Series(pd.NA, index=gdf.index, dtype="string")
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms)
    for i, row in enumerate(gdf.index):
        if not present[i]:
            continue
        geom = geoms[i]
        if types[i] == 4 and len(geom.geoms) == 1:  # a MultiPoint of one point
            geom = geom.geoms[0]
        elif types[i] != 0:
            problems.append(
                Problem(
                    f"géométrie de type {geom.geom_type} : un point est attendu",
                    file=fname,
                    row=row,
                    field="geometry",
                )
            )
            continue
        xs[row], ys[row] = repr(geom.x), repr(geom.y)
    return xs, ys, problems


def _validate_actors(
    frame: pd.DataFrame,
    fname: str,
    xs: pd.Series,
    ys: pd.Series,
    src_crs: object,
    coord_fields: tuple[str, str],
    allow_anywhere: bool,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[Problem]]:
    cols = {k: _find_column(frame.columns, v) for k, v in _ACTOR_ALIASES.items()}
    problems: list[Problem] = []

    def bad(rows: Iterable[object], fld: str | None, msg: Callable[[object], str]) -> None:
        problems.extend(Problem(msg(r), file=fname, row=int(r), field=fld) for r in rows)  # type: ignore[call-overload]

    def col(key: str) -> pd.Series:
        name = cols[key]
        return _text(frame[name]) if name else pd.Series(pd.NA, index=frame.index, dtype="string")

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

    # coordinates
    x_num = pd.to_numeric(xs.str.replace(",", ".", regex=False), errors="coerce")
    y_num = pd.to_numeric(ys.str.replace(",", ".", regex=False), errors="coerce")
    x_bad = xs.notna() & (x_num.isna() | ~np.isfinite(x_num.astype(float)))
    y_bad = ys.notna() & (y_num.isna() | ~np.isfinite(y_num.astype(float)))
    xf, yf = coord_fields
    is_wgs = CRS.from_user_input(src_crs).equals(CRS.from_user_input(WGS84))
    label_x, label_y = ("longitude", "latitude") if is_wgs else ("x", "y")
    bad(xs.index[x_bad], xf, lambda r: f"{label_x} « {xs[r]} » n'est pas un nombre")
    bad(ys.index[y_bad], yf, lambda r: f"{label_y} « {ys[r]} » n'est pas un nombre")
    one_only = (xs.notna() & ys.isna()) | (xs.isna() & ys.notna())
    bad(
        xs.index[one_only],
        xf if xs.isna().any() else yf,
        lambda r: f"{label_x} et {label_y} doivent être donnés ensemble",
    )
    usable = xs.notna() & ys.notna() & ~x_bad & ~y_bad
    x = np.where(usable, x_num.astype(float), np.nan)
    y = np.where(usable, y_num.astype(float), np.nan)
    if not is_wgs and usable.any():
        from essmap.geo import transformer

        tr = transformer(CRS.from_user_input(src_crs).to_string(), WGS84)
        lon, lat = tr.transform(x, y)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        broken = usable.to_numpy() & ~(np.isfinite(lon) & np.isfinite(lat))
        bad(frame.index[broken], xf, lambda r: "coordonnées impossibles à convertir en WGS 84")
    else:
        lon, lat = x, y
    if is_wgs:
        # each coordinate is range-checked on its own, so that a row reports all its faults
        x_all = x_num.astype(float).to_numpy()
        y_all = y_num.astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            out_lon = ~x_bad.to_numpy() & xs.notna().to_numpy() & ((x_all < -180) | (x_all > 180))
            out_lat = ~y_bad.to_numpy() & ys.notna().to_numpy() & ((y_all < -90) | (y_all > 90))
        bad(frame.index[out_lon], xf, lambda r: f"longitude {xs[r]} hors de [-180, 180]")
        bad(frame.index[out_lat], yf, lambda r: f"latitude {ys[r]} hors de [-90, 90]")
        in_range = ~out_lon & ~out_lat
    else:
        in_range = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    with np.errstate(invalid="ignore"):
        keys = territory_keys(lon, lat)
    outside = usable.to_numpy() & in_range & (keys == "")
    if not allow_anywhere:
        bad(
            frame.index[outside],
            xf,
            lambda r: (
                f"position ({lon[frame.index.get_loc(r)]:.5f}, {lat[frame.index.get_loc(r)]:.5f}) "
                "hors de la France "
                f"métropolitaine et des départements d'outre-mer ({_territories_text()}) ; "
                "l'option --allow-anywhere l'accepte"
            ),
        )
    located = usable.to_numpy() & np.isfinite(lon) & np.isfinite(lat)
    lon = np.where(located, lon, np.nan)
    lat = np.where(located, lat, np.nan)

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
    coord_src = coord_src.where(coord_src.notna() | ~located, f"fichier {Path(fname).name}")
    source = col("source").fillna(Path(fname).name)
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
            "website": col("website"),
            "email": emails,
            "phone": col("phone"),
            "description": col("description"),
            "schedule": col("schedule"),
            "source": source,
            "last_verified": verified,
        },
        index=frame.index,
    )
    return table, lon, lat, problems
