"""Lay a loaded table out as its released CSV: the inverse of :func:`~brainobs.tables.read_table`.

Writers of sample releases pass a typed DataFrame through :func:`to_release_frame` and then
``DataFrame.to_csv(path, index=False)``: the index becomes the first column, columns follow the
release order, list-valued cells become Python list reprs (``"['CA1', 'VISp']"``) and nulls stay
empty, so ``read_table`` returns the same table again.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError
from brainobs.tables.schemas import TableSchema

__all__ = ["to_release_frame"]

_ELEMENT = {"list[str]": str, "list[int]": int, "list[float]": float}


def _list_repr(value: object, element: type, column: str) -> str | None:
    """Return the list repr of one cell (plain Python elements), or None for a null cell."""
    if isinstance(value, str):
        return value  # already a repr (tables loaded with reference_compatible=True)
    if isinstance(value, (list, tuple, np.ndarray)):
        return repr([element(v) for v in value])
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    raise InvalidInputError(f"column {column!r}: {value!r} is not a list; expected a list or null.")


def to_release_frame(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Return ``df`` as the release CSV lays it out (index first, file order, list reprs)."""
    flat = df.reset_index() if df.index.name == schema.index else df.copy()
    present = [c for c in schema.known_columns if c in flat.columns]
    missing = [c for c in schema.required_columns if c not in flat.columns]
    extra = [c for c in flat.columns if c not in schema]
    if missing or extra:
        raise InvalidInputError(
            f"cannot lay out a {schema.name} table: missing columns {missing}, unknown columns "
            f"{extra}. Expected {list(schema.columns)}."
        )
    out = flat[present].copy()
    for name in schema.list_columns:
        if name in out.columns:
            element = _ELEMENT[schema.spec(name).dtype]
            out[name] = pd.Series(
                [_list_repr(v, element, name) for v in out[name]], index=out.index, dtype=object
            )
    return out
