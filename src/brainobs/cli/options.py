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
    "or a folder laid out like the bucket.",
)
endpoint_option = click.option(
    "--endpoint",
    default=None,
    metavar="URL",
    help="S3 endpoint of a mirror (default: $BRAINOBS_S3_ENDPOINT, else AWS).",
)


def source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --cache-dir, --source and --endpoint to a command."""
    return cache_dir_option(source_option(endpoint_option(func)))
