"""Row filters as data: a small expression language, parsed and checked, never run as code.

A filter is text such as ``structure_acronym == 'VISp' and snr > 2`` or
``genotype contains 'Sst' and date_of_acquisition >= '2020-06-01'``. It is tokenised, parsed
by recursive descent into a tree of the nodes below, checked against the table (every name a
column or the index, every literal of the column's kind), and only then evaluated with
vectorised numpy/pandas operations. Nothing in it is looked up as a Python name, attribute or
function: there is no ``eval``, no ``DataFrame.query``, no way to call anything.

Grammar (keywords are case-insensitive; ``&``, ``|``, ``!``/``~`` spell and, or, not)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | predicate
    predicate  := operand (compare operand)*            # chained: 0.1 < snr <= 5
                | column ["not"] "in" list              # x in ['a', 'b']
                | column ["not"] "between" literal "and" literal   # inclusive range
                | column ["not"] ("contains" | "startswith" | "endswith") literal
                | column "is" ["not"] "null"
                | column                                # a true/false column
    compare    := "==" | "!=" | "<" | "<=" | ">" | ">="
    operand    := column | literal
    column     := name | `any text`                     # backticks for odd names
    literal    := number | 'text' | "text" | true | false
    list       := "[" literal ("," literal)* "]"  (or parentheses)

A comparison involving a null value is false (also ``!=``); ``not`` inverts that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from brainobs.errors import InvalidInputError

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Between",
    "Column",
    "Compare",
    "ExpressionError",
    "InList",
    "IsNull",
    "Literal",
    "Not",
    "Or",
    "TextMatch",
    "Truthy",
    "parse",
]

#: Longest filter text accepted (characters).
MAX_LENGTH = 10_000
#: Deepest nesting of parentheses and ``not`` accepted.
MAX_DEPTH = 64

KEYWORDS = frozenset(
    {"and", "or", "not", "in", "between", "is", "null", "none", "true", "false"}
    | {"contains", "startswith", "endswith"}
)
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
TEXT_MATCHES = ("contains", "startswith", "endswith")
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SYMBOLS = {"&": "and", "|": "or", "!": "not", "~": "not", "&&": "and", "||": "or"}
_HINTS = {
    "@": "local variables (@name) are not part of filter expressions",
    ".": "attribute access is not part of filter expressions (write `genotype contains 'Sst'`, "
    "not genotype.str.contains('Sst'))",
    "+": "arithmetic is not part of filter expressions",
    "-": "arithmetic is not part of filter expressions",
    "*": "arithmetic is not part of filter expressions",
    "/": "arithmetic is not part of filter expressions",
    "%": "arithmetic is not part of filter expressions",
    "=": "compare with ==",
    ";": "one expression only",
}


class ExpressionError(InvalidInputError):
    """A filter expression that cannot be parsed or does not fit the table.

    ``summary`` is the one-line message; ``caret`` shows the expression with a ``^`` under
    the offending token (empty when the problem has no place in the text, e.g. a keyword).
    """

    def __init__(self, summary: str, text: str | None = None, position: int | None = None):
        self.summary = summary
        self.text = text
        self.position = position
        self.caret = ""
        if text is not None and position is not None and text.isprintable() and len(text) <= 200:
            self.caret = f"  {text}\n  {' ' * position}^"
        super().__init__(f"{summary}\n{self.caret}" if self.caret else summary)


# --- tokens ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One token: its kind (name, number, text, op, keyword, end), value and position."""

    kind: str
    value: Any
    pos: int
    source: str  # the characters it was read from


def _error(text: str, pos: int, problem: str) -> ExpressionError:
    """Return the error for ``problem`` at character ``pos`` of ``text``."""
    where = f"at character {pos + 1}" if pos < len(text) else "at the end"
    return ExpressionError(f"filter {text!r} {where}: {problem}.", text, pos)


