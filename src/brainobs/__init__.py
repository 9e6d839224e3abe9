"""brainobs: fast, lazy, safe access to the Allen Brain Observatory datasets.

The public API is re-exported here; submodules hold the implementation.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from brainobs.errors import BrainobsError
from brainobs.releases import RELEASES, Release, get_release

try:
    __version__ = version("brainobs")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["RELEASES", "BrainobsError", "Release", "__version__", "get_release"]
