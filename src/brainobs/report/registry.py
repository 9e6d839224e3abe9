"""Which sections a report has, per kind of session.

A session class declares its report kind (``report_kind``, a class attribute). Kinds shared by
several releases are defined here (``"behavior"``: any change-detection behavior session); a
release's own kinds (``"vbn_ecephys"``...) are named in its declaration in
:mod:`brainobs.releases` and loaded from its home on first use. Code outside brainobs can add a
kind (:func:`register_kind`) or a section (:func:`register_section`) without changing either.
"""

from __future__ import annotations

from typing import Any

from brainobs.errors import InvalidInputError
from brainobs.releases import RELEASES
from brainobs.report.section import Section
from brainobs.report.sections_behavior import BEHAVIOR_AROUND_CHANGES, TASK_PERFORMANCE
from brainobs.report.sections_units import METADATA

__all__ = ["register_kind", "register_section", "section_kinds", "sections_for", "session_kind"]

#: Kinds every release with change-detection behavior shares.
SHARED_KINDS: dict[str, tuple[Section, ...]] = {
    "behavior": (METADATA, BEHAVIOR_AROUND_CHANGES, TASK_PERFORMANCE),
}

# Kinds and sections added at run time by code outside brainobs.
_ADDED: dict[str, list[Section]] = {}


def _declared_kinds() -> dict[str, str]:
    """Return kind -> ``"module:attribute"`` of its sections, from every release declaration."""
    return {kind: target for r in RELEASES.values() for kind, target in r.report_kinds.items()}


def section_kinds() -> list[str]:
    """Return the names of the report kinds."""
    return list(dict.fromkeys([*SHARED_KINDS, *_declared_kinds(), *_ADDED]))


def sections_for(kind: str) -> list[Section]:
    """Return the sections of a report of ``kind``, in page order."""
    if kind in _ADDED:
        return list(_ADDED[kind])
    if kind in SHARED_KINDS:
        return list(SHARED_KINDS[kind])
    for release in RELEASES.values():
        if kind in release.report_kinds:
            return list(release.load(release.report_kinds[kind]))
    raise InvalidInputError(f"no report kind {kind!r}; the kinds are {section_kinds()}")


def register_kind(kind: str, sections: list[Section]) -> None:
    """Add (or replace) a report kind; session classes name it in their ``report_kind``."""
    _ADDED[kind] = list(sections)


def register_section(kind: str, section: Section, after: str | None = None) -> None:
    """Add ``section`` to ``kind``: after the section keyed ``after``, else at the end.

    A section with the same key is replaced in place.
    """
    sections = _ADDED.setdefault(kind, sections_for(kind) if kind in section_kinds() else [])
    keys = [s.key for s in sections]
    if section.key in keys:
        sections[keys.index(section.key)] = section
        return
    if after is None:
        sections.append(section)
        return
    if after not in keys:
        raise InvalidInputError(f"kind {kind!r} has no section {after!r}; it has {keys}")
    sections.insert(keys.index(after) + 1, section)


def session_kind(session: Any) -> str:
    """Return the report kind ``session``'s class declares (its ``report_kind``)."""
    declared = getattr(type(session), "report_kind", None)
    if isinstance(declared, str):
        return declared
    raise InvalidInputError(
        f"a {type(session).__name__} declares no report kind; give its class a `report_kind` "
        f"(one of {section_kinds()}) or pass kind= to write_report"
    )
