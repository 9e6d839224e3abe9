"""``brainobs report``: writes the page of a sample session and prints its path."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd

matplotlib.use("Agg")

from click.testing import CliRunner

from brainobs.cli.report_cmd import report
from brainobs.errors import UnknownIdError
from brainobs.sample import SampleRelease
from brainobs.vbn.tour import _tagged_session


def _source_args(vbn_release: SampleRelease, cache_dir: Path) -> list[str]:
    return ["--source", str(vbn_release.root), "--cache-dir", str(cache_dir)]


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(report, ["--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "brainobs report vbn" in result.output
    assert "--stream" in result.output and "--out" in result.output


def _session_ids(vbn_release: SampleRelease) -> dict[str, str]:
    """Return the ids of the sample's recording with LFP and of its first wt and Vip ones."""
    sessions = pd.read_csv(vbn_release.metadata_path("ecephys_sessions"))
    probes = pd.read_csv(vbn_release.metadata_path("probes"))
    with_lfp = sessions["ecephys_session_id"].isin(
        probes.loc[probes["has_lfp_data"], "ecephys_session_id"]
    )
    genotype = sessions["genotype"].str.split("-").str[0]
    return {
        "lfp": str(sessions.loc[with_lfp, "ecephys_session_id"].iloc[0]),
        "wt": str(sessions.loc[genotype == "wt/wt", "ecephys_session_id"].iloc[0]),
        "Vip": str(sessions.loc[genotype == "Vip", "ecephys_session_id"].iloc[0]),
    }


def test_report_of_a_sample_session(vbn_release: SampleRelease, tmp_path: Path) -> None:
    session_id = _session_ids(vbn_release)["lfp"]
    out = tmp_path / "reports"
    args = ["vbn", session_id, "--out", str(out), *_source_args(vbn_release, tmp_path / "c")]
    result = CliRunner().invoke(report, args)
    assert result.exit_code == 0, result.output
    written = out / f"session_{session_id}.html"
    assert result.stdout.strip().splitlines()[-1] == str(written)
    page = written.read_text(encoding="utf-8")
    assert f"Session {session_id}" in page and "Sst-IRES-Cre" in page
    assert page.count('class="unavailable"') == 0


def test_report_of_a_session_without_lfp(vbn_release: SampleRelease, tmp_path: Path) -> None:
    session_id = _session_ids(vbn_release)["wt"]
    out = tmp_path / "reports"
    args = ["vbn", session_id, "--out", str(out), *_source_args(vbn_release, tmp_path / "c")]
    result = CliRunner().invoke(report, args)
    assert result.exit_code == 0, result.output
    page = (out / f"session_{session_id}.html").read_text(encoding="utf-8")
    assert "wt/wt" in page and page.count('class="unavailable"') == 1
    assert "not available: LFP and CSD" in result.stderr


def test_streamed_report_reads_by_byte_ranges(vbn_release: SampleRelease, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    args = ["vbn", _session_ids(vbn_release)["Vip"], "--stream", "--out", str(out), "--probe", "0"]
    result = CliRunner().invoke(report, [*args, *_source_args(vbn_release, tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "not available: LFP and CSD: probe 0 has no LFP data" in result.stderr
    assert "Vip-IRES-Cre" in out.read_text(encoding="utf-8")
    assert not list((tmp_path / "c").rglob("*.nwb"))


def test_unknown_session_id_says_where_to_look(vbn_release: SampleRelease, tmp_path: Path) -> None:
    args = ["vbn", "42", *_source_args(vbn_release, tmp_path / "c")]
    result = CliRunner().invoke(report, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, UnknownIdError)
    assert "brainobs sessions vbn" in str(result.exception)


def test_tour_reports_a_tagged_session() -> None:
    sessions = pd.DataFrame({"genotype": ["wt/wt", "Vip-IRES-Cre/wt", "Sst-IRES-Cre/wt"]},
                            index=[1, 2, 3])  # fmt: skip
    assert _tagged_session(sessions) == 2
    assert _tagged_session(sessions.iloc[:1]) == 1
    probes = pd.DataFrame({"ecephys_session_id": [1, 2, 3], "has_lfp_data": [True, False, True]})
    assert _tagged_session(sessions, probes) == 3  # tagged units and LFP: every section
    assert _tagged_session(sessions, probes.assign(has_lfp_data=False)) == 2


def test_a_behavior_session_id_gets_the_behavior_report(
    vbn_release: SampleRelease, tmp_path: Path
) -> None:
    from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache

    cache = VisualBehaviorNeuropixelsProjectCache.from_source(str(vbn_release.root), tmp_path)
    table = cache.get_behavior_session_table()
    behavior_id = int(table.index[table["ecephys_session_id"].isna().to_numpy()][0])
    result = CliRunner().invoke(
        report,
        ["vbn", str(behavior_id), "--out", str(tmp_path), *_source_args(vbn_release, tmp_path)],
    )
    assert result.exit_code == 0, result.output
    page = Path(result.stdout.strip().splitlines()[-1]).read_text(encoding="utf-8")
    assert "Task performance" in page and "Units per area" not in page
