"""Filter expressions are data: nothing in one is run, looked up or called.

Every hostile expression is refused with an ExpressionError (an InvalidInputError) before any
value is compared; while it is handled, the ways pandas or the OS could run code are replaced by
traps that fail the test if reached, and the filter modules' code is read to show that they call
nothing that runs code (eval, exec, compile, __import__, getattr, query).
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from brainobs.cli.main import main
from brainobs.errors import InvalidInputError
from brainobs.sample import SampleRelease
from brainobs.tables import expression_eval, expressions, filters
from brainobs.tables.expressions import ExpressionError
from brainobs.tables.filters import filter_expression

ATTACKS = [
    "@pd.io.common.os.system('touch {sentinel}') == 0",
    "genotype == @pd.io.common.os.system('touch {sentinel}')",
    "__import__('os').system('touch {sentinel}') == 0",
    "genotype.__class__.__mro__ == 1",
    "genotype.str.len() > 0",
    "genotype.__init__.__globals__ == 1",
    "__class__ == 1",
    "__builtins__ == 1",
    "`__import__('os').system('touch {sentinel}')` == 0",
    "len(genotype) > 1",
    "eval('1') == 1",
    "open('{sentinel}', 'w') == 1",
    "genotype == 'a'; import os",
    "lambda: 0",
    "[x for x in genotype] == 1",
    "genotype == 'a' if 1 else 0",
    "unit_count ** 1000000 > 1",
    "genotype[0] == 'a'",
    "{{1: 2}} == 1",
]


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"genotype": ["Sst/wt", "wt/wt"], "unit_count": [10, 20]})


@pytest.fixture
def traps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every route from a filter to running code fail the test."""

    def trap(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a filter reached code execution: {args!r}")

    for owner, name in [
        (pd.DataFrame, "query"),
        (pd.DataFrame, "eval"),
        (pd, "eval"),
        (os, "system"),
        (os, "popen"),
        (subprocess, "Popen"),
    ]:
        monkeypatch.setattr(owner, name, trap)


FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "getattr", "query", "import_module"}


@pytest.mark.parametrize("module", [expressions, expression_eval, filters])
def test_the_filter_modules_call_nothing_that_runs_code(module: ModuleType) -> None:
    """Patching eval/exec in builtins would break the test runner itself; read the code instead."""
    tree = ast.parse(Path(module.__file__ or "").read_text())
    called = {
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
    }
    assert not called & FORBIDDEN_CALLS


@pytest.mark.parametrize("template", ATTACKS)
def test_hostile_expressions_are_refused_and_nothing_runs(
    template: str, table: pd.DataFrame, tmp_path: Path, traps: None
) -> None:
    sentinel = tmp_path / "x"
    text = template.format(sentinel=sentinel)
    with pytest.raises(ExpressionError) as info:
        filter_expression(table, text)
    assert isinstance(info.value, InvalidInputError)
    assert info.value.summary.startswith(f"filter {text!r}")
    assert not sentinel.exists()


def test_the_issue_command_line_runs_nothing(
    vbn_release: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "x"
    attack = f"@pd.io.common.os.system('touch {sentinel}') == 0"
    args = ["--source", str(vbn_release.root), "--cache-dir", str(tmp_path / "cache")]
    assert main(["sessions", "vbn", "--filter", attack, *args]) == 1
    err = capsys.readouterr().err
    assert not sentinel.exists()
    lines = err[err.index("error:") :].splitlines()
    assert lines[0].startswith(f"error: filter \"{attack}\" at character 1: unexpected '@'")
    assert lines[1:3] == [f"  {attack}", "  ^"]
    assert "Traceback" not in err
    # the same command with the language's own syntax works
    good = "genotype contains 'Sst' and unit_count > 0"
    assert main(["sessions", "vbn", "--filter", good, *args]) == 0
    out = capsys.readouterr().out
    assert "Sst" in out and "wt/wt\n" not in out
