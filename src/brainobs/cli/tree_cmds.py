"""``brainobs download`` and ``brainobs cache verify`` for releases laid out as a warehouse
cache folder (a path ``manifest.json``, no versions, no hashes): Visual Coding Neuropixels.

The release's project cache (found through its declaration) names the files; the folder
(:class:`brainobs.storage.tree_cache.TreeCache`) fetches and checks them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from brainobs.releases import Release, available_releases
from brainobs.storage.verify import VerifyResult


def download_tree(
    release: Release,
    ids: tuple[str, ...],
    metadata_only: bool,
    yes: bool,
    cache: Any,
) -> None:
    """Fetch (and check) the tables and the NWB files of ``ids`` into the cache folder."""
    from tqdm.auto import tqdm

    click.echo(f"{release.title} from {cache.tree.describe()} into {cache.tree.folder}")
    files = cache.metadata_files()
    if not metadata_only:
        data = cache.data_files(ids)
        if not ids and len(data) > 20 and not yes:
            click.confirm(f"Download all {len(data)} data files of {release.name}?", abort=True)
        files += data
    with tqdm(files, desc="files", unit="file", disable=len(files) < 2) as bar:
        for relative in bar:
            cache.tree.fetch(relative)
    click.echo(f"{len(files)} files ready in {cache.tree.folder}")


def tree_manifests(root: Path) -> Iterator[tuple[Release, Path]]:
    """Yield each warehouse-layout release folder under ``root`` (or ``root`` itself)."""
    for release in available_releases():
        if release.tree_prefix is None:
            continue
        direct = root / "manifest.json"
        if direct.is_file():
            yield release, direct
            return
        base = root / release.tree_prefix
        for folder in [base, *sorted(base.parent.glob(base.name + "-*"))]:
            if (folder / "manifest.json").is_file():
                yield release, folder / "manifest.json"


def verify_trees(
    root: Path,
    repair: bool,
    source: str | None,
    endpoint: str | None,
    show: Callable[[VerifyResult], None],
) -> list[VerifyResult]:
    """Return the results of checking every warehouse-layout folder under ``root``.

    Damaged files are fetched again from ``source`` (default: the release's bucket).
    """
    results: list[VerifyResult] = []
    for release, manifest in tree_manifests(root):
        project = release.load_cache_class()
        cache = project.over_folder(manifest, (source or "s3") if repair else None, endpoint)
        results += cache.tree.verify(repair=repair, on_file=show)
    return results
