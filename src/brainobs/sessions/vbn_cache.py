"""Moved: the VBN project cache lives in :mod:`brainobs.vbn` now.

``from brainobs import VisualBehaviorNeuropixelsProjectCache`` is the import line to use; this
module keeps the old one working for code written against brainobs 0.1.
"""

from __future__ import annotations

import warnings

from brainobs.releases import get_release


def __getattr__(name: str) -> object:
    """Return the VBN project cache class, with a warning naming the new import line."""
    cache_class: type = get_release("vbn").load_cache_class()
    if name != cache_class.__name__:
        raise AttributeError(f"module 'brainobs.sessions.vbn_cache' has no attribute {name!r}")
    warnings.warn(
        f"brainobs.sessions.vbn_cache moved: use `from brainobs import {name}`.",
        DeprecationWarning,
        stacklevel=2,
    )
    return cache_class
