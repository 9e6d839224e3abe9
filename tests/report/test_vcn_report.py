"""The VCN report's own sections and ``brainobs report vcn``."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from click.testing import CliRunner

from brainobs.cli.report_cmd import report
from brainobs.report.section import ReportContext, SectionUnavailableError, TableBlock
from brainobs.vcn.cache import EcephysProjectCache
from brainobs.vcn.report import (
    ECEPHYS_SECTIONS,
    FLASH_RESPONSES,
    RECEPTIVE_FIELDS,
    TUNING_CURVES,
)
from brainobs.vcn.sample_release import VcnSampleRelease


@pytest.fixture(scope="module")
def cache(vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory):
    return EcephysProjectCache.from_source(str(vcn_release.root), tmp_path_factory.mktemp("r"))


def _session(cache, session_type: str):
    sessions = cache.get_session_table()
    return cache.get_session_data(int(sessions.index[sessions["session_type"] == session_type][0]))


def test_sections_show_the_tuning_of_the_session_units(cache) -> None:
    session = _session(cache, "brain_observatory_1.1")
    context = ReportContext()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tuning = TUNING_CURVES.build(session, context)
        fields = RECEPTIVE_FIELDS.build(session, context)
        flashes = FLASH_RESPONSES.build(session, context)
    table = next(b.table for b in tuning if isinstance(b, TableBlock))
    areas = set(session.units["ecephys_structure_acronym"])
    assert set(table.index) <= areas and "g_osi_dg" in table.columns
    summary = next(b.table for b in fields if isinstance(b, TableBlock))
    assert summary["p_value_rf"].max() < 0.01
    assert any(isinstance(b, TableBlock) and "on_off_ratio_fl" in b.table for b in flashes)
    assert context.memo("vcn_tuning", lambda: None).index.equals(session.units.index)


def test_a_functional_connectivity_session_has_no_static_stimuli_but_reports(cache) -> None:
    session = _session(cache, "functional_connectivity")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blocks = TUNING_CURVES.build(session, ReportContext())  # drifting_gratings_75_repeats
    assert blocks
    assert [s.key for s in ECEPHYS_SECTIONS][:3] == ["metadata", "units", "quality"]


def test_sections_say_why_they_are_unavailable(cache) -> None:
    session = _session(cache, "brain_observatory_1.1")
    context = ReportContext()
    context.memo("vcn_tuning", lambda: pd.DataFrame(index=session.units.index))
    with pytest.raises(SectionUnavailableError, match="no gabors"):
        RECEPTIVE_FIELDS.build(session, context)


def test_report_vcn_command(vcn_release: VcnSampleRelease, tmp_path: Path) -> None:
    sessions = pd.read_csv(vcn_release.metadata_path("sessions"), index_col="id")
    session_id = str(sessions.index[0])
    args = ["vcn", session_id, "--out", str(tmp_path / "out"), "--source",
            str(vcn_release.root), "--cache-dir", str(tmp_path / "c")]  # fmt: skip
    result = CliRunner().invoke(report, args)
    assert result.exit_code == 0, result.output
    page = tmp_path / "out" / f"session_{session_id}.html"
    assert page.is_file() and "Receptive fields" in page.read_text()
