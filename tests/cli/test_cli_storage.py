"""The download and cache commands, end to end, against local, S3 (moto) and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainobs.cli.main import main
from tests.support.release import PROJECT, TinyRelease, write_tiny_release


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> TinyRelease:
    return write_tiny_release(tmp_path_factory.mktemp("bucket"), big_size=200_000)


def run(*args: str) -> int:
    return main(list(args))


def test_metadata_only(
    release: TinyRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "c"
    assert (
        run(
            "download",
            "vbn",
            "--metadata-only",
            "--source",
            str(release.root),
            "--cache-dir",
            str(cache),
        )
        == 0
    )
    folder = cache / f"{PROJECT}-0.2.0" / "project_metadata"
    assert sorted(p.name for p in folder.iterdir()) == ["ecephys_sessions.csv", "units-0.2.0.csv"]
    assert "manifest 0.2.0" in capsys.readouterr().out


def test_ids_are_file_ids_or_session_ids(release: TinyRelease, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    common = ["--source", str(release.root), "--cache-dir", str(cache), "--manifest", "0.1.0"]
    assert run("download", "vbn", "2", *common) == 0
    sessions = cache / f"{PROJECT}-0.1.0" / "behavior_ecephys_sessions"
    assert [p.name for p in sessions.rglob("*.nwb")] == ["ecephys_session_2.nwb"]


def test_unknown_id_is_one_clear_line(
    release: TinyRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "download", "vbn", "99999", "--source", str(release.root), "--cache-dir", str(tmp_path)
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "99999" in err and "brainobs sessions" in err and "Traceback" not in err


def test_unknown_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("download", "vbx", "--cache-dir", str(tmp_path / "c")) == 1
    err = capsys.readouterr().err
    assert "Unknown release 'vbx'" in err and "vbn, vbo, vcn" in err
    assert not (tmp_path / "c").exists()


def test_unknown_manifest_version_writes_no_data(
    release: TinyRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "c"
    assert (
        run(
            "download",
            "vbn",
            "--manifest",
            "3.0.0",
            "--source",
            str(release.root),
            "--cache-dir",
            str(cache),
        )
        == 1
    )
    assert "Available versions: 0.1.0, 0.2.0" in capsys.readouterr().err
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(LookupError):
        run("--debug", "download", "vbx", "--cache-dir", str(tmp_path))


def test_verify_repair_and_info(
    release: TinyRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "c"
    src = ["--source", str(release.root), "--cache-dir", str(cache)]
    assert run("download", "vbn", "--yes", *src) == 0
    assert run("cache", "verify", "--cache-dir", str(cache)) == 0
    victim = (
        cache / f"{PROJECT}-0.2.0" / "behavior_ecephys_sessions" / "2" / "ecephys_session_2.nwb"
    )
    victim.write_bytes(b"bit rot" + victim.read_bytes()[7:])
    capsys.readouterr()
    assert run("cache", "verify", "--cache-dir", str(cache)) == 1
    out = capsys.readouterr().out
    assert "corrupt" in out and "ecephys_session_2.nwb" in out and "--repair" in out
    assert run("cache", "verify", "--repair", *src) == 0
    assert "1 repaired" in capsys.readouterr().out
    assert (
        victim.read_bytes()
        == (release.root / release.manifests["0.2.0"].data_files["2"].key).read_bytes()
    )
    assert list((cache / "_quarantine").rglob("ecephys_session_2.nwb"))
    assert run("cache", "verify", "--cache-dir", str(cache)) == 0
    assert run("cache", "info", "--cache-dir", str(cache)) == 0
    assert "visual-behavior-neuropixels_project_manifest_v0.2.0.json" in capsys.readouterr().out
    assert run("cache", "clear", "--release", "vbn", "--yes", "--cache-dir", str(cache)) == 0
    assert not (cache / f"{PROJECT}-0.2.0").exists()


def test_download_from_s3_endpoint(
    tiny_release: TinyRelease, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINOBS_S3_ENDPOINT", s3_endpoint)
    cache = tmp_path / "c"
    assert run("download", "vbn", "1", "--cache-dir", str(cache)) == 0
    got = cache / f"{PROJECT}-0.2.0" / "behavior_ecephys_sessions" / "1" / "ecephys_session_1.nwb"
    expected = tiny_release.root / tiny_release.manifests["0.2.0"].data_files["1"].key
    assert got.read_bytes() == expected.read_bytes()
