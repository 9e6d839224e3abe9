"""Summary sets for the engine tests: the VBN summaries with a counting or failing function.

Workers of a Dask cluster get these functions by value (``cloudpickle.register_pickle_by_value``),
so they need not import the tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from brainobs.summaries import SessionSummary, SessionTask, SummarySet
from brainobs.vbn.summary import SUMMARIES


def failing_compute(bad_id: int, cache: Any, task: SessionTask) -> SessionSummary:
    """Return the VBN summary of a session, except that session ``bad_id`` raises."""
    if task.session_id == bad_id:
        raise ValueError(f"simulated failure in session {bad_id}")
    return SUMMARIES.compute(cache, task)


def failing(bad_id: int) -> SummarySet:
    """Return the VBN summaries with session ``bad_id`` failing."""
    from functools import partial

    return dataclasses.replace(SUMMARIES, compute=partial(failing_compute, bad_id))


class Counting:
    """The VBN summary function, counting calls; ``interrupt_at`` raises KeyboardInterrupt."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls: list[int] = []
        self.interrupt_at = interrupt_at

    def __call__(self, cache: Any, task: SessionTask) -> SessionSummary:
        self.calls.append(task.session_id)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        return SUMMARIES.compute(cache, task)

    def summaries(self) -> SummarySet:
        """Return the VBN summaries computed through this counter."""
        return dataclasses.replace(SUMMARIES, compute=self)


def with_compute(compute: Callable[[Any, SessionTask], SessionSummary]) -> SummarySet:
    """Return the VBN summaries with another per-session function."""
    return dataclasses.replace(SUMMARIES, compute=compute)


def read_tables(out: Path, names: Iterable[str] = ("units", "sessions")) -> dict[str, pd.DataFrame]:
    """Return every summary table in ``out``, sorted by its key columns."""
    tables = {}
    for name in names:
        files = sorted((out / name).glob("*.parquet"))
        frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
        keys = [c for c in ("ecephys_session_id", "unit_id") if c in frame.columns]
        tables[name] = frame.sort_values(keys).reset_index(drop=True)
    return tables


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """Assert two sets of summary tables are identical."""
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
