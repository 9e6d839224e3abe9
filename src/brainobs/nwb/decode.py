"""Turn what h5py hands back into plain Python and numpy values.

Real files store the same thing in several ways: text as variable-length or fixed-length
strings, as ``bytes`` or ``str``; list-valued attributes as string arrays; booleans as numpy
booleans; links to other objects as HDF5 object references. These helpers give one answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py
import numpy as np

from brainobs.nwb.guards import check_read

Resolver = Callable[[h5py.Reference], str]


def decode_text(value: bytes | str) -> str:
    """Return ``value`` as ``str`` (bytes are read as UTF-8)."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def decode_value(value: Any, resolve: Resolver | None = None) -> Any:
    """Return an attribute or scalar value as plain Python (arrays of text become lists)."""
    if isinstance(value, (bytes, str)):
        return decode_text(value)
    if isinstance(value, h5py.Reference):
        return resolve(value) if resolve is not None and value else None
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SUO":
            return [decode_value(item, resolve) for item in value.tolist()]
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_text(dataset: h5py.Dataset) -> bool:
    """Return whether ``dataset`` holds strings (fixed or variable length)."""
    return h5py.check_string_dtype(dataset.dtype) is not None


def is_reference(dataset: h5py.Dataset) -> bool:
    """Return whether ``dataset`` holds HDF5 object references."""
    return h5py.check_ref_dtype(dataset.dtype) is not None


def read_values(
    dataset: h5py.Dataset, selection: Any = slice(None), resolve: Resolver | None = None
) -> np.ndarray:
    """Return ``dataset[selection]`` decoded: text as ``str`` objects, references as names.

    Compound columns (``TimeSeriesReferenceVectorData``) become an object array of tuples.
    The read is checked against the memory budget first (:func:`~brainobs.nwb.guards.check_read`).
    """
    check_read(dataset, selection)
    if is_text(dataset):
        return np.asarray(dataset.asstr(errors="replace")[selection], dtype=object)
    values = dataset[selection]
    if is_reference(dataset):
        return _decode_objects(np.asarray(values, dtype=object), resolve)
    if values.dtype.names:
        return _decode_compound(values, resolve)
    return np.asarray(values)


def _decode_objects(values: np.ndarray, resolve: Resolver | None) -> np.ndarray:
    """Return an object array with each element decoded."""
    out = np.empty(values.shape, dtype=object)
    flat = out.reshape(-1)
    for i, item in enumerate(values.reshape(-1)):
        flat[i] = decode_value(item, resolve)
    return out


def _decode_compound(values: np.ndarray, resolve: Resolver | None) -> np.ndarray:
    """Return a compound array as an object array of tuples of decoded fields."""
    names = values.dtype.names or ()
    fields = [_decode_objects(np.asarray(values[name], dtype=object), resolve) for name in names]
    out = np.empty(values.shape, dtype=object)
    flat = out.reshape(-1)
    for i, row in enumerate(zip(*(f.reshape(-1) for f in fields), strict=True)):
        flat[i] = tuple(row)
    return out
