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

import numpy as np
import pandas as pd
from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-allensdk"
COMPAT = REPO / "tests" / "compat"  # on the scripts' path: they share reference_dump.py
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
            install = [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS]
            result = subprocess.run(install, capture_output=True, text=True)
            if result.returncode != 0:  # pip's index warnings are noise unless it failed
                tail = result.stderr[-4000:]
                raise RuntimeError(f"installing the reference toolkit failed:\n{tail}")
    return python


def run_reference(script: str, *args: str, timeout: float = 600) -> Any:
    """Run ``script`` with the reference toolkit; return the JSON it prints last."""
    result = subprocess.run(
        [str(reference_python()), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(COMPAT)},
    )
    if result.returncode != 0:
        raise RuntimeError(f"reference toolkit failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_alignment_inputs(
    folder: Path,
    spikes: dict[int, np.ndarray],
    presentations: pd.DataFrame,
    parameters: list[str],
    bin_edges: np.ndarray,
) -> tuple[Path, Path]:
    """Write tests/compat/reference_alignment.py's inputs; return (arrays .npz, parameters .json).

    Shared by the alignment compatibility suite and benchmarks/bench_alignment.py.
    """
    units = np.asarray(list(spikes), dtype=np.int64)
    sizes = [spikes[int(u)].size for u in units]
    np.savez(
        folder / "inputs.npz",
        unit_ids=units,
        spike_offsets=np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        spike_data=np.concatenate([spikes[int(u)] for u in units]),
        presentation_ids=presentations.index.to_numpy(dtype=np.int64),
        start_time=presentations["start_time"].to_numpy(dtype=np.float64),
        stop_time=presentations["end_time"].to_numpy(dtype=np.float64),
        stimulus_block=presentations["stimulus_block"].to_numpy(),
        bin_edges=bin_edges,
    )
    columns = {}
    for name in parameters:
        column = presentations[name]
        dtype = "boolean" if column.dtype == "boolean" else str(column.dtype)
        dtype = "object" if pd.api.types.is_string_dtype(column) else dtype
        values = [None if pd.isna(v) else v for v in column.astype(object)]
        columns[name] = {
            "dtype": dtype,
            "values": [getattr(v, "item", lambda v=v: v)() for v in values],
        }
    (folder / "parameters.json").write_text(json.dumps(columns))
    return folder / "inputs.npz", folder / "parameters.json"
