"""``.`` in a formula: R's ``terms.formula(x, data = d)`` expansion (``src/library/stats/src/model.c``,
``termsform``: the dot becomes the data's column names, less every *symbol* of the response --
R's ``CheckRHS`` removes from the frame names each symbol it meets on the left-hand side, function
names included, so ``log(y) ~ .`` drops a column ``y`` but not a column ``log(y)``).

lme4 expands twice, and this module is used for both: ``model.frame(subbars(formula), data)``
expands against the data, then ``model.matrix(nobars(formula), fr)`` expands against the model
frame's column names, ``(weights)`` and ``(offset)`` included (R then drops those duplicated
columns in the rank check, as lme4 does).
"""
from __future__ import annotations

from collections.abc import Iterable

from pyreterms.formula.nodes import Arg, Call, Name, Node, walk


def has_dot(node: Node) -> bool:
    """Whether ``.`` occurs as a symbol in ``node``."""
    return any(isinstance(n, Name) and n.id == "." for n in walk(node))


def lhs_symbols(lhs: Node) -> set[str]:
    """R's ``CheckRHS``: the symbols (and function names) of the response expression."""
    out: set[str] = set()
    for n in walk(lhs):
        if isinstance(n, Name):
            out.add(n.id)
        elif isinstance(n, Call):
            out.add(n.fn)
    return out


def _sum(names: list[str]) -> Node:
    node: Node = Name(names[0])
    for nm in names[1:]:
        node = Call("+", (Arg(node), Arg(Name(nm))))
    return Call("(", (Arg(node),)) if len(names) > 1 else node


def _replace(node: Node, repl: Node) -> Node:
    if isinstance(node, Name) and node.id == ".":
        return repl
    if isinstance(node, Call):
        return Call(node.fn, tuple(Arg(_replace(a.value, repl), a.name) for a in node.args))
    return node


def expand_dot(formula: Call, names: Iterable[str]) -> Call:
    """``formula`` (a ``~`` call, one- or two-sided) with ``.`` on the right replaced by ``(a + b + ...)``:
    the ``names`` less the response's symbols, in their order (R: ``terms.formula(data =)``)."""
    rhs = formula.argv[-1]
    if not has_dot(rhs):
        return formula
    drop = lhs_symbols(formula.argv[0]) if len(formula.args) == 2 else set()
    keep = [nm for nm in names if nm not in drop]
    if not keep:
        raise ValueError("'.' in formula and no columns left to expand it to")
    return Call("~", formula.args[:-1] + (Arg(_replace(rhs, _sum(keep))),))
