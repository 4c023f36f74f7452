"""``POST /locate``: many points read from a GeoJSON or CSV body, answered as a stream.

The body is bounded in bytes (``max_request_bytes``), in points (``max_batch_points``) and in
answers (``max_batch_results``: points × k). The answer is computed and written a chunk of points
at a time, each chunk in a worker thread holding one heavy-work slot, and sent as it is made
(JSON or CSV): the server never holds the whole answer, and other requests get their turn between
chunks.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from starlette.requests import Request

from api.errors import PayloadTooLargeError, json_error_text
from api.geojson import dumps
from api.layers import Proximity
from essmap.analysis.zones import outside_territory_error
from essmap.editing import REQUEST_BODY
from essmap.errors import InvalidInputError, Problem
from essmap.geocoding import Geocoder, geocode_many
from essmap.index import ActorHit, QPVRelation
from essmap.settings import Settings
from essmap.sources import csv_text, points_from_file

GEOJSON_TYPES = {"application/geo+json", "application/json"}
CSV_TYPES = {"text/csv", "text/plain", "application/csv"}
#: Bad points named one by one in a refused batch (the others are counted).
MAX_PROBLEMS = 100
#: How messages name the query parameter giving the CRS of x/y columns.
CRS_PARAMETER = "le paramètre crs de la requête"
#: Longest address a batch row may give.
MAX_ADDRESS_CHARS = 200
#: Nearest supply points computed per chunk (so a chunk costs a few milliseconds whatever k is).
ANSWERS_PER_CHUNK = 2000


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, settings: Settings) -> bytes:
    """The request body, refused beyond ``max_request_bytes`` (before and while reading it)."""
    limit = settings.max_request_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"le corps de la requête dépasse {limit} octets ({declared} annoncés)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"le corps de la requête dépasse {limit} octets")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class Points:
    """Points to locate: lon/lat WGS 84 and the identifier each was given (or None).

    A row given by an address has NaN coordinates and its ``addresses`` text until
    :func:`geocode_points` finds it; ``understood`` then holds the address found for each such row.
    ``rows`` numbers the points as messages name them, as imports do: the line of the CSV body
    (the header is line 1), the feature number from 1 of a GeoJSON body.
    """

    lons: list[float]
    lats: list[float]
    refs: list[str | None]
    rows: list[int]
    addresses: list[str | None] = field(default_factory=list)
    understood: list[dict[str, Any] | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lons)

    def problem(self, i: int, message: str, field: str) -> Problem:
        """A problem of point ``i``, naming its row."""
        return Problem(message, file=REQUEST_BODY, row=self.rows[i], field=field)

    def to_geocode(self) -> list[int]:
        """Rows given by an address, not yet geocoded."""
        return [i for i, text in enumerate(self.addresses) if text is not None and math.isnan(self.lons[i])]


def geocode_points(points: Points, geocoder: Geocoder) -> Points:
    """The points with the rows given by an address geocoded (the best match of each).

    Raises
    ------
    InvalidInputError
        Naming every row whose address matches nothing (all or nothing).
    """
    rows = points.to_geocode()
    texts = [str(points.addresses[i]) for i in rows]
    found = geocode_many(geocoder, texts)
    problems = [
        points.problem(i, f"adresse « {text} » introuvable", "address")
        for i, text, result in zip(rows, texts, found, strict=True)
        if result is None
    ]
    if problems:
        raise InvalidInputError(problems[:MAX_PROBLEMS])
    lons, lats = list(points.lons), list(points.lats)
    understood: list[dict[str, Any] | None] = [None] * len(points)
    for i, text, result in zip(rows, texts, found, strict=True):
        assert result is not None
        lons[i], lats[i] = result.lon, result.lat
        understood[i] = {"query": text, "label": result.label, "score": result.score}
    return Points(lons, lats, points.refs, points.rows, points.addresses, understood)


def _bad(message: str, row: int | None = None, field: str | None = None) -> InvalidInputError:
    return InvalidInputError(Problem(message, file=REQUEST_BODY, row=row, field=field))


def points_from_geojson(body: bytes) -> Points:
    """Points of a GeoJSON FeatureCollection of Point features (lon/lat WGS 84, RFC 7946).

    Exactly what :data:`POINTS_SCHEMA` documents is accepted; anything else is a 400.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(json_error_text(exc)) from None
    except RecursionError:  # a body nested deeper than the JSON parser goes
        raise _bad("JSON trop profondément imbriqué") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise _bad("une FeatureCollection GeoJSON de points est attendue", field="type")
    features = data.get("features")
    if not isinstance(features, list):
        raise _bad("« features » doit être une liste", field="features")
    lons: list[float] = []
    lats: list[float] = []
    refs: list[str | None] = []
    addresses: list[str | None] = []
    problems: list[Problem] = []
    for n, feature in enumerate(features, 1):
        try:
            lon, lat, ref, address = _point(n, feature)
        except InvalidInputError as exc:
            problems += exc.problems
            continue
        lons.append(lon)
        lats.append(lat)
        refs.append(ref)
        addresses.append(address)
    if problems:
        raise InvalidInputError(problems)
    rows = list(range(1, len(lons) + 1))
    return Points(lons, lats, refs, rows, addresses if any(a is not None for a in addresses) else [])


