"""Open a release's project cache from command-line options, through the release registry."""

from __future__ import annotations

from typing import Any


def open_project(
    release: str,
    cache_dir: str | None,
    source: str | None,
    endpoint: str | None,
    sample: bool,
    dandiset_version: str | None = None,
) -> Any:
    """Return the project cache of ``release`` over the sample, a mirror, the bucket or DANDI."""
    from brainobs.releases import get_release

    project = get_release(release).load_cache_class()
    if sample:
        return project.from_sample(cache_dir)
    return project.from_source(
        source or "s3", cache_dir, endpoint=endpoint, dandiset_version=dandiset_version
    )
