"""Readers and writers for published formats: official QPV files, population tables and grids,
actor CSV/GeoJSON/GeoPackage, exports.

Every reader validates everything first and raises :class:`~essmap.errors.InvalidInputError`
listing every bad row (file, row, field), so that an import is all or nothing. Readers return
WGS 84 tables. Only this package and :mod:`essmap.store` touch files.
"""

from essmap.sources._common import (
    CSV_SUFFIXES,
    GEO_SUFFIXES,
    Progress,
    _noop,
    normalise_name,
    read_csv_table,
    slugify,
)
from essmap.sources.actors import ParsedActors, actors_from_file
from essmap.sources.grid import grid_from_csv, points_from_file
from essmap.sources.qpv import ParsedNeighbourhoods, population_from_csv, qpv_from_file
from essmap.sources.writers import EXPORT_FORMATS, table_to_file

__all__ = [
    "CSV_SUFFIXES",
    "EXPORT_FORMATS",
    "GEO_SUFFIXES",
    "ParsedActors",
    "ParsedNeighbourhoods",
    "Progress",
    "_noop",
    "actors_from_file",
    "grid_from_csv",
    "normalise_name",
    "points_from_file",
    "population_from_csv",
    "qpv_from_file",
    "read_csv_table",
    "slugify",
    "table_to_file",
]