def tokenize(text: str) -> list[Token]:
    """Return the tokens of ``text`` (ending with an ``end`` token)."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        token = _read_token(text, pos)
        tokens.append(token)
        pos += len(token.source)
    tokens.append(Token("end", None, len(text), ""))
    return tokens


def _read_token(text: str, pos: int) -> Token:
    """Return the token that starts at ``pos``."""
    char = text[pos]
    two = text[pos : pos + 2]
    if two in ("==", "!=", "<=", ">=", "&&", "||"):
        return _op(two, pos)
    if char in "<>(),[]":
        return _op(char, pos)
    if char in _SYMBOLS:
        return _op(char, pos)
    if char in "'\"":
        return _read_text(text, pos)
    if char == "`":
        return _read_backticks(text, pos)
    if char.isdigit() or (char in ".-" and _starts_number(text, pos)):
        return _read_number(text, pos)
    if char.isalpha() or char == "_":
        return _read_name(text, pos)
    hint = _HINTS.get(char, "only column names, literals, comparisons, and/or/not are allowed")
    raise _error(text, pos, f"unexpected {char!r} ({hint})")


def _op(symbol: str, pos: int) -> Token:
    """Return an operator token; symbol spellings of and/or/not become keywords."""
    if symbol in _SYMBOLS:
        return Token("keyword", _SYMBOLS[symbol], pos, symbol)
    return Token("op", symbol, pos, symbol)


def _starts_number(text: str, pos: int) -> bool:
    """Return whether a ``.`` or ``-`` at ``pos`` begins a number (``.5``, ``-3``, ``-.5``)."""
    rest = text[pos + 1 : pos + 3]
    if text[pos] == "-" and rest.startswith("."):
        rest = rest[1:]
    return rest[:1].isdigit()


def _read_number(text: str, pos: int) -> Token:
    """Return a number token (an int, or a float with a point or an exponent)."""
    end = pos + 1
    while end < len(text) and (text[end].isalnum() or text[end] in "._" or _exp_sign(text, end)):
        end += 1
    source = text[pos:end]
    body = source[1:].lstrip() if source.startswith("-") else source
    sign = -1 if source.startswith("-") else 1
    try:
        value: int | float = sign * (int(body) if body.isdigit() else float(body))
    except ValueError:
        raise _error(text, pos, f"{source!r} is not a number") from None
    if body.lower().startswith(("inf", "nan")) or "_" in body:
        raise _error(text, pos, f"{source!r} is not a number")
    return Token("number", value, pos, source)


def _exp_sign(text: str, index: int) -> bool:
    """Return whether ``text[index]`` is the sign of an exponent (``1e-3``)."""
    return text[index] in "+-" and index > 0 and text[index - 1] in "eE"


def _read_text(text: str, pos: int) -> Token:
    """Return a quoted text literal; ``\\`` escapes the quote or a backslash."""
    quote = text[pos]
    chars: list[str] = []
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in (quote, "\\"):
            chars.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return Token("text", "".join(chars), pos, text[pos : index + 1])
        chars.append(char)
        index += 1
    raise _error(text, pos, f"the text starting with {quote} is not closed")


def _read_backticks(text: str, pos: int) -> Token:
    """Return a column name written in backticks."""
    end = text.find("`", pos + 1)
    if end < 0:
        raise _error(text, pos, "the name in backticks is not closed")
    if end == pos + 1:
        raise _error(text, pos, "empty name in backticks")
    return Token("name", text[pos + 1 : end], pos, text[pos : end + 1])


def _read_name(text: str, pos: int) -> Token:
    """Return a column name or a keyword."""
    end = pos + 1
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    source = text[pos:end]
    lowered = source.lower()
    if lowered in KEYWORDS:
        return Token("keyword", lowered, pos, source)
    return Token("name", source, pos, source)


# --- the tree --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A column (or index level) of the table, by name."""

    name: str
    pos: int | None = None


@dataclass(frozen=True)
class Literal:
    """A constant: a number, text or a boolean."""

    value: int | float | str | bool
    pos: int | None = None

    @property
    def kind(self) -> str:
        """Return ``bool``, ``number`` or ``text``."""
        if isinstance(self.value, bool):
            return "bool"
        return "text" if isinstance(self.value, str) else "number"


@dataclass(frozen=True)
class Compare:
    """``column op operand`` (a literal on the left is flipped to the right)."""

    left: Column
    op: str
    right: Column | Literal
    pos: int | None = None


@dataclass(frozen=True)
class InList:
    """``column [not] in [literals]``."""

    column: Column
    values: tuple[Literal, ...]
    negated: bool = False
    pos: int | None = None


@dataclass(frozen=True)
class Between:
    """``column [not] between low and high`` (both ends included)."""

    column: Column
    low: Literal
    high: Literal
    negated: bool = False
    pos: int | None = None


@dataclass(frozen=True)
class TextMatch:
    """``column [not] contains|startswith|endswith literal`` (contains: list members too)."""

    column: Column
    op: str
    pattern: Literal
    negated: bool = False
    pos: int | None = None


@dataclass(frozen=True)
class IsNull:
    """``column is [not] null``."""

    column: Column
    negated: bool = False
    pos: int | None = None


@dataclass(frozen=True)
class Truthy:
    """A true/false column used on its own."""

    column: Column


@dataclass(frozen=True)
class Not:
    """``not item``."""

    item: Node


@dataclass(frozen=True)
class And:
    """All of ``items``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items``."""

    items: tuple[Node, ...]


Node = Union[Compare, InList, Between, TextMatch, IsNull, Truthy, Not, And, Or]  # noqa: UP007


# --- the parser ------------------------------------------------------------------------------
def parse(text: str) -> Node:
    """Return the tree of filter ``text``; raise ExpressionError pointing at what is wrong."""
    if not isinstance(text, str):
        raise ExpressionError(f"a filter expression is text, not {type(text).__name__}.")
    if not text.strip():
        raise ExpressionError(
            f"the filter expression is empty ({text!r}); "
            "write e.g. \"structure_acronym == 'VISp'\"."
        )
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the filter expression is {len(text):,} characters long; the limit is "
            f"{MAX_LENGTH:,}. Split it, or filter the table in Python."
        )
    return _Parser(text, tokenize(text)).parse()


