"""``brainobs cache``: inspect, verify, repair and clear the download cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from brainobs.storage.cache import ReleaseCache
    from brainobs.storage.manifest import Manifest

from brainobs.cli.options import cache_dir_option, endpoint_option, source_option


@click.group()
def cache() -> None:
    """Inspect, verify, repair or clear the download cache.

    \b
    Example:
      brainobs cache info
      brainobs cache verify --repair
    """


@cache.command()
@cache_dir_option
def info(cache_dir: str | None) -> None:
    """Show where the cache is and what it holds.

    \b
    Example:
      brainobs cache info --cache-dir ~/allen_cache
    """
    from brainobs import config
    from brainobs.storage.inventory import cache_inventory

    root = config.cache_dir(cache_dir)
    click.echo(f"cache folder: {root}")
    rows = cache_inventory(root)
    if not rows:
        click.echo("(empty: download something with `brainobs download <release>`)")
        return
    click.echo(f"{'manifest':<58} {'files':>7} {'size':>10}  last used")
    for row in rows:
        mark = "*" if row.last_used else ""
        size = _human(row.bytes)
        click.echo(f"{row.manifest:<58} {row.files:>7} {size:>10}  {mark}")


@cache.command()
@click.option("--repair", is_flag=True, help="Move damaged files aside and fetch them again.")
@cache_dir_option
@source_option
@endpoint_option
def verify(repair: bool, cache_dir: str | None, source: str | None, endpoint: str | None) -> None:
    """Re-hash every cached file against its manifest.

    Folders without hashes (vcn) are checked against the sizes and MD5s recorded when their
    files were fetched and by an HDF5 end-of-file check. Exits with status 1 if a damaged
    file remains.

    \b
    Example:
      brainobs cache verify --repair
    """
    from brainobs import config
    from brainobs.storage.verify import VerifyResult, verify_cache

    root = config.cache_dir(cache_dir)

    def show(result: VerifyResult) -> None:
        if result.status != "ok":
            click.echo(f"{result.status:<14} {result.path}  {result.detail}")

    results = verify_cache(
        root, repair=repair, cache_for=_cache_factory(root, source, endpoint), on_file=show
    )
    from brainobs.cli.tree_cmds import verify_trees  # warehouse-layout folders (VCN)

    results += verify_trees(root, repair, source, endpoint, show)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "corrupt", "repaired")}
    failed = sum(r.status == "repair-failed" for r in results)
    click.echo(
        f"{len(results)} files checked: {counts['ok']} ok, {counts['corrupt']} damaged, "
        f"{counts['repaired']} repaired, {failed} could not be repaired."
    )
    if counts["corrupt"] and not repair:
        click.echo("Repair them with: brainobs cache verify --repair")
    if counts["corrupt"] or failed:
        raise click.exceptions.Exit(1)


@cache.command()
@click.option("--release", default=None, help="Only this release (vbn, vbo, vcn).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@cache_dir_option
def clear(release: str | None, yes: bool, cache_dir: str | None) -> None:
    """Delete the files brainobs cached (all, or one release's).

    Only files brainobs made are removed: the manifests' files, partial downloads, manifests,
    records and derived tables. Anything else in the folder (and _quarantine/) is kept.

    \b
    Example:
      brainobs cache clear --release vbn --yes
    """
    from brainobs import config
    from brainobs.releases import get_release
    from brainobs.storage.inventory import clear_cache

    root = config.cache_dir(cache_dir)
    project = get_release(release).project_name if release else None
    what = f"{project} files" if project else "everything"
    if not yes:
        click.confirm(f"Delete {what} in {root}?", abort=True)
    result = clear_cache(root, project)
    click.echo(f"Removed {result.removed} files from {root}.")
    if result.kept:
        shown = ", ".join(str(p.relative_to(root)) for p in result.kept[:5])
        more = f" and {len(result.kept) - 5} more" if len(result.kept) > 5 else ""
        click.echo(f"Kept {len(result.kept)} entries brainobs did not make: {shown}{more}.")
    from brainobs.storage.records import QUARANTINE

    if (root / QUARANTINE).is_dir():
        click.echo(f"Files set aside by `cache verify --repair` stay in {root / QUARANTINE}.")


def _cache_factory(
    root: Path, source: str | None, endpoint: str | None
) -> Callable[[Manifest], ReleaseCache]:
    """Return a function giving a downloading cache for a manifest's project."""
    from brainobs.releases import RELEASES
    from brainobs.storage.cache import ReleaseCache
    from brainobs.storage.sources import make_fetcher

    by_project = {r.project_name: r for r in RELEASES.values()}

    def cache_for(manifest: Manifest) -> ReleaseCache:
        release = by_project.get(manifest.project_name)
        fetcher = make_fetcher(release, source, endpoint) if release else None
        return ReleaseCache(root, manifest.project_name, fetcher, show_progress=True)

    return cache_for


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1000
    return f"{size:.1f} TB"
