"""``brainobs demo``: the guided tour of each release, offline, on the built-in samples."""

from __future__ import annotations

import click

from brainobs.cli.options import cache_dir_option


@click.command()
@cache_dir_option
@click.option(
    "--release",
    "release_names",
    multiple=True,
    metavar="NAME",
    help="Tour only this release (repeatable); default: every release with a sample.",
)
def demo(cache_dir: str | None, release_names: tuple[str, ...]) -> None:
    """Build each release's sample if needed, open it through the cache, and tour it.

    Needs no network: each sample is simulated in the real bucket layout and served
    through the same manifest -> fetch -> verify -> cache path as the real release.

    \b
    Examples:
      brainobs demo --cache-dir /tmp/brainobs-demo
      brainobs demo --release vbn
    """
    from brainobs.cli.tour import run_tour
    from brainobs.errors import InvalidInputError
    from brainobs.releases import available_releases, get_release

    if release_names:
        releases = [get_release(name) for name in release_names]
    else:
        releases = [r for r in available_releases() if r.tour is not None]
    for release in releases:
        if release.tour is None or not release.is_available:
            raise InvalidInputError(f"{release.title} has no sample tour in this brainobs yet.")
    run_tour(cache_dir, releases)
