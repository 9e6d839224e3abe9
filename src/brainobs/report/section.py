"""The building blocks of a report: sections, the blocks they return, and the shared context.

A :class:`Section` has a key, a title and a ``build(session, context)`` function that returns
a list of blocks (:class:`FigureBlock`, :class:`TableBlock`, :class:`TextBlock`). The renderer
turns blocks into HTML, so a section never writes HTML itself. A section that cannot be drawn
for a session raises :class:`SectionUnavailableError` (or any error): the page then shows a
"not available: <reason>" box in its place and the other sections are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import pandas as pd

from brainobs.errors import MissingDataError

__all__ = [
    "Block",
    "FigureBlock",
    "ReportContext",
    "ReportOptions",
    "Section",
    "SectionUnavailableError",
    "TableBlock",
    "TextBlock",
    "UnavailableBlock",
]


class SectionUnavailableError(MissingDataError):
    """A section that cannot be drawn for this session; the message says why."""


@dataclass(frozen=True)
class FigureBlock:
    """A matplotlib Figure, embedded in the page as a PNG, with an optional caption."""

    figure: Any
    caption: str = ""
    alt: str = ""


@dataclass(frozen=True)
class TableBlock:
    """A small DataFrame shown as an HTML table."""

    table: pd.DataFrame
    caption: str = ""
    index: bool = True
    float_format: str = "{:.3g}"


@dataclass(frozen=True)
class TextBlock:
    """A paragraph of plain text (escaped when rendered)."""

    text: str


@dataclass(frozen=True)
class UnavailableBlock:
    """A "not available: <reason>" box for a part of a section that could not be drawn."""

    reason: str


Block = Union[FigureBlock, TableBlock, TextBlock, UnavailableBlock]  # noqa: UP007 (runtime alias on 3.10)


@dataclass(frozen=True)
class ReportOptions:
    """Settings shared by the sections: unit-quality thresholds and analysis windows."""

    amplitude_cutoff_maximum: float = 0.1
    presence_ratio_minimum: float = 0.95
    isi_violations_maximum: float = 0.5
    spike_window: tuple[float, float] = (-0.5, 1.0)
    spike_bin: float = 0.01
    behavior_window: tuple[float, float] = (-2.0, 4.0)
    lfp_seconds: float = 2.0
    max_raster_events: int = 120
    probe_id: int | None = None


@dataclass
class ReportContext:
    """What the sections of one report share: options and memoised derived data.

    ``memo(key, compute)`` returns ``compute()`` the first time and the stored value after,
    so two sections that need the same quality-filtered units read them once. A failed
    computation is remembered too, so every section that needs it reports the same reason.
    """

    options: ReportOptions = field(default_factory=ReportOptions)
    _values: dict[str, Any] = field(default_factory=dict, repr=False)
    _errors: dict[str, Exception] = field(default_factory=dict, repr=False)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the value stored under ``key``, computing it with ``compute`` once."""
        if key in self._errors:
            raise self._errors[key]
        if key not in self._values:
            try:
                self._values[key] = compute()
            except Exception as exc:
                self._errors[key] = exc
                raise
        return self._values[key]


@dataclass(frozen=True)
class Section:
    """One titled part of a report: ``build(session, context)`` returns its blocks."""

    key: str
    title: str
    build: Callable[[Any, ReportContext], Sequence[Block]]
    intro: str = ""