def _point(n: int, feature: object) -> tuple[float, float, str | None, str | None]:
    """lon, lat, identifier and address of feature number ``n``, from 1 (the first problem found is
    raised). A feature with a null geometry and an ``address`` property has NaN coordinates."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise _bad("un objet Feature est attendu", row=n, field="type")
    ref = feature.get("id")
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
        raise _bad("l'identifiant doit être un texte ou un entier", row=n, field="id")
    props = feature.get("properties")
    if props is not None and not isinstance(props, dict):
        raise _bad("« properties » doit être un objet ou null", row=n, field="properties")
    geometry = feature.get("geometry")
    if ref is None and props:
        ref = props.get("id")
    ref_text = None if ref is None else str(ref)
    if geometry is None and props is not None:
        address = props.get("address")
        if not isinstance(address, str) or not address.strip():
            raise _bad(
                "une géométrie nulle demande une propriété « address » (texte)", row=n, field="address"
            )
        if len(address) > MAX_ADDRESS_CHARS:
            raise _bad(f"adresse de plus de {MAX_ADDRESS_CHARS} caractères", row=n, field="address")
        return math.nan, math.nan, ref_text, address.strip()
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise _bad("un point (ou une géométrie nulle et une adresse) est attendu", row=n, field="geometry")
    position = geometry.get("coordinates")
    if (
        not isinstance(position, list)
        or len(position) not in (2, 3)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
    ):
        raise _bad("une position [lon, lat] est attendue", row=n, field="coordinates")
    lon, lat = float(position[0]), float(position[1])
    if not -180 <= lon <= 180:  # also refuses NaN
        raise _bad(f"longitude {position[0]} hors de [-180, 180]", row=n, field="lon")
    if not -90 <= lat <= 90:
        raise _bad(f"latitude {position[1]} hors de [-90, 90]", row=n, field="lat")
    return lon, lat, ref_text, None


def points_from_csv(body: bytes, crs: str | None = None) -> Points:
    """Points of a CSV with lon/lat columns (or x/y in ``crs``), read from memory as ``essmap``
    reads point files (every bad row named by its line, with its field)."""
    points = points_from_file(
        io.BytesIO(body), name=REQUEST_BODY, fmt="csv", addresses=True, crs=crs, crs_parameter=CRS_PARAMETER
    )
    geoms = points.geometry
    refs = [None if r is None or r is pd.NA else str(r) for r in points["id"].tolist()]
    located = geoms.notna()
    lons = geoms.x.where(located, math.nan).tolist()
    lats = geoms.y.where(located, math.nan).tolist()
    addresses = [None if a is pd.NA or a is None else str(a) for a in points["address"].tolist()]
    found = Points(lons, lats, refs, [int(r) for r in points.index], addresses)
    too_long = [i for i, a in enumerate(addresses) if a is not None and len(a) > MAX_ADDRESS_CHARS]
    if too_long:
        message = f"adresse de plus de {MAX_ADDRESS_CHARS} caractères"
        raise InvalidInputError([found.problem(i, message, "address") for i in too_long])
    return found if any(a is not None for a in addresses) else Points(lons, lats, refs, found.rows)


def check_batch(points: Points, *, k: int, settings: Settings, proximity: Proximity) -> None:
    """Refuse a batch beyond ``max_batch_points`` points or ``max_batch_results`` answers (413), or
    with points outside every territory essmap serves (400, each named, with the swap suggested)."""
    n = len(points)
    if n > settings.max_batch_points:
        raise PayloadTooLargeError(
            f"{n} points envoyés ; au plus {settings.max_batch_points} par requête (réglage max_batch_points)"
        )
    if n * k > settings.max_batch_results:
        raise PayloadTooLargeError(
            f"{n} points × k = {k} font {n * k} réponses ; au plus {settings.max_batch_results} par "
            "requête (réglage max_batch_results) : envoyez moins de points ou demandez un k plus petit"
        )
    served = proximity.index.served_mask(points.lons, points.lats)
    outside = np.flatnonzero(~served)
    if len(outside):
        problems = []
        for i in outside[:MAX_PROBLEMS].tolist():
            error = outside_territory_error(points.lons[i], points.lats[i])
            problems.append(points.problem(i, error.problems[0].message, "lon"))
        if len(outside) > MAX_PROBLEMS:
            problems.append(
                Problem(f"et {len(outside) - MAX_PROBLEMS} autre(s) point(s) hors des territoires servis")
            )
        raise InvalidInputError(problems)


# --- answers ----------------------------------------------------------------------------------
def _relation(proximity: Proximity, generation: int, rel: QPVRelation | None) -> dict[str, Any]:
    if rel is None:
        return {
            "generation": generation,
            "relation": None,
            "code": None,
            "name": None,
            "distance_m": None,
            "geometry_source": None,
        }
    return {
        "generation": generation,
        "relation": rel.relation,
        "code": rel.code,
        "name": rel.name,
        "distance_m": round(rel.distance_m, 1),
        "geometry_source": proximity.outline_sources.get((generation, rel.code)),
    }


def _supply(proximity: Proximity, hit: ActorHit) -> dict[str, Any]:
    lonlat = proximity.lonlat(hit.row) or (math.nan, math.nan)
    return {
        "id": hit.id,
        "name": hit.name,
        "category": hit.category,
        "distance_m": round(hit.distance_m, 1),
        "lon": lonlat[0],
        "lat": lonlat[1],
    }


def locate_one(
    proximity: Proximity,
    lon: float,
    lat: float,
    relations: dict[int, QPVRelation | None],
    hits: list[ActorHit],
) -> dict[str, Any]:
    """The answer for one point: its relation to the QPVs of each generation, its nearest supply."""
    return {
        "lon": lon,
        "lat": lat,
        "band_m": proximity.index.band_m,
        "neighbourhoods": [_relation(proximity, g, r) for g, r in relations.items()],
        "nearest_supply": [_supply(proximity, h) for h in hits],
    }


def csv_columns(generations: Sequence[int], *, addresses: bool = False) -> list[str]:
    header = ["index", "ref", *(["address", "address_label"] if addresses else []), "lon", "lat"]
    for g in generations:
        header += [
            f"qpv{g}_relation",
            f"qpv{g}_code",
            f"qpv{g}_name",
            f"qpv{g}_distance_m",
            f"qpv{g}_geometry_source",
        ]
    header += [
        "nearest_supply_id",
        "nearest_supply_name",
        "nearest_supply_category",
        "nearest_supply_distance_m",
    ]
    return header


def _csv_rows(items: list[dict[str, Any]], generations: Sequence[int], *, addresses: bool) -> str:
    """Batch results as CSV lines: columns per generation and the nearest supply point."""
    rows = []
    for item in items:
        row = [item["index"], item["ref"] or ""]
        if addresses:
            understood = item.get("address") or {}
            row += [understood.get("query", ""), understood.get("label", "")]
        row += [item["lon"], item["lat"]]
        by_gen = {r["generation"]: r for r in item["neighbourhoods"]}
        for g in generations:
            rel = by_gen.get(g) or {}
            row += [
                rel.get("relation") or "",
                rel.get("code") or "",
                rel.get("name") or "",
                rel.get("distance_m", ""),
                rel.get("geometry_source") or "",
            ]
        first = item["nearest_supply"][0] if item["nearest_supply"] else {}
        row += [
            first.get("id", ""),
            first.get("name", ""),
            first.get("category", ""),
            first.get("distance_m", ""),
        ]
        rows.append([None if v == "" else v for v in row])
    columns = csv_columns(generations, addresses=addresses)
    return csv_text(pd.DataFrame(rows, columns=columns), header=False)


@dataclass(frozen=True)
class Batch:
    """One batch to answer: the points, k, the supply categories and the output format."""

    proximity: Proximity
    points: Points
    k: int
    categories: Sequence[str]
    csv: bool

    def chunks(self) -> list[range]:
        size = max(1, ANSWERS_PER_CHUNK // self.k)
        return [range(i, min(i + size, len(self.points))) for i in range(0, len(self.points), size)]

    def answer(self, rows: range) -> str:
        """The answers of points ``rows`` as text (JSON items with a leading comma, or CSV lines)."""
        index = self.proximity.index
        lons, lats = self.points.lons[rows.start : rows.stop], self.points.lats[rows.start : rows.stop]
        relations = index.locate_bulk(lons, lats)
        hits = index.nearest_bulk(lons, lats, k=self.k, categories=self.categories)
        understood = self.points.understood
        items = [
            {
                "index": i,
                "ref": self.points.refs[i],
                **({"address": understood[i]} if understood and understood[i] is not None else {}),
                **locate_one(self.proximity, lon, lat, rel, found),
            }
            for i, lon, lat, rel, found in zip(rows, lons, lats, relations, hits, strict=True)
        ]
        if self.csv:
            return _csv_rows(items, index.generations, addresses=bool(understood))
        text = ",".join(dumps(item) for item in items)
        return text if rows.start == 0 else "," + text

    def head(self) -> str:
        if self.csv:
            columns = csv_columns(self.proximity.index.generations, addresses=bool(self.points.understood))
            return csv_text(pd.DataFrame(columns=columns))
        return f'{{"count":{len(self.points)},"results":['

    def tail(self) -> str:
        return "" if self.csv else "]}"


Compute = Callable[[Callable[[range], str], range], Awaitable[str]]


async def stream(batch: Batch, compute: Compute) -> AsyncIterator[bytes]:
    """The answer of ``batch``, chunk by chunk; ``compute(fn, rows)`` runs a chunk off the loop.

    The first chunk is computed before the first byte is sent, so that an error the index raises
    for these points (the same as for any other) is still answered with its status.
    """
    chunks = batch.chunks()
    first = await compute(batch.answer, chunks[0]) if chunks else ""

    async def body() -> AsyncIterator[bytes]:
        yield (batch.head() + first).encode()
        for rows in chunks[1:]:
            text = await compute(batch.answer, rows)
            yield text.encode()
        yield batch.tail().encode()

    return body()


POINTS_SCHEMA = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": True},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"type": "string", "enum": ["Point"]},
                            "coordinates": {
                                "type": "array",
                                "minItems": 2,
                                "maxItems": 3,
                                "items": {"type": "number", "minimum": -180, "maximum": 180},
                                "description": "[lon, lat] : lon dans [-180, 180], lat dans [-90, 90]",
                            },
                        },
                    },
                    "properties": {"type": "object", "nullable": True},
                },
            },
        },
    },
    "example": {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [-1.4748, 43.4929]}}
        ],
    },
}
