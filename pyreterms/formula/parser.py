"""A small reader for R's expression syntax, restricted to what model formulas use (the tree is in
:mod:`pyreterms.formula.nodes`, the deparser in :mod:`pyreterms.formula.deparse`; both re-exported here).

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

from pyreterms.errors import FormulaError
from pyreterms.formula.deparse import WIDTH_CUTOFF, deparse, format_double, format_name, frame_name, unquote_symbol  # noqa: F401
from pyreterms.formula.nodes import (  # noqa: F401
    _UNARY,
    Arg,
    Call,
    Name,
    Node,
    Num,
    Str,
    _binary_info,
    call,
    depth,
    strip_parens,
    walk,
)

__all__ = ["Num", "Str", "Name", "Arg", "Call", "Node", "call", "walk", "strip_parens", "depth", "parse",
           "tokenize", "deparse", "format_double", "format_name", "frame_name", "unquote_symbol",
           "MAX_DEPTH", "MAX_BRACKET_DEPTH", "WIDTH_CUTOFF", "deep_enough", "too_deep"]


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
            raise FormulaError(f"cannot read formula {text!r}: unexpected character {text[pos]!r} "
                               f"at position {pos + 1}")
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

    def name_or_call(self, tok: Tok) -> Node:
        """After a name token: ``Inf``, a symbol, or a call ``fn(...)`` / ``pkg::fn(...)``."""
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
            return self.name_or_call(tok)
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
