"""The reference toolkit (AllenSDK 2.16.2) in its own Python 3.11 virtual environment.

The compatibility suite and the benchmarks run code in it as a subprocess. It is created on
first use at ``<repo>/.venv-allensdk`` (about 90 s from PyPI) unless
``$BRAINOBS_REFERENCE_PYTHON`` names an existing interpreter that has it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-allensdk"
REQUIREMENTS = ["allensdk==2.16.2", "hdmf==3.14.6"]  # newer hdmf cannot open any NWB file


def _has_allensdk(python: Path) -> bool:
    probe = [str(python), "-c", "import allensdk, sys; sys.exit(allensdk.__version__ != '2.16.2')"]
    return python.exists() and subprocess.run(probe, capture_output=True).returncode == 0


def _python311() -> str:
    for candidate in ("python3.11", str(Path(sys.executable).resolve())):
        path = shutil.which(candidate) or candidate
        version = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
            capture_output=True,
            text=True,
        )
        if version.stdout.strip() == "True":
            return path
    raise RuntimeError("The reference toolkit needs Python 3.11 (python3.11 on PATH).")


def reference_python() -> Path:
    """Return an interpreter with AllenSDK 2.16.2, creating ``.venv-allensdk`` if needed."""
    override = os.environ.get("BRAINOBS_REFERENCE_PYTHON")
    if override and _has_allensdk(Path(override)):
        return Path(override)
    python = VENV / "bin" / "python"
    with FileLock(str(REPO / ".venv-allensdk.lock")):
        if not _has_allensdk(python):
            subprocess.run([_python311(), "-m", "venv", "--clear", str(VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    return python


def run_reference(script: str, *args: str, timeout: float = 600) -> Any:
    """Run ``script`` with the reference toolkit; return the JSON it prints last."""
    result = subprocess.run(
        [str(reference_python()), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"reference toolkit failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
