"""Ground truth of the VBO sample recovered through the public API (cache and experiments).

The sample's cells respond more to novel images (most in the first novel session), and by
line differently to changes and omissions (excitatory and Sst cells to changes, Vip cells to
omissions); their cells are tracked across the sessions of their container. What
``VisualBehaviorOphysProjectCache.get_container_cell_responses`` /
``get_cells_across_sessions`` and ``BehaviorOphysExperiment.get_change_omission_responses``
return must show it (tests/analysis/test_ophys.py checks the same on arrays read with h5py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.vbo.cache import VisualBehaviorOphysProjectCache as Cache
from brainobs.vbo.sample_release import cell_truth


@pytest.fixture(scope="module")
def cache(vbo_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    return Cache.from_source(str(vbo_release.root), tmp_path_factory.mktemp("vbo_truth"))


@pytest.fixture(scope="module")
def tracked(cache: Cache) -> pd.DataFrame:
    """Return every cell's responses in every experiment, container by container."""
    containers = cache.get_ophys_experiment_table()["ophys_container_id"].unique()
    table = pd.concat([cache.get_container_cell_responses(int(c)) for c in containers])
    table["line"] = table["cre_line"].str.split("-").str[0]
    return table


def _t(values: pd.Series) -> float:
    """Return the mean of ``values`` in units of its standard error."""
    return float(values.mean() / values.sem())


def test_container_cells_are_the_same_cells_across_sessions(
    cache: Cache, tracked: pd.DataFrame, vbo_release: SampleRelease
) -> None:
    truth = cell_truth(vbo_release)
    assert set(tracked["cell_specimen_id"]) <= set(truth["cell_specimen_id"])
    per_cell = tracked.groupby("cell_specimen_id")
    assert (per_cell["ophys_container_id"].nunique() == 1).all()
    assert (per_cell["experience_level"].nunique() == 3).mean() > 0.5
    container = int(tracked["ophys_container_id"].iloc[0])
    across = cache.get_cells_across_sessions(container, "image")
    assert list(across.columns[-3:]) == ["Familiar", "Novel 1", "Novel >1"]
    assert across[["Familiar", "Novel 1", "Novel >1"]].notna().all().all()


def test_novel_images_evoke_larger_responses_in_every_line(tracked: pd.DataFrame) -> None:
    from brainobs.analysis.ophys_summary import across_sessions

    matched = across_sessions(tracked, "image", ("Familiar", "Novel 1"))
    gain = matched["Novel 1"] - matched["Familiar"]
    lines = matched["cre_line"].str.split("-").str[0]
    assert set(lines) == {"Slc17a7", "Sst", "Vip"}
    for line, cells in gain.groupby(lines):
        assert len(cells) >= 8, line
        assert _t(cells) > 2.5, line  # the same cells, familiar then novel images


def test_change_and_omission_responses_differ_by_line(tracked: pd.DataFrame) -> None:
    familiar = tracked[tracked["experience_level"] == "Familiar"]
    difference = (familiar["change"] - familiar["omission"]).groupby(familiar["line"])
    t = {line: _t(values) for line, values in difference}
    assert t["Slc17a7"] > 2 and t["Sst"] > 2 and t["Vip"] < -2
    assert _t((familiar["change"] - familiar["repeat"])[familiar["line"] == "Slc17a7"]) > 2
    assert familiar.groupby("line")["omission"].mean().idxmax() == "Vip"


def test_one_experiment_shows_it_too(cache: Cache) -> None:
    experiments = cache.get_ophys_experiment_table()
    vip = experiments[experiments["cre_line"].str.startswith("Vip")
                      & (experiments["experience_level"] == "Familiar")]  # fmt: skip
    with cache.get_behavior_ophys_experiment(int(vip.index[0])) as experiment:
        conditions = experiment.get_change_omission_responses()
    assert _t(conditions["omission"] - conditions["change"]) > 2
