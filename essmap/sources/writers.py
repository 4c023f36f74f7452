"""Writers: GeoJSON (RFC 7946), CSV and GeoPackage exports."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from essmap.errors import InvalidInputError, Problem

# --- writers ----------------------------------------------------------------------------------

EXPORT_FORMATS = ("geojson", "csv", "gpkg")


def table_to_file(table: gpd.GeoDataFrame, path: Path | str, *, fmt: str, layer: str, points: bool) -> None:
    """Write a table as GeoJSON (RFC 7946), CSV (lon/lat for points, WKT otherwise) or GeoPackage.

    The file is written beside its target and renamed into place, so a failed export never
    leaves a truncated file.
    """
    path = Path(path)
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(
            Problem(f"format « {fmt} » inconnu ; valeurs admises : {EXPORT_FORMATS}", field="format")
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        if fmt == "csv":
            frame = pd.DataFrame(table.drop(columns="geometry"))
            geoms = table.geometry
            present = geoms.notna() & ~geoms.is_empty
            if points:
                frame["lon"] = np.where(present, geoms.x.where(present), np.nan)
                frame["lat"] = np.where(present, geoms.y.where(present), np.nan)
            else:
                frame["geometry_wkt"] = geoms.to_wkt()
            frame.to_csv(tmp, index=False, encoding="utf-8")
        elif fmt == "geojson":
            pyogrio.write_dataframe(table, tmp, driver="GeoJSON", layer=layer, RFC7946="YES", WRITE_NAME="NO")
        else:
            pyogrio.write_dataframe(table, tmp, driver="GPKG", layer=layer)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
