"""The printed tour of the sample releases that ``brainobs demo`` gives."""

from __future__ import annotations

import time

import click

from brainobs.releases import Release


def _heading(text: str) -> None:
    click.secho(f"\n== {text}", bold=True)


def run_tour(cache_dir: str | None, releases: list[Release]) -> None:
    """Open each release's sample through its cache, print its tour and write one report."""
    for release in releases:
        _tour_one(release, cache_dir)


def _tour_one(release: Release, cache_dir: str | None) -> None:
    """Print the tour of one release and write the report of the session it picks."""
    from brainobs.cli.report_cmd import write_session_report

    _heading(f"{release.title}: built-in sample release")
    from brainobs import config

    start = time.perf_counter()
    cache = release.load_cache_class().from_sample(cache_dir)
    if release.layout == "warehouse":  # a cache folder with no manifest versions (VCN)
        click.echo(f"folder   {cache.tree.folder}  ({time.perf_counter() - start:.1f} s)")
    else:
        click.echo(f"manifest {cache.current_manifest()}  ({time.perf_counter() - start:.1f} s)")
        click.echo(f"cache    {cache.fetch_api.cache_dir}")
    paragraphs, session_id = release.load(str(release.tour))(cache)
    for heading, text in paragraphs:
        _heading(heading)
        click.echo(text)
    _heading(f"Report of session {session_id}")
    start = time.perf_counter()
    session = cache.get_session(session_id)
    path = write_session_report(session, config.cache_dir(cache_dir) / "reports")
    click.echo(f"written in {time.perf_counter() - start:.1f} s; open it in a browser:")
    click.echo(f"  {path.resolve().as_uri()}")
    click.echo(
        f"the same for any session:  brainobs report {release.name} {session_id} --sample --out DIR"
    )
