"""``brainobs report``: write the HTML report of one session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from brainobs.cli.options import source_options


@click.command()
@click.argument("release")
@click.argument("session_id", type=int)
@click.option(
    "--out",
    "out_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=True, dir_okay=True),
    help="Folder to write session_<id>.html into (or a path ending in .html).",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Read the session's files by byte ranges from the source instead of downloading them.",
)
@click.option("--sample", is_flag=True, help="Use the built-in sample release (offline).")
@click.option(
    "--probe", "probe_id", type=int, default=None, help="Probe id whose LFP and CSD to show."
)
@click.option("--strict", is_flag=True, help="Fail on the first section that cannot be drawn.")
@source_options
def report(
    release: str,
    session_id: int,
    out_dir: str,
    stream: bool,
    sample: bool,
    probe_id: int | None,
    strict: bool,
    cache_dir: str | None,
    source: str | None,
    endpoint: str | None,
    dandiset_version: str | None,
) -> None:
    """Write the HTML report of SESSION_ID in RELEASE and print where it is.

    The page is self-contained (figures embedded, no network needed to view it), with the
    sections of the session's kind (for a VBN ecephys session: metadata, units per area and
    their quality, responses to image changes and omissions by area, optotagged units,
    running, pupil and licks, task performance, LFP and CSD; for a VBO experiment: the field
    of view with the cells' outlines, their dF/F around changes and omissions, responses per
    image, and the behaviour). A part the session's files lack is shown as "not available"
    with the reason.

    \b
    Examples:
      brainobs report vbn 1044385384 --out reports/
      brainobs report vbn 1044385384 --stream --source https://mirror.example.org/vbn
      brainobs report vbn 1044385384 --stream --source dandi
      brainobs sessions vbn --sample        # pick a session id, then:
      brainobs report vbn <session_id> --sample --out reports/
      brainobs report vbo <ophys_experiment_id> --sample --out reports/
    """
    from brainobs.cli.outputs import check_report_output
    from brainobs.cli.projects import open_project

    check_report_output("--out", out_dir)  # before minutes of rendering, not after
    cache = open_project(release, cache_dir, source, endpoint, sample, dandiset_version)
    click.echo(f"opening session {session_id} ...", err=True)
    session = cache.get_session(session_id, stream=stream)
    written = write_session_report(session, out_dir, probe_id=probe_id, strict=strict)
    click.echo(str(written))


def write_session_report(
    session: Any, out: str | Path, probe_id: int | None = None, strict: bool = False
) -> Path:
    """Return the path of the report written for ``session``; print sections left out."""
    from brainobs.report import ReportOptions, write_report

    result = write_report(
        session, out, options=ReportOptions(probe_id=probe_id), progress=True, strict=strict
    )
    for outcome in result.unavailable:
        click.secho(f"not available: {outcome.title}: {outcome.reason}", fg="yellow", err=True)
    return Path(result.path or out)