class _Parser:
    """Recursive descent over the tokens of one expression."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def error(self, problem: str, token: Token | None = None) -> ExpressionError:
        """Return an error about ``token`` (default: the current one)."""
        return _error(self.text, (token or self.token).pos, problem)

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def at(self, kind: str, *values: Any) -> bool:
        token = self.token
        return token.kind == kind and (not values or token.value in values)

    def expect(self, kind: str, value: Any, what: str) -> Token:
        if not self.at(kind, value):
            raise self.error(f"expected {what}, found {self.describe(self.token)}")
        return self.advance()

    @staticmethod
    def describe(token: Token) -> str:
        return "the end of the expression" if token.kind == "end" else repr(token.source)

    def parse(self) -> Node:
        node = self.or_expr()
        if not self.at("end"):
            raise self.error(self._unexpected_hint(self.token))
        return node

    def _unexpected_hint(self, token: Token) -> str:
        if token.kind == "op" and token.value == "(":
            return "calls are not part of filter expressions"
        return f"unexpected {self.describe(token)} (join conditions with and/or)"

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.at("keyword", "or"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.at("keyword", "and"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression nests deeper than {MAX_DEPTH} levels")
        try:
            if self.at("keyword", "not"):
                self.advance()
                return Not(self.not_expr())
            if self.at("op", "("):
                self.advance()
                node = self.or_expr()
                self.expect("op", ")", "')'")
                return node
            return self.predicate()
        finally:
            self.depth -= 1

    def operand(self) -> Column | Literal:
        token = self.token
        if token.kind == "name":
            self.advance()
            if self.at("op", "("):
                raise self.error("calls are not part of filter expressions")
            return Column(token.value, token.pos)
        if token.kind in ("number", "text") or self.at("keyword", "true", "false"):
            return self.literal()
        raise self.error(f"expected a column name or a value, found {self.describe(token)}")

    def literal(self) -> Literal:
        token = self.token
        if token.kind in ("number", "text"):
            self.advance()
            return Literal(token.value, token.pos)
        if self.at("keyword", "true", "false"):
            self.advance()
            return Literal(token.value == "true", token.pos)
        if self.at("keyword", "null", "none"):
            raise self.error("null is tested with `is null` / `is not null`")
        raise self.error(f"expected a value, found {self.describe(token)}")

    def predicate(self) -> Node:
        first = self.operand()
        if self.at("op", *COMPARISONS):
            return self.comparisons(first)
        if isinstance(first, Literal):
            raise self.error("a value on its own is not a condition (compare it with a column)")
        return self.column_predicate(first)

    def column_predicate(self, column: Column) -> Node:
        negated = False
        if self.at("keyword", "not"):
            negated = True
            self.advance()
            if not self.at("keyword", "in", "between", *TEXT_MATCHES):
                raise self.error("expected in, between, contains, startswith or endswith")
        if self.at("keyword", "in"):
            pos = self.advance().pos
            return InList(column, self.value_list(), negated, pos)
        if self.at("keyword", "between"):
            pos = self.advance().pos
            low = self.literal()
            self.expect("keyword", "and", "'and' between the two ends of the range")
            return Between(column, low, self.literal(), negated, pos)
        if self.at("keyword", *TEXT_MATCHES):
            op = self.advance()
            return TextMatch(column, op.value, self.literal(), negated, op.pos)
        if self.at("keyword", "is"):
            pos = self.advance().pos
            negated = self.at("keyword", "not")
            if negated:
                self.advance()
            self.expect_null()
            return IsNull(column, negated, pos)
        return Truthy(column)

    def expect_null(self) -> None:
        if not self.at("keyword", "null", "none"):
            raise self.error(f"expected null, found {self.describe(self.token)}")
        self.advance()

    def value_list(self) -> tuple[Literal, ...]:
        """Return the literals of ``[a, b, ...]`` (or ``(a, b, ...)``)."""
        if not self.at("op", "[", "("):
            raise self.error(f"expected a list like ['a', 'b'], found {self.describe(self.token)}")
        close = "]" if self.advance().value == "[" else ")"
        values = [self.literal()]
        while self.at("op", ","):
            self.advance()
            if self.at("op", close):
                break
            values.append(self.literal())
        self.expect("op", close, f"{close!r} or ','")
        return tuple(values)

    def comparisons(self, first: Column | Literal) -> Node:
        """Return ``a < b <= c ...`` as the conjunction of its pairwise comparisons."""
        pairs: list[Compare] = []
        left = first
        while self.at("op", *COMPARISONS):
            op = self.advance()
            right = self.operand()
            pairs.append(self._compare(left, op, right))
            left = right
        return pairs[0] if len(pairs) == 1 else And(tuple(pairs))

    def _compare(self, left: Column | Literal, op: Token, right: Column | Literal) -> Compare:
        if isinstance(left, Column):
            return Compare(left, op.value, right, op.pos)
        if isinstance(right, Column):
            return Compare(right, _FLIPPED[op.value], left, op.pos)
        raise self.error("this compares two values; one side must be a column", op)
