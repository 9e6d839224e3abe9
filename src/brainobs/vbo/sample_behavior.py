"""Write one VBO behavior-only session (``behavior_session_<id>.nwb``).

The shared simulator (:func:`brainobs.sample.behavior_session.simulate_behavior_only`) draws the
session; the VBO files add what the VBO release has: the block name of the single task block,
7 uL earned rewards where the stage does not name a volume, images marked novel in the first
session that shows their image set, and the VBO files' extension namespaces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainobs.sample.behavior_session import simulate_behavior_only
from brainobs.sample.nwb_behavior import (
    BehaviorContent,
    add_behavior,
    experiment_description,
    new_nwbfile,
)
from brainobs.sample.nwbext import BEHAVIOR_FILE_NAMESPACES
from brainobs.sample.nwbio import deterministic_object_ids, write_nwb
from brainobs.sample.plans import BehaviorSessionPlan
from brainobs.vbo.sample_session import set_reward_volumes

TASK_BLOCK_NAME = "change_detection_behavior"


def write_behavior_session(
    plan: BehaviorSessionPlan, minutes: float, path: Path, *, first_exposure: bool
) -> BehaviorContent:
    """Simulate one behavior-only session and write its NWB file to ``path``.

    ``first_exposure``: the session is the first to show its image set (its images are novel).
    """
    content = simulate_behavior_only(plan, minutes)
    presentations = content.tables.presentations
    presentations.insert(1, "stimulus_block_name", TASK_BLOCK_NAME)
    if first_exposure and plan.image_set is not None:
        presentations["is_image_novel"] = ~presentations["omitted"].to_numpy(dtype=bool)
    else:
        presentations["is_image_novel"] = np.zeros(len(presentations), dtype=bool)
    set_reward_volumes(content.tables, content.task_parameters, plan.session_type)
    with deterministic_object_ids(plan.seed):
        nwb = new_nwbfile(plan, str(plan.behavior_session_id),
                          experiment_description(plan.session_type))  # fmt: skip
        add_behavior(nwb, content, presentations)
        write_nwb(nwb, path, namespaces=BEHAVIOR_FILE_NAMESPACES)
    return content
