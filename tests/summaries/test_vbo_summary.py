"""VBO's summary tables: one row per cell and per experiment, equal to the experiment API, and
the sample's novelty effect visible in them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.ophys_summary import across_sessions, population_summary
from brainobs.sample import SampleRelease
from brainobs.summaries import SummaryRun, load_summaries, summarize
from brainobs.vbo.cache import VisualBehaviorOphysProjectCache as Cache
from brainobs.vbo.summary import SUMMARIES
from tests.summaries.helpers import read_tables


@pytest.fixture(scope="module")
def cache(vbo_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    return Cache.from_source(str(vbo_release.root), tmp_path_factory.mktemp("vbo_summary"))


@pytest.fixture(scope="module")
def run(cache: Cache, tmp_path_factory: pytest.TempPathFactory) -> SummaryRun:
    return summarize(cache, out=tmp_path_factory.mktemp("vbo_summaries"))


@pytest.fixture(scope="module")
def tables(run: SummaryRun) -> dict[str, pd.DataFrame]:
    return read_tables(Path(run.out), SUMMARIES.table_names)


def test_the_release_declares_its_summaries() -> None:
    assert load_summaries("vbo") is SUMMARIES
    assert SUMMARIES.table_names == ["cells", "experiments"]


def test_one_row_per_cell_and_per_experiment(
    cache: Cache, run: SummaryRun, tables: dict[str, pd.DataFrame]
) -> None:
    experiments = cache.get_ophys_experiment_table()
    assert run.ok and sorted(run.computed) == sorted(experiments.index)
    cells, table = tables["cells"], tables["experiments"]
    for name in SUMMARIES.table_names:
        assert list(tables[name].columns) == SUMMARIES.table(name).column_names
    rois = cache.get_ophys_cells_table()
    assert sorted(cells["cell_roi_id"]) == sorted(rois.index)
    counts = cells.groupby("ophys_experiment_id").size()
    assert counts.to_dict() == table.set_index("ophys_experiment_id")["cell_count"].to_dict()
    manifest = cache.fetch_api.manifest
    hashes = {e: manifest.data_file(experiments.loc[e, "file_id"]).file_hash
              for e in experiments.index}  # fmt: skip
    assert table.set_index("ophys_experiment_id")["file_hash"].to_dict() == hashes
    assert set(table["experience_level"]) == {"Familiar", "Novel 1", "Novel >1"}


def test_rows_equal_the_experiment_api(cache: Cache, tables: dict[str, pd.DataFrame]) -> None:
    oeid = int(cache.get_ophys_experiment_table().index[4])
    with cache.get_behavior_ophys_experiment(oeid) as experiment:
        responses = experiment.get_cell_responses()
        metrics = experiment.get_performance_metrics()
        frames = len(experiment.ophys_timestamps)
    cells = tables["cells"]
    mine = cells[cells["ophys_experiment_id"] == oeid].set_index("cell_specimen_id")
    pd.testing.assert_frame_equal(
        mine.loc[responses.index, ["change", "repeat", "omission", "image"]],
        responses[["change", "repeat", "omission", "image"]],
        check_names=False,
    )
    assert (mine.loc[responses.index, "preferred_image"] == responses["preferred_image"]).all()
    row = tables["experiments"].set_index("ophys_experiment_id").loc[oeid]
    assert row["frame_count"] == frames and row["trial_count"] == metrics["trial_count"]
    assert row["mean_omission_response"] == pytest.approx(responses["omission"].mean())
    assert row["max_dprime"] == pytest.approx(metrics["max_dprime"])


def test_the_novelty_effect_shows_in_the_summary(tables: dict[str, pd.DataFrame]) -> None:
    cells = tables["cells"]
    matched = across_sessions(cells, "image", ("Familiar", "Novel 1"))
    gain = (matched["Novel 1"] - matched["Familiar"]).groupby(matched["cre_line"])
    assert (gain.mean() > 0).all() and len(gain) == 3
    summary = population_summary(cells, "image", depth_bins=(0, 200, 400))
    assert (summary["n_cells"] > 0).all() and np.isfinite(summary["mean"]).all()
