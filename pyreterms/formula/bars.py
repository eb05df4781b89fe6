"""Random-effects bar terms: ``findbars``, ``expandDoubleVerts``, ``expandSlash``, ``nobars``, ``subbars``.

R equivalents: ``lme4::findbars`` (``R/utilities.R:407``), ``expandDoubleVerts`` (``:467``),
``nobars`` (``:517``), ``subbars`` (``:590``) of lme4 1.1-31.  The tree surgery follows R's code so
that deparsed names (``"0 + x | g"``, ``"1 | c:(b:a)"``) come out exactly as lme4 prints them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyreterms.errors import FormulaError
from pyreterms.formula.parser import Arg, Call, Name, Node, Num, call, deparse, frame_name, parse, walk
from pyreterms.formula.terms import make_terms

#: a node or a nested list of nodes (the ``a/b/c`` structure of lme4's ``makeInteraction``)
Nested = Any


def is_bar(node: Node) -> bool:
    return isinstance(node, Call) and node.fn in ("|", "||") and len(node.args) == 2


def any_bars(node: Node) -> bool:
    return any(is_bar(n) for n in walk(node))


def _map_args(node: Call, fn: Callable[[Node], Node]) -> Call:
    return Call(node.fn, tuple(Arg(fn(a.value), a.name) for a in node.args))


def expand_double_verts(node: Node) -> Node:
    """``(L || G)`` -> ``(1 | G) + (0 + l1 | G) + ...`` as lme4 1.1-31 pastes and re-parses it.

    lme4 1.1-31 pastes ``"0+"`` onto every term label of ``~L``; when ``~L`` has no term labels
    (``(1 || g)``) the pasted text ``"0+|g"`` does not parse and lme4 stops.  We refuse the same way.
    """
    if not isinstance(node, Call):
        return node
    if node.fn == "||" and len(node.args) == 2:
        lhs, grp = node.argv
        t = make_terms(call("~", lhs))
        labels = list(t.term_labels)
        if not labels:
            raise FormulaError(
                f"({deparse(node)}) cannot be expanded: lme4 1.1-31 builds the text '(0+|{deparse(grp)})' "
                "for '||' without covariates and R fails with \"unexpected '|'\"; write (1 | g) instead")
        pieces = (["1"] if t.intercept else []) + ["0+" + lab for lab in labels]
        # lme4 pastes deparse(grp): a bare name loses its backquotes there (`g g` -> g g)
        text = "~(" + ")+(".join(p + "|" + frame_name(grp) for p in pieces) + ")"
        try:
            return parse(text).argv[0]  # type: ignore[union-attr]
        except FormulaError:
            raise FormulaError(
                f"({deparse(node)}) cannot be expanded: lme4 1.1-31 pastes the text '{text}', which R cannot "
                "parse (the grouping factor's name loses its backquotes)") from None
    return _map_args(node, expand_double_verts)


def _slash_terms(x: Node) -> Nested:
    if not any(isinstance(n, Call) and n.fn == "/" for n in walk(x)):
        return x
    if not (isinstance(x, Call) and x.fn == "/"):
        raise FormulaError(f"unparseable formula for grouping factor: {deparse(x)}")
    a, b = x.argv
    return [_slash_terms(a), _slash_terms(b)]


def _make_interaction(x: Nested) -> Nested:
    if not isinstance(x, list):
        return x
    trm1 = _make_interaction(x[0])
    trm11 = trm1[0] if isinstance(trm1, list) else trm1
    return [call(":", x[1] if not isinstance(x[1], list) else _first(x[1]), trm11), trm1]


def _first(x: Nested) -> Nested:
    return x[0] if isinstance(x, list) else x


def _flatten(x: Nested) -> list[Node]:
    if isinstance(x, list):
        out: list[Node] = []
        for e in x:
            out.extend(_flatten(e))
        return out
    return [x]


def expand_slash(bars: list[Call]) -> list[Call]:
    """``L | a/b`` -> ``L | b:a``, ``L | a``; ``a/b/c`` -> ``c:(b:a)``, ``b:a``, ``a`` (lme4 order)."""
    out: list[Call] = []
    for b in bars:
        lhs, grp = b.argv
        trms = _slash_terms(grp)
        if isinstance(trms, list):
            for g in _flatten(_make_interaction(trms)):
                out.append(call("|", lhs, g))
        else:
            out.append(b)
    return out


def findbars(rhs: Node) -> list[Call]:
    """R: ``findbars(formula)``: bar terms left to right, ``||`` and ``/`` expanded."""
    rhs = expand_double_verts(rhs)
    found: list[Call] = []

    def fb(term: Node) -> None:
        if not isinstance(term, Call):
            return
        if term.fn == "(":
            fb(term.args[0].value)
            return
        if term.fn == "|":
            found.append(term)
            return
        if len(term.args) == 1:
            fb(term.args[0].value)
            return
        if len(term.args) >= 2:
            fb(term.args[0].value)
            fb(term.args[1].value)

    fb(rhs)
    return expand_slash(found)


def nobars(rhs: Node) -> Node | None:
    """R: ``nobars_`` on the RHS; ``None`` when nothing is left (the caller then uses ``1``)."""

    def any_arg_bar(t: Call) -> bool:
        return t.fn not in ("~", "(") and any(is_bar(a.value) for a in t.args)

    def nb(term: Node) -> Node | None:
        if not any_bars(term):
            return term
        if is_bar(term):
            return None
        assert isinstance(term, Call)
        if any_arg_bar(term):
            return None
        if len(term.args) == 1:
            inner = nb(term.args[0].value)
            return None if inner is None else Call(term.fn, (Arg(inner, term.args[0].name),))
        a2, a3 = nb(term.args[0].value), nb(term.args[1].value)
        if a2 is None:
            return a3
        if a3 is None:
            return a2
        return Call(term.fn, (Arg(a2), Arg(a3)))

    return nb(rhs)


def subbars(node: Node) -> Node:
    """R: ``subbars``: every ``|``/``||`` becomes ``+`` (parentheses kept)."""
    if not isinstance(node, Call):
        return node
    if is_bar(node):
        return call("+", subbars(node.args[0].value), subbars(node.args[1].value))
    return _map_args(node, subbars)


def fixed_formula(formula: Call) -> Call:
    """The fixed-effects formula lme4 uses for X: ``nobars`` of the RHS, ``1`` if empty."""
    args = formula.argv
    rhs = nobars(args[-1])
    if rhs is None:
        rhs = Num(1.0)
    return Call("~", tuple(Arg(a) for a in args[:-1]) + (Arg(rhs),))


def bar_parts(bar: Call) -> tuple[Node, Node]:
    return bar.args[0].value, bar.args[1].value


__all__ = ["findbars", "nobars", "subbars", "expand_double_verts", "expand_slash", "fixed_formula",
           "is_bar", "any_bars", "bar_parts", "Name"]
