"""The peers the benchmarks compare brainobs with, each in a virtual environment of its own.

``peer_python("pynwb")`` returns the interpreter of ``.venv-bench-pynwb`` at the repository root,
creating it from PyPI on first use (``python -m venv`` + ``pip install``; the folders are
git-ignored). Each peer's benchmark script runs in a child process of that interpreter, which
measures its own wall time and peak memory and prints one line of JSON.

    python benchmarks/peers.py            # create (or check) every peer's venv
    python benchmarks/peers.py pynapple   # one of them
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

#: What each peer's venv installs (h5py alone is the floor: the same datasets, no toolkit).
PEERS: dict[str, tuple[str, ...]] = {
    "h5py": ("h5py", "numpy"),
    "pynwb": ("pynwb", "remfile", "numpy"),
    "lazynwb": ("lazynwb", "remfile", "numpy"),
    "remfile": ("remfile", "h5py", "numpy"),
    "pynapple": ("pynapple", "numpy"),
}


#: Installed first, so that pip does not backtrack through hundreds of boto3 releases: lazynwb
#: needs s3fs (aiobotocore pins botocore) and boto3; boto3 is then pinned to that botocore.
FIRST: dict[str, tuple[str, ...]] = {"lazynwb": ("s3fs",)}


def venv_path(peer: str) -> Path:
    """Return where the venv of ``peer`` lives."""
    return REPO / f".venv-bench-{peer}"


def peer_python(peer: str, quiet: bool = True) -> Path:
    """Return the interpreter of ``peer``'s venv, creating the venv on first use."""
    if peer not in PEERS:
        raise KeyError(f"unknown peer {peer!r}; peers are {sorted(PEERS)}")
    folder = venv_path(peer)
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    if marker.is_file():
        return python
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    pip += ["-q"] if quiet else []
    output = subprocess.DEVNULL if quiet else None
    packages = list(PEERS[peer])
    if peer in FIRST:
        subprocess.run([*pip, *FIRST[peer]], check=True, stdout=output)
        botocore = versions(python, "botocore").split("==")[1]
        packages.append(f"boto3=={botocore}")
    subprocess.run([*pip, *packages], check=True, stdout=output)
    marker.write_text(versions(python, PEERS[peer][0]))
    return python


def versions(python: Path, package: str) -> str:
    """Return ``package==version`` as installed in the venv of ``python``."""
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return f"{package}=={result.stdout.strip()}"


def peer_version(peer: str) -> str:
    """Return the installed version of ``peer`` (``name==version``)."""
    marker = venv_path(peer) / ".installed"
    return marker.read_text().strip() if marker.is_file() else peer


def run_json(python: str | Path, script: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Return the JSON object a child process prints last (it measures its own time and memory).

    The child finds this checkout's brainobs first (``src`` on ``PYTHONPATH``); peers do not
    import it.
    """
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONWARNINGS": "ignore",
        "HOME": os.environ.get("HOME", "/"),
        "PYTHONPATH": str(REPO / "src"),
    }
    result = subprocess.run(
        [str(python), "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Create the venvs named on the command line (all when none) and print their versions."""
    for peer in sys.argv[1:] or sorted(PEERS):
        python = peer_python(peer, quiet=False)
        print(f"{peer}: {python} ({peer_version(peer)})")


if __name__ == "__main__":
    main()
