"""Download throughput through brainobs versus a plain streaming copy, and hashing speed.

A loopback HTTP server (in its own process) serves a file of --size-mb MB. In the same run:
  * plain:    requests streaming GET copied to disk (no hash, no resume, no lock);
  * brainobs: download_file() -- ranged GET, BLAKE2b while streaming, fsync, atomic rename;
  * hashing:  brainobs.storage.hashing.blake2b_file versus hashlib.blake2b on the same bytes.
Then the same file by two routes from one loopback archive (tests/support/dandi_server.py, in
its own process), which serves it both as a bucket key and as asset of a dandiset:
  * S3 route:    S3Fetcher (path-style endpoint), verified against the manifest's BLAKE2b;
  * DANDI route: DandiFetcher -- version info and asset listing from the REST API, then the
                 blob by its content URL -- verified against DANDI's SHA-256.
Each measurement is the best of --repeat runs; ratios are what to compare across machines.
Targets: brainobs throughput at least 0.8 of the plain copy; the DANDI route within 10% of
the S3 route's time, with the listing its only extra bytes.

    python benchmarks/bench_download.py --size-mb 1024
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
from brainobs.sample.dandiset import write_dandiset  # noqa: E402
from brainobs.storage.dandi import DandiFetcher  # noqa: E402
from brainobs.storage.download import Expected, download_file  # noqa: E402
from brainobs.storage.hashing import blake2b_file  # noqa: E402
from brainobs.storage.http import HTTPFetcher  # noqa: E402
from brainobs.storage.s3 import S3Fetcher  # noqa: E402

KEY = "visual-behavior-neuropixels/behavior_ecephys_sessions/1/ecephys_session_1.nwb"
ASSET = "sub-533537/sub-533537_ses-20201007T210141.nwb"
DANDISET = "000713"


def make_file(root: Path, size_mb: int) -> Path:
    path = root / KEY
    path.parent.mkdir(parents=True)
    block = hashlib.blake2b(b"seed").digest() * (1 << 14)  # 1 MiB of incompressible bytes
    with path.open("wb") as handle:
        for i in range(size_mb):
            handle.write(i.to_bytes(8, "little") + block[8:])
    return path


def start_server(root: Path, module: str = "range_server") -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", f"tests.support.{module}", str(root)],
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


def dandi_versus_s3(root: Path, source: Path, expected: Expected, repeat: int) -> list[str]:
    """Return the lines reporting the same file fetched by the S3 and the DANDI route."""
    archive = root.parent / "archive"
    (archive / "bucket").mkdir(parents=True)
    os.link(source, archive / "bucket" / KEY.replace("/", "_"))
    write_dandiset({ASSET: source}, archive, DANDISET)
    server, url = start_server(archive, "dandi_server")
    s3 = S3Fetcher("bucket", endpoint=url, settings=TransferSettings())
    out = root.parent / "routes"
    out.mkdir()

    def run_s3() -> None:
        (out / "s3.nwb").unlink(missing_ok=True)
        download_file(s3, KEY.replace("/", "_"), out / "s3.nwb", expected)

    def run_dandi() -> None:
        (out / "dandi.nwb").unlink(missing_ok=True)
        fetcher = DandiFetcher(DANDISET, "draft", api=f"{url}/api")  # lists the version anew
        download_file(fetcher, ASSET, out / "dandi.nwb", fetcher.expected(ASSET))

    try:
        pairs = [(timed(run_s3), timed(run_dandi)) for _ in range(repeat)]
    finally:
        sent = json.loads(server.communicate(input="")[0].strip().splitlines()[-1])
    s3_time, dandi_time = min(p for p, _ in pairs), min(d for _, d in pairs)
    mb = source.stat().st_size / 1e6
    dandi_bytes = (sent["blobs"] + sent["api"]) // repeat
    return [
        f"\n{'route (same file, one loopback archive)':<46} {'seconds':>8} {'MB/s':>8} "
        f"{'bytes/run':>14}",
        f"{'S3 route (S3Fetcher, BLAKE2b)':<46} {s3_time:>8.2f} {mb / s3_time:>8.0f} "
        f"{sent['other'] // repeat:>14,}",
        f"{'DANDI route (listing + blob, SHA-256)':<46} {dandi_time:>8.2f} "
        f"{mb / dandi_time:>8.0f} {dandi_bytes:>14,}",
        f"  of which REST API (version info, listing): {sent['api'] // repeat:,} bytes",
        f"time ratio DANDI / S3 route: {dandi_time / s3_time:.2f}  (target <= 1.10)",
    ]


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
        routes = dandi_versus_s3(root, source, expected, args.repeat)
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
    print("\n".join(routes))


if __name__ == "__main__":
    main()
