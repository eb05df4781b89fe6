"""R 4.2's ``deparse``/``deparse1`` for the expression trees of :mod:`pyreterms.formula.nodes`.

R equivalent: ``deparse1()`` (C ``deparse2buff``: spacing, parentheses, backquotes and the line
breaks of ``width.cutoff = 500``), ``as.character`` of doubles, and ``model.frame``'s column names.
lme4's objects are named by this text, so it must be R's exactly.
"""
from __future__ import annotations

import math
import re

from pyreterms.formula.nodes import _UNARY, Call, Name, Node, Num, Str, _binary_info

# --------------------------------------------------------------------------------------------
# Deparser (R 4.2 ``deparse``): spacing and parentheses as R prints them.

_SPACED = {"~", "|", "||", "&", "&&", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "<-", "="}
_SYNTACTIC = re.compile(r"^((([A-Za-z\u00C0-\uFFFF]|[.][._A-Za-z\u00C0-\uFFFF])[._A-Za-z0-9\u00C0-\uFFFF]*)|[.])$")
_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL",
             "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in"}


def format_double(x: float, digits: int = 15) -> str:
    """R's ``as.character``/``deparse`` of a double: up to 15 significant digits, fixed or scientific
    notation by R's width rule (scipen = 0)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    # fewest significant digits (<= digits) that reproduce the value rounded to `digits`
    target = float(f"{x:.{digits - 1}e}")
    for sig in range(1, digits + 1):
        if float(f"{x:.{sig - 1}e}") == target:
            break
    sci = f"{x:.{sig - 1}e}"
    mant, exp = sci.split("e")
    e = int(exp)
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    sci_str = f"{mant}e{'+' if e >= 0 else '-'}{abs(e):02d}"
    # fixed notation with the same significant digits
    decimals = max(0, sig - 1 - e)
    fixed_str = f"{x:.{decimals}f}"
    return fixed_str if len(fixed_str) <= len(sci_str) else sci_str


def format_name(name: str) -> str:
    if _SYNTACTIC.match(name) and name not in _RESERVED:
        return name
    return "`" + name.replace("`", "\\`") + "`"


def _prec(node: Node) -> tuple[int, str, bool]:
    """(precedence, assoc, is_unary) of an operator call; constants/names/calls bind tightest."""
    if isinstance(node, Call):
        n = len(node.args)
        if n == 2 and _binary_info(node.fn) is not None and all(a.name is None for a in node.args):
            p, a = _binary_info(node.fn)  # type: ignore[misc]
            return p, a, False
        if n == 1 and node.fn in _UNARY and node.args[0].name is None:
            return _UNARY[node.fn], "right", True
    return 100, "left", False


#: ``deparse1``'s ``width.cutoff`` (also ``model.frame``'s ``deparse2``).
WIDTH_CUTOFF = 500


def deparse(node: Node) -> str:
    """R's ``deparse1(node)`` for the node types formulas use: one line as R prints it; text longer
    than R's ``width.cutoff = 500`` is broken into lines as R's ``deparse`` breaks it and joined with
    ``" "`` as ``deparse1`` joins them."""
    text = _deparse_line(node)
    if len(text) <= WIDTH_CUTOFF:  # no line can exceed the cutoff, so R breaks nothing
        return text
    d = _LineDeparser()
    d.node(node)
    return " ".join(d.finish())


class _LineDeparser:
    """R's ``deparse2buff`` with ``linebreak()``: after the `` op `` of a spaced binary operator
    (``PP_BINARY``) and after each ``", "`` of an argument list, a line longer than the cutoff ends;
    continuation lines are indented by 4 spaces per level (2 beyond level 4)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cur: list[str] = []
        self.len = 0
        self.indent = 0
        self.startline = True

    def out(self, text: str) -> None:
        if self.startline:
            self.startline = False
            tab = "".join("    " if i <= 4 else "  " for i in range(1, self.indent + 1))
            self.cur.append(tab)
            self.len += len(tab)
        self.cur.append(text)
        self.len += len(text)

    def linebreak(self, lbreak: bool) -> bool:
        if self.len > WIDTH_CUTOFF:
            if not lbreak:
                lbreak = True
                self.indent += 1
            self.lines.append("".join(self.cur))
            self.cur, self.len, self.startline = [], 0, True
        return lbreak

    def finish(self) -> list[str]:
        if self.cur:
            self.lines.append("".join(self.cur))
        return self.lines

    def node(self, node: Node) -> None:
        if not isinstance(node, Call):
            self.out(_deparse_line(node))
            return
        fn, args = node.fn, node.args
        if fn == "(" and len(args) == 1:
            self.out("(")
            self.node(args[0].value)
            self.out(")")
            return
        prec, assoc, unary = _prec(node)
        if prec != 100:
            if unary:
                operand = args[0].value
                paren = _prec(operand)[0] < prec and not _prec(operand)[2]
                self.out(fn + ("(" if paren else ""))
                self.node(operand)
                if paren:
                    self.out(")")
                return
            left, right = args[0].value, args[1].value
            lpar, rpar = _binary_parens(node, prec, assoc)
            self.out("(" if lpar else "")
            self.node(left)
            self.out(")" if lpar else "")
            if _spaced(fn):
                self.out(f" {fn} ")
                look = self.linebreak(False)
            else:
                self.out(fn)
                look = False
            self.out("(" if rpar else "")
            self.node(right)
            self.out(")" if rpar else "")
            if look:
                self.indent -= 1
            return
        if "::" in fn:
            pkg, member = fn.split("::", 1)
            self.out(f"{format_name(pkg)}::{format_name(member)}(")
        else:
            self.out(f"{format_name(fn)}(")
        lbreak = False
        for k, a in enumerate(args):
            if a.name:
                self.out(f"{format_name(a.name)} = ")
            self.node(a.value)
            if k < len(args) - 1:
                self.out(", ")
                lbreak = self.linebreak(lbreak)
        if lbreak:
            self.indent -= 1
        self.out(")")


