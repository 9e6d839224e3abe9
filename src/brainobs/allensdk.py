"""The AllenSDK drop-in import line: the reference toolkit's tables, types and returns.

A tutorial written for the AllenSDK runs by changing its import line only::

    # from allensdk.brain_observatory.behavior.behavior_project_cache import (
    #     VisualBehaviorNeuropixelsProjectCache)
    from brainobs.allensdk import VisualBehaviorNeuropixelsProjectCache

The classes here hand out what the reference hands out: metadata tables as ``pandas.read_csv``
reads them (list-valued columns and dates as the release's text, text as ``object``), manifest
loaders that return None, sessions listing the reference's data members. ``from brainobs import
...`` gives the modern flavour of the same classes: typed tables (lists, tz-aware dates,
nullable integers) and a few extras. Both share one implementation. Each release declares its
drop-in classes (``dropin_cache_class``) in :mod:`brainobs.releases`; this module finds them
there on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from brainobs.releases import RELEASES

if TYPE_CHECKING:
    from brainobs.vbn.dropin import (
        BehaviorEcephysSession,
        BehaviorSession,
        VisualBehaviorNeuropixelsProjectCache,
    )

__all__ = ["BehaviorEcephysSession", "BehaviorSession", "VisualBehaviorNeuropixelsProjectCache"]


def _dropin_classes() -> dict[str, str]:
    """Return class name -> ``"module:attribute"`` of every release's drop-in classes."""
    found: dict[str, str] = {}
    for release in RELEASES.values():
        if not release.is_available:
            continue
        targets = (release.dropin_cache_class, *release.dropin_session_classes)
        for target in targets:
            if target is not None:
                found.setdefault(target.rpartition(":")[2], target)
    return found


def __getattr__(name: str) -> Any:
    """Import a release's drop-in class from its home on first access."""
    target = _dropin_classes().get(name)
    if target is None:
        raise AttributeError(f"module 'brainobs.allensdk' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
