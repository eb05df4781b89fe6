"""A small reader and deparser for R's expression syntax, restricted to what model formulas use.

R equivalent: ``parse(text = ...)`` and ``deparse()`` (R 4.2).  We write our own instead of using a
Python formula library because lme4's objects are *named by deparsed R text* (``Ztlist`` names such
as ``"0 + Days | Subject"``, grouping factors such as ``"c:(b:a)"``, model-frame columns such as
``"poly(x, 2)"``), so the operator precedence and the deparser's spacing and parenthesisation must be
R's exactly.  Formula strings are data: this module only builds a tree; nothing is evaluated here.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Union

from .errors import FormulaError

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
    value: "Node"
    name: str | None = None


@dataclass(frozen=True)
class Call:
    """A call; operators are calls too (``fn='+'``), and parentheses are ``fn='('``."""

    fn: str
    args: tuple[Arg, ...]

    @property
    def argv(self) -> tuple["Node", ...]:
        return tuple(a.value for a in self.args)


Node = Union[Num, Str, Name, Call]


def call(fn: str, *args: Node) -> Call:
    return Call(fn, tuple(Arg(a) for a in args))


# --------------------------------------------------------------------------------------------
# Tokenizer

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?)
  | (?P<name>(?:[A-Za-z\u00C0-\uFFFF]|\.(?![0-9]))[A-Za-z0-9._\u00C0-\uFFFF]*)
  | (?P<bq>`(?:[^`\\]|\\.)*`)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>%[^%\s]*%|\|\||&&|==|!=|<=|>=|<-|:::|::|[~+\-*/^:|&!<>(),=\[\]$@{}])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Tok:
    kind: str  # num, name, str, op, end
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise FormulaError(f"cannot read formula {text!r}: unexpected character {text[pos]!r} at position {pos + 1}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tok_text = m.group()
            if kind == "bq":
                kind, tok_text = "name", tok_text[1:-1].replace("\\`", "`")
            toks.append(Tok(kind, tok_text, pos))
        pos = m.end()
    toks.append(Tok("end", "", len(text)))
    return toks


# --------------------------------------------------------------------------------------------
# Parser (Pratt).  Precedences follow R's ?Syntax; higher binds tighter.

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
_UNSUPPORTED = {"<-", "::", ":::", "[", "]", "$", "@", "=", "{", "}"}

#: R's parser keeps at most this many brackets open at once (``CONTEXTSTACK_SIZE`` in R's gram.y:
#: 51 nested ``(`` / ``f(`` give "contextstack overflow at line 1"); measured with R 4.2.2.
MAX_BRACKET_DEPTH = 50
#: The deepest expression tree accepted (nested operators and calls, counted as in :func:`depth`).
#: R 4.2.2's ``lFormula`` (lme4 1.1-31, 8 MiB C stack, ``Rscript``) stops with "C stack usage ... is
#: too close to the limit" from ~630 nested operators (631 ``+`` terms; 628 unary minus; 629 ``:``)
#: and the R embedded by rpy2 (stack checking off) segfaults there instead, so pyreterms refuses a
#: deeper formula before anything runs, with a margin for the harness's own R frames.
MAX_DEPTH = 600


def _binary_info(op: str) -> tuple[int, str] | None:
    if op.startswith("%") and op.endswith("%") and len(op) >= 2:
        return _BINARY["%"]
    return _BINARY.get(op)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.brackets = 0
        self.nesting = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def next(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, msg: str) -> FormulaError:
        return FormulaError(f"cannot read formula {self.text!r}: {msg}")

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text or tok.kind != "op":
            where = "end of formula" if tok.kind == "end" else repr(tok.text)
            raise self.fail(f"expected {text!r} but found {where} at position {tok.pos + 1}")

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.fail("the formula is empty")
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "end":
            if tok.text == ")":
                raise self.fail(f"unbalanced parentheses: unexpected ')' at position {tok.pos + 1}")
            raise self.fail(f"unexpected {tok.text!r} at position {tok.pos + 1}")
        return node

    def open_bracket(self, tok: Tok) -> None:
        """R's parser pushes every open bracket on a context stack of fixed size."""
        self.brackets += 1
        if self.brackets > MAX_BRACKET_DEPTH:
            raise FormulaError(
                f"cannot read formula: more than {MAX_BRACKET_DEPTH} nested brackets at position {tok.pos + 1} "
                "(R's parser stops with \"contextstack overflow\")")

    def expr(self, min_bp: int) -> Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise too_deep()
        try:
            return self._expr(min_bp)
        finally:
            self.nesting -= 1

    def _expr(self, min_bp: int) -> Node:
        left = self.prefix()
        while True:
            tok = self.peek()
            if tok.kind != "op":
                if tok.kind != "end":
                    raise self.fail(f"unexpected {tok.text!r} at position {tok.pos + 1} (missing operator?)")
                break
            info = _binary_info(tok.text)
            if info is None:
                if tok.text in _UNSUPPORTED:
                    raise self.fail(f"operator {tok.text!r} is not supported in formulas")
                break
            prec, assoc = info
            lbp = 2 * prec
            if lbp < min_bp:
                break
            self.next()
            rbp = lbp + 1 if assoc == "left" else lbp
            if self.peek().kind == "end" or self.peek().text in (")", ","):
                raise self.fail(f"operator {tok.text!r} at position {tok.pos + 1} has no right-hand side")
            right = self.expr(rbp)
            left = call(tok.text, left, right)
        return left

    def prefix(self) -> Node:
        tok = self.next()
        if tok.kind == "num":
            t = tok.text
            if t.endswith("L"):
                return Num(float(t[:-1]), is_int=True)
            return Num(float(t))
        if tok.kind == "str":
            body = tok.text[1:-1]
            return Str(bytes(body, "utf-8").decode("unicode_escape") if "\\" in body else body)
        if tok.kind == "name":
            if tok.text == "Inf":  # a numeric constant in R, not a symbol
                return Num(math.inf)
            fn = tok.text
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in ("::", ":::"):
                self.next()
                member = self.next()
                if nxt.text == ":::" or member.kind != "name":
                    raise self.fail(f"'{fn}{nxt.text}' at position {tok.pos + 1}: only pkg::function(...) "
                                    "calls of allowlisted functions are supported")
                if not (self.peek().kind == "op" and self.peek().text == "("):
                    raise self.fail(f"'{fn}::{member.text}' at position {tok.pos + 1}: only pkg::function(...) "
                                    "calls are supported")
                fn = f"{fn}::{member.text}"
            if self.peek().kind == "op" and self.peek().text == "(":
                self.next()
                self.open_bracket(tok)
                args = self.arglist(tok)
                self.brackets -= 1
                return Call(fn, args)
            return Name(tok.text)
        if tok.kind == "op":
            if tok.text == "(":
                if self.peek().text == ")":
                    raise self.fail(f"empty parentheses at position {tok.pos + 1}")
                self.open_bracket(tok)
                inner = self.expr(0)
                self.expect(")")
                self.brackets -= 1
                return call("(", inner)
            if tok.text in _UNARY:
                if self.peek().kind == "end" or self.peek().text in (")", ","):
                    raise self.fail(f"operator {tok.text!r} at position {tok.pos + 1} has no operand")
                operand = self.expr(2 * _UNARY[tok.text])
                return call(tok.text, operand)
            if tok.text in ("|", "||"):
                raise self.fail(f"{tok.text!r} at position {tok.pos + 1} has no left-hand side (write (1 | g))")
            raise self.fail(f"unexpected {tok.text!r} at position {tok.pos + 1}")
        raise self.fail("unexpected end of formula (unbalanced parentheses or a missing term?)")

    def arglist(self, fn_tok: Tok) -> tuple[Arg, ...]:
        args: list[Arg] = []
        if self.peek().text == ")" and self.peek().kind == "op":
            self.next()
            return ()
        while True:
            name = None
            t0, t1 = self.toks[self.i], self.toks[self.i + 1]
            if t0.kind in ("name", "str") and t1.kind == "op" and t1.text == "=":
                name = t0.text.strip("\"'") if t0.kind == "str" else t0.text
                self.i += 2
            if self.peek().kind == "end":
                raise self.fail(f"unbalanced parentheses: call to {fn_tok.text}() is not closed")
            args.append(Arg(self.expr(0), name))
            tok = self.next()
            if tok.kind == "op" and tok.text == ",":
                continue
            if tok.kind == "op" and tok.text == ")":
                return tuple(args)
            if tok.kind == "end":
                raise self.fail(f"unbalanced parentheses: call to {fn_tok.text}() is not closed")
            raise self.fail(f"unexpected {tok.text!r} at position {tok.pos + 1} in call to {fn_tok.text}()")


