"""The per-session HTML report: one self-contained page of the plots people look at.

>>> report = write_report(session, "reports/")          # doctest: +SKIP
>>> report.path, [o.title for o in report.unavailable]   # doctest: +SKIP

A report is a list of :class:`Section` objects chosen by the kind of session
(:func:`sections_for`); add a section to a kind with :func:`register_section`, or a new
kind (Visual Coding, 2-photon) with :func:`register_kind`. Needs ``brainobs[plot]``.
"""

from brainobs.report.build import Report, SectionOutcome, render_report, write_report
from brainobs.report.registry import (
    register_kind,
    register_section,
    section_kinds,
    sections_for,
    session_kind,
)
from brainobs.report.section import (
    Block,
    FigureBlock,
    ReportContext,
    ReportOptions,
    Section,
    SectionUnavailableError,
    TableBlock,
    TextBlock,
    UnavailableBlock,
)

__all__ = [
    "Block",
    "FigureBlock",
    "Report",
    "ReportContext",
    "ReportOptions",
    "Section",
    "SectionOutcome",
    "SectionUnavailableError",
    "TableBlock",
    "TextBlock",
    "UnavailableBlock",
    "register_kind",
    "register_section",
    "render_report",
    "section_kinds",
    "sections_for",
    "session_kind",
    "write_report",
]
