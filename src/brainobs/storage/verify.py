"""Re-hash a cache against its manifests, report, and optionally repair."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from brainobs.errors import BrainobsError
from brainobs.storage.cache import ReleaseCache
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.manifest import FileEntry, Manifest
from brainobs.storage.records import quarantine_file, update_downloaded_data

Status = Literal["ok", "corrupt", "repaired", "repair-failed"]


@dataclass(frozen=True)
class VerifyResult:
    """The state of one cached file after verification (and repair, if asked)."""

    path: Path
    manifest: str
    status: Status
    detail: str = ""


def cached_manifests(cache_dir: Path) -> Iterator[Manifest]:
    """Yield every manifest stored flat in ``cache_dir``, oldest version first per project."""
    for path in sorted(cache_dir.glob("*_project_manifest_v*.json")):
        yield Manifest.from_path(path)


def verify_cache(
    cache_dir: str | Path,
    repair: bool = False,
    cache_for: Callable[[Manifest], ReleaseCache] | None = None,
    on_file: Callable[[VerifyResult], None] | None = None,
) -> list[VerifyResult]:
    """Return the verification result of every cached file of every cached manifest.

    Each file present under a manifest's version folder is re-hashed (a file shared by
    several versions only once). With ``repair``, damaged files are moved to
    ``_quarantine/`` and fetched again through ``cache_for(manifest)``.
    """
    cache_dir = Path(cache_dir).expanduser()
    results: list[VerifyResult] = []
    digests: dict[Path, str] = {}
    for manifest in cached_manifests(cache_dir):
        cache = cache_for(manifest) if cache_for else ReleaseCache(cache_dir, manifest.project_name)
        for entry in manifest.entries().values():
            path = cache_dir / manifest.cache_folder / entry.relative_path
            if not path.is_file():
                continue
            result = _verify_one(path, entry, manifest, digests)
            if result.status == "corrupt" and repair:
                result = _repair(cache_dir, cache, manifest, entry, path)
            results.append(result)
            if on_file:
                on_file(result)
    return results


def _verify_one(
    path: Path, entry: FileEntry, manifest: Manifest, digests: dict[Path, str]
) -> VerifyResult:
    real = path.resolve()
    if real not in digests:
        digests[real] = blake2b_file(real)
    if digests[real] == entry.file_hash:
        return VerifyResult(path, manifest.name, "ok")
    detail = f"BLAKE2b {digests[real][:12]}... expected {entry.file_hash[:12]}..."
    return VerifyResult(path, manifest.name, "corrupt", detail)


def _repair(
    cache_dir: Path, cache: ReleaseCache, manifest: Manifest, entry: FileEntry, path: Path
) -> VerifyResult:
    """Quarantine the damaged file behind ``path`` and fetch ``entry`` again."""
    real = path.resolve()
    moved = quarantine_file(cache_dir, real) if real.exists() else None
    if path.is_symlink() or path.exists():
        path.unlink()
        update_downloaded_data(cache_dir, {str(path.absolute()): None})
    try:
        cache.fetch(entry, manifest)
    except BrainobsError as exc:
        return VerifyResult(path, manifest.name, "repair-failed", f"moved to {moved}; {exc}")
    return VerifyResult(path, manifest.name, "repaired", f"damaged copy moved to {moved}")
