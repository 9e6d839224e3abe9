"""``brainobs download``: fetch a release's files into the cache, verified."""

from __future__ import annotations

import click

from brainobs.cli.options import source_options


@click.command()
@click.argument("release")
@click.argument("ids", nargs=-1)
@click.option(
    "--manifest",
    "version",
    default=None,
    metavar="VERSION",
    help="Manifest version, e.g. 0.5.0 (default: the latest).",
)
@click.option("--metadata-only", is_flag=True, help="Only the metadata tables.")
@click.option("--yes", is_flag=True, help="Do not ask before downloading a whole release.")
@source_options
def download(
    release: str,
    ids: tuple[str, ...],
    version: str | None,
    metadata_only: bool,
    yes: bool,
    cache_dir: str | None,
    source: str | None,
    endpoint: str | None,
    dandiset_version: str | None,
) -> None:
    """Download RELEASE (vbn, vbo, vcn) files into the cache, verified.

    IDS are session, experiment, probe or file ids; without them every file is fetched. A
    session id fetches every file of the session (vbn: its LFP files too; vbo: an imaging
    session's id fetches the files of its planes). vbn and vbo files are verified against the
    manifest's hashes; vcn (no hashes) by the size and MD5 the source reports and an HDF5
    end-of-file check; --source warehouse reads vcn through the Allen Institute warehouse's
    queries instead of the bucket.
    Interrupted downloads resume where they stopped. With --source dandi the NWB files come
    from the DANDI Archive, verified against its SHA-256 (the metadata tables from the bucket).

    \b
    Examples:
      brainobs download vbn --metadata-only
      brainobs download vbn 1044385384 --manifest 0.5.0
      brainobs download vbn 1044385384 --source dandi --dandiset-version 0.240702.1725
      brainobs download vbo 951980471          # one imaging plane (ophys experiment)
      brainobs download vcn 715093703 --endpoint http://127.0.0.1:9000
    """
    from tqdm.auto import tqdm

    from brainobs import config
    from brainobs.releases import get_release
    from brainobs.storage.resolve import entries_for_ids
    from brainobs.storage.sources import make_release_cache

    rel = get_release(release)
    if rel.layout == "warehouse":  # a cache folder with no manifest versions (VCN)
        from brainobs.cli.tree_cmds import download_tree

        if version is not None:
            raise click.UsageError(f"{rel.title} has no manifest versions; leave out --manifest.")
        project = rel.load_cache_class()
        tree_cache = project.from_source(source or "s3", cache_dir, endpoint, dandiset_version)
        download_tree(rel, ids, metadata_only, yes, tree_cache)
        return
    cache = make_release_cache(rel, source, config.cache_dir(cache_dir), endpoint,
                               dandiset_version=dandiset_version, show_progress=True)  # fmt: skip
    manifest = cache.load_manifest(version)
    click.echo(f"{rel.title} manifest {manifest.manifest_version} from {cache.describe()}")
    entries = list(manifest.metadata_files.values())
    if not metadata_only:
        wanted = entries_for_ids(cache, ids) if ids else list(manifest.data_files.values())
        if not ids and len(wanted) > 20 and not yes:
            click.confirm(f"Download all {len(wanted)} data files of {rel.name}?", abort=True)
        entries += wanted
    with tqdm(entries, desc="files", unit="file", disable=len(entries) < 2) as bar:
        for entry in bar:
            cache.fetch(entry)
    click.echo(f"{len(entries)} files ready in {cache.cache_dir / manifest.cache_folder}")
