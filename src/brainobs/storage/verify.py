"""Re-hash a cache against its manifests, report, and optionally repair.

Nothing is read through a link that leads out of the cache: such a link at a file's place is
reported as damaged (not hashed) and, with repair, moved aside as a link (its target is never
touched) before the file is fetched again.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from brainobs.errors import BrainobsError, BrainobsWarning
from brainobs.storage.cache import ReleaseCache
from brainobs.storage.confine import is_regular_file, leads_out
from brainobs.storage.hashing import blake2b_file, file_digest, is_hex_digest
from brainobs.storage.manifest import FileEntry, Manifest, is_manifest_name
from brainobs.storage.records import DANDI_STORE, quarantine_file, update_downloaded_data

Status = Literal["ok", "corrupt", "repaired", "repair-failed"]


@dataclass(frozen=True)
class VerifyResult:
    """The state of one cached file after verification (and repair, if asked)."""

    path: Path
    manifest: str
    status: Status
    detail: str = ""


def cached_manifests(cache_dir: Path) -> Iterator[Manifest]:
    """Yield every manifest stored flat in ``cache_dir``, oldest version first per project.

    Files named like manifests that are links, or that do not parse, are skipped with a
    warning: they are not the cache's.
    """
    for path in sorted(cache_dir.glob("*_project_manifest_v*.json")):
        project = path.name.split("_project_manifest_v", 1)[0]
        if not is_manifest_name(path.name, project) or not is_regular_file(path):
            continue
        try:
            yield Manifest.from_path(path)
        except BrainobsError as exc:
            warnings.warn(f"Skipping {path}: {exc}", BrainobsWarning, stacklevel=2)


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
            if not (path.is_file() or path.is_symlink()):
                continue
            result = _verify_one(cache_dir, path, entry, manifest, digests)
            if result.status == "corrupt" and repair:
                digests.pop(path.resolve(), None)
                result = _repair(cache_dir, cache, manifest, entry, path)
            results.append(result)
            if on_file:
                on_file(result)
    for result in verify_dandi_store(cache_dir, repair):
        results.append(result)
        if on_file:
            on_file(result)
    return results


def dandi_store_files(cache_dir: Path) -> Iterator[tuple[str, Path]]:
    """Yield (published SHA-256, path) of every file of the cache's DANDI store."""
    store = cache_dir / DANDI_STORE
    if store.is_symlink() or not store.is_dir():
        return
    for folder in sorted(store.iterdir()):
        if folder.is_dir() and not folder.is_symlink() and is_hex_digest(folder.name, "sha256"):
            yield from ((folder.name, path) for path in sorted(folder.iterdir()))


def verify_dandi_store(cache_dir: Path, repair: bool = False) -> Iterator[VerifyResult]:
    """Yield the result of re-hashing each file downloaded from DANDI against its SHA-256.

    With ``repair`` a damaged copy is moved to ``_quarantine/``; the next session that needs
    it downloads it again (the store holds no listing to fetch it from by itself).
    """
    for digest, path in dandi_store_files(cache_dir):
        if leads_out(cache_dir, path) or not is_regular_file(path):
            found = "a link or special file; not read"
        else:
            found = file_digest(path, "sha256")
            if found == digest:
                yield VerifyResult(path, "DANDI", "ok")
                continue
            found = f"SHA-256 {found[:12]}... expected {digest[:12]}..."
        if not repair:
            yield VerifyResult(path, "DANDI", "corrupt", found)
            continue
        moved = quarantine_file(cache_dir, path)
        yield VerifyResult(
            path, "DANDI", "repaired", f"{found}; moved to {moved}, downloaded again on next use"
        )


def _verify_one(
    cache_dir: Path, path: Path, entry: FileEntry, manifest: Manifest, digests: dict[Path, str]
) -> VerifyResult:
    """Return whether ``path`` hashes to ``entry``'s digest (links out of the cache: damaged)."""
    if leads_out(cache_dir, path):
        detail = f"a link leading out of the cache (to {path.resolve()}); not read"
        return VerifyResult(path, manifest.name, "corrupt", detail)
    if not path.is_file():
        return VerifyResult(path, manifest.name, "corrupt", "a broken link")
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
    """Quarantine the damaged file behind ``path`` and fetch ``entry`` again.

    A link the cache made (to a copy in another version folder) has its damaged target moved
    aside too; a link leading out of the cache is moved aside itself, its target untouched.
    """
    try:
        moved = _set_aside(cache_dir, path)
    except BrainobsError as exc:
        return VerifyResult(path, manifest.name, "repair-failed", str(exc))
    try:
        cache.fetch(entry, manifest)
    except BrainobsError as exc:
        return VerifyResult(path, manifest.name, "repair-failed", f"moved to {moved}; {exc}")
    return VerifyResult(path, manifest.name, "repaired", f"damaged copy moved to {moved}")


def _set_aside(cache_dir: Path, path: Path) -> Path:
    """Move the damaged entry at ``path`` (and an inside link's target) to quarantine."""
    if path.is_symlink() and not leads_out(cache_dir, path):
        real = path.resolve()
        moved = quarantine_file(cache_dir, real) if is_regular_file(real) else path
        path.unlink()
        update_downloaded_data(cache_dir, {str(path.absolute()): None})
        return moved
    return quarantine_file(cache_dir, path)
