"""``brainobs sessions|download|report vbo`` on the VBO sample (served from its folder)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from click.testing import CliRunner

from brainobs.cli.main import cli
from brainobs.sample import SampleRelease


def _invoke(*args: str) -> object:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def tables(vbo_release: SampleRelease) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(vbo_release.metadata_path(name))
        for name in ("behavior_session_table", "ophys_session_table", "ophys_experiment_table")
    }


def _source(vbo_release: SampleRelease, cache: Path) -> list[str]:
    return ["--source", str(vbo_release.root), "--cache-dir", str(cache)]


def test_sessions_lists_the_experiments(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    out = tmp_path / "experiments.csv"
    _invoke("sessions", "vbo", "--filter", "cre_line startswith 'Vip'", "-o", str(out),
            *_source(vbo_release, tmp_path / "c"))  # fmt: skip
    listed = pd.read_csv(out)
    experiments = tables["ophys_experiment_table"]
    vip = experiments[experiments["cre_line"].str.startswith("Vip")]
    assert sorted(listed["ophys_experiment_id"]) == sorted(vip["ophys_experiment_id"])


def _downloaded(cache: Path) -> set[str]:
    return {p.name for p in cache.rglob("*.nwb")}


def test_download_resolves_experiment_and_session_ids(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    experiments = tables["ophys_experiment_table"]
    behavior = tables["behavior_session_table"]
    multi = experiments[experiments["equipment_name"] == "MESO.1"]
    session = int(multi["ophys_session_id"].iloc[0])
    planes = multi[multi["ophys_session_id"] == session]["ophys_experiment_id"]
    plane_files = {f"behavior_ophys_experiment_{p}.nwb" for p in planes}
    cases = {
        str(int(planes.iloc[0])): {f"behavior_ophys_experiment_{planes.iloc[0]}.nwb"},
        str(session): plane_files,  # an imaging session: its planes
    }
    own = behavior[behavior["file_id"] >= 0].iloc[0]
    cases[str(int(own["behavior_session_id"]))] = {
        f"behavior_session_{own['behavior_session_id']}.nwb"
    }
    for k, (session_id, expected) in enumerate(cases.items()):
        cache = tmp_path / f"c{k}"
        _invoke("download", "vbo", session_id, *_source(vbo_release, cache))
        assert _downloaded(cache) == expected, session_id
    imaging_behavior = str(int(multi["behavior_session_id"].iloc[0]))  # in its planes' files
    result = CliRunner().invoke(cli, ["download", "vbo", imaging_behavior,
                                      *_source(vbo_release, tmp_path / "c")])  # fmt: skip
    assert result.exit_code != 0 and "no file of its own" in str(result.exception)


def test_report_of_an_experiment(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    experiment = int(tables["ophys_experiment_table"]["ophys_experiment_id"].iloc[1])
    out = tmp_path / "reports"
    result = _invoke("report", "vbo", str(experiment), "--out", str(out),
                     *_source(vbo_release, tmp_path / "c"))  # fmt: skip
    written = out / f"session_{experiment}.html"
    assert result.stdout.strip().splitlines()[-1] == str(written)  # type: ignore[attr-defined]
    page = written.read_text(encoding="utf-8")
    assert page.count('class="unavailable"') == 0
    for title in ("Field of view and cells", "dF/F around image changes and omissions",
                  "Responses per image", "Task performance"):  # fmt: skip
        assert title in page
