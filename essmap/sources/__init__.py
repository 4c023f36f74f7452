"""Readers and writers for published formats: official QPV files, population tables and grids,
actor CSV/GeoJSON/GeoPackage, points, exports.

Every reader takes a path or a binary file-like object (with a ``name`` for messages), reads
zip archives holding one data file, validates everything first and raises
:class:`~essmap.errors.InvalidInputError` listing every bad row (file, row, field), so that an
import is all or nothing. Readers return WGS 84 tables. Only this package and
:mod:`essmap.store` touch files.
"""

from essmap.sources.actors import ParsedActors, actors_from_features, actors_from_file
from essmap.sources.common import Progress, no_progress, normalise_name, slugify
from essmap.sources.grid import grid_from_csv
from essmap.sources.inputs import CSV_SUFFIXES, GEO_SUFFIXES, CsvTable, Source, read_csv_table
from essmap.sources.points import points_from_file
from essmap.sources.qpv import ParsedNeighbourhoods, population_from_csv, qpv_from_file
from essmap.sources.writers import (
    EXPORT_FORMATS,
    check_output_path,
    csv_text,
    output_file,
    table_to_file,
    write_output,
)

__all__ = [
    "CSV_SUFFIXES",
    "EXPORT_FORMATS",
    "GEO_SUFFIXES",
    "CsvTable",
    "ParsedActors",
    "ParsedNeighbourhoods",
    "Progress",
    "Source",
    "actors_from_features",
    "actors_from_file",
    "check_output_path",
    "csv_text",
    "grid_from_csv",
    "no_progress",
    "normalise_name",
    "output_file",
    "points_from_file",
    "population_from_csv",
    "qpv_from_file",
    "read_csv_table",
    "slugify",
    "table_to_file",
    "write_output",
]
