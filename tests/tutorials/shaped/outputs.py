"""What a tutorial cell shows, as JSON that both toolkits' Pythons write and read.

Runs under brainobs's Python (pandas 3, numpy 2) and under the reference toolkit's (pandas 1.5,
numpy 1.23), so it uses only what both have. :func:`encode` keeps the kind of every value
(frame, series, index, array, scalar, dict, list) with its dtypes, index and values;
:func:`differences` lists how two encodings differ, cell by cell.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import numpy as np
import pandas as pd


def _plain(value: Any) -> Any:
    """Return one cell value as JSON-able data (NaN stays a float NaN)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime.datetime, datetime.date)):
        return {"instant": pd.Timestamp(value).isoformat()}
    if isinstance(value, (bool, int, float, str)):
        return value
    return {"text": str(value)}


def _index(index: pd.Index) -> dict[str, Any]:
    return {
        "dtype": str(index.dtype),
        "names": [None if n is None else str(n) for n in index.names],
        "values": [_plain(v) for v in index.tolist()],
    }


def encode(value: Any) -> dict[str, Any]:
    """Return ``value`` with its kind, dtypes, index and values as JSON-able data."""
    if isinstance(value, pd.DataFrame):
        return {
            "kind": "frame",
            "index": _index(value.index),
            "columns": _index(value.columns),
            "dtypes": [str(t) for t in value.dtypes],
            "data": [[_plain(v) for v in value.iloc[:, k].tolist()] for k in range(value.shape[1])],
        }
    if isinstance(value, pd.Series):
        return {
            "kind": "series",
            "name": _plain(value.name),
            "dtype": str(value.dtype),
            "index": _index(value.index),
            "values": [_plain(v) for v in value.tolist()],
        }
    if isinstance(value, pd.Index):
        return {"kind": "index", **_index(value)}
    if isinstance(value, np.ndarray):
        return {
            "kind": "array",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "values": _plain(value.ravel()),
        }
    if isinstance(value, dict):
        return {"kind": "dict", "items": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"kind": "list", "items": [encode(v) for v in value]}
    return {"kind": "scalar", "type": type(_plain(value)).__name__, "value": _plain(value)}


def _same(a: Any, b: Any) -> bool:
    """Return True when two decoded values are equal (floats to 1e-9 relative, NaN == NaN)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, (float, int)) and not isinstance(b, bool):
        if math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(b, float) and isinstance(a, int) and not isinstance(a, bool):
        return _same(b, a)
    return bool(a == b) and type(a) is type(b)


def differences(ref: dict[str, Any], ours: dict[str, Any], where: str = "") -> list[str]:
    """Return how ``ours`` differs from ``ref`` (both from :func:`encode`), one line each."""
    if ref["kind"] != ours["kind"]:
        return [f"{where}: kind {ref['kind']} != {ours['kind']}"]
    found: list[str] = []
    if ref["kind"] in ("dict", "list"):  # a dict's order is not compared, a list's is
        keys_r = sorted(ref["items"]) if ref["kind"] == "dict" else range(len(ref["items"]))
        keys_o = sorted(ours["items"]) if ours["kind"] == "dict" else range(len(ours["items"]))
        if list(keys_r) != list(keys_o):
            return [f"{where}: keys {_short(list(keys_r))} != {_short(list(keys_o))}"]
        for k in keys_r:
            found += differences(ref["items"][k], ours["items"][k], f"{where}[{k}]")
        return found
    if ref["kind"] == "frame":
        return _frame_differences(ref, ours, where)
    for field in sorted(set(ref) | set(ours)):
        if field == "kind":
            continue
        if field in ("index", "columns") and ref["kind"] in ("frame", "series"):
            for part in ("dtype", "names", "values"):
                if not _same(ref[field][part], ours[field][part]):
                    found.append(f"{where}: {field} {part} differ")
        elif not _same(ref.get(field), ours.get(field)):
            found.append(f"{where}: {field} {_short(ref.get(field))} != {_short(ours.get(field))}")
    return found


def _frame_differences(ref: dict[str, Any], ours: dict[str, Any], where: str) -> list[str]:
    """Return how two encoded frames differ: labels, then column by column."""
    found = [
        f"{where}: {field} {part} differ"
        for field in ("index", "columns")
        for part in ("dtype", "names", "values")
        if not _same(ref[field][part], ours[field][part])
    ]
    if found:
        return found
    for name, dtype_r, dtype_o, values_r, values_o in zip(
        ref["columns"]["values"],
        ref["dtypes"],
        ours["dtypes"],
        ref["data"],
        ours["data"],
        strict=True,
    ):
        if dtype_r != dtype_o:
            found.append(f"{where}: column {name} dtype {dtype_r} != {dtype_o}")
        elif not _same(values_r, values_o):
            found.append(f"{where}: column {name} values differ")
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 160 else text[:157] + "..."
