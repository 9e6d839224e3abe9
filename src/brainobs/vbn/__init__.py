"""Visual Behavior Neuropixels (VBN): the release's home.

153 ecephys sessions with up to six Neuropixels probes, LFP and optotagging, and the 3,424
behavior sessions of the 81 mice that learned the change-detection task. Declared in
:data:`brainobs.releases.VBN`. Modules: ``cache`` (the project cache), ``session`` (the
ecephys session), ``schemas`` (metadata tables), ``report`` (report sections), ``tour``
(``brainobs demo``) and ``sample_*`` (the simulated sample release).
"""

from brainobs.sessions.behavior import BehaviorSession
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache
from brainobs.vbn.session import BehaviorEcephysSession

__all__ = [
    "BehaviorEcephysSession",
    "BehaviorSession",
    "VisualBehaviorNeuropixelsProjectCache",
]
