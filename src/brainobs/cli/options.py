"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Cache folder (default: $BRAINOBS_CACHE_DIR, else the user cache folder).",
)
source_option = click.option(
    "--source",
    default=None,
    metavar="SOURCE",
    help="Where files come from: 's3' (default, the public bucket), an http(s):// mirror, "
    "a folder laid out like the bucket, or 'dandi' (NWB files from the DANDI Archive, "
    "$BRAINOBS_DANDI_API for a mirror; metadata tables still from the bucket).",
)
dandiset_version_option = click.option(
    "--dandiset-version",
    default=None,
    metavar="VERSION",
    help="With --source dandi: 'draft' or a published version such as 0.240702.1725 "
    "(default: the most recent published version).",
)
endpoint_option = click.option(
    "--endpoint",
    default=None,
    metavar="URL",
    help="S3 endpoint of a mirror (default: $BRAINOBS_S3_ENDPOINT, else AWS).",
)


def source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --cache-dir, --source, --endpoint and --dandiset-version to a command."""
    return cache_dir_option(source_option(endpoint_option(dandiset_version_option(func))))
