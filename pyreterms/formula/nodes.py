"""The tree of R expressions that :mod:`pyreterms.formula.parser` reads (R: a language object from
``parse(text = ...)``), R's operator precedences (``?Syntax``) and tree walks (iterative, so deep
trees are fine).  Nothing here evaluates anything."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Num:
    """A numeric constant (R double, or integer when ``is_int``: ``1L``)."""

    value: float
    is_int: bool = False


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Arg:
    value: Node
    name: str | None = None


@dataclass(frozen=True)
class Call:
    """A call; operators are calls too (``fn='+'``), and parentheses are ``fn='('``."""

    fn: str
    args: tuple[Arg, ...]

    @property
    def argv(self) -> tuple[Node, ...]:
        return tuple(a.value for a in self.args)


Node = Num | Str | Name | Call


def call(fn: str, *args: Node) -> Call:
    return Call(fn, tuple(Arg(a) for a in args))


# Precedences follow R's ?Syntax; higher binds tighter.

_BINARY: dict[str, tuple[int, str]] = {
    "~": (5, "left"),
    "|": (6, "left"), "||": (6, "left"),
    "&": (7, "left"), "&&": (7, "left"),
    "==": (9, "left"), "!=": (9, "left"), "<": (9, "left"), ">": (9, "left"),
    "<=": (9, "left"), ">=": (9, "left"),
    "+": (10, "left"), "-": (10, "left"),
    "*": (11, "left"), "/": (11, "left"),
    "%": (12, "left"),  # any %op%
    ":": (13, "left"),
    "^": (15, "right"),
}
_UNARY: dict[str, int] = {"~": 5, "!": 8, "-": 14, "+": 14}


def _binary_info(op: str) -> tuple[int, str] | None:
    if op.startswith("%") and op.endswith("%") and len(op) >= 2:
        return _BINARY["%"]
    return _BINARY.get(op)


def depth(node: Node) -> int:
    """Depth of the tree: 0 for a constant or name, 1 + the deepest argument for a call (iterative)."""
    best = 0
    stack: list[tuple[Node, int]] = [(node, 0)]
    while stack:
        n, d = stack.pop()
        if isinstance(n, Call):
            d += 1
            best = max(best, d)
            stack.extend((a.value, d) for a in n.args)
    return best


def walk(node: Node) -> Iterator[Node]:
    """Yield every node of the tree (pre-order; iterative, so deep trees are fine)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Call):
            stack.extend(a.value for a in reversed(n.args))


def strip_parens(node: Node) -> Node:
    while isinstance(node, Call) and node.fn == "(" and len(node.args) == 1:
        node = node.args[0].value
    return node
