"""Plain values: one rule for what a stored or served cell becomes in Python (and JSON)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from essmap.model import plain_value, plain_values

COLUMNS = {
    "float64": pd.Series([1.5, np.nan, np.inf, -np.inf, -2.0]),
    "int64": pd.Series([1, 2, 3], dtype="int64"),
    "Int64": pd.Series([1, None, 3], dtype="Int64"),
    "Float64": pd.Series([1.5, None], dtype="Float64"),
    "string": pd.Series(["a", None, "c"], dtype="string"),
    "bool": pd.Series([True, False]),
    "boolean": pd.Series([True, None], dtype="boolean"),
    "object": pd.Series(["x", None, np.nan, np.int64(1), pd.NA], dtype=object),
    "datetime": pd.Series(pd.to_datetime(["2026-01-01", None])),
}


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_a_column_converts_as_each_of_its_cells(name: str) -> None:
    column = COLUMNS[name]
    together = plain_values(column)
    one_by_one = [plain_value(v) for v in column.tolist()]
    assert together == one_by_one
    assert [type(v) for v in together] == [type(v) for v in one_by_one]
    assert not any(isinstance(v, np.generic) for v in together)  # Python scalars, never numpy's


def test_missing_and_infinite_numbers_become_none() -> None:
    assert plain_values(COLUMNS["float64"]) == [1.5, None, None, None, -2.0]
    assert plain_values(COLUMNS["Int64"]) == [1, None, 3]
