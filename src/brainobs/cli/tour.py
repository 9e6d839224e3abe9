"""The printed tour of the sample release that ``brainobs demo`` gives."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import pandas as pd


def _heading(text: str) -> None:
    click.secho(f"\n== {text}", bold=True)


def run_tour(cache_dir: str | None) -> None:
    """Open the VBN sample release through the cache and print what is in it."""
    from brainobs.sessions.vbn_cache import VisualBehaviorNeuropixelsProjectCache

    _heading("Visual Behavior Neuropixels: built-in sample release")
    start = time.perf_counter()
    cache = VisualBehaviorNeuropixelsProjectCache.from_sample(cache_dir)
    click.echo(f"manifest {cache.current_manifest()}  ({time.perf_counter() - start:.1f} s)")
    click.echo(f"cache    {cache.fetch_api.cache_dir}")
    sessions = cache.get_ecephys_session_table()
    behavior = cache.get_behavior_session_table()
    units = cache.get_unit_table()
    click.echo(
        f"{len(sessions)} ecephys sessions, {len(behavior)} behavior sessions, "
        f"{sessions['mouse_id'].nunique()} mice, {len(units)} units"
    )
    _heading("Ecephys sessions")
    columns = ["mouse_id", "genotype", "session_type", "experience_level", "unit_count"]
    with pd.option_context("display.width", 160, "display.max_colwidth", 36):
        click.echo(sessions[[c for c in columns if c in sessions.columns]].to_string())
    _heading("Units per area (all sessions, quality filters off)")
    counts = units["structure_acronym"].value_counts()
    click.echo(", ".join(f"{area} {n}" for area, n in counts.items()))
    good = cache.get_unit_table(
        amplitude_cutoff_maximum=0.1, presence_ratio_minimum=0.95, isi_violations_maximum=0.5
    )
    click.echo(f"{len(good)} of {len(units)} units pass the usual quality thresholds")
    session_id = _tagged_session(sessions)
    session = cache.get_ecephys_session(session_id)
    _describe_session(session, sessions.loc[session_id])
    _write_report(cache, session, session_id)


def _describe_session(session: Any, row: pd.Series) -> None:
    """Print what one session holds and how the mouse did."""
    _heading(f"Session {row.name}: {row['session_type']}, {row['genotype']}")
    units = session.get_units()
    metrics = session.get_performance_metrics()
    click.echo(
        f"{len(units)} units on {len(session.probes)} probes, "
        f"{len(session.stimulus_presentations)} stimulus presentations, "
        f"{len(session.trials)} trials, {len(session.licks)} licks"
    )
    click.echo(
        f"task: hit rate {metrics['mean_hit_rate']:.2f}, false-alarm rate "
        f"{metrics['mean_false_alarm_rate']:.2f}, max d' {metrics['max_dprime']:.2f}, "
        f"{metrics['engaged_trial_count']} engaged trials"
    )


def _tagged_session(sessions: pd.DataFrame) -> int:
    """Return the first session of an Sst or Vip mouse (optotagged units), else the first."""
    tagged = sessions["genotype"].astype(str).str.contains("Sst|Vip", regex=True)
    return int(sessions.index[tagged.to_numpy()][0] if tagged.any() else sessions.index[0])


def _write_report(cache: Any, session: Any, session_id: int) -> None:
    """Write the HTML report of ``session`` beside the cache and print where it is."""
    from brainobs.cli.report_cmd import write_session_report

    _heading(f"Report of session {session_id}")
    start = time.perf_counter()
    path = write_session_report(session, Path(cache.fetch_api.cache_dir) / "reports")
    click.echo(f"written in {time.perf_counter() - start:.1f} s; open it in a browser:")
    click.echo(f"  {path.resolve().as_uri()}")
    click.echo(f"the same for any session:  brainobs report vbn {session_id} --sample --out DIR")
