"""Which sections a report has, per kind of session; later releases add kinds and sections.

A kind is a name (``"vbn_ecephys"``, ``"vbn_behavior"``) with an ordered list of sections.
Visual Coding sessions or 2-photon experiments get their report by registering a kind and
its sections (``register_kind``), or a new section in an existing kind (``register_section``);
nothing in the renderer changes.
"""

from __future__ import annotations

from typing import Any

from brainobs.errors import InvalidInputError
from brainobs.report.section import Section
from brainobs.report.sections_behavior import BEHAVIOR_AROUND_CHANGES, TASK_PERFORMANCE
from brainobs.report.sections_lfp import LFP_CSD
from brainobs.report.sections_spikes import CHANGE_RESPONSES, OMISSION_RESPONSES, OPTOTAGGING
from brainobs.report.sections_units import METADATA, QUALITY_METRICS, UNITS_BY_AREA

__all__ = ["register_kind", "register_section", "section_kinds", "sections_for", "session_kind"]

_SECTIONS: dict[str, list[Section]] = {
    "vbn_ecephys": [
        METADATA,
        UNITS_BY_AREA,
        QUALITY_METRICS,
        CHANGE_RESPONSES,
        OMISSION_RESPONSES,
        OPTOTAGGING,
        BEHAVIOR_AROUND_CHANGES,
        TASK_PERFORMANCE,
        LFP_CSD,
    ],
    "vbn_behavior": [METADATA, BEHAVIOR_AROUND_CHANGES, TASK_PERFORMANCE],
}

# Session class name -> report kind; the first match along the class's MRO wins.
_KIND_OF_CLASS: dict[str, str] = {
    "BehaviorEcephysSession": "vbn_ecephys",
    "BehaviorSession": "vbn_behavior",
}


def section_kinds() -> list[str]:
    """Return the names of the report kinds."""
    return list(_SECTIONS)


def sections_for(kind: str) -> list[Section]:
    """Return the sections of a report of ``kind``, in page order."""
    if kind not in _SECTIONS:
        raise InvalidInputError(f"no report kind {kind!r}; the kinds are {section_kinds()}")
    return list(_SECTIONS[kind])


def register_kind(
    kind: str, sections: list[Section], session_class_names: tuple[str, ...] = ()
) -> None:
    """Add (or replace) a report kind and the session classes whose report it is."""
    _SECTIONS[kind] = list(sections)
    for name in session_class_names:
        _KIND_OF_CLASS[name] = kind


def register_section(kind: str, section: Section, after: str | None = None) -> None:
    """Add ``section`` to ``kind``: after the section keyed ``after``, else at the end.

    A section with the same key is replaced in place.
    """
    sections = _SECTIONS.setdefault(kind, [])
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
    """Return the report kind of ``session``: its ``report_kind``, else by class name."""
    declared = getattr(type(session), "report_kind", None)
    if isinstance(declared, str):
        return declared
    for cls in type(session).__mro__:
        if cls.__name__ in _KIND_OF_CLASS:
            return _KIND_OF_CLASS[cls.__name__]
    if hasattr(session, "get_units"):
        return "vbn_ecephys"
    if hasattr(session, "trials"):
        return "vbn_behavior"
    raise InvalidInputError(
        f"no report kind for a {type(session).__name__}; pass kind= (one of {section_kinds()})"
    )
