"""The report of a sample session, opened in headless Chromium: images load, no console errors.

Chromium (Debian's ``chromium`` package) is driven through the DevTools protocol over a pipe,
with network access cut, and a full-page screenshot is saved under ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from brainobs.report import Report, write_report
from brainobs.sample import SampleRelease
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache
from brainobs.vbo.cache import VisualBehaviorOphysProjectCache
from brainobs.vcn.cache import EcephysProjectCache
from brainobs.vcn.sample_release import VcnSampleRelease
from tests.report.chromium import PageCheck, check_page, devtools, find_chromium

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def _chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.fail("Chromium is needed for this test: apt-get install -y chromium")
    return found


@pytest.fixture(scope="module")
def sample_report(
    vbn_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, Report]:
    """The report of the sample's Sst session with LFP, through the normal cache path."""
    cache = VisualBehaviorNeuropixelsProjectCache.from_source(
        str(vbn_release.root), tmp_path_factory.mktemp("report_cache")
    )
    sessions = cache.get_ecephys_session_table()
    probes = cache.get_probe_table()
    with_lfp = sessions.index.isin(probes.loc[probes["has_lfp_data"], "ecephys_session_id"])
    sst = sessions.index[sessions["genotype"].str.contains("Sst").to_numpy() & with_lfp]
    session_id = int(sst[0])
    session = cache.get_ecephys_session(session_id)
    return session_id, write_report(session, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def vbo_report(
    vbo_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, Report]:
    """The report of the sample's first Multiscope experiment, through the normal cache path."""
    cache = VisualBehaviorOphysProjectCache.from_source(
        str(vbo_release.root), tmp_path_factory.mktemp("vbo_report_cache")
    )
    experiments = cache.get_ophys_experiment_table()
    experiment_id = int(
        experiments.index[(experiments["equipment_name"] == "MESO.1").to_numpy()][0]
    )
    experiment = cache.get_behavior_ophys_experiment(experiment_id)
    return experiment_id, write_report(experiment, tmp_path_factory.mktemp("vbo_report"))


def _open(page: Path, tmp_path: Path) -> PageCheck:
    with devtools(_chromium(), tmp_path / "profile", tmp_path / "chromium.log") as tools:
        return check_page(tools, page.resolve().as_uri())


def test_sample_report_renders_in_headless_chromium(
    sample_report: tuple[int, Report], tmp_path: Path
) -> None:
    session_id, report = sample_report
    assert report.path is not None
    assert [o.title for o in report.unavailable] == []
    check = _open(report.path, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report_session_{session_id}.png").write_bytes(check.screenshot)
    shutil.copyfile(report.path, ARTIFACTS / f"report_session_{session_id}.html")
    assert len(check.images) == report.html.count("<img ") >= 10
    broken = [image for image in check.images if image["naturalWidth"] <= 0]
    assert broken == []
    assert check.errors == []
    assert check.requests[0].startswith("file:")
    assert all(url.startswith(("file:", "data:image/png")) for url in check.requests)
    assert check.screenshot.startswith(b"\x89PNG")


def test_vbo_experiment_report_renders_in_headless_chromium(
    vbo_report: tuple[int, Report], tmp_path: Path
) -> None:
    experiment_id, report = vbo_report
    assert report.path is not None and report.path.name == f"session_{experiment_id}.html"
    assert [o.title for o in report.unavailable] == []
    check = _open(report.path, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report_experiment_{experiment_id}.png").write_bytes(check.screenshot)
    assert len(check.images) == report.html.count("<img ") >= 5


@pytest.fixture(scope="module")
def vcn_report(
    vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, Report]:
    """The report of the VCN sample's first brain_observatory_1.1 session."""
    cache = EcephysProjectCache.from_source(
        str(vcn_release.root), tmp_path_factory.mktemp("vcn_report_cache")
    )
    sessions = cache.get_session_table()
    session_id = int(sessions.index[sessions["session_type"] == "brain_observatory_1.1"][0])
    with pytest.warns(UserWarning, match="invalid time intervals"):
        report = write_report(cache.get_session_data(session_id), tmp_path_factory.mktemp("vcn"))
    return session_id, report


def test_vcn_report_renders_in_headless_chromium(
    vcn_report: tuple[int, Report], tmp_path: Path
) -> None:
    session_id, report = vcn_report
    assert report.path is not None
    assert [o.title for o in report.unavailable] == []
    for title in ("Direction tuning", "Receptive fields", "Flash responses", "Units per area"):
        assert title in report.html
    check = _open(report.path, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report_vcn_session_{session_id}.png").write_bytes(check.screenshot)
    assert len(check.images) == report.html.count("<img ") >= 6
    assert [image for image in check.images if image["naturalWidth"] <= 0] == []
    assert check.errors == []
    assert all(url.startswith(("file:", "data:image/png")) for url in check.requests)


def test_the_check_catches_broken_images_errors_and_network(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<html><body><img src="missing.png"><img src="https://example.org/x.png">'
        '<script>console.error("boom"); undefined_function();</script></body></html>'
    )
    check = _open(page, tmp_path)
    assert [image["naturalWidth"] for image in check.images] == [0, 0]
    text = "\n".join(check.errors)
    assert "boom" in text and "Uncaught" in text
    assert "ERR_FILE_NOT_FOUND" in text and "example.org" in text
    assert any(url.startswith("https://example.org") for url in check.requests)
