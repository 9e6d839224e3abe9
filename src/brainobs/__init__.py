"""brainobs: fast, lazy, safe access to the Allen Brain Observatory datasets.

The entry points keep the AllenSDK's names, so a tutorial ports by changing its import line::

    from brainobs import VisualBehaviorNeuropixelsProjectCache

    cache = VisualBehaviorNeuropixelsProjectCache.from_s3_cache(cache_dir="~/allen")

Each release lives in a home of its own (``brainobs.vbn``...), declared in
:mod:`brainobs.releases`; the names below are imported from there on first use, so
``import brainobs`` stays fast.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from brainobs.errors import BrainobsError
from brainobs.releases import RELEASES, Release, get_release

if TYPE_CHECKING:
    from brainobs.sessions.behavior import BehaviorSession
    from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache
    from brainobs.vbn.session import BehaviorEcephysSession

try:
    __version__ = version("brainobs")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

#: Public name -> the module that defines it (imported on first access).
_LAZY = {
    "VisualBehaviorNeuropixelsProjectCache": "brainobs.vbn.cache",
    "BehaviorEcephysSession": "brainobs.vbn.session",
    "BehaviorSession": "brainobs.sessions.behavior",
}

__all__ = [
    "RELEASES",
    "BehaviorEcephysSession",
    "BehaviorSession",
    "BrainobsError",
    "Release",
    "VisualBehaviorNeuropixelsProjectCache",
    "__version__",
    "get_release",
]


def __getattr__(name: str) -> Any:
    """Import a public class from its module on first access."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'brainobs' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
