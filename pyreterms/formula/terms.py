"""R's ``terms.formula`` algebra: variables, terms, intercept, offsets and the factor coding matrix.

R equivalent: ``terms.formula`` (C ``termsform`` in ``src/library/stats/src/model.c``).  We port
R's own rules rather than use a Python formula library because X's column order and names, and which
factor of an interaction is coded by contrasts or by indicators (``TermCode``), must be R's to give
``model.matrix``'s columns exactly (e.g. ``~ a:b`` without main effects is rank deficient in R).
"""
from __future__ import annotations

from dataclasses import dataclass

from pyreterms.errors import FormulaError
from pyreterms.formula.parser import Call, Name, Node, Num, deparse, strip_parens

_FORMULA_OPS = {"+", "-", "*", "/", ":", "^", "%in%", "("}


@dataclass(frozen=True)
class Terms:
    """R: ``terms(formula)``.

    ``variables`` are the distinct variable expressions in order of appearance (response first);
    ``terms`` are sets of variable indices sorted by order (keep.order = FALSE); ``codes[t][v]`` is
    R's ``attr(, "factors")`` entry (1 = coded by contrasts, 2 = by indicators) for variable v in
    term t; ``offsets`` are indices of ``offset(...)`` variables.
    """

    response: Node | None
    variables: tuple[Node, ...]
    varnames: tuple[str, ...]
    terms: tuple[tuple[int, ...], ...]
    intercept: bool
    offsets: tuple[int, ...]
    codes: tuple[dict[int, int], ...]

    @property
    def term_labels(self) -> tuple[str, ...]:
        return tuple(":".join(self.varnames[v] for v in t) for t in self.terms)

    @property
    def has_response(self) -> bool:
        return self.response is not None


def _is_op(node: Node) -> bool:
    return isinstance(node, Call) and node.fn in _FORMULA_OPS and all(a.name is None for a in node.args)


def extract_vars(node: Node, out: list[Node]) -> None:
    """R's ``ExtractVars``: every maximal non-operator sub-expression is a variable."""
    if isinstance(node, Num):
        return
    if _is_op(node):
        args = node.argv  # type: ignore[union-attr]
        if node.fn == "^":  # type: ignore[union-attr]
            extract_vars(args[0], out)
            return
        for a in args:
            extract_vars(a, out)
        return
    if isinstance(node, Name) and node.id == ".":
        raise FormulaError("'.' in formulas is not supported: name the variables explicitly")
    if node not in out:
        out.append(node)


class _Encoder:
    """R's ``EncodeVars``: turns the RHS into a list of terms (sets of variable indices)."""

    def __init__(self, variables: list[Node]) -> None:
        self.index = {v: i for i, v in enumerate(variables)}
        self.intercept = True
        self.parity = True

    def encode(self, node: Node) -> list[frozenset[int]]:
        if isinstance(node, Num):
            if node.value == 1:
                self.intercept = self.parity
                return []
            if node.value == 0:
                self.intercept = not self.parity
                return []
            raise FormulaError(f"invalid model formula: the number {deparse(node)} cannot be a term (only 0 or 1)")
        if _is_op(node):
            fn, args = node.fn, node.argv  # type: ignore[union-attr]
            if fn == "(":
                return self.encode(args[0])
            if fn == "+":
                if len(args) == 1:
                    return self.encode(args[0])
                return _trim(self.encode(args[0]) + self.encode(args[1]))
            if fn == "-":
                return self._encode_minus(args)
            if fn == ":":
                left, right = self.encode(args[0]), self.encode(args[1])
                return _trim([a | b for a in left for b in right])
            if fn == "*":
                left, right = self.encode(args[0]), self.encode(args[1])
                return _trim(left + right + [a | b for a in left for b in right])
            if fn == "%in%":
                left, right = self.encode(args[0]), self.encode(args[1])
                allr = frozenset().union(*right) if right else frozenset()
                return _trim([a | allr for a in left])
            if fn == "/":
                left, right = self.encode(args[0]), self.encode(args[1])
                alll = frozenset().union(*left) if left else frozenset()
                return _trim(left + [alll | r for r in right])
            if fn == "^":
                return self._encode_power(node, args)
        return [frozenset([self.index[node]])]


    def _encode_minus(self, args: tuple[Node, ...]) -> list[frozenset[int]]:
        """``a - b`` / ``-b``: the terms of ``a`` not in ``b`` (``b`` read with the sign flipped, so
        that ``- 1`` removes the intercept)."""
        if len(args) == 1:
            left: list[frozenset[int]] = []
            rhs = args[0]
        else:
            left = self.encode(args[0])
            rhs = args[1]
        self.parity = not self.parity
        right = self.encode(rhs)
        self.parity = not self.parity
        return [t for t in left if t not in set(right)]

    def _encode_power(self, node: Node, args: tuple[Node, ...]) -> list[frozenset[int]]:
        """``(a + b)^k``: all interactions up to order k."""
        power = strip_parens(args[1])
        if not isinstance(power, Num) or power.value < 1 or power.value != int(power.value):
            raise FormulaError(f"invalid power in formula: {deparse(node)}")
        base = self.encode(args[0])
        result = list(base)
        for _ in range(int(power.value) - 1):
            result = _trim(result + [a | b for a in result for b in base])
        return result

def _trim(terms: list[frozenset[int]]) -> list[frozenset[int]]:
    seen: set[frozenset[int]] = set()
    out = []
    for t in terms:
        if t and t not in seen:
            seen.add(t)
            out.append(t)
    return out


def make_terms(formula: Node) -> Terms:
    """R: ``terms(formula)`` for a one- or two-sided formula tree (bars already removed)."""
    if not (isinstance(formula, Call) and formula.fn == "~"):
        raise FormulaError(f"not a formula: {deparse(formula)}")
    args = formula.argv
    response, rhs = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    variables: list[Node] = []
    if response is not None:
        variables.append(response)
    extract_vars(rhs, variables)
    enc = _Encoder(variables)
    terms = enc.encode(rhs)
    if response is not None:
        terms = [t for t in terms if t != frozenset([0])]
    varnames = tuple(deparse(v) for v in variables)
    offsets = tuple(i for i, nm in enumerate(varnames) if nm.startswith("offset("))
    terms = [t for t in terms if not any(o in t for o in offsets)]
    # keep.order = FALSE: stable sort by the order (number of variables) of the term
    terms = sorted(terms, key=len)
    ordered = tuple(tuple(sorted(t)) for t in terms)
    codes = tuple(_term_codes(ordered, k) for k in range(len(ordered)))
    return Terms(response, tuple(variables), varnames, ordered, enc.intercept, offsets, codes)


def _term_codes(terms: tuple[tuple[int, ...], ...], k: int) -> dict[int, int]:
    """R's ``TermCode``: variable v of term k is coded by contrasts (1) when the term without v is
    empty or contained in a preceding term, else by indicator columns (2)."""
    out: dict[int, int] = {}
    this = set(terms[k])
    for v in terms[k]:
        rest = this - {v}
        if not rest or any(rest <= set(terms[j]) for j in range(k)):
            out[v] = 1
        else:
            out[v] = 2
    return out
