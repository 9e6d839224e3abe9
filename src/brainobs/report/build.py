"""Build a session's report: run each section, render the page, write it.

``write_report(session, out_dir)`` is the whole job. Each section runs inside the plot style;
a section that raises is shown as a "not available: <reason>" box (or, with ``strict=True``,
the error propagates), and every section's outcome and time are returned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainobs.report.html import RenderedSection, render_block, render_page, unavailable_box
from brainobs.report.registry import sections_for, session_kind
from brainobs.report.section import ReportContext, ReportOptions, Section

__all__ = ["Report", "SectionOutcome", "render_report", "report_file_name", "write_report"]


@dataclass(frozen=True)
class SectionOutcome:
    """How one section went: drawn or not (and why), and how long it took (s)."""

    key: str
    title: str
    available: bool
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Report:
    """A rendered report: the page, the outcome of each section and where it was written."""

    title: str
    html: str
    outcomes: tuple[SectionOutcome, ...]
    path: Path | None = None

    @property
    def unavailable(self) -> list[SectionOutcome]:
        """Return the sections shown as "not available"."""
        return [o for o in self.outcomes if not o.available]

    def write(self, path: str | Path) -> Report:
        """Return this report after writing its page to ``path`` (folders created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_text(self.html, encoding="utf-8")
        partial.replace(target)
        return Report(self.title, self.html, self.outcomes, target)


def _one_line(exc: BaseException) -> str:
    """Return an exception message as one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _run_section(
    section: Section, session: Any, context: ReportContext, strict: bool
) -> tuple[RenderedSection, SectionOutcome]:
    """Return the rendered section and its outcome; errors become a "not available" box."""
    import matplotlib

    from brainobs.plot.style import RC_PARAMS

    start = time.perf_counter()
    try:
        with matplotlib.rc_context(RC_PARAMS):  # type: ignore[arg-type]
            blocks = list(section.build(session, context))
            body = "\n".join(render_block(block) for block in blocks)
    except Exception as exc:
        if strict:
            raise
        reason = _one_line(exc)
        rendered = RenderedSection(section.key, section.title, unavailable_box(reason), False)
        outcome = SectionOutcome(
            section.key, section.title, False, reason, time.perf_counter() - start
        )
        return rendered, outcome
    if section.intro:
        body = f'<p class="intro">{_escape(section.intro)}</p>\n{body}'
    seconds = time.perf_counter() - start
    return RenderedSection(section.key, section.title, body), SectionOutcome(
        section.key, section.title, True, "", seconds
    )


def _escape(text: str) -> str:
    """Return ``text`` escaped for HTML."""
    import html

    return html.escape(text)


def session_id_of(session: Any) -> str:
    """Return the session's id as text (experiment or ecephys, else behavior session id)."""
    for name in ("ophys_experiment_id", "ecephys_session_id", "behavior_session_id", "session_id"):
        value = getattr(session, name, None)
        if value is None:
            value = (getattr(session, "metadata", None) or {}).get(name)
        if value is not None:
            return str(value)
    return "unknown"


def _subtitle(session: Any) -> str:
    """Return the one-line description under the title: type, mouse, genotype, date."""
    metadata = getattr(session, "metadata", None) or {}
    parts = [
        str(metadata.get("session_type", "")),
        f"mouse {metadata['mouse_id']}" if "mouse_id" in metadata else "",
        str(metadata.get("full_genotype", "")),
        str(metadata.get("date_of_acquisition", ""))[:19],
    ]
    return " · ".join(p for p in parts if p)


def render_report(
    session: Any,
    *,
    kind: str | None = None,
    sections: Sequence[Section] | None = None,
    options: ReportOptions | None = None,
    progress: bool = False,
    strict: bool = False,
) -> Report:
    """Return the report of ``session``: the sections of its kind, rendered as one page.

    ``sections`` replaces the kind's sections; ``progress`` shows a bar on stderr;
    ``strict`` raises the first section error instead of showing "not available".
    """
    from tqdm.auto import tqdm

    chosen = list(sections) if sections is not None else sections_for(kind or session_kind(session))
    context = ReportContext(options or ReportOptions())
    rendered, outcomes = [], []
    with tqdm(chosen, desc="report", unit="section", disable=not progress, leave=False) as bar:
        for section in bar:
            bar.set_postfix_str(section.title)
            page_part, outcome = _run_section(section, session, context, strict)
            rendered.append(page_part)
            outcomes.append(outcome)
    title = f"Session {session_id_of(session)}"
    footer = "Written by brainobs report; figures are embedded, the page needs no network."
    page = render_page(title, _subtitle(session), rendered, footer)
    return Report(title, page, tuple(outcomes))


def report_file_name(session: Any) -> str:
    """Return the file name of a session's report, e.g. ``session_1044385384.html``."""
    return "session_" + re.sub(r"[^A-Za-z0-9_.-]", "_", session_id_of(session)) + ".html"


def write_report(session: Any, out: str | Path = ".", **kwargs: Any) -> Report:
    """Return the report of ``session`` after writing it into folder ``out`` (or to ``out.html``).

    Keyword arguments are those of :func:`render_report`.
    """
    target = Path(out)
    if target.suffix.lower() not in (".html", ".htm"):
        target = target / report_file_name(session)
    return render_report(session, **kwargs).write(target)
