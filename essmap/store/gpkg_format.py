"""The GeoPackage format as essmap writes it with SQLite: geometry blobs and metadata tables.

A GeoPackage (OGC 12-128r18) is an SQLite file with a few metadata tables (``gpkg_spatial_ref_sys``,
``gpkg_contents``, ``gpkg_geometry_columns``) and feature tables whose geometry column holds a
*GeoPackage binary*: a small header (magic ``GP``, version, flags, SRS id, optional envelope) followed
by standard WKB. essmap writes its tables itself, row by row in SQLite transactions, and QGIS or GDAL
read the file as any GeoPackage.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence

import numpy as np
import shapely

#: SRS id of WGS 84 in ``gpkg_spatial_ref_sys`` (EPSG:4326, lon/lat order for GeoPackage readers).
SRS_ID = 4326
APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0

_HEADER = struct.Struct("<2sBBi")
_ENVELOPE = struct.Struct("<4d")
#: A 2D point without envelope, little-endian: header (8 bytes), then WKB (1 + 4 + 16 bytes).
_POINT_HEADER = _HEADER.pack(b"GP", 0, 0b00001, SRS_ID)
_POINT_WKB = b"\x01\x01\x00\x00\x00"
_POINT_BYTES = 8 + 21
#: Envelope sizes (bytes) by the envelope indicator of the flags byte (bits 1 to 3).
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}

WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


def encode(geoms: Sequence[object] | np.ndarray) -> list[bytes | None]:
    """GeoPackage binaries of shapely geometries (None stays None: a NULL geometry).

    Points are written without an envelope, other geometries with their [minx, maxx, miny, maxy]
    envelope; an empty geometry gets the empty flag.
    """
    arr = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = [None] * len(arr)
    if not len(arr):
        return out
    present = ~shapely.is_missing(arr)
    rows = np.flatnonzero(present)
    if not len(rows):
        return out
    some = arr[rows]
    wkb = shapely.to_wkb(some, byte_order=1, output_dimension=2)
    empty = shapely.is_empty(some)
    point = shapely.get_type_id(some) == 0
    bounds = shapely.bounds(some)
    for j, row in enumerate(rows.tolist()):
        if empty[j]:
            out[row] = _HEADER.pack(b"GP", 0, 0b10001, SRS_ID) + wkb[j]
        elif point[j]:
            out[row] = _HEADER.pack(b"GP", 0, 0b00001, SRS_ID) + wkb[j]
        else:
            x0, y0, x1, y1 = bounds[j]
            out[row] = _HEADER.pack(b"GP", 0, 0b00011, SRS_ID) + _ENVELOPE.pack(x0, x1, y0, y1) + wkb[j]
    return out


def decode(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Shapely geometries of GeoPackage binaries (None for NULL), as an object array.

    Raises
    ------
    ValueError
        For a blob that is not a GeoPackage binary.
    """
    out = np.full(len(blobs), None, dtype=object)
    rows: list[int] = []
    wkbs: list[bytes] = []
    points: list[int] = []
    for i, blob in enumerate(blobs):
        if blob is None:
            continue
        if len(blob) == _POINT_BYTES and blob[:8] == _POINT_HEADER and blob[8:13] == _POINT_WKB:
            points.append(i)  # a plain 2D point, as essmap writes them: read in one go below
            continue
        if blob[:2] != b"GP" or len(blob) < 8:
            raise ValueError(f"row {i}: not a GeoPackage geometry")
        flags = blob[3]
        start = 8 + _ENVELOPE_BYTES.get((flags >> 1) & 0b111, 0)  # the WKB carries its own byte order
        rows.append(i)
        wkbs.append(bytes(blob[start:]))
    if rows:
        out[np.asarray(rows)] = shapely.from_wkb(wkbs)
    if points:
        raw = np.frombuffer(b"".join(blobs[i] for i in points), dtype=np.uint8).reshape(-1, _POINT_BYTES)  # type: ignore[misc]
        xy = raw[:, 13:29].copy().view("<f8")
        out[np.asarray(points)] = shapely.points(xy[:, 0], xy[:, 1])
    return out


def mark_as_geopackage(conn: sqlite3.Connection) -> None:
    """Write the GeoPackage application id and version into the file's header."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {USER_VERSION}")


def create_metadata(conn: sqlite3.Connection) -> None:
    """Create the GeoPackage metadata tables with WGS 84 registered (in the caller's transaction)."""
    conn.execute(
        """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
            srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
            organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)"""
    )
    srs = [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian SRS"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic SRS"),
        ("WGS 84 geodetic", SRS_ID, "EPSG", 4326, WGS84_WKT, "longitude/latitude on the WGS 84 spheroid"),
    ]
    conn.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", srs)
    conn.execute(
        """CREATE TABLE IF NOT EXISTS gpkg_contents (
            table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
            description TEXT DEFAULT '', last_change DATETIME NOT NULL
                DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
            CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))"""
    )
    conn.execute(
        """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
            table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
            srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
            CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
            CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
            CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))"""
    )


def register_table(
    conn: sqlite3.Connection, table: str, *, geometry_type: str | None, description: str = ""
) -> None:
    """Declare a feature table (with its geometry column ``geom``) or an attribute table."""
    kind = "features" if geometry_type else "attributes"
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (table, kind, table, description, SRS_ID if geometry_type else None),
    )
    if geometry_type:
        conn.execute(
            "INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
            (table, geometry_type, SRS_ID),
        )


def drop_rtree_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop GDAL's R-tree spatial indexes and their triggers (they call SQL functions, ``ST_IsEmpty``
    and others, that only GDAL defines, so plain SQLite could not write the tables). Returns the
    names of the dropped indexes. essmap indexes its data in memory instead."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rtree\\_%' ESCAPE '\\'"
        )
    ]
    triggers = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree\\_%' ESCAPE '\\'"
        )
    ]
    for trigger in triggers:
        conn.execute(f'DROP TRIGGER IF EXISTS "{trigger}"')
    for name in names:
        if not any(name.endswith(suffix) for suffix in ("_node", "_parent", "_rowid")):
            conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    has_extensions = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_extensions'"
    ).fetchone()
    if has_extensions:
        conn.execute("DELETE FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'")
    return [n for n in names if not n.endswith(("_node", "_parent", "_rowid"))]
