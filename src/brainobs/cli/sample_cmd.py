"""``brainobs sample``: write simulated sample releases."""

from __future__ import annotations

import inspect
import time
from typing import Any

import click

from brainobs.releases import RELEASES, get_release


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
    @click.option("--sessions", type=int, default=None, metavar="N",
                  help="Write N small sessions instead, for dataset-wide work (releases whose "
                       "sample has this size).")  # fmt: skip
    def write(
        out_dir: str,
        size: str,
        seed: int,
        overwrite: bool,
        dandi_dir: str | None,
        sessions: int | None,
    ) -> None:
        from brainobs.cli.outputs import check_folder_output

        check_folder_output("--out", out_dir)
        start = time.perf_counter()
        written = _write(name, out_dir, size, seed, overwrite, sessions)
        click.echo(
            f"{title} sample release ({written.size}, seed {seed}) in {written.root} "
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


def _write(
    name: str, out_dir: str, size: str, seed: int, overwrite: bool, sessions: int | None
) -> Any:
    """Return the written sample release (``sessions`` goes to writers that take it)."""
    from brainobs.sample import write_release

    if sessions is None:
        return write_release(name, out_dir, size=size, seed=seed, overwrite=overwrite)
    writer = get_release(name).load_sample_writer()
    if "sessions" not in inspect.signature(writer).parameters:
        raise click.UsageError(f"The {name} sample has no --sessions size yet.")
    return writer(out_dir, size=size, seed=seed, overwrite=overwrite, sessions=sessions)


for _release in RELEASES.values():
    if _release.sample_writer is not None:
        on_dandi = _release.dandi_mapping is not None
        sample.add_command(_sample_command(_release.name, _release.title, on_dandi))
