"""What the simulators of change-detection releases (VBN, VBO) share: mice and behavior sessions.

A release's cohort planner (``brainobs.vbn.sample_design``...) draws these; the shared writers
(:mod:`brainobs.sample.behavior_session`, :mod:`brainobs.sample.nwb_behavior`) write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Image set names of the released files and the eight images of each set.
IMAGE_SETS: dict[str, tuple[str, ...]] = {
    "G": ("im012_r", "im036_r", "im044_r", "im047_r", "im078_r", "im083_r", "im104_r", "im111_r"),
    "H": ("im005_r", "im024_r", "im034_r", "im083_r", "im087_r", "im104_r", "im111_r", "im114_r"),
}
IMAGE_SET_STIMULUS = {
    "G": "Natural_Images_Lum_Matched_set_ophys_G_2019",
    "H": "Natural_Images_Lum_Matched_set_ophys_H_2019",
}
TEMPLATE_DATE = "2019.05.26"


@dataclass
class Mouse:
    """One simulated mouse."""

    mouse_id: int
    genotype: str
    cre_line: str | None
    sex: str
    date_of_birth: datetime
    skill: float


@dataclass
class BehaviorSessionPlan:
    """One behavior session: a training day, or the behaviour of an ecephys session."""

    behavior_session_id: int
    mouse: Mouse
    session_type: str
    date: datetime
    equipment_name: str
    dprime: float
    session_number: int
    ecephys_session_id: int | None = None
    file_id: int = -999
    seed: int = 0
    #: training sessions before this one that the release does not list (metadata-only mice)
    unlisted_sessions: int = 0
    #: of those, the sessions that showed this session's image set
    unlisted_image_set_exposures: int = 0

    @property
    def image_set(self) -> str | None:
        """Return the image-set letter, or None for grating stages."""
        if "_images_" not in self.session_type:
            return None
        return self.session_type.split("_images_")[1][0]

    @property
    def age_in_days(self) -> int:
        """Return the age in days at the session."""
        return (self.date.date() - self.mouse.date_of_birth.date()).days
