"""Report sections on a small fake session: every section draws, missing streams say so."""

from __future__ import annotations

import html
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from brainobs.errors import InvalidInputError, MissingDataError
from brainobs.report import (
    FigureBlock,
    ReportOptions,
    Section,
    SectionUnavailableError,
    TableBlock,
    TextBlock,
    UnavailableBlock,
    register_kind,
    register_section,
    render_report,
    sections_for,
    session_kind,
    write_report,
)
from brainobs.report.session_data import aligned_samples
from tests.report.fake_session import FakeSession


@pytest.fixture(scope="module")
def full_report():
    return render_report(FakeSession())


def _sections(*keys):
    return [s for s in sections_for("vbn_ecephys") if s.key in keys]


def _outcome(report, key):
    return next(o for o in report.outcomes if o.key == key)


def test_every_section_of_the_fake_session_is_drawn(full_report):
    assert [o.key for o in full_report.outcomes] == [s.key for s in sections_for("vbn_ecephys")]
    assert full_report.unavailable == [], full_report.unavailable
    assert "not available" not in full_report.html


def test_page_is_self_contained(full_report):
    page = full_report.html
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 9
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    for section in sections_for("vbn_ecephys"):
        assert f'id="{section.key}"' in page and f'href="#{section.key}"' in page


def test_page_shows_thresholds_metadata_and_counts(full_report):
    page = full_report.html
    assert "Sst-IRES-Cre" in page and "EPHYS_1_images_G_3uL_reward" in page
    assert "amplitude_cutoff ≤ 0.1, presence_ratio ≥ 0.95, isi_violations ≤ 0.5" in page
    assert "Optotagged units per area" in page
    assert "3 of 48 units in a brain area (quality filters off) follow the 60" in page


@pytest.mark.parametrize(
    ("missing", "key", "reason"),
    [
        ("optotagging_table", "optotagging", "no optotagging_table"),
        ("lfp", "lfp", "LFP of probe 101 cannot be read: the session file has no lfp"),
        ("stimulus_presentations", "changes", "no stimulus_presentations"),
        ("units", "quality", "no get_units"),
        ("trials", "performance", "no trials"),
    ],
)
def test_a_missing_stream_renders_not_available(missing, key, reason):
    report = render_report(FakeSession(missing={missing}), sections=_sections("metadata", key))
    outcome = _outcome(report, key)
    assert not outcome.available
    assert reason in outcome.reason
    assert f"not available: {html.escape(outcome.reason)}</div>" in report.html
    assert 'class="unavailable"' in report.html
    drawn = [o.key for o in report.outcomes if o.available]
    assert "metadata" in drawn


def test_a_missing_behaviour_stream_leaves_the_others():
    report = render_report(FakeSession(missing={"eye_tracking"}), sections=_sections("behavior"))
    outcome = _outcome(report, "behavior")
    assert outcome.available
    assert "not available: pupil area: this session has no eye_tracking" in report.html


def test_missing_csd_keeps_the_lfp():
    report = render_report(FakeSession(missing={"csd"}), sections=_sections("lfp"))
    assert _outcome(report, "lfp").available
    assert "not available: CSD:" in report.html


def test_strict_raises_the_section_error():
    with pytest.raises(SectionUnavailableError, match="optotagging_table"):
        render_report(
            FakeSession(missing={"optotagging_table"}),
            sections=_sections("optotagging"),
            strict=True,
        )


def test_an_unexpected_error_is_one_line_in_its_box():
    def broken(session, context):
        raise ZeroDivisionError("division by zero\nin a section")

    report = render_report(FakeSession(), sections=[Section("broken", "Broken", broken)])
    assert report.unavailable[0].reason == "division by zero in a section"
    assert "not available: division by zero in a section" in report.html


def test_write_report_to_a_folder_or_a_file(tmp_path):
    session = FakeSession()
    sections = sections_for("vbn_ecephys")[:1]
    in_folder = write_report(session, tmp_path / "out", sections=sections)
    assert in_folder.path == tmp_path / "out" / "session_1234.html"
    named = write_report(session, tmp_path / "mine.html", sections=sections)
    assert named.path == tmp_path / "mine.html"
    assert named.path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(tmp_path.rglob("*.part"))


def test_a_new_kind_and_section_extend_reports_without_changing_them():
    def notes(session, context):
        table = pd.DataFrame({"n": [1, 2]}, index=pd.Index(["a", "b"], name="k"))
        return [TextBlock("hello <b>"), TableBlock(table), UnavailableBlock("not yet")]

    register_kind("test_kind", sections_for("vbn_ecephys")[:1])
    register_section("test_kind", Section("notes", "Notes", notes), after="metadata")
    register_section("test_kind", Section("first", "First", notes), after=None)
    assert [s.key for s in sections_for("test_kind")] == ["metadata", "notes", "first"]

    class TestOnlySession(FakeSession):
        report_kind = "test_kind"

    assert session_kind(TestOnlySession()) == "test_kind"

    class Undeclared:
        pass

    with pytest.raises(InvalidInputError, match="report_kind"):
        session_kind(Undeclared())
    page = render_report(TestOnlySession()).html
    assert "hello &lt;b&gt;" in page and "not available: not yet" in page
    assert [s.key for s in sections_for("vbn_ecephys")][:2] == ["metadata", "units"]


def test_options_change_thresholds_and_probe():
    report = render_report(
        FakeSession(),
        sections=_sections("quality", "lfp"),
        options=ReportOptions(amplitude_cutoff_maximum=0.0, probe_id=102),
    )
    assert "amplitude_cutoff ≤ 0, presence_ratio ≥ 0.95" in report.html
    assert "probe 102 has no LFP data" in _outcome(report, "lfp").reason


def test_sections_return_blocks():
    blocks = sections_for("vbn_ecephys")[1].build(FakeSession(), _context())
    assert any(isinstance(b, FigureBlock) for b in blocks)


def _context():
    from brainobs.report import ReportContext

    return ReportContext()


def test_context_remembers_failures():
    context = _context()
    calls = []

    def failing():
        calls.append(1)
        raise MissingDataError("gone")

    for _ in range(2):
        with pytest.raises(MissingDataError):
            context.memo("x", failing)
    assert calls == [1]


def test_aligned_samples_nearest_sample_and_gaps():
    timestamps = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    values = np.array([0.0, 10.0, np.nan, 30.0, 100.0])
    out = aligned_samples(timestamps, values, np.array([1.0]), np.array([-1.1, 0.2, 1.0, 5.0]))
    assert out.shape == (1, 4)
    assert out[0, 0] == 0.0 and out[0, 1] == 10.0
    assert np.isnan(out[0, 2])  # a NaN sample (blink)
    assert np.isnan(out[0, 3])  # inside a gap