def _spaced(fn: str) -> bool:
    return fn in _SPACED or (fn.startswith("%") and fn not in ("%%", "%/%"))


def _binary_parens(node: Call, prec: int, assoc: str) -> tuple[bool, bool]:
    """Whether R parenthesises the left / right operand of a binary operator call."""
    lp, rp = _prec(node.args[0].value), _prec(node.args[1].value)
    if assoc == "left":
        return (lp[0] < prec and lp[0] != 100,
                rp[0] <= prec and rp[0] != 100 and not (rp[2] and rp[0] > prec))
    return lp[0] <= prec and lp[0] != 100, rp[0] < prec and rp[0] != 100


def _deparse_line(node: Node) -> str:
    """``deparse`` without line breaks."""
    if isinstance(node, Num):
        if node.is_int:
            return f"{int(node.value)}L"
        return format_double(node.value)
    if isinstance(node, Str):
        return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Name):
        return node.id if node.id in ("TRUE", "FALSE") else format_name(node.id)
    fn, args = node.fn, node.args
    if fn == "(" and len(args) == 1:
        return "(" + _deparse_line(args[0].value) + ")"
    prec, assoc, unary = _prec(node)
    if prec != 100:
        if unary:
            operand = args[0].value
            op_prec = _prec(operand)[0]
            s = _deparse_line(operand)
            # R parenthesises a binary operand that binds looser than the unary operator
            if op_prec < prec and not _prec(operand)[2]:
                s = "(" + s + ")"
            return fn + s
        left, right = args[0].value, args[1].value
        lp, rp = _prec(left), _prec(right)
        ls, rs = _deparse_line(left), _deparse_line(right)
        if assoc == "left":
            if lp[0] < prec and lp[0] != 100:
                ls = "(" + ls + ")"
            if rp[0] <= prec and rp[0] != 100 and not (rp[2] and rp[0] > prec):
                rs = "(" + rs + ")"
        else:  # right-assoc (^)
            if lp[0] <= prec and lp[0] != 100:
                ls = "(" + ls + ")"
            if rp[0] < prec and rp[0] != 100:
                rs = "(" + rs + ")"
        spaced = fn in _SPACED or (fn.startswith("%") and fn not in ("%%", "%/%"))
        return f"{ls} {fn} {rs}" if spaced else f"{ls}{fn}{rs}"
    parts = [(f"{format_name(a.name)} = " if a.name else "") + _deparse_line(a.value) for a in args]
    if "::" in fn:  # pkg::fun(...)
        pkg, member = fn.split("::", 1)
        return f"{format_name(pkg)}::{format_name(member)}({', '.join(parts)})"
    return f"{format_name(fn)}({', '.join(parts)})"


def frame_name(node: Node) -> str:
    """R's name for a model-frame column (``model.frame``'s ``deparse2``: ``backtick =
    !is.symbol(x)``): a bare name keeps its spelling (``Reaction Time``); other expressions are
    deparsed with backquotes (``log(`Reaction Time`)``)."""
    return node.id if isinstance(node, Name) else deparse(node)


def unquote_symbol(label: str) -> str | None:
    """``"`my x`"`` -> ``"my x"`` when the text is one backquoted name (a term label), else None."""
    if len(label) >= 2 and label[0] == "`" and label[-1] == "`" and "`" not in label[1:-1].replace("\\`", ""):
        return label[1:-1].replace("\\`", "`")
    return None
