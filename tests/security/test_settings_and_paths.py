"""Environment variables and output paths are checked up front: one line naming the variable or
path and the fix, before any request is made or anything is rendered."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import brainobs.cli.projects
from brainobs import config
from brainobs.cli.main import main
from brainobs.config import TransferSettings
from brainobs.errors import InvalidInputError
from tests.support.release import TinyRelease


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("BRAINOBS_READ_TIMEOUT", "abc", "BRAINOBS_READ_TIMEOUT='abc' is not a number of seconds"),
        ("BRAINOBS_CONNECT_TIMEOUT", "-1", "BRAINOBS_CONNECT_TIMEOUT=-1.0: connect_timeout must"),
        ("BRAINOBS_CONNECT_TIMEOUT", "nan", "BRAINOBS_CONNECT_TIMEOUT=nan"),
        ("BRAINOBS_RETRIES", "-1", "BRAINOBS_RETRIES=-1: retries must be a whole number from 0"),
        ("BRAINOBS_RETRIES", "2.5", "BRAINOBS_RETRIES='2.5' is not a whole number"),
        ("BRAINOBS_RETRIES", "1e9", "BRAINOBS_RETRIES='1e9' is not a whole number"),
        ("BRAINOBS_S3_ENDPOINT", "localhost:9000", "BRAINOBS_S3_ENDPOINT='localhost:9000' is not"),
    ],
)
def test_a_bad_environment_variable_is_named_before_any_request(
    variable: str,
    value: str,
    words: str,
    tiny_release: TinyRelease,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    source = "s3" if variable == "BRAINOBS_S3_ENDPOINT" else str(tiny_release.root)
    cache = tmp_path / "cache"
    args = ["download", "vbn", "--metadata-only", "--source", source, "--cache-dir", str(cache)]
    assert main(args) == 1
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("error: ") and words in first, err
    assert "Traceback" not in err
    assert not any(p.suffix in (".json", ".csv") for p in cache.rglob("*"))


def test_settings_refuse_bad_values_however_they_are_made() -> None:
    with pytest.raises(InvalidInputError, match="retries must be"):
        TransferSettings(retries=-1)
    with pytest.raises(InvalidInputError, match="read_timeout must be"):
        TransferSettings(read_timeout=0)
    with pytest.raises(InvalidInputError, match="chunk_size must be"):
        TransferSettings(chunk_size=0)
    assert TransferSettings(retries=0, backoff_initial=0).retries == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("512M", 512 << 20), ("8G", 8 << 30), ("1.5GiB", 3 << 29), ("1000", 1000), ("2kb", 2048)],
)
def test_memory_budget_sizes(value: str, expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.MEMORY_BUDGET_ENV, value)
    assert config.memory_budget() == expected
    assert config.memory_budget(4096) == 4096


@pytest.mark.parametrize("value", ["lots", "-5", "0", "5 apples"])
def test_bad_memory_budget_names_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.MEMORY_BUDGET_ENV, value)
    with pytest.raises(InvalidInputError, match="BRAINOBS_MEMORY_BUDGET"):
        config.memory_budget()


# --- output paths ----------------------------------------------------------------------------
@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command opens a project (the check must come first)."""

    def trap(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command started working before checking its output path")

    monkeypatch.setattr(brainobs.cli.projects, "open_project", trap)


@pytest.fixture
def read_only(tmp_path: Path) -> Path:
    """A folder nobody can write in (under root, a read-only kernel folder)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    probe = folder / "probe"
    try:
        probe.write_text("x")
    except OSError:
        return folder
    probe.unlink()
    folder.chmod(0o755)
    if Path("/sys/kernel").is_dir() and not os.access("/sys/kernel", os.W_OK | os.X_OK):
        return Path("/sys/kernel")
    try:
        (Path("/sys/kernel") / "brainobs-probe").write_text("x")
    except OSError:
        return Path("/sys/kernel")
    pytest.skip("no read-only folder is available to this user")


def _run_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 1  # with no_work, a command that starts work prints its trap instead
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()[0]


def test_sessions_output_into_a_missing_folder(
    tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "novel.csv"
    line = _run_one_line(["sessions", "vbn", "--sample", "-o", str(target)], capsys)
    assert f"--output {target}: the folder {target.parent} does not exist" in line
    assert "mkdir -p" in line and not target.parent.exists()


@pytest.mark.parametrize("name", ["novel.txt", "folder.csv"])
def test_sessions_output_of_the_wrong_kind(
    name: str, tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "folder.csv").mkdir()
    line = _run_one_line(["sessions", "vbn", "--sample", "-o", str(tmp_path / name)], capsys)
    assert ("use a .csv or .parquet" in line) if name.endswith(".txt") else ("is a folder" in line)


def test_sessions_output_into_a_read_only_folder(
    read_only: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _run_one_line(["sessions", "vbn", "--sample", "-o", str(read_only / "t.csv")], capsys)
    assert f"cannot write in {read_only}" in line


def test_report_out_onto_a_file(
    tmp_path: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    line = _run_one_line(["report", "vbn", "1", "--sample", "--out", str(existing)], capsys)
    assert f"--out {existing} is a file, not a folder" in line and existing.read_text() == "mine"


@pytest.mark.parametrize("name", ["reports", "reports/deeper", "page.html"])
def test_report_out_in_a_read_only_place(
    name: str, read_only: Path, no_work: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = read_only / name
    line = _run_one_line(["report", "vbn", "1", "--sample", "--out", str(out)], capsys)
    assert f"cannot write in {read_only}" in line


def test_sample_out_onto_a_file_or_a_read_only_place(
    tmp_path: Path, read_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "bucket"
    existing.write_text("mine")
    assert main(["sample", "vbn", "--out", str(existing)]) == 2  # click's own usage error
    assert "is a file" in capsys.readouterr().err and existing.read_text() == "mine"
    line = _run_one_line(["sample", "vbn", "--out", str(read_only / "bucket")], capsys)
    assert f"cannot write in {read_only}" in line
