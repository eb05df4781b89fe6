"""The one allowlist of R code a user may name: formula functions, operators, constants, ``pkg::fun``
namespaces and contrast functions.

R equivalent: none (a safety gate).  Formula strings, ``--contrasts`` values (and, later, ``subset``
expressions and ``--call``) are data: nothing outside this module's definition is ever evaluated, in
Python or in R.  The R side (``r_scripts/allowlist.R``, sourced by ``r_scripts/reference.R``, and
re-assigned by ``parity.rsession`` from :func:`r_source` right after sourcing) is generated from the
definitions below, so the two sides cannot drift: ``python -m pyreterms.formula.allowlist --write`` rewrites
the R file and ``tests/unit/test_allowlist.py`` fails on any difference.

:func:`check_expression` validates any parsed R expression (a tree of :mod:`pyreterms.formula.parser`).
"""
from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyreterms.errors import FormulaError
from pyreterms.formula.parser import Call, Name, Node, Num, Str, deparse, parse, walk


@dataclass(frozen=True)
class FunctionRule:
    """One allowlisted R function.

    ``formals`` are R's argument names in R's order (positional arguments match them in turn, as R
    matches them; ``"..."`` takes any number); ``constant`` names the arguments that must be written
    as constants (numbers, strings, ``TRUE``/``FALSE``, ``c(...)`` of those); ``namespaces`` are the
    packages under which ``pkg::name(...)`` is accepted; ``attach`` is the package an R session must
    have attached for the unqualified name (``ns`` needs ``library(splines)``).
    """

    name: str
    formals: tuple[str, ...]
    required: int = 1
    constant: frozenset[str] = frozenset()
    namespaces: tuple[str, ...] = ("base",)
    attach: str | None = None

    @property
    def variadic(self) -> bool:
        return "..." in self.formals


def _rule(name: str, formals: str, *, required: int = 1, constant: str = "", namespaces: str = "base",
          attach: str | None = None) -> FunctionRule:
    return FunctionRule(name, tuple(formals.split()), required, frozenset(constant.split()),
                        tuple(namespaces.split()), attach)


#: R's formula and arithmetic operators (called as functions, never looked up by the user).
OPERATORS: tuple[str, ...] = ("~", "+", "-", "*", "/", "^", ":", "%in%", "|", "||", "(", "%%", "%/%",
                              "==", "!=", "<", ">", "<=", ">=", "&", "!")

#: Names that are constants unless a data column of that name shadows them (``T``, ``F``, ``pi``);
#: ``TRUE`` and ``FALSE`` are reserved words in R and cannot be shadowed.
CONSTANTS: tuple[str, ...] = ("TRUE", "FALSE", "T", "F", "pi")

FUNCTIONS: tuple[FunctionRule, ...] = (
    _rule("I", "x"),
    _rule("log", "x base", constant="base"),
    _rule("log2", "x"), _rule("log10", "x"), _rule("log1p", "x"), _rule("exp", "x"),
    _rule("expm1", "x"), _rule("sqrt", "x"), _rule("abs", "x"),
    _rule("poly", "x degree raw", constant="degree raw", namespaces="stats"),
    _rule("scale", "x center scale", constant="center scale"),
    _rule("factor", "x"), _rule("as.factor", "x"), _rule("as.numeric", "x"),
    _rule("offset", "object", namespaces=""),  # R spots offsets by the text "offset("
    _rule("ns", "x df knots intercept Boundary.knots",
          constant="df knots intercept Boundary.knots", namespaces="splines", attach="splines"),
    _rule("bs", "x df knots degree intercept Boundary.knots",
          constant="df knots degree intercept Boundary.knots", namespaces="splines", attach="splines"),
    _rule("cut", "x breaks labels include.lowest right dig.lab", required=2,
          constant="breaks labels include.lowest right dig.lab"),
    _rule("pmin", "... na.rm", constant="na.rm"), _rule("pmax", "... na.rm", constant="na.rm"),
    _rule("c", "...", required=0),  # only inside constant arguments (checked below)
    _rule("cbind", "..."),  # binomial responses cbind(successes, failures) (glmer)
    # base R functions lme4 users write (pyreterms.formula.base_functions)
    _rule("round", "x digits", constant="digits"),
    _rule("sin", "x"), _rule("cos", "x"), _rule("tan", "x"),
    _rule("as.integer", "x"),
    _rule("ifelse", "test yes no", required=3),
    _rule("relevel", "x ref", required=2, constant="ref", namespaces="stats"),
    _rule("interaction", "... drop sep lex.order", constant="drop sep lex.order"),
)

