"""Ragged columns against generated indices: right values for the rows asked, or a
CorruptFileError -- never a silently wrong spike train.

Each example writes a units table whose ``spike_times_index`` is arbitrary (in order or not,
negative, past the data, of any integer width) and reads a random selection of rows. The
reference: row ``i`` spans ``[index[i-1], index[i])`` (``index[-1]`` read as 0) of the data, and
a selection is readable exactly when each of its rows spans a valid, non-backwards range.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainobs.errors import CorruptFileError
from brainobs.nwb import NwbFile, mapping, read_dynamic_table, read_ragged
from tests.security.hostile_nwb import skeleton, units_table


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, int, str, object]:
    n_rows = draw(st.integers(1, 6))
    n_values = draw(st.integers(0, 12))
    dtype = draw(st.sampled_from(["int64", "int32", "uint8", "uint16"]))
    low = 0 if dtype.startswith("u") else -3
    ordered = draw(st.booleans())
    values = draw(st.lists(st.integers(low, n_values + 3), min_size=n_rows, max_size=n_rows))
    index = np.sort(values) if ordered else np.array(values)
    rows = draw(
        st.one_of(
            st.none(),
            st.lists(st.integers(0, n_rows - 1), min_size=1, max_size=n_rows),
            st.builds(slice, st.integers(0, n_rows), st.integers(0, n_rows)),
        )
    )
    return index, n_values, dtype, rows


def _positions(rows: object, n_rows: int) -> list[int]:
    if rows is None:
        return list(range(n_rows))
    if isinstance(rows, slice):
        return list(range(n_rows))[rows]
    return list(rows)  # type: ignore[call-overload]


@pytest.mark.parametrize("map_at_least", [mapping.MAP_AT_LEAST, 0], ids=["read", "mapped"])
@settings(max_examples=150, deadline=None)
@given(case=tables())
def test_ragged_reads_are_right_or_refused(
    map_at_least: int, case: tuple[np.ndarray, int, str, object]
) -> None:
    index, n_values, dtype, rows = case
    with (
        tempfile.TemporaryDirectory() as folder,
        mock.patch.object(mapping, "MAP_AT_LEAST", map_at_least),
    ):
        path = Path(folder) / "units.nwb"
        with skeleton(path) as f:
            data = units_table(f, index, n_values, dtype)
        stored = np.asarray(index).astype(dtype).astype(np.int64)
        positions = _positions(rows, len(index))
        bounds = [(int(stored[i - 1]) if i else 0, int(stored[i])) for i in positions]
        valid = all(0 <= a <= b <= n_values for a, b in bounds)
        with NwbFile.open(path) as nwb:
            try:
                got = read_ragged(nwb, "units", "spike_times", rows=rows)  # type: ignore[arg-type]
            except CorruptFileError:
                assert not valid
                return
            assert valid, f"accepted {bounds} over {n_values} values"
            expected = {100 + i: data[a:b] for i, (a, b) in zip(positions, bounds, strict=True)}
            assert got.keys() == expected.keys()
            for key, values in expected.items():
                np.testing.assert_array_equal(got[key], values)
            table = read_dynamic_table(nwb, "units", ["spike_times"], rows=rows)  # type: ignore[arg-type]
            assert [len(v) for v in table["spike_times"]] == [b - a for a, b in bounds]
