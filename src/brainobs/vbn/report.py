"""The report of a VBN ecephys session: the sections, in page order."""

from __future__ import annotations

from brainobs.report.section import Section
from brainobs.report.sections_behavior import BEHAVIOR_AROUND_CHANGES, TASK_PERFORMANCE
from brainobs.report.sections_lfp import LFP_CSD
from brainobs.report.sections_spikes import CHANGE_RESPONSES, OMISSION_RESPONSES, OPTOTAGGING
from brainobs.report.sections_units import METADATA, QUALITY_METRICS, UNITS_BY_AREA

#: Report kind ``vbn_ecephys`` (declared in :data:`brainobs.releases.VBN`).
ECEPHYS_SECTIONS: tuple[Section, ...] = (
    METADATA,
    UNITS_BY_AREA,
    QUALITY_METRICS,
    CHANGE_RESPONSES,
    OMISSION_RESPONSES,
    OPTOTAGGING,
    BEHAVIOR_AROUND_CHANGES,
    TASK_PERFORMANCE,
    LFP_CSD,
)