RULES: dict[str, FunctionRule] = {r.name: r for r in FUNCTIONS}

#: ``pkg::fun`` spellings accepted (every rule under each of its namespaces).
NAMESPACED: tuple[str, ...] = tuple(f"{ns}::{r.name}" for r in FUNCTIONS for ns in r.namespaces)

#: The only contrast functions a caller may name (R's ``contrasts<-`` calls the named function).
CONTRASTS: tuple[str, ...] = ("contr.treatment", "contr.sum", "contr.helmert", "contr.poly", "contr.SAS")


#: Packages whose data sets ``r:PKG::NAME`` may read (R's ``data(NAME, package = PKG)`` loads the
#: package's namespace, so only these).
DATASET_PACKAGES: tuple[str, ...] = ("lme4", "datasets", "MASS", "nlme", "boot", "lattice", "Matrix")


def check_dataset(pkg: str, name: str) -> tuple[str, str]:
    """Validate a data set reference ``PKG::NAME`` (ValueError, one line): an allowlisted package and
    a syntactic R name (nothing that could be parsed as code)."""
    import re

    if pkg not in DATASET_PACKAGES:
        raise ValueError(f"R data sets are read only from {', '.join(DATASET_PACKAGES)}, not {pkg!r}")
    if not re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*", name) or re.fullmatch(r"\.[0-9].*", name):
        raise ValueError(f"{name!r} is not an R data set name")
    return pkg, name


def split_name(fn: str) -> tuple[str | None, str]:
    """``"splines::ns"`` -> ``("splines", "ns")``; ``"ns"`` -> ``(None, "ns")``."""
    if "::" in fn:
        pkg, name = fn.split("::", 1)
        return pkg, name
    return None, fn


def is_constant(node: Node) -> bool:
    """A constant argument: a number (possibly negated), a string, TRUE/FALSE/T/F or ``c()`` of those."""
    if isinstance(node, (Num, Str)):
        return True
    if isinstance(node, Name):
        return node.id in ("TRUE", "FALSE", "T", "F")
    if isinstance(node, Call):
        if node.fn in ("-", "+", "(") and len(node.args) == 1:
            return isinstance(node.args[0].value, Num) or (node.fn == "(" and is_constant(node.args[0].value))
        if node.fn in ("c", "base::c"):
            return all(a.name is None and is_constant(a.value) for a in node.args)
    return False


def _refuse(fn: str, why: str) -> FormulaError:
    return FormulaError(f"function '{fn}' is not allowed in formulas: {why}")


def check_call(node: Call) -> FunctionRule | None:
    """Validate one call node: the rule that allows it (None for an operator), else FormulaError."""
    fn = node.fn
    if fn in OPERATORS:
        return None
    pkg, name = split_name(fn)
    rule = RULES.get(name)
    allowed = ", ".join(r.name for r in FUNCTIONS)
    if rule is None:
        raise _refuse(fn, f"allowed: {allowed}")
    if pkg is not None and pkg not in rule.namespaces:
        raise _refuse(fn, f"{name} is allowed only as {' or '.join(f'{ns}::{name}' for ns in rule.namespaces)}")
    if name == "c":
        if not is_constant(node):
            raise _refuse(fn, "c(...) may hold only constants (numbers, strings, TRUE/FALSE)")
        return rule
    positional = [a for a in node.args if a.name is None]
    named = [a.name for a in node.args if a.name is not None]
    if len(set(named)) != len(named):
        raise FormulaError(f"{fn}(): an argument is given twice in {deparse(node)}")
    for nm in named:
        if nm not in rule.formals or nm == "...":
            raise FormulaError(f"{fn}(): unsupported argument '{nm}' (supported: "
                               f"{', '.join(f for f in rule.formals if f != '...')})")
    # R's matching: named arguments first, then positional ones fill the remaining formals in order
    free = [f for f in rule.formals if f not in named]
    if not rule.variadic and len(positional) > len(free):
        raise FormulaError(f"{fn}(): too many arguments in {deparse(node)}")
    bound = dict(zip(free, positional, strict=False)) if not rule.variadic else {}
    missing = [f for f in rule.formals[:rule.required] if f not in named and f not in bound]
    if not rule.variadic and missing:
        raise FormulaError(f"{fn}(): argument '{missing[0]}' is missing in {deparse(node)}")
    if rule.variadic and len(positional) == 0:
        raise FormulaError(f"{fn}(): no arguments in {deparse(node)}")
    for a in node.args:
        formal = a.name if a.name is not None else next((f for f, v in bound.items() if v is a), None)
        if formal in rule.constant and not is_constant(a.value):
            raise FormulaError(f"{fn}(): argument '{formal}' must be a constant in {deparse(node)}")
    return rule


