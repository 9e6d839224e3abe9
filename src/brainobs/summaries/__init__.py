"""Dataset-wide summary tables: every session of a release at once, kept as Parquet.

``summarize(cache)`` computes what a release declares (``Release.summaries``: per unit and
per session tables for VBN) for every session that is not already done, serially or on a
Dask cluster, and keeps one Parquet partition per session keyed by its file's hash;
``summary(release, table)`` returns a table as a lazy pyarrow dataset. The machinery is here;
the tables and the per-session function live in each release's home
(``brainobs.vbn.summary``...), found through its declaration.
"""

from __future__ import annotations

from brainobs.summaries.engine import (
    SummaryRun,
    load_summaries,
    summaries_dir,
    summarize,
    summary,
)
from brainobs.summaries.spec import (
    COLUMN_TYPES,
    SessionSummary,
    SessionTask,
    SummarySet,
    SummaryTable,
)

__all__ = [
    "COLUMN_TYPES",
    "SessionSummary",
    "SessionTask",
    "SummaryRun",
    "SummarySet",
    "SummaryTable",
    "load_summaries",
    "summaries_dir",
    "summarize",
    "summary",
]