def too_deep() -> FormulaError:
    return FormulaError(
        f"formula too deeply nested: more than {MAX_DEPTH} nested operators or calls (lme4 1.1-31 in R "
        "4.2.2 runs out of C stack at ~630; split it or write fewer terms)")


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


def parse(text: str) -> Node:
    """Parse R expression text (a formula or a part of one) into a tree.

    Refuses (one-line :class:`FormulaError`) what R's parser refuses (more than
    :data:`MAX_BRACKET_DEPTH` open brackets) and trees deeper than :data:`MAX_DEPTH`, which
    lme4 cannot handle either; every tree this returns can be processed within :func:`deep_enough`.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, not {type(text).__name__}")
    with deep_enough():
        tree = _Parser(text).parse()
    if depth(tree) > MAX_DEPTH:
        raise too_deep()
    return tree


#: Python frames used per tree level by the recursive passes (deparse, terms, bars, hashing of
#: frozen nodes), with room for the caller's own stack.
_FRAMES_PER_LEVEL = 8
_RECURSION_NEEDED = _FRAMES_PER_LEVEL * MAX_DEPTH + 2000


class deep_enough:
    """Context manager: Python's recursion limit raised (never lowered) so that trees up to
    :data:`MAX_DEPTH` deep can be walked recursively.  The limit stays raised afterwards: lowering
    it again could break another thread in the middle of its own deep walk."""

    def __enter__(self) -> None:
        if sys.getrecursionlimit() < _RECURSION_NEEDED:
            sys.setrecursionlimit(_RECURSION_NEEDED)

    def __exit__(self, *exc: object) -> None:
        return None


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


def walk(node: Node):
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
