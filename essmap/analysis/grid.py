"""Population grids and regular lattices, in metres.

Residents come from an imported INSEE 200 m grid when one is present: each square's population
is spread evenly over the square, and a QPV's residents are the populations of the squares that
cover it, weighted by the share of each square inside it (areal weighting). Squares absent from
the published grid are uninhabited. Without a grid, a QPV's population is spread over its area.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from essmap.analysis.zones import as_wgs84, to_metric_geoms
from essmap.geo import metric_crs


@dataclass
class GridPieces:
    """The parts of grid squares inside the QPVs of one zone: where residents live."""

    qpv: np.ndarray  # local QPV index of each piece
    geoms: np.ndarray  # square ∩ QPV, metric
    density: np.ndarray  # residents per m² of the square the piece comes from
    residents: np.ndarray  # residents of each piece (density × area)
    has_grid: np.ndarray  # per QPV: at least one grid square overlaps it

    def per_qpv(self, values: np.ndarray, count: int) -> np.ndarray:
        """Sum per QPV of a per-piece quantity."""
        return np.bincount(self.qpv, weights=values, minlength=count)


def grid_pieces(
    polys: np.ndarray, grid: gpd.GeoDataFrame | None, crs: str, wgs_geoms: np.ndarray
) -> GridPieces | None:
    """Intersect the QPV polygons (metric, in ``crs``) with the squares of a population grid.

    ``wgs_geoms`` are the same QPVs in WGS 84: only the squares near them are projected (a
    national grid has millions).
    """
    if grid is None or not len(grid) or not len(polys):
        return None
    grid = as_wgs84(grid, "de population")
    squares = grid.geometry.to_numpy()
    ok = np.flatnonzero(~(shapely.is_missing(squares) | shapely.is_empty(squares)))
    if not len(ok):
        return None
    near = np.unique(shapely.STRtree(squares[ok]).query(shapely.envelope(wgs_geoms))[1])
    rows = ok[near]
    b = shapely.bounds(squares[rows])
    rows = rows[metric_crs((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2) == crs]
    if not len(rows):
        return None
    metric = to_metric_geoms(squares[rows], crs, polygons=True)
    population = np.nan_to_num(grid["population"].to_numpy(dtype=float, na_value=np.nan)[rows])
    qi, si = shapely.STRtree(metric).query(polys, predicate="intersects")
    if not len(qi):
        return None
    pieces = shapely.intersection(metric[si], polys[qi])
    density = population[si] / shapely.area(metric[si])
    has_grid = np.zeros(len(polys), dtype=bool)
    has_grid[qi] = True
    return GridPieces(qi, pieces, density, density * shapely.area(pieces), has_grid)


def lattice(bounds: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points of the regular lattice (multiples of ``spacing_m``) inside each bounding box.

    ``bounds`` is an (n, 4) array of metric boxes; points shared by several boxes appear once.
    Returns an (m, 2) array of coordinates, sorted.
    """
    if not len(bounds):
        return np.empty((0, 2))
    i0 = np.ceil(bounds[:, 0] / spacing_m).astype(np.int64)
    j0 = np.ceil(bounds[:, 1] / spacing_m).astype(np.int64)
    i1 = np.floor(bounds[:, 2] / spacing_m).astype(np.int64)
    j1 = np.floor(bounds[:, 3] / spacing_m).astype(np.int64)
    cells = []
    for a, b, c, d in zip(i0.tolist(), j0.tolist(), i1.tolist(), j1.tolist(), strict=True):
        if c < a or d < b:
            continue
        ii, jj = np.meshgrid(np.arange(a, c + 1), np.arange(b, d + 1), indexing="ij")
        cells.append(np.column_stack([ii.ravel(), jj.ravel()]))
    if not cells:
        return np.empty((0, 2))
    unique = np.unique(np.vstack(cells), axis=0)
    return unique.astype(float) * spacing_m
