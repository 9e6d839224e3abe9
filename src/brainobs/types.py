"""Type aliases of the public API (for annotations; nothing here runs)."""

from __future__ import annotations

import os

#: A local path, as text or a path object.
PathLike = str | os.PathLike[str]
#: A local path or a remote address (``s3://bucket/key``, ``https://...``).
PathOrUrl = str | os.PathLike[str]
