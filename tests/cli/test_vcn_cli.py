"""``brainobs sessions/download/cache verify`` for Visual Coding Neuropixels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from brainobs.cli.main import main
from brainobs.vcn.sample_release import CACHE_PREFIX, VcnSampleRelease


def run(*args: str) -> int:
    return main(list(args))


def test_sessions_vcn_prints_the_session_table(
    vcn_release: VcnSampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ["--source", str(vcn_release.root), "--cache-dir", str(tmp_path)]
    assert (
        run("sessions", "vcn", *source, "--filter", "session_type == 'functional_connectivity'")
        == 0
    )
    out = capsys.readouterr().out
    assert "functional_connectivity" in out and "brain_observatory_1.1" not in out
    assert "[1 rows x 10 columns]" in out


def test_download_vcn_ids_then_verify_and_repair(
    vcn_release: VcnSampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    probes = pd.read_csv(vcn_release.metadata_path("probes"), index_col="id")
    sid = int(probes["ecephys_session_id"].iloc[0])
    common = ["--source", str(vcn_release.root), "--cache-dir", str(tmp_path)]
    assert run("download", "vcn", str(sid), *common) == 0
    folder = tmp_path / CACHE_PREFIX
    nwb = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.nwb"))
    lfp = probes.index[(probes["ecephys_session_id"] == sid) & probes["has_lfp_data"]]
    assert nwb == sorted([f"session_{sid}/session_{sid}.nwb",
                          *(f"session_{sid}/probe_{p}_lfp.nwb" for p in lfp)])  # fmt: skip
    assert (folder / "units.csv").is_file() and (folder / "manifest.json").is_file()
    capsys.readouterr()
    assert run("cache", "verify", "--cache-dir", str(tmp_path)) == 0
    assert "0 damaged" in capsys.readouterr().out
    session = folder / f"session_{sid}" / f"session_{sid}.nwb"
    session.write_bytes(session.read_bytes()[:-1])  # a truncated file
    assert run("cache", "verify", "--cache-dir", str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "bytes instead of" in out and "1 damaged" in out and "--repair" in out
    assert run("cache", "verify", "--repair", *common) == 0
    assert "1 repaired" in capsys.readouterr().out
    assert session.read_bytes() == vcn_release.session_nwb_path(sid).read_bytes()


def test_download_vcn_metadata_only_and_bad_ids(
    vcn_release: VcnSampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--source", str(vcn_release.root), "--cache-dir", str(tmp_path)]
    assert run("download", "vcn", "--metadata-only", *common) == 0
    folder = tmp_path / CACHE_PREFIX
    assert sorted(p.name for p in folder.glob("*.csv")) == sorted(
        p.name for p in vcn_release.cache_dir.glob("*.csv")
    )
    assert not list(folder.rglob("*.nwb"))
    assert run("download", "vcn", "12345", *common) == 1
    assert "neither a session id" in capsys.readouterr().err
    assert run("download", "vcn", "--manifest", "0.3.0", *common) == 2
