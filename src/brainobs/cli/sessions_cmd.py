"""``brainobs sessions``: print or save a release's session table."""

from __future__ import annotations

import click

from brainobs.cli.options import source_options
from brainobs.cli.tables import write_or_print


@click.command()
@click.argument("release")
@click.option(
    "--filter",
    "expression",
    default=None,
    metavar="EXPR",
    help="Keep rows matching a filter: column names, quoted text, numbers, == != < <= > >=, "
    "and/or/not, in [...], between .. and .., contains/startswith/endswith, is null; "
    "e.g. \"genotype contains 'Sst' and unit_count > 100\". Never run as code.",
)
@click.option("--sample", is_flag=True, help="Use the built-in sample release (offline).")
@click.option(
    "--all",
    "include_abnormal",
    is_flag=True,
    help="Include sessions flagged for abnormal histology or activity.",
)
@click.option(
    "--output",
    "-o",
    default=None,
    metavar="FILE",
    help="Write the table to FILE (.csv or .parquet) instead of printing it.",
)
@source_options
def sessions(
    release: str,
    expression: str | None,
    sample: bool,
    include_abnormal: bool,
    output: str | None,
    cache_dir: str | None,
    source: str | None,
    endpoint: str | None,
    dandiset_version: str | None,
) -> None:
    """Print the session table of RELEASE (vbn: the ecephys sessions; vbo: the experiments).

    \b
    Examples:
      brainobs sessions vbn --sample
      brainobs sessions vbn --filter "experience_level == 'Novel'" -o novel.csv
      brainobs sessions vbn --filter "genotype contains 'Sst' and unit_count > 100"
      brainobs sessions vbn --filter "session_number in [1, 2] and not sex == 'M'"
      brainobs sessions vbn --filter "date_of_acquisition between '2020-06-01' and '2020-12-31'"
      brainobs sessions vbo --filter "cre_line startswith 'Vip' and experience_level == 'Novel 1'"
    """
    from brainobs.cli.outputs import check_table_output
    from brainobs.cli.projects import open_project
    from brainobs.tables.expressions import parse
    from brainobs.tables.filters import filter_expression

    if output is not None:
        check_table_output("--output", output)
    if expression is not None:
        parse(expression)  # a malformed filter fails before anything is loaded
    cache = open_project(release, cache_dir, source, endpoint, sample, dandiset_version)
    table = cache.session_table(include_abnormal=include_abnormal)
    if expression:
        table = filter_expression(table, expression)
    write_or_print(table, output)
