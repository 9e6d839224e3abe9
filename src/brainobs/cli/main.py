"""The ``brainobs`` command: a thin layer over the public API.

Each command imports the library inside its function, so ``brainobs --help`` is instant.
Errors print as one line (exit status 1) unless ``--debug`` is given.
"""

from __future__ import annotations

import sys
import warnings

import click

from brainobs.cli.cache_cmds import cache
from brainobs.cli.demo_cmd import demo
from brainobs.cli.download_cmd import download
from brainobs.cli.report_cmd import report
from brainobs.cli.sample_cmd import sample
from brainobs.cli.sessions_cmd import sessions
from brainobs.cli.summarize_cmd import summarize


class _Context:
    debug = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="brainobs")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """brainobs: fast, lazy, safe access to the Allen Brain Observatory datasets.

    \b
    Example:
      brainobs download vbn --metadata-only
    """
    _Context.debug = debug


cli.add_command(cache)
cli.add_command(download)
cli.add_command(sessions)
cli.add_command(demo)
cli.add_command(sample)
cli.add_command(report)
cli.add_command(summarize)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    warnings.formatwarning = _format_warning
    try:
        result = cli.main(args=argv, prog_name="brainobs", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (Exception, KeyboardInterrupt) as exc:
        if debug:
            raise
        click.secho(f"error: {_one_line(exc)}", fg="red", err=True)
        caret = getattr(exc, "caret", "")  # a filter expression: show where the problem is
        if caret:
            click.echo(caret, err=True)
        click.echo("(run with --debug for the full traceback)", err=True)
        return 1
    return result if isinstance(result, int) else 0


def _format_warning(message, category, filename, lineno, line=None) -> str:  # type: ignore[no-untyped-def]
    """Return a warning as one readable line (no source location)."""
    return f"warning: {message}\n"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = getattr(exc, "summary", None) or str(exc) or type(exc).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
