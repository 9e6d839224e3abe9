"""The filter language: parsing, checking and evaluation against a row-by-row reference.

Random expressions are generated as small trees, rendered to text (random spacing, keyword
case, quoting), and their brainobs result is compared with a plain-Python evaluation of the
same tree, one row at a time, on small random frames with nulls.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainobs.errors import InvalidInputError
from brainobs.tables.expressions import ExpressionError, parse
from brainobs.tables.filters import filter_expression, row_mask

TEXTS = ["a", "ab", "b", "VISp", "it's", 'say "hi"', ""]
NUMBERS = [-2, -1, 0, 1, 2, 3, 0.5, -1.5, 2.25, 1e-5]
OPS = ["==", "!=", "<", "<=", ">", ">="]


# --- frames ----------------------------------------------------------------------------------
@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 8))
    floats = st.one_of(st.sampled_from(NUMBERS).map(float), st.just(math.nan))
    texts = st.one_of(st.sampled_from(TEXTS), st.none())
    frame = pd.DataFrame(
        {
            "x": pd.Series(draw(st.lists(floats, min_size=n, max_size=n)), dtype="float64"),
            "n": pd.Series(
                draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype="int64"
            ),
            "s": pd.Series(draw(st.lists(texts, min_size=n, max_size=n)), dtype=object),
            "b": pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
        }
    )
    frame.index = pd.Index(range(100, 100 + n), name="row_id")
    return frame


# --- expression trees, their text, and a row-by-row reference --------------------------------
NUMERIC = ("x", "n", "row_id")


def _leaves() -> st.SearchStrategy[tuple[Any, ...]]:
    num_col = st.sampled_from(NUMERIC)
    num_lit = st.sampled_from(NUMBERS)
    text_lit = st.sampled_from(TEXTS)
    return st.one_of(
        st.tuples(st.just("cmp"), num_col, st.sampled_from(OPS), num_lit, st.booleans()),
        st.tuples(st.just("cmp"), st.just("s"), st.sampled_from(OPS), text_lit, st.booleans()),
        st.tuples(st.just("cmpcol"), num_col, st.sampled_from(OPS), num_col),
        st.tuples(st.just("in"), num_col, st.lists(num_lit, min_size=1, max_size=3), st.booleans()),
        st.tuples(
            st.just("in"), st.just("s"), st.lists(text_lit, min_size=1, max_size=3), st.booleans()
        ),
        st.tuples(st.just("between"), num_col, num_lit, num_lit, st.booleans()),
        st.tuples(
            st.just("text"),
            st.just("s"),
            st.sampled_from(["contains", "startswith", "endswith"]),
            text_lit,
            st.booleans(),
        ),
        st.tuples(st.just("null"), st.sampled_from(["x", "s", "n"]), st.booleans()),
        st.tuples(st.just("truthy"), st.just("b")),
        st.tuples(st.just("bool"), st.just("b"), st.sampled_from(["==", "!="]), st.booleans()),
    )


trees = st.recursive(
    _leaves(),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), inner, inner),
    ),
    max_leaves=6,
)


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def render(tree: tuple[Any, ...], draw_case: bool) -> str:
    """Return the text of ``tree`` (children of and/or/not are parenthesised)."""
    kw = (lambda w: w.upper()) if draw_case else (lambda w: w)
    kind = tree[0]
    if kind == "cmp":
        _, col, op, lit, flipped = tree
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
        return f"{_lit(lit)} {flip[op]} {col}" if flipped else f"{col} {op} {_lit(lit)}"
    if kind == "cmpcol":
        return f"{tree[1]}{tree[2]}{tree[3]}"
    if kind == "in":
        neg = f"{kw('not')} " if tree[3] else ""
        return f"{tree[1]} {neg}{kw('in')} [{', '.join(_lit(v) for v in tree[2])}]"
    if kind == "between":
        neg = f"{kw('not')} " if tree[4] else ""
        return f"{tree[1]} {neg}{kw('between')} {_lit(tree[2])} {kw('and')} {_lit(tree[3])}"
    if kind == "text":
        neg = f"{kw('not')} " if tree[4] else ""
        return f"{tree[1]} {neg}{kw(tree[2])} {_lit(tree[3])}"
    if kind == "null":
        return f"{tree[1]} {kw('is')} {kw('not') + ' ' if tree[2] else ''}{kw('null')}"
    if kind == "truthy":
        return tree[1]
    if kind == "bool":
        return f"`{tree[1]}` {tree[2]} {_lit(tree[3])}"
    if kind == "not":
        return f"{kw('not')} ({render(tree[1], draw_case)})"
    return f"({render(tree[1], draw_case)}) {kw(kind)} ({render(tree[2], draw_case)})"


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _cmp(op: str, a: Any, b: Any) -> bool:
    return {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


def reference(tree: tuple[Any, ...], row: dict[str, Any]) -> bool:
    """Return whether ``row`` matches ``tree``: a null never satisfies a test; not inverts."""
    kind = tree[0]
    if kind == "not":
        return not reference(tree[1], row)
    if kind in ("and", "or"):
        a, b = reference(tree[1], row), reference(tree[2], row)
        return (a and b) if kind == "and" else (a or b)
    if kind == "null":
        return _is_null(row[tree[1]]) != tree[2]
    if kind == "truthy":
        return bool(row["b"])
    value = row[tree[1]]
    if kind == "cmpcol":
        other = row[tree[3]]
        return not _is_null(value) and not _is_null(other) and _cmp(tree[2], value, other)
    if _is_null(value):
        return False
    if kind in ("cmp", "bool"):
        return _cmp(tree[2], value, tree[3])
    if kind == "in":
        return (value in tree[2]) != tree[3]
    if kind == "between":
        return (tree[2] <= value <= tree[3]) != tree[4]
    method = {"contains": str.__contains__, "startswith": str.startswith, "endswith": str.endswith}
    return method[tree[2]](value, tree[3]) != tree[4]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), tree=trees, upper=st.booleans())
def test_random_expressions_match_the_reference(
    frame: pd.DataFrame, tree: tuple[Any, ...], upper: bool
) -> None:
    text = render(tree, upper)
    rows = frame.reset_index().to_dict("records")
    expected = [reference(tree, row) for row in rows]
    assert row_mask(frame, text).tolist() == expected, text


PIECES = [*"xnsb()[]'\"`<>=!&|~,.-0123456789 @_eE", "and ", "or ", "not ", "in ", "between "]
PIECES += ["is ", "null", "contains ", "true", "__class__", "(x)", " == ", "'a'"]


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(PIECES), max_size=20).map("".join))
def test_any_text_parses_or_raises_an_expression_error(text: str) -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan], "n": [1, 2], "s": ["a", None], "b": [True, False]})
    try:
        mask = row_mask(frame, text)
    except ExpressionError as exc:
        assert exc.summary.startswith("filter") or "empty" in exc.summary
        if exc.caret:
            assert exc.caret.splitlines()[1].strip() == "^"
        return
    assert mask.dtype == bool and mask.shape == (2,)


# --- precise cases ---------------------------------------------------------------------------
@pytest.fixture
def sessions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "genotype": ["Sst-IRES-Cre/wt", "wt/wt", "Vip-IRES-Cre/wt", None],
            "unit_count": pd.array([120, 80, None, 300], dtype="Int64"),
            "structure_acronyms": [["VISp", "CA1"], ["LGd"], [], ["VISp"]],
            "date_of_acquisition": pd.to_datetime(
                ["2020-03-13 14:14", "2020-06-01 09:00", None, "2021-01-05 10:00"], utc=True
            ),
            "valid": [True, False, True, True],
            "odd name": [1.0, 2.0, 3.0, 4.0],
        },
        index=pd.Index([1, 2, 3, 4], name="ecephys_session_id"),
    )


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("genotype contains 'Sst'", [1]),
        ("genotype startswith 'Vip' or genotype endswith '/wt/wt'", [3]),
        ("not genotype contains 'Sst'", [2, 3, 4]),
        ("genotype not contains 'Sst'", [2, 3]),
        ("unit_count > 100", [1, 4]),
        ("unit_count != 80", [1, 4]),
        ("unit_count is null", [3]),
        ("structure_acronyms contains 'VISp'", [1, 4]),
        ("date_of_acquisition >= '2020-06-01'", [2, 4]),
        ("date_of_acquisition < '2020-06-01T10:00+02:00'", [1]),  # 08:00 UTC
        ("date_of_acquisition between '2020-01-01' and '2020-12-31'", [1, 2]),
        ("valid and unit_count < 200", [1]),
        ("not valid", [2]),
        ("valid == false", [2]),
        ("`odd name` >= 3", [3, 4]),
        ("ecephys_session_id in [2, 4]", [2, 4]),
        ("a or b".replace("a", "unit_count > 250").replace("b", "unit_count < 100"), [2, 4]),
        ("unit_count > 100 and valid or unit_count < 100", [1, 2, 4]),  # and binds tighter
        ("unit_count > 100 and (valid or unit_count < 100)", [1, 4]),
        ("100 < unit_count <= 300", [1, 4]),
        ("unit_count > 99999999999999999999999", []),  # beyond int64: compared as a float
        ("unit_count > -1e3 && !valid", [2]),
    ],
)
def test_expressions_on_a_session_table(sessions: pd.DataFrame, text: str, ids: list[int]) -> None:
    assert filter_expression(sessions, text).index.tolist() == ids


def test_keyword_filters_take_the_same_path(sessions: pd.DataFrame) -> None:
    assert filter_expression(sessions, unit_count=slice(100, None)).index.tolist() == [1, 4]
    assert filter_expression(sessions, genotype=["wt/wt", "Sst-IRES-Cre/wt"]).index.tolist() == [
        1,
        2,
    ]
    assert filter_expression(sessions, "valid", unit_count=None).index.tolist() == [3]
    assert filter_expression(sessions, unit_count=np.int64(80)).index.tolist() == [2]
    with pytest.raises(InvalidInputError, match=r"'genotype' holds text values but 5"):
        filter_expression(sessions, genotype=5)
    with pytest.raises(InvalidInputError, match=r"no column 'genotyp'.*did you mean genotype"):
        filter_expression(sessions, genotyp="wt/wt")
    with pytest.raises(InvalidInputError, match="keyword filter takes"):
        filter_expression(sessions, genotype=object())
    with pytest.raises(InvalidInputError, match="None"):
        filter_expression(sessions, unit_count=float("nan"))


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("unit_count > 'many'", 14, "holds number values"),
        ("genotype > 3", 12, "holds text values"),
        ("genotype = 'wt/wt'", 10, "compare with =="),
        ("structure_acronyms == 'VISp'", 20, "contains"),
        ("date_of_acquisition > 'last week'", 23, "not a date"),
        ("unit_count", 1, "not true/false"),
        ("unit_count > 1 genotype", 16, "and/or"),
        ("genotype.str.contains('Sst')", 9, "attribute access"),
        ("unit_count between 1 or 2", 22, "'and'"),
        ("(unit_count > 1", 16, "')'"),  # the end
        ("genotype contains 'Sst", 19, "not closed"),
        ("unit_count > 1e", 14, "not a number"),
        ("valid > true", 7, "no order"),
    ],
)
def test_errors_point_at_the_offending_token(
    sessions: pd.DataFrame, text: str, position: int, words: str
) -> None:
    with pytest.raises(ExpressionError) as info:
        filter_expression(sessions, text)
    error = info.value
    where = "at the end" if position > len(text) else f"at character {position}"
    assert words in error.summary and where in error.summary
    assert "\n" not in error.summary
    shown, caret = error.caret.splitlines()
    assert shown == f"  {text}" and caret == " " * (position + 1) + "^"


def test_limits_are_errors_not_recursion() -> None:
    frame = pd.DataFrame({"x": [1]})
    with pytest.raises(ExpressionError, match="nests deeper"):
        row_mask(frame, "(" * 500 + "x > 0" + ")" * 500)
    with pytest.raises(ExpressionError, match="nests deeper"):
        row_mask(frame, "not " * 2000 + "x > 0")
    with pytest.raises(ExpressionError, match="limit is 10,000"):
        row_mask(frame, "x > 0 or " * 2000 + "x > 0")
    with pytest.raises(ExpressionError, match="empty"):
        row_mask(frame, "   ")


def test_parse_gives_a_tree_of_data() -> None:
    tree = parse("a > 1 and not b in ['x']")
    assert type(tree).__name__ == "And"
    assert repr(tree).startswith("And(items=(Compare(left=Column(name='a'")
