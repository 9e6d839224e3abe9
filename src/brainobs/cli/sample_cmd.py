"""``brainobs sample``: write simulated sample releases."""

from __future__ import annotations

import time

import click


@click.group(name="sample")
def sample() -> None:
    """Write simulated sample releases in the real bucket layout.

    \b
    Example:
      brainobs sample vbn --out ~/vbn-sample
    """


@sample.command(name="vbn")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder standing for the bucket root.")  # fmt: skip
@click.option("--size", type=click.Choice(["default", "benchmark"]), default="default",
              show_default=True,
              help="default: seconds, tens of MB; benchmark: one 1 h session.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Simulation seed.")
@click.option("--overwrite", is_flag=True, help="Rewrite even if the release is already there.")
def vbn(out_dir: str, size: str, seed: int, overwrite: bool) -> None:
    """Write a Visual Behavior Neuropixels sample release into OUT.

    OUT stands for the bucket root: serve it with `--source OUT` to any command.
    Ground truth (tagged units, preferred images, engagement) goes to OUT/_ground_truth/.

    \b
    Examples:
      brainobs sample vbn --out ~/vbn-sample
      brainobs sample vbn --out /data/vbn-bench --size benchmark
      brainobs sessions vbn --source ~/vbn-sample
    """
    from brainobs.sample import write_vbn_release

    start = time.perf_counter()
    release = write_vbn_release(out_dir, size=size, seed=seed, overwrite=overwrite)
    manifest = release.manifest
    click.echo(
        f"VBN sample release ({size}, seed {seed}) in {release.root}: "
        f"{len(manifest.data_files)} NWB files, manifest {release.manifest_path.name} "
        f"({time.perf_counter() - start:.1f} s)"
    )
