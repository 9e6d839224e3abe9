"""`brainobs sample --sessions N` and `brainobs summarize`, serially, with bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import brainobs
from brainobs.cli.main import main
from brainobs.errors import InvalidInputError
from brainobs.sample import SampleRelease
from brainobs.vbn.sample_release import write_vbn_release


def test_sample_with_many_sessions(
    many_release: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fixture's release is the one the command writes (found complete, not rewritten)."""
    nwb = sorted((many_release.root / many_release.project_name).rglob("ecephys_session_*.nwb"))
    stamps = [p.stat().st_mtime_ns for p in nwb]
    args = ["sample", "vbn", "--out", str(many_release.root), "--sessions", "4", "--seed", "3"]
    assert main(args) == 0
    assert "(sessions-4, seed 3)" in capsys.readouterr().out
    assert [p.stat().st_mtime_ns for p in nwb] == stamps
    assert len(nwb) == 4 and all(p.stat().st_size < 6e6 for p in nwb)
    info = many_release.info()
    assert info["size"] == "sessions-4" and len(info["mice"]) == 2
    assert main(["sample", "vbn", "--out", str(tmp_path / "odd"), "--sessions", "3"]) == 1
    assert "even number of sessions" in capsys.readouterr().err


def test_sessions_go_with_the_default_size(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="default size"):
        write_vbn_release(tmp_path, size="benchmark", sessions=4)


def test_summarize_serially_then_reuse(
    many_release: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--source", str(many_release.root), "--cache-dir", str(tmp_path / "cache")]
    first = main(["summarize", "vbn", *common, "--sessions", "x,1"])
    assert first == 2 and "session ids are integers" in capsys.readouterr().err
    ids = sorted(
        int(p.parent.name)
        for p in (many_release.root / many_release.project_name).rglob("ecephys_session_*.nwb")
    )
    assert main(["summarize", "vbn", *common, "--sessions", f"{ids[0]},{ids[1]}"]) == 0
    out = capsys.readouterr().out
    assert "2 sessions computed, 0 reused, 0 failed" in out
    assert "sessions: 2 rows" in out
    default = tmp_path / "cache" / "summaries" / "vbn"
    assert sorted(int(p.stem) for p in (default / "sessions").glob("*.parquet")) == ids[:2]
    assert json.loads((default / "_failures.json").read_text()) == []
    assert brainobs.summary("vbn", "sessions", cache_dir=tmp_path / "cache").count_rows() == 2
    assert main(["summarize", "vbn", *common, "--sessions", str(ids[0])]) == 0
    assert "0 sessions computed, 1 reused" in capsys.readouterr().out


def test_workers_or_scheduler_not_both(
    many_release: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["summarize", "vbn", "--source", str(many_release.root), "--workers", "2",
            "--scheduler", "tcp://127.0.0.1:9"]  # fmt: skip
    assert main(args) == 2
    assert "not both" in capsys.readouterr().err
