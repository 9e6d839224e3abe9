"""The main job offline over the written samples; and every command's help has an example."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from brainobs.cli.main import cli
from brainobs.releases import available_releases
from brainobs.sample import SampleRelease
from brainobs.vcn.sample_release import VcnSampleRelease
from tests.conftest import seed_samples

# Any attempt to leave the machine goes to a closed loopback port and fails at once.
OFFLINE = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "BRAINOBS_S3_ENDPOINT": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


def test_demo_runs_offline_from_a_cache_holding_only_the_samples(
    tmp_path: Path,
    vbn_release: SampleRelease,
    vbo_release: SampleRelease,
    vcn_release: VcnSampleRelease,
) -> None:
    """Everything after the sample writing (tested in tests/sample) runs as on a fresh machine."""
    cache = tmp_path / "cache"
    seed_samples(cache, vbn_release, vbo_release, vcn_release)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "brainobs.cli.main", "demo", "--cache-dir", str(cache)],
        capture_output=True, text=True, timeout=600, env={**os.environ, **OFFLINE}, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    reports = list((cache / "reports").glob("session_*.html"))
    toured = [r for r in available_releases() if r.tour is not None]
    assert len(reports) == len(toured) == 3  # one VBN session, one VBO experiment, one VCN session
    assert all(r.stat().st_size > 100_000 and r.as_uri() in result.stdout for r in reports)
    assert "ecephys sessions" in result.stdout and "max d'" in result.stdout
    assert "imaging sessions" in result.stdout and "the same cells across sessions" in result.stdout
    assert "Visual Coding Neuropixels" in result.stdout and "receptive field" in result.stdout
    print(f"\nbrainobs demo over written samples: {elapsed:.1f} s")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
    return found


@pytest.mark.parametrize(("name", "command"), _commands(cli), ids=lambda v: str(v))
def test_every_command_has_a_summary_and_an_example(name: str, command: click.Command) -> None:
    assert command.get_short_help_str(), f"`brainobs {name}` has no one-line description"
    assert "Example" in (command.help or ""), f"`brainobs {name} --help` shows no example"
