"""Moved: the VBN project cache lives in :mod:`brainobs.vbn` now.

``from brainobs import VisualBehaviorNeuropixelsProjectCache`` is the import line to use; this
module keeps the old one working for code written against brainobs 0.1.
"""

from __future__ import annotations

import importlib
import warnings


def __getattr__(name: str) -> object:
    """Return ``name`` from its new home, with a warning naming the new import line."""
    if name == "VisualBehaviorNeuropixelsProjectCache":
        warnings.warn(
            "brainobs.sessions.vbn_cache moved: use "
            "`from brainobs import VisualBehaviorNeuropixelsProjectCache`.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("brainobs.vbn.cache"), name)
    raise AttributeError(f"module 'brainobs.sessions.vbn_cache' has no attribute {name!r}")
