"""What ``brainobs demo`` says about the VBO sample: the release, its experiments, one
container's cells from familiar to novel sessions, and one experiment."""

from __future__ import annotations

import pandas as pd

from brainobs.vbo.cache import VisualBehaviorOphysProjectCache
from brainobs.vbo.experiment import BehaviorOphysExperiment

Paragraphs = list[tuple[str, str]]
LISTED = ["cre_line", "session_type", "experience_level", "targeted_structure",
          "imaging_depth", "equipment_name", "ophys_container_id"]  # fmt: skip


def tour(cache: VisualBehaviorOphysProjectCache) -> tuple[Paragraphs, int]:
    """Return the tour's paragraphs (heading, text) and the id of the experiment to report."""
    behavior = cache.get_behavior_session_table()
    sessions = cache.get_ophys_session_table()
    experiments = cache.get_ophys_experiment_table()
    cells = cache.get_ophys_cells_table()
    with pd.option_context("display.width", 160, "display.max_colwidth", 24):
        listing = experiments[[c for c in LISTED if c in experiments.columns]].to_string()
    container = _excitatory_container(experiments)
    experiment_id = int(
        experiments.index[
            (experiments["ophys_container_id"] == container)
            & (experiments["experience_level"] == "Novel 1")
        ][0]
    )
    paragraphs = [
        (
            "Release",
            f"{len(behavior)} behavior sessions, {len(sessions)} imaging sessions, "
            f"{len(experiments)} experiments (imaging planes) in "
            f"{experiments['ophys_container_id'].nunique()} containers, "
            f"{behavior['mouse_id'].nunique()} mice, {len(cells)} ROIs of "
            f"{cells['cell_specimen_id'].nunique()} cells",
        ),
        ("Experiments", listing),
        _across_sessions(cache, container),
        _describe(cache.get_behavior_ophys_experiment(experiment_id)),
    ]
    return paragraphs, experiment_id


def _excitatory_container(experiments: pd.DataFrame) -> int:
    """Return the container of the first single-plane excitatory mouse (else the first)."""
    lines = experiments["cre_line"].astype(str)
    chosen = experiments[
        lines.str.startswith("Slc17a7") & (experiments["equipment_name"] != "MESO.1")
    ]
    chosen = chosen if not chosen.empty else experiments
    return int(chosen["ophys_container_id"].iloc[0])


def _across_sessions(cache: VisualBehaviorOphysProjectCache, container: int) -> tuple[str, str]:
    """Return a paragraph on one container's cells from familiar to novel images."""
    table = cache.get_cells_across_sessions(container, "image")
    means = table[[c for c in ("Familiar", "Novel 1", "Novel >1") if c in table.columns]].mean()
    text = ", ".join(f"{level} {value:.3f}" for level, value in means.items())
    return (
        f"Container {container}: the same cells across sessions",
        f"{len(table)} cells tracked through every session; mean image response (dF/F): {text}\n"
        f"cache.get_cells_across_sessions({container}, 'image') gives one row per cell",
    )


def _describe(experiment: BehaviorOphysExperiment) -> tuple[str, str]:
    """Return a paragraph on what one experiment holds and how the mouse did."""
    metadata = experiment.metadata
    metrics = experiment.get_performance_metrics()
    cells = experiment.get_cell_responses()
    return (
        f"Experiment {experiment.ophys_experiment_id}: {metadata['session_type']}, "
        f"{metadata['cre_line']}",
        f"{len(cells)} cells at {metadata['ophys_frame_rate']:g} Hz in "
        f"{metadata['targeted_structure']} ({metadata['imaging_depth']} µm), "
        f"{len(experiment.stimulus_presentations)} stimulus presentations, "
        f"{len(experiment.trials)} trials\n"
        f"mean dF/F response: change {cells['change'].mean():.3f}, repeated image "
        f"{cells['repeat'].mean():.3f}, omission {cells['omission'].mean():.3f}\n"
        f"task: hit rate {metrics['mean_hit_rate']:.2f}, false-alarm rate "
        f"{metrics['mean_false_alarm_rate']:.2f}, max d' {metrics['max_dprime']:.2f}",
    )
