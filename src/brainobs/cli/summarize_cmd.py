"""``brainobs summarize``: dataset-wide summary tables of a release, serially or on Dask."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from brainobs.cli.options import source_options


def _session_ids(values: tuple[str, ...]) -> list[int] | None:
    """Return the ids given (repeated options and comma-separated lists), None for all."""
    ids = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if not ids:
        return None
    bad = [i for i in ids if not i.isdigit()]
    if bad:
        raise click.BadParameter(
            f"session ids are integers, not {bad[:3]}", param_hint="--sessions"
        )
    return [int(i) for i in ids]


@contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """Yield what runs the sessions: a local Dask cluster, a scheduler address, or None."""
    if workers is None:
        yield scheduler
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise click.UsageError(
            "--workers needs dask.distributed: pip install 'brainobs[parallel]'."
        ) from None
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@click.command()
@click.argument("release")
@click.option(
    "--sessions",
    "session_values",
    multiple=True,
    metavar="IDS",
    help="Sessions to summarise: ids, repeated or comma-separated (default: all).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Run on a local Dask cluster of N worker processes.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on a running Dask cluster, e.g. tcp://10.0.0.5:8786.",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Read session files by byte ranges from the source instead of downloading.",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder of the tables (default: <cache dir>/summaries/<release>).",
)
@click.option("--force", is_flag=True, help="Recompute every session, current or not.")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Tries after a transient error (dropped connection, failed download).",
)
@click.option("--sample", is_flag=True, help="Use the built-in sample release (offline).")
@source_options
def summarize(
    release: str,
    session_values: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    stream: bool,
    out: str | None,
    force: bool,
    retries: int,
    sample: bool,
    cache_dir: str | None,
    source: str | None,
    endpoint: str | None,
    dandiset_version: str | None,
) -> None:
    """Compute the dataset-wide summary tables of RELEASE and print where they are.

    One Parquet file per session and table (VBN: units, sessions), keyed by the session
    file's hash: a rerun computes only new, changed, damaged or unfinished sessions. A
    session that fails is reported with its id (tracebacks in _failures.json) and the
    others are kept; the exit status is then 1. Query the tables with brainobs.summary(),
    pandas, polars or DuckDB (docs/scale.md).

    \b
    Examples:
      brainobs summarize vbn --sample
      brainobs summarize vbn --workers 8 --stream
      brainobs summarize vbn --scheduler tcp://10.0.0.5:8786 --cache-dir /shared/allen
      brainobs summarize vbn --sessions 1044385384,1044594870 --out ./vbn-summaries
    """
    from brainobs.cli.outputs import check_folder_output
    from brainobs.cli.projects import open_project
    from brainobs.summaries import summarize as run_summaries

    if workers is not None and scheduler is not None:
        raise click.UsageError("Give --workers (a local cluster) or --scheduler, not both.")
    ids = _session_ids(session_values)
    if out is not None:
        check_folder_output("--out", out)
    cache = open_project(release, cache_dir, source, endpoint, sample, dandiset_version)
    with _client(workers, scheduler) as client:
        run = run_summaries(
            cache, ids, client=client, stream=stream, out=out, force=force, retries=retries,
            show_progress=True,
        )  # fmt: skip
    click.echo(run.describe())
    for name in run.summaries.table_names:
        click.echo(f"{name}: {run.table(name).count_rows()} rows in {run.out / name}")
    if run.failures:
        click.secho(f"tracebacks of the failed sessions: {run.out / '_failures.json'}", err=True)
        click.get_current_context().exit(1)
