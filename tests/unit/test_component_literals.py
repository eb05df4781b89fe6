"""Component names written as string literals in parity/ and tests/ are registered names.

The registry (:mod:`parity.components`) is the one list of component names (R expressions such as
``lFormula()$reTrms$Zt`` or ``getME(fit, "X")``); code elsewhere still spells them as literals to look
values up (``r['getME(fit, "X")']``), so a typo there (``'getME(fit, "X"))'``) would silently find
nothing.  This test reads every Python file of parity/ and tests/ with :mod:`ast`, picks the literals
shaped like component names (the shapes are learned from the registry: :data:`ANCHORS` must recognise
every registered value) and fails on any the registry's own lookup (:func:`parity.components.lookup`,
:func:`parity.components.is_rule_input`) does not know -- so names registered later (the GLMM ones)
pass without touching this file.  R code (arguments of the R-evaluating calls), docstrings, multi-line
text and ``--only`` globs are not names and are skipped; f-strings are checked as templates (some
registered name must fit), ``str.startswith`` arguments as prefixes of a registered name.  No R.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from parity import components

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("parity", "tests")

#: what makes a literal look like a component name: the result of a call it indexes (``lFormula()$``),
#: the fitted model as an argument (``(fit``) or its slots (``fit@``), the deviance function at theta,
#: the condition lists of the fit (``lmer(): ``), the reTrms list
ANCHORS = re.compile(r"\b\w+\(\)\$|\(fit\b|\bfit@|\bdevfun\(theta\)|\b\w+\(\): |\breTrms\$|\blmer\(\.\.\., |\(gfit\b|\bgfit@|^harness: |\bgdevfun\(pars\)")

#: the leading R function (or object) of a literal: a component name starts with one a registered name starts with
HEAD = re.compile(r"[\w.:]*")

#: text no registered name has: R code (assignments), prose (sentences, dashes)
NOT_A_NAME = re.compile(r"<-|\s--\s|\.$|\{\w*\}")

#: folders whose literals are mostly R code sent to the live R: only look-ups are checked there
#: (``x[...]``, ``x.get(...)``, ``lookup(...)``, ``==``, dict keys)
R_CODE_FOLDERS = ("tests/live", "tests/browser")

#: registered names that are bare words (conditions, the refusal), not R expressions: no shape to learn
BARE = {"warnings", "messages", "error", "extraction: warnings"}

#: calls whose string arguments are R code or shell text, not component names
R_CODE_CALLS = {"r_eval", "r_call", "run", "Popen", "check_output"}


def _registered(name: str) -> bool:
    return components.lookup(name) is not None or components.is_rule_input(name)


def _all_names() -> list[str]:
    return list(components.COMPONENTS)


def _heads() -> set[str]:
    return {HEAD.match(n).group(0) for n in _all_names() if n not in BARE}  # type: ignore[union-attr]


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for stmt in body:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    out.add(id(stmt.value))
    return out


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` constants (used inside f-strings, e.g. ``LF = "lFormula()"``)."""
    out = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = stmt.value.value
    return out


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _template(node: ast.JoinedStr, consts: dict[str, str]) -> str | re.Pattern[str]:
    """The text of an f-string when every placeholder is a module constant, else a pattern of it."""
    parts: list[str] = []
    exact = True
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(re.escape(str(v.value)))
        elif isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name) and v.value.id in consts \
                and v.conversion == -1 and v.format_spec is None:
            parts.append(re.escape(consts[v.value.id]))
        else:
            parts.append(".+")
            exact = False
    text = "".join(parts)
    return re.sub(r"\\(.)", r"\1", text) if exact else re.compile(text, re.S)


