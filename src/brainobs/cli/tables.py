"""Print tables readably, or write them as CSV/Parquet."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from brainobs.errors import InvalidInputError


def write_or_print(table: pd.DataFrame, output: str | None) -> None:
    """Write ``table`` to ``output`` (.csv/.parquet) or print it to the terminal."""
    if output is None:
        with pd.option_context("display.width", 200, "display.max_colwidth", 40):
            click.echo(table.to_string(max_rows=60))
        click.echo(f"[{len(table)} rows x {table.shape[1]} columns]")
        return
    path = Path(output)
    if path.suffix == ".csv":
        table.to_csv(path)
    elif path.suffix == ".parquet":
        table.to_parquet(path)
    else:
        raise InvalidInputError(f"--output {output}: use a .csv or .parquet file name.")
    click.echo(f"wrote {len(table)} rows to {path}")