def check_expression(node: Node) -> None:
    """Refuse (one-line FormulaError) any call outside the allowlist anywhere in ``node``: the gate
    for formulas, and for any other parsed R expression (``subset``, ``--call``) that will ever be
    evaluated.  Nothing is evaluated here."""
    for n in walk(node):
        if isinstance(n, Call):
            check_call(n)


def check_text(text: str) -> Node:
    """Parse R expression text (depth limits of :func:`pyreterms.formula.parser.parse`) and allowlist it."""
    tree = parse(text)
    check_expression(tree)
    return tree


def check_contrasts(contrasts: object) -> list[tuple[str, str]]:
    """``contrasts`` as (factor, contr.xxx) pairs; anything but :data:`CONTRASTS` is refused
    (``ValueError``: R's ``contrasts<-`` would look any other name up as a function and call it)."""
    from collections.abc import Mapping

    if not isinstance(contrasts, Mapping):
        raise ValueError("contrasts must map factor names to contrast names (contr.treatment, ...)")
    out = []
    for k, v in contrasts.items():
        if not isinstance(k, str) or not k or not isinstance(v, str) or v not in CONTRASTS:
            raise ValueError(f"contrasts {k!r}={v!r} not allowed: use one of {', '.join(CONTRASTS)}")
        out.append((k, v))
    return out


# --------------------------------------------------------------------------------------------
# The R side, generated


def _r_chr(values: Iterable[str]) -> str:
    items = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    lines, line = [], "  "
    for it in items:
        if len(line) + len(it) + 2 > 100:
            lines.append(line.rstrip())
            line = "  "
        line += it + ", "
    lines.append(line.rstrip().rstrip(","))
    return "c(\n" + "\n".join(lines) + ")"


def r_source() -> str:
    """The text of ``r_scripts/allowlist.R`` (R vectors used by ``pyreterms_disallowed()``)."""
    attach = {r.name: r.attach for r in FUNCTIONS if r.attach}
    return "\n".join([
        "## GENERATED from pyreterms/formula/allowlist.py by `python -m pyreterms.formula.allowlist --write`: "
        "do not edit.",
        "## tests/unit/test_allowlist.py fails when this file differs from what Python generates.",
        "",
        "## Operators and functions a formula may call (the Python side also checks argument names",
        "## and that spline/cut/poly settings are constants).",
        "pyreterms_allowed_functions <- " + _r_chr(list(OPERATORS) + [r.name for r in FUNCTIONS]),
        "",
        "## pkg::fun spellings accepted.",
        "pyreterms_allowed_namespaced <- " + _r_chr(NAMESPACED),
        "",
        "## Names that are constants unless a data column shadows them.",
        "pyreterms_allowed_constants <- " + _r_chr(CONSTANTS),
        "",
        "## Unqualified functions that need a package attached (as a user who wrote library(splines) has);",
        "## reference.R makes exactly these visible to the formula, nothing else of the package.",
        "pyreterms_formula_imports <- " + _r_chr(list(attach.values())).replace("c(", "setNames(c(", 1)[:-1]
        + "), " + _r_chr(list(attach)) + ")",
        "",
        "## Packages whose data sets r:PKG::NAME may read.",
        "pyreterms_allowed_dataset_packages <- " + _r_chr(DATASET_PACKAGES),
        "",
        "## The only contrast functions a caller may name: R's `contrasts<-` looks a character value up as",
        "## a function and calls it, so any other name would run arbitrary R code.",
        "pyreterms_allowed_contrasts <- " + _r_chr(CONTRASTS),
        "",
    ])


R_FILE = Path(__file__).resolve().parents[2] / "r_scripts" / "allowlist.R"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = r_source()
    if argv == ["--write"]:
        R_FILE.write_text(text)
        print(f"wrote {R_FILE}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
