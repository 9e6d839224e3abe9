"""What the simulators of change-detection releases (VBN, VBO) share: mice and behavior sessions.

A release's cohort planner (``brainobs.vbn.sample_design``...) draws these; the shared writers
(:mod:`brainobs.sample.behavior_session`, :mod:`brainobs.sample.nwb_behavior`) write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Image set names of the released files and the eight images of each set. VBN shows G and
#: H; VBO shows A (the training set) and B, and its multiplane 4-area project G and H. Set A's
#: images and ``im065`` as its image 0 are those of the real VBO session 994174745; the order of
#: the other images (their ``image_index``) is the sample's own.
IMAGE_SETS: dict[str, tuple[str, ...]] = {
    "G": ("im012_r", "im036_r", "im044_r", "im047_r", "im078_r", "im083_r", "im104_r", "im111_r"),
    "H": ("im005_r", "im024_r", "im034_r", "im083_r", "im087_r", "im104_r", "im111_r", "im114_r"),
    "A": ("im065", "im077", "im069", "im085", "im062", "im066", "im063", "im061"),
    "B": ("im000", "im031", "im035", "im045", "im054", "im073", "im075", "im106"),
}
IMAGE_SET_STIMULUS = {
    "G": "Natural_Images_Lum_Matched_set_ophys_G_2019",
    "H": "Natural_Images_Lum_Matched_set_ophys_H_2019",
    "A": "Natural_Images_Lum_Matched_set_training_2017",
    "B": "Natural_Images_Lum_Matched_set_ophys_6_2017",
}
TEMPLATE_DATE = "2019.05.26"
#: Template (image-set file stem) of each set: the stimulus name plus the set file's date.
IMAGE_SET_TEMPLATE = {
    "G": "Natural_Images_Lum_Matched_set_ophys_G_2019.05.26",
    "H": "Natural_Images_Lum_Matched_set_ophys_H_2019.05.26",
    "A": "Natural_Images_Lum_Matched_set_training_2017.07.14",
    "B": "Natural_Images_Lum_Matched_set_ophys_6_2017.07.14",
}


@dataclass
class Mouse:
    """One simulated mouse."""

    mouse_id: int
    genotype: str
    cre_line: str | None
    sex: str
    date_of_birth: datetime
    skill: float
    #: reporter line and driver lines of the subject (None: the VBN reporter, [cre_line])
    reporter_line: str | None = None
    driver_lines: tuple[str, ...] | None = None


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
    #: project code written to the file's metadata (None: the VBN project code)
    project_code: str | None = None

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
