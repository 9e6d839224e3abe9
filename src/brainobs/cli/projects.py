"""Open a release's project cache from command-line options."""

from __future__ import annotations

from typing import Any

from brainobs.errors import InvalidInputError


def open_project(
    release: str,
    cache_dir: str | None,
    source: str | None,
    endpoint: str | None,
    sample: bool,
) -> Any:
    """Return the project cache of ``release`` over the sample, a mirror or the bucket."""
    from brainobs.releases import get_release
    from brainobs.sessions.vbn_cache import VisualBehaviorNeuropixelsProjectCache

    rel = get_release(release)
    caches = {"vbn": VisualBehaviorNeuropixelsProjectCache}
    if rel.name not in caches:
        raise InvalidInputError(f"{rel.title} sessions are not available in brainobs yet.")
    project = caches[rel.name]
    if sample:
        return project.from_sample(cache_dir)
    return project.from_source(source or "s3", cache_dir, endpoint=endpoint)
