"""What one read of an HDF5 dataset may cost, checked from its declared shape before reading.

A file is input: it can declare a dataset of 2**40 elements, compress gigabytes of zeros into
kilobytes, store a large dataset in one-element chunks, or hold a ragged index that runs past
its data or backwards. Before any read brainobs checks, from metadata only:

* the bytes the selection will produce fit the **memory budget** (``NwbFile(...,
  memory_budget=)``, else ``$BRAINOBS_MEMORY_BUDGET``, else half the machine's memory);
* one chunk fits the budget too (HDF5 decompresses whole chunks), a compressed chunk cannot
  inflate past it (deflate expands at most :data:`MAX_INFLATE` times, so the largest stored
  chunk times that must fit), and the selection touches at most :data:`MAX_CHUNKS_PER_READ`
  chunks;
* ragged bounds are non-negative, non-decreasing per row and within the data.

Each refusal is one :class:`~brainobs.errors.InvalidInputError` (asking too much: select less
or raise the budget) or :class:`~brainobs.errors.CorruptFileError` (a file whose layout or
index cannot be right), never a MemoryError or an HDF5 crash.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from brainobs import config
from brainobs.errors import CorruptFileError, InvalidInputError

__all__ = [
    "MAX_CHUNKS_PER_READ",
    "check_count",
    "check_index_dataset",
    "check_lengths",
    "check_ragged",
    "check_read",
    "read_limits",
    "selection_shape",
]

#: Most HDF5 chunks one read may touch (a million chunks take seconds; more is a hostile layout).
MAX_CHUNKS_PER_READ = 1 << 20
#: The most deflate (gzip) output per input byte: what one stored chunk may inflate to.
MAX_INFLATE = 1032
_HINT = "select fewer rows or a shorter window, or raise the budget (BRAINOBS_MEMORY_BUDGET=32G"
_HINT += " or NwbFile.open(..., memory_budget='32G'))"


@dataclass(frozen=True)
class _Limits:
    budget: int | None
    file_name: str
    largest_chunks: dict[str, int]  # dataset name -> largest stored chunk (bytes), memoised


_LIMITS: contextvars.ContextVar[_Limits | None] = contextvars.ContextVar(
    "brainobs_read_limits", default=None
)


@contextmanager
def read_limits(
    budget: int | None, file_name: str, largest_chunks: dict[str, int] | None = None
) -> Iterator[None]:
    """Apply ``budget`` (bytes; None: the configured one) to the reads inside the block.

    ``largest_chunks`` memoises the largest stored chunk of each dataset (per open file).
    """
    token = _LIMITS.set(
        _Limits(budget, file_name, {} if largest_chunks is None else largest_chunks)
    )
    try:
        yield
    finally:
        _LIMITS.reset(token)


def _limits() -> _Limits:
    limits = _LIMITS.get()
    return _Limits(None, "the file", {}) if limits is None else limits


def check_count(n_values: int, itemsize: int, what: str) -> None:
    """Raise InvalidInputError if ``n_values`` computed values would pass the budget."""
    limits = _limits()
    budget = config.memory_budget(limits.budget)
    if n_values * itemsize > budget:
        raise InvalidInputError(
            f"{what} in {limits.file_name} would need {_size(n_values * itemsize)}, more than "
            f"the memory budget of {_size(budget)}: {_HINT}."
        )


def _size(nbytes: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def _axis_count(selector: Any, n: int) -> int | None:
    """Return how many elements ``selector`` takes along an axis of ``n`` (None: axis dropped)."""
    if isinstance(selector, (int, np.integer)):
        return None
    if isinstance(selector, slice):
        return len(range(*selector.indices(n)))
    array = np.asarray(selector)
    if array.dtype == bool:
        return int(np.count_nonzero(array))
    return int(array.size)


def _as_tuple(selection: Any, ndim: int) -> tuple[Any, ...]:
    """Return ``selection`` as one selector per axis (missing axes: everything)."""
    if selection is Ellipsis or (isinstance(selection, tuple) and selection == ()):
        return (slice(None),) * ndim
    items = selection if isinstance(selection, tuple) else (selection,)
    if any(item is Ellipsis for item in items):
        at = next(i for i, item in enumerate(items) if item is Ellipsis)
        fill = (slice(None),) * (ndim - len(items) + 1)
        items = items[:at] + fill + items[at + 1 :]
    return tuple(items) + (slice(None),) * (ndim - len(items))


def selection_shape(shape: Sequence[int], selection: Any) -> tuple[int, ...]:
    """Return the shape ``dataset[selection]`` will have, from the declared ``shape``."""
    counts = [
        _axis_count(s, n) for s, n in zip(_as_tuple(selection, len(shape)), shape, strict=False)
    ]
    return tuple(c for c in counts if c is not None)


def _chunks_along(selector: Any, n: int, chunk: int) -> int:
    """Return (an upper bound of) how many chunks of ``chunk`` elements ``selector`` touches."""
    if isinstance(selector, (int, np.integer)):
        return 1
    if isinstance(selector, slice):
        start, stop, step = selector.indices(n)
        taken = len(range(start, stop, step))
        if taken == 0:
            return 0
        spanned = (start + (taken - 1) * step) // chunk - start // chunk + 1
        return min(taken, spanned)
    array = np.asarray(selector)
    positions = np.flatnonzero(array) if array.dtype == bool else array.reshape(-1)
    return int(np.unique(positions.astype(np.int64) // chunk).size)


def check_read(dataset: h5py.Dataset, selection: Any = ()) -> None:
    """Raise before ``dataset[selection]`` if it would pass the budget or touch too many chunks."""
    shape = dataset.shape
    if shape is None:  # an empty dataspace: nothing to read
        return
    limits = _limits()
    budget, file_name = config.memory_budget(limits.budget), limits.file_name
    itemsize = max(dataset.dtype.itemsize, 16 if dataset.dtype.kind == "O" else 1)
    nbytes = math.prod(selection_shape(shape, selection)) * itemsize
    where = f"{dataset.name} in {file_name}"
    if nbytes > budget:
        raise InvalidInputError(
            f"Reading {where} would need {_size(nbytes)} (it declares shape {tuple(shape)}), "
            f"more than the memory budget of {_size(budget)}: {_HINT}."
        )
    chunks = dataset.chunks
    if chunks is None or not shape:
        return
    _check_chunks(dataset, chunks, selection, budget, where)
    _check_inflation(dataset, budget, where, limits.largest_chunks)


def _check_inflation(
    dataset: h5py.Dataset, budget: int, where: str, largest_chunks: dict[str, int]
) -> None:
    """Raise InvalidInputError if a compressed chunk of ``dataset`` could inflate past the budget.

    Cheap first: all stored bytes times MAX_INFLATE fitting the budget settles it; else the
    largest stored chunk is looked up once per dataset and open file.
    """
    if dataset.id.get_create_plist().get_nfilters() == 0:
        return
    stored = dataset.id.get_storage_size()
    if stored * MAX_INFLATE <= budget:
        return
    largest = largest_chunks.get(dataset.name)
    if largest is None:
        sizes = [0]
        dataset.id.chunk_iter(lambda info: sizes.append(max(sizes[-1], info.size)))
        largest = largest_chunks[dataset.name] = sizes[-1]
    if largest * MAX_INFLATE > budget:
        raise InvalidInputError(
            f"{where} holds a compressed chunk of {_size(largest)}, which could inflate to "
            f"{_size(largest * MAX_INFLATE)} (a decompression bomb), more than the memory "
            f"budget of {_size(budget)}; if you trust the file, raise the budget "
            "(BRAINOBS_MEMORY_BUDGET or NwbFile.open(..., memory_budget=...))."
        )


def _check_chunks(
    dataset: h5py.Dataset, chunks: tuple[int, ...], selection: Any, budget: int, where: str
) -> None:
    """Raise CorruptFileError for chunks larger than the budget or a read touching too many."""
    chunk_bytes = math.prod(chunks) * dataset.dtype.itemsize
    if chunk_bytes > budget:
        raise CorruptFileError(
            f"{where} is stored in chunks of {_size(chunk_bytes)}, each decompressed whole, "
            f"which is more than the memory budget of {_size(budget)}; brainobs does not read "
            "it. The file was written with an unusable layout."
        )
    selectors = _as_tuple(selection, len(dataset.shape))
    touched = math.prod(
        _chunks_along(s, n, c) for s, n, c in zip(selectors, dataset.shape, chunks, strict=False)
    )
    if touched > MAX_CHUNKS_PER_READ:
        raise CorruptFileError(
            f"Reading {where} would touch {touched:,} HDF5 chunks of shape {chunks} (at most "
            f"{MAX_CHUNKS_PER_READ:,} are read at once); the file's layout makes this read "
            "unworkable. Select less, or rewrite the file with larger chunks."
        )


def check_index_dataset(index: h5py.Dataset, n_rows: int, where: str) -> None:
    """Raise CorruptFileError unless ``index`` is a 1-D integer dataset of ``n_rows`` values."""
    if index.dtype.kind not in "iu" or len(index.shape or ()) != 1:
        raise CorruptFileError(
            f"{index.name} in {where} is not a 1-D integer index (dtype {index.dtype}, shape "
            f"{index.shape}); the file is damaged or not NWB."
        )
    if index.shape[0] != n_rows:
        raise CorruptFileError(
            f"{index.name} in {where} has {index.shape[0]} entries for a table of {n_rows} "
            "rows; the file is damaged or not NWB."
        )


def check_ragged(
    starts: np.ndarray, stops: np.ndarray, n_data: int, itemsize: int, where: str
) -> None:
    """Raise CorruptFileError for ragged bounds that run backwards, below 0 or past the data,
    and InvalidInputError when the values of the rows asked for exceed the memory budget."""
    bad = (starts < 0) | (stops < starts) | (stops > n_data)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        start, stop = int(starts[row]), int(stops[row])
        problem = "runs backwards" if stop < start else "runs past its data"
        if start < 0:
            problem = "is negative"
        raise CorruptFileError(
            f"The ragged index of {where} {problem} (a row spans [{start}, {stop}) of "
            f"{n_data} values); the file is damaged or not NWB, and brainobs does not guess "
            "which values belong to which row."
        )
    budget = config.memory_budget(_limits().budget)
    nbytes = int(np.sum(stops - starts, dtype=np.int64)) * itemsize
    if nbytes > budget:
        raise InvalidInputError(
            f"The selected rows of {where} hold {_size(nbytes)}, more than the memory budget "
            f"of {_size(budget)}: {_HINT}."
        )


def check_lengths(lengths: dict[str, int], n_rows: int, where: str) -> None:
    """Raise CorruptFileError if a column's length differs from the table's row count."""
    wrong = {name: n for name, n in lengths.items() if n != n_rows}
    if wrong:
        name, n = next(iter(wrong.items()))
        raise CorruptFileError(
            f"Column {name!r} of {where} has {n} values for {n_rows} rows (ids); the file is "
            "damaged or not NWB."
        )
