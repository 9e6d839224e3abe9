"""brainobs: fast, lazy, safe access to the Allen Brain Observatory datasets.

The entry points keep the AllenSDK's names, so a tutorial ports by changing its import line::

    from brainobs import VisualBehaviorNeuropixelsProjectCache

    cache = VisualBehaviorNeuropixelsProjectCache.from_s3_cache(cache_dir="~/allen")

Tutorials written for the AllenSDK run unchanged with the drop-in import line, whose classes
hand out the reference toolkit's tables and returns (:mod:`brainobs.allensdk`)::

    from brainobs.allensdk import VisualBehaviorNeuropixelsProjectCache

Each release lives in a home of its own (``brainobs.vbn``...), declared in
:mod:`brainobs.releases`; its project cache and session classes are imported from there on
first use (so ``import brainobs`` stays fast) and listed in ``__all__`` and the
``TYPE_CHECKING`` block below for type checkers and readers.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from brainobs.errors import BrainobsError
from brainobs.parallel import map_sessions
from brainobs.releases import RELEASES, Release, get_release
from brainobs.summaries import summarize, summary

if TYPE_CHECKING:
    from brainobs.sessions.behavior import BehaviorSession
    from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache
    from brainobs.vbn.session import BehaviorEcephysSession
    from brainobs.vbo.cache import VisualBehaviorOphysProjectCache
    from brainobs.vbo.experiment import BehaviorOphysExperiment
    from brainobs.vcn.cache import EcephysProjectCache
    from brainobs.vcn.session import EcephysSession

try:
    __version__ = version("brainobs")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"


def _public_classes() -> dict[str, str]:
    """Return class name -> ``"module:attribute"`` of every release's cache and sessions."""
    return {
        target.rpartition(":")[2]: target
        for release in RELEASES.values()
        for target in (release.cache_class, *release.session_classes)
    }


__all__ = [
    "RELEASES",
    "BehaviorEcephysSession",
    "BehaviorOphysExperiment",
    "BehaviorSession",
    "BrainobsError",
    "EcephysProjectCache",
    "EcephysSession",
    "Release",
    "VisualBehaviorNeuropixelsProjectCache",
    "VisualBehaviorOphysProjectCache",
    "__version__",
    "get_release",
    "map_sessions",
    "summarize",
    "summary",
]


def __getattr__(name: str) -> Any:
    """Import a release's public class from its home on first access."""
    target = _public_classes().get(name)
    if target is None:
        raise AttributeError(f"module 'brainobs' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