def literals(path: Path) -> Iterator[tuple[int, str, str | re.Pattern[str]]]:
    """``(line, how, literal)`` for every literal of ``path`` shaped like a component name; ``how`` is
    ``name``, ``prefix`` (a ``startswith`` argument) or ``template`` (an f-string, as a pattern)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    consts = _module_strings(tree)
    prefixes: set[int] = set()
    lookups: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            lookups.add(id(node.slice))
        elif isinstance(node, ast.Dict):
            lookups.update(id(k) for k in node.keys if k is not None)
        elif isinstance(node, ast.Compare) and all(isinstance(o, (ast.Eq, ast.NotEq)) for o in node.ops):
            lookups.update(id(x) for x in [node.left, *node.comparators])
        if isinstance(node, ast.Call):
            name = _call_name(node)
            args = list(node.args) + [k.value for k in node.keywords]
            if name in ("get", "lookup", "pop") and node.args:
                lookups.add(id(node.args[0]))
            if name in R_CODE_CALLS or any(isinstance(a, ast.Name) and a.id == "R" for a in node.args):
                # R code: the argument of an R-evaluating call, or of a helper handed the R session
                for a in args:
                    skip.update(id(x) for x in ast.walk(a))
            elif name == "startswith":
                for a in args:
                    for x in ast.walk(a):
                        prefixes.add(id(x))
        elif isinstance(node, ast.JoinedStr):
            skip.update(id(x) for x in ast.walk(node) if x is not node)
    only_lookups = str(path.relative_to(ROOT)).startswith(R_CODE_FOLDERS)
    heads = _heads()
    for node in ast.walk(tree):
        if id(node) in skip or (only_lookups and id(node) not in lookups | prefixes):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            s = node.value
            if "\n" in s or "*" in s or not ANCHORS.search(s) or NOT_A_NAME.search(s) \
                    or HEAD.match(s).group(0) not in heads:  # type: ignore[union-attr]
                continue
            yield node.lineno, "prefix" if id(node) in prefixes else "name", s
        elif isinstance(node, ast.JoinedStr):
            t = _template(node, consts)
            text = t if isinstance(t, str) else t.pattern
            plain = text.replace("\\", "")
            if "\n" in text or not ANCHORS.search(plain) or NOT_A_NAME.search(plain) \
                    or HEAD.match(plain).group(0) not in heads:  # type: ignore[union-attr]
                continue
            yield node.lineno, "prefix" if id(node) in prefixes else "name" if isinstance(t, str) else "template", t


def unknown_literals(path: Path) -> list[str]:
    """The component-shaped literals of ``path`` the registry does not know (``file:line: literal``)."""
    names = _all_names()
    bad = []
    for line, how, lit in literals(path):
        if how == "name":
            ok = _registered(str(lit))
        elif how == "prefix":
            ok = any(n.startswith(str(lit)) for n in names) or _registered(str(lit))
        else:
            assert isinstance(lit, re.Pattern)
            ok = any(lit.fullmatch(n) for n in names)
        if not ok:
            bad.append(f"{path.relative_to(ROOT)}:{line}: {lit if isinstance(lit, str) else lit.pattern!r}")
    return bad


def _files() -> list[Path]:
    return sorted(p for d in SCANNED for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def test_the_shapes_recognise_every_registered_name() -> None:
    """ANCHORS is learned from the registry: every registered name but the bare words has one of its shapes
    (a new kind of name, e.g. of another fit object, must extend ANCHORS before it can be checked)."""
    missing = [n for n in _all_names() if n not in BARE and not ANCHORS.search(n)]
    assert not missing, missing
    assert not [n for n in _all_names() if NOT_A_NAME.search(n)]
    assert BARE <= set(_all_names())


def test_a_typo_is_found(tmp_path: Path) -> None:
    """The check itself: a misspelt name, a wrong prefix and a template no name fits are reported; R code,
    docstrings, globs and registered names are not."""
    src = tmp_path / "tests" / "probe.py"
    src.parent.mkdir()
    src.write_text('"""docstring: getME(fit, "nothing")"""\n'
                   'LF = "lFormula()"\n'
                   'a = r.get(\'getME(fit, "X"))\')\n'           # typo: one ")" too many
                   'b = r[\'getME(fit, "X")\']\n'                 # registered
                   'c = k.startswith("predict(fit, newdta")\n'   # typo in a prefix
                   'd = k.startswith("predict(fit, newdata = ")\n'
                   'e = f"{LF}$reTrms$Ztt"\n'                     # typo through a module constant
                   'f = f"{LF}$reTrms$Zt"\n'
                   'g = [f\'getME(fit, "{n}")\' for n in "XZ"]\n'  # a template registered names fit
                   'h = [f\'getME(fit "{n}")\' for n in "XZ"]\n'   # one no name fits
                   'i = R.r_eval("simulate(fit, 1, seed = 1)")\n'  # R code
                   'j = ["lFormula()$reTrms$L*"]\n')              # an --only glob
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        bad = unknown_literals(src)
    finally:
        ROOT = old
    lines = sorted(int(b.split(":")[1]) for b in bad)
    assert lines == [3, 5, 7, 10], bad


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_component_literals_are_registered(path: Path) -> None:
    bad = unknown_literals(path)
    assert not bad, "not registered in parity/components.py:\n" + "\n".join(bad)
