"""Download throughput through brainobs versus a plain streaming copy, and hashing speed.

A loopback HTTP server (in its own process) serves a file of --size-mb MB. In the same run:
  * plain:    requests streaming GET copied to disk (no hash, no resume, no lock);
  * brainobs: download_file() -- ranged GET, BLAKE2b while streaming, fsync, atomic rename;
  * hashing:  brainobs.storage.hashing.blake2b_file versus hashlib.blake2b on the same bytes.
Each measurement is the best of --repeat runs; ratios are what to compare across machines.
Target: brainobs throughput at least 0.8 of the plain copy.

    python benchmarks/bench_download.py --size-mb 1024
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from brainobs.config import TransferSettings  # noqa: E402
from brainobs.storage.download import Expected, download_file  # noqa: E402
from brainobs.storage.hashing import blake2b_file  # noqa: E402
from brainobs.storage.http import HTTPFetcher  # noqa: E402

KEY = "visual-behavior-neuropixels/behavior_ecephys_sessions/1/ecephys_session_1.nwb"


def make_file(root: Path, size_mb: int) -> Path:
    path = root / KEY
    path.parent.mkdir(parents=True)
    block = hashlib.blake2b(b"seed").digest() * (1 << 14)  # 1 MiB of incompressible bytes
    with path.open("wb") as handle:
        for i in range(size_mb):
            handle.write(i.to_bytes(8, "little") + block[8:])
    return path


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.range_server", str(root)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def plain_copy(url: str, target: Path) -> None:
    with requests.get(url, stream=True, timeout=60) as response, target.open("wb") as out:
        response.raise_for_status()
        shutil.copyfileobj(response.raw, out, 1 << 20)


def timed(func, *args) -> float:
    """Return the seconds ``func(*args)`` takes, starting from a clean page cache.

    Dirty pages left by the previous run would otherwise be written back during this one.
    """
    os.sync()
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def best_of(repeat: int, func, *args) -> float:
    return min(timed(func, *args) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bucket"
        source = make_file(root, args.size_mb)
        size = source.stat().st_size
        expected = Expected(blake2b_file(source), size)
        server, url = start_server(root)
        fetcher = HTTPFetcher(url, TransferSettings())
        out = Path(tmp) / "out"
        out.mkdir()

        def run_brainobs() -> None:
            target = out / "brainobs.nwb"
            target.unlink(missing_ok=True)
            download_file(fetcher, KEY, target, expected)

        def run_plain() -> None:
            plain_copy(f"{url}/{KEY}", out / "plain.nwb")

        try:  # interleaved, so that drifts in machine load hit both alike
            pairs = [(timed(run_plain), timed(run_brainobs)) for _ in range(args.repeat)]
        finally:
            server.communicate(input="")
        plain, ours = min(p for p, _ in pairs), min(o for _, o in pairs)
        data = source.read_bytes()
        ref_hash = best_of(args.repeat, lambda: hashlib.blake2b(data).hexdigest())
        our_hash = best_of(args.repeat, blake2b_file, source)
    mb = size / 1e6
    rows = [
        ("plain streaming copy", plain, mb / plain),
        ("brainobs download_file (hash+fsync+rename)", ours, mb / ours),
        ("hashlib.blake2b (bytes in memory)", ref_hash, mb / ref_hash),
        ("brainobs blake2b_file (from disk)", our_hash, mb / our_hash),
    ]
    print(f"\n{args.size_mb} MiB over loopback HTTP, best of {args.repeat}")
    print(f"{'what':<46} {'seconds':>8} {'MB/s':>8}")
    for name, seconds, rate in rows:
        print(f"{name:<46} {seconds:>8.2f} {rate:>8.0f}")
    print(f"\ndownload ratio brainobs / plain copy: {plain / ours:.2f}  (target >= 0.80)")
    print(f"hashing ratio brainobs / hashlib:      {ref_hash / our_hash:.2f}")


if __name__ == "__main__":
    main()
