"""``brainobs sample``: write simulated sample releases."""

from __future__ import annotations

import time

import click

from brainobs.releases import RELEASES


@click.group(name="sample")
def sample() -> None:
    """Write simulated sample releases in the real bucket layout.

    \b
    Example:
      brainobs sample vbn --out ~/vbn-sample
    """


def _sample_command(name: str, title: str, on_dandi: bool) -> click.Command:
    """Return the ``brainobs sample <name>`` command of one release."""

    @click.command(name=name)
    @click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
                  help="Folder standing for the bucket root.")  # fmt: skip
    @click.option("--size", type=click.Choice(["default", "benchmark"]), default="default",
                  show_default=True,
                  help="default: seconds, small; benchmark: a real-size session.")  # fmt: skip
    @click.option("--seed", type=int, default=0, show_default=True, help="Simulation seed.")
    @click.option("--overwrite", is_flag=True, help="Rewrite even if the release is already there.")
    @click.option(
        "--dandi",
        "dandi_dir",
        default=None,
        type=click.Path(file_okay=False),
        hidden=not on_dandi,
        help="Also lay the sample's NWB files out in DANDI_DIR as the release's dandiset(s): "
        "asset paths, metadata and SHA-256 digests as DANDI serves them.",
    )
    def write(out_dir: str, size: str, seed: int, overwrite: bool, dandi_dir: str | None) -> None:
        from brainobs.cli.outputs import check_folder_output
        from brainobs.sample import write_release

        check_folder_output("--out", out_dir)
        start = time.perf_counter()
        written = write_release(name, out_dir, size=size, seed=seed, overwrite=overwrite)
        click.echo(
            f"{title} sample release ({size}, seed {seed}) in {written.root} "
            f"({time.perf_counter() - start:.1f} s)"
        )
        if dandi_dir is not None:
            from brainobs.sample.dandiset import write_sample_dandiset

            for dandiset in write_sample_dandiset(name, written, dandi_dir):
                versions = ", ".join(dandiset.versions)
                click.echo(f"dandiset {dandiset.dandiset} ({versions}) in {dandiset.root}")

    write.help = (
        f"Write a {title} sample release into OUT.\n\n"
        "OUT stands for the bucket root: serve it with `--source OUT` to any command. Ground "
        "truth (what the simulation put in: tuning, tagged units, engagement...) goes to "
        "OUT/_ground_truth/.\n\n"
        f"\b\nExamples:\n  brainobs sample {name} --out ~/{name}-sample\n"
        f"  brainobs sample {name} --out /data/{name}-bench --size benchmark\n"
        f"  brainobs sessions {name} --source ~/{name}-sample"
        + (f"\n  brainobs sample {name} --out ~/{name}-sample --dandi ~/{name}-dandi" * on_dandi)
    )
    return write


for _release in RELEASES.values():
    if _release.sample_writer is not None:
        on_dandi = _release.dandi_mapping is not None
        sample.add_command(_sample_command(_release.name, _release.title, on_dandi))
