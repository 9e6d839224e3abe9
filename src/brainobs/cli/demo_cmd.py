"""``brainobs demo``: the guided tour of a release, offline, on the built-in sample."""

from __future__ import annotations

import click

from brainobs.cli.options import cache_dir_option


@click.command()
@cache_dir_option
def demo(cache_dir: str | None) -> None:
    """Build the VBN sample release if needed, open it through the cache, and tour it.

    Needs no network: the sample is simulated in the real bucket layout and served
    through the same manifest -> fetch -> verify -> cache path as the real release.

    \b
    Example:
      brainobs demo --cache-dir /tmp/brainobs-demo
    """
    from brainobs.cli.tour import run_tour

    run_tour(cache_dir)
