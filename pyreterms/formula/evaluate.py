"""Evaluation of formula variables over data, restricted to an allowlist of R functions.

R equivalent: ``eval(variables, data)`` inside ``model.frame``.  Formula strings are data, so
nothing outside :data:`ALLOWED_FUNCTIONS` ever runs; :func:`check_allowlist` refuses a formula before
any evaluation.  Functions whose numbers lme4 users rely on (``poly``, ``scale``, ``factor``) follow
R's algorithms (``stats::poly``'s QR recursion, ``scale.default``'s root-mean-square, ``factor``'s
level order).
"""
from __future__ import annotations

import numpy as np

from pyreterms.errors import DataError, FormulaError, UnsupportedInput
from pyreterms.formula.allowlist import CONSTANTS, OPERATORS, RULES, check_expression, split_name
from pyreterms.formula.base_functions import TRIG, r_as_integer, r_ifelse, r_interaction, r_relevel, r_round
from pyreterms.formula.more_functions import eval_more, match_args
from pyreterms.formula.parser import Call, Name, Node, Num, Str, deparse, format_double
from pyreterms.formula.predvars import PolyCoefs, Predvar, ScaleConstants, SplineKnots, poly_with_coefs, scale_with
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix, Value, as_numeric
from pyreterms.rmath.longdouble import r_col_mean, r_mean, r_sum

ALLOWED_FUNCTIONS = frozenset(RULES)
_OPERATORS = frozenset(("+", "-", "*", "/", "^", "%%", "%/%", "==", "!=", "<", ">", "<=", ">=", "&", "!", "%in%"))
__all__ = ["ALLOWED_FUNCTIONS", "CONSTANTS", "OPERATORS", "check_allowlist", "Evaluator"]


def check_allowlist(node: Node) -> None:
    """Refuse any call outside the allowlist (before anything is evaluated); see
    :func:`pyreterms.formula.allowlist.check_expression`."""
    check_expression(node)




def as_character_numbers(x: np.ndarray) -> list[str]:
    """R's ``as.character`` of a numeric vector (integers without decimals, doubles to 15 digits)."""
    if np.issubdtype(x.dtype, np.integer):
        return [str(int(v)) for v in x]
    return [format_double(float(v)) for v in x]


def make_factor(x: Value) -> Factor:
    """R's ``factor(x)``: levels are the sorted unique non-NA values (numeric order for numbers,
    FALSE < TRUE, C collation (code points) for strings); a factor keeps its level order and loses
    unused levels."""
    if isinstance(x, Factor):
        f = x.drop_unused()  # factor() of a factor also drops its attributes (a contrasts attribute)
        return f if type(f) is Factor else Factor(f.codes, f.levels, f.ordered)
    if isinstance(x, Logical):
        uniq = np.unique(x.values[~x.na])
        levels = tuple("TRUE" if v else "FALSE" for v in uniq)
        codes = np.where(x.na, -1, np.searchsorted(uniq, x.values))
        return Factor(codes.astype(np.int64), levels)
    if isinstance(x, Character):
        vals = x.values
        na = np.array([v is None for v in vals], dtype=bool)
        labels = sorted(set(vals[~na].tolist()))
        idx = {v: i for i, v in enumerate(labels)}
        return Factor(np.array([-1 if v is None else idx[v] for v in vals], dtype=np.int64), tuple(labels))
    if isinstance(x, NumMatrix):
        raise DataError("cannot make a factor from a matrix variable")
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        na = np.isnan(arr)
        uniq = np.unique(arr[~na])
        codes = np.full(len(arr), -1, dtype=np.int64)
        codes[~na] = np.searchsorted(uniq, arr[~na])
        labels = as_character_numbers(uniq)
        if len(set(labels)) != len(labels):  # R: unique(as.character(sorted values)), matched by label
            merged = list(dict.fromkeys(labels))
            pos = np.array([merged.index(lab) for lab in labels], dtype=np.int64)
            codes[~na] = pos[codes[~na]]
            labels = merged
        return Factor(codes, tuple(labels))
    uniq, inv = np.unique(arr, return_inverse=True)
    return Factor(inv.astype(np.int64), tuple(as_character_numbers(uniq)))


def na_mask(x: Value) -> np.ndarray:
    if isinstance(x, Factor):
        return x.codes < 0
    if isinstance(x, Logical):
        return x.na
    if isinstance(x, Character):
        return np.array([v is None for v in x.values], dtype=bool)
    if isinstance(x, NumMatrix):
        return np.isnan(x.values).any(axis=1)
    arr = np.asarray(x)
    return np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(len(arr), dtype=bool)


def take(x: Value, rows: np.ndarray) -> Value:
    if isinstance(x, Factor):
        return x.take(rows)
    if isinstance(x, Logical):
        return Logical(x.values[rows], x.na[rows])
    if isinstance(x, Character):
        return Character(x.values[rows])
    if isinstance(x, NumMatrix):
        return NumMatrix(x.values[rows], x.colnames)
    return np.asarray(x)[rows]


def _labels_of(x: Value) -> list[object]:
    if isinstance(x, Factor):
        return list(x.labels())
    if isinstance(x, Character):
        return list(x.values)
    if isinstance(x, Logical):
        return [None if n else bool(v) for v, n in zip(x.values, x.na, strict=False)]
    if isinstance(x, NumMatrix):
        return list(x.values.ravel(order="F"))
    return [None if isinstance(v, float) and np.isnan(v) else v for v in np.asarray(x).tolist()]


def r_poly(x: np.ndarray, degree: int) -> np.ndarray:
    """R: ``stats::poly(x, degree)`` (orthogonal).  R takes ``Q diag(R)`` of the QR of the centred
    Vandermonde matrix; that product does not depend on the QR's sign convention, so numpy's QR gives
    the same columns up to rounding."""
    return r_poly_coefs(x, degree)[0]


def r_poly_coefs(x: np.ndarray, degree: int) -> tuple[np.ndarray, PolyCoefs]:
    """:func:`r_poly` and its ``attr(, "coefs")``: ``alpha = (colSums(x * Z^2) / norm2 + xbar)[1:degree]``,
    ``norm2 = c(1, colSums(Z^2))`` (x centred, Z before normalisation; R's long double sums)."""
    if np.isnan(x).any():
        raise DataError("missing values are not allowed in 'poly'")
    if degree >= len(np.unique(x)):
        raise DataError("'degree' must be less than number of unique points")
    xbar = r_mean(x)  # R's long double two-pass mean
    xc = x - xbar
    V = xc[:, None] ** np.arange(degree + 1)[None, :]
    q, r = np.linalg.qr(V)
    Z = q * np.diag(r)[None, :]
    norm2 = (Z ** 2).sum(axis=0)
    alpha = [r_sum(xc * Z[:, j] ** 2) / r_sum(Z[:, j] ** 2) + xbar for j in range(degree)]
    coefs = PolyCoefs(tuple(float(a) for a in alpha), (1.0,) + tuple(r_sum(Z[:, j] ** 2) for j in range(degree + 1)))
    return Z[:, 1:] / np.sqrt(norm2[1:])[None, :], coefs


def _scale(x: np.ndarray, center: bool, scale: bool) -> tuple[np.ndarray, ScaleConstants]:
    """R: ``scale.default`` for one column: centre by ``colMeans(x, na.rm = TRUE)``, divide by
    ``sqrt(sum(x^2) / (n - 1))`` (R's long double sums, pyreterms.rmath.longdouble); and the attributes
    ``scaled:center`` / ``scaled:scale`` (None where not done)."""
    x = x.astype(np.float64).copy()
    ok = ~np.isnan(x)
    c = s = None
    if center:
        c = float(r_col_mean(x[ok]))
        x = x - c
    if scale:
        v = x[ok]
        with np.errstate(invalid="ignore", divide="ignore"):  # a constant column gives NaN, as in R
            s = float(np.sqrt(r_sum(v ** 2) / max(1, len(v) - 1)))
            x = x / s
    return x, ScaleConstants(c, s)


def _compare_labels(fn: str, a: Value, b: Value) -> Logical:
    """R's ``==``/``!=`` with a factor or character operand: both compared as character (numbers as
    ``as.character`` gives them, logicals as "TRUE"/"FALSE"); NA where either is NA."""
    def text(v: Value) -> list[str | None]:
        labs = _labels_of(v)
        if isinstance(v, (Factor, Character)):
            return [None if x is None else str(x) for x in labs]
        if isinstance(v, Logical):
            return [None if x is None else ("TRUE" if x else "FALSE") for x in labs]
        nums = np.asarray(as_numeric(v, fn), dtype=np.float64)
        strs = as_character_numbers(nums)
        return [None if np.isnan(x) else t for x, t in zip(nums.tolist(), strs, strict=True)]
    ta, tb = text(a), text(b)
    na = np.array([x is None or y is None for x, y in zip(ta, tb, strict=True)], dtype=bool)
    eq = np.array([x == y for x, y in zip(ta, tb, strict=True)], dtype=bool) & ~na
    return Logical(eq if fn == "==" else ~eq & ~na, na)


def _const_label(v: object) -> object:
    """A constant of ``c(...)`` as :func:`_labels_of` gives a value (numbers as floats, strings as text)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return v


def _as_character_labels(labels: list[object]) -> list[object]:
    """R's ``as.character`` of :func:`_labels_of` values (NA stays None)."""
    return [("TRUE" if v else "FALSE") if isinstance(v, bool) else
            as_character_numbers(np.array([v]))[0] if isinstance(v, (int, float)) else v for v in labels]


class Evaluator:
    """Evaluates variable expressions over named columns (R: ``eval(expr, data)``)."""

    def __init__(self, columns: dict[str, Value], n: int) -> None:
        self.columns = columns
        self.n = n
        #: the constants of each data-dependent call evaluated (R: what ``makepredictcall`` fixes),
        #: by call: equal calls on the same data have equal constants
        self.made: dict[Call, Predvar] = {}

    @staticmethod
    def _labels(x: Value) -> list[object]:
        return _labels_of(x)

    def __call__(self, node: Node) -> Value:
        return self.eval(node)

    @staticmethod
    def _logical(v: Value, what: str) -> Logical:
        if isinstance(v, Logical):
            return v
        x = as_numeric(v, what)  # numbers: 0 is FALSE, NaN is NA
        return Logical(np.where(np.isnan(x), False, x != 0), np.isnan(x))

    def const(self, node: Node, what: str) -> object:
        """A constant argument (R evaluates it in the data first: a column T shadows TRUE's alias)."""
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Str):
            return node.value
        if isinstance(node, Name):
            if node.id in ("T", "F") and node.id in self.columns:
                raise UnsupportedInput(f"{what}: '{node.id}' names a data column here, not TRUE/FALSE; "
                                       "write TRUE or FALSE")
            if node.id in ("TRUE", "T"):
                return True
            if node.id in ("FALSE", "F"):
                return False
        if isinstance(node, Call):
            if node.fn == "(":
                return self.const(node.args[0].value, what)
            if node.fn in ("-", "+") and len(node.args) == 1:
                v = self.const(node.args[0].value, what)
                return -v if node.fn == "-" else v  # type: ignore[operator]
            if split_name(node.fn)[1] == "c":
                return [self.const(a.value, what) for a in node.args]
        raise FormulaError(f"{what} must be a constant, not {deparse(node)}")

    def eval(self, node: Node) -> Value:
        if isinstance(node, Num):
            return np.full(self.n, node.value)
        if isinstance(node, Str):
            return Character(np.array([node.value] * self.n, dtype=object))
        if isinstance(node, Name):
            return self._eval_name(node)
        assert isinstance(node, Call)
        return self._eval_call(node)

    def _eval_name(self, node: Name) -> Value:
        """A symbol: a data column (which shadows ``T``, ``F`` and ``pi``), or R's constants."""
        if node.id in self.columns and node.id not in ("TRUE", "FALSE"):  # data shadow T, F, pi
            return self.columns[node.id]
        if node.id in ("TRUE", "FALSE", "T", "F"):
            return Logical(np.full(self.n, node.id in ("TRUE", "T")), np.zeros(self.n, dtype=bool))
        if node.id == "pi":
            return np.full(self.n, np.pi)
        raise DataError(f"object '{node.id}' not found (no such column in the data)")

    def eval_with(self, node: Node, pv: Predvar | None) -> Value:
        """A variable evaluated through its predvars call (R: ``eval(attr(terms, "predvars"), newdata)``):
        ``pv`` holds the constants R's ``makepredictcall`` fixed on the fit's data (None: none)."""
        if pv is None or not isinstance(node, Call):
            return self.eval(node)
        fn = split_name(node.fn)[1]
        pos = [a.value for a in node.args if a.name is None]
        kw = {a.name: a.value for a in node.args if a.name is not None}
        if fn == "poly" and isinstance(pv, PolyCoefs):
            return self._eval_poly(node, pos, kw, pv)
        if fn == "scale" and isinstance(pv, ScaleConstants):
            x = as_numeric(self.eval(pos[0]), fn)
            return NumMatrix(scale_with(x, pv)[:, None], None)
        if fn in ("ns", "bs") and isinstance(pv, SplineKnots):
            return eval_more(self, node, fn, pos, kw, pv)
        raise FormulaError(f"no predvars of this kind for {deparse(node)}")

    def _eval_call(self, node: Call) -> Value:
        """A call of an allowlisted function or operator (arguments matched by position and name)."""
        args = node.args
        fn = split_name(node.fn)[1]  # pkg:: was checked against the allowlist before evaluation
        pos = [a.value for a in args if a.name is None]
        kw = {a.name: a.value for a in args if a.name is not None}
        if fn in ("ns", "bs", "cut", "pmin", "pmax", "c"):
            return self._eval_more(node, fn, pos, kw)
        if fn == "(":
            return self.eval(pos[0])
        if fn in ("I", "offset"):
            return self.eval(pos[0])
        if fn in _OPERATORS:
            return self._eval_operator(fn, pos)
        return self._eval_function(node, fn, pos, kw)

    def _eval_operator(self, fn: str, pos: list[Node]) -> Value:
        """R's arithmetic, comparison and logical operators and ``%in%`` (R's recycling is not needed:
        every operand is a column or a constant of length n)."""
        if fn in ("+", "-") and len(pos) == 1:
            v = as_numeric(self.eval(pos[0]), fn)
            return v if fn == "+" else -v
        if fn in ("+", "-", "*", "/", "^", "%%", "%/%"):
            a, b = (as_numeric(self.eval(p), fn) for p in pos)
            with np.errstate(all="ignore"):
                return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
                        "%%": np.mod, "%/%": np.floor_divide}[fn](a, b)
        if fn in ("==", "!=", "<", ">", "<=", ">="):
            va = [self.eval(p) for p in pos]
            if fn in ("==", "!=") and any(isinstance(v, (Factor, Character)) for v in va):
                return _compare_labels(fn, va[0], va[1])
            a, b = (as_numeric(v, fn) for v in va)
            res = {"==": np.equal, "!=": np.not_equal, "<": np.less, ">": np.greater,
                   "<=": np.less_equal, ">=": np.greater_equal}[fn](a, b)
            return Logical(res, np.isnan(a) | np.isnan(b))
        if fn in ("&", "!"):  # R's three-valued logic: FALSE & NA is FALSE, TRUE & NA is NA
            ops = [self._logical(self.eval(p), fn) for p in pos]
            if fn == "!":
                return Logical(~ops[0].values, ops[0].na.copy())
            (av, an), (bv, bn) = ((o.values, o.na) for o in ops)
            false = (~av & ~an) | (~bv & ~bn)
            na = (an | bn) & ~false
            return Logical(av & bv & ~na & ~false, na)
        if fn == "%in%":  # R's match(x, table, 0) > 0, on labels for factors and strings
            x = self._labels(self.eval(pos[0]))
            if isinstance(pos[1], Call) and split_name(pos[1].fn)[1] == "c":  # a constant table (subset=)
                consts = self.const(pos[1], "%in%")
                table = [_const_label(v) for v in (consts if isinstance(consts, list) else [consts])]
            else:
                table = self._labels(self.eval(pos[1]))
            if any(isinstance(v, str) for v in table) or any(isinstance(v, str) for v in x):
                x, table = _as_character_labels(x), _as_character_labels(table)  # match(): as.character of both
            tset = set(v for v in table if v is not None)
            return Logical(np.array([v in tset for v in x], dtype=bool), np.zeros(len(x), dtype=bool))
        raise FormulaError(f"operator '{fn}' is not allowed in formulas")

    def _eval_function(self, node: Call, fn: str, pos: list[Node], kw: dict[str, Node]) -> Value:
        """The allowlisted functions other than ``ns``/``bs``/``cut``/``pmin``/``pmax``."""
        if fn in ("log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "abs"):
            v = as_numeric(self.eval(pos[0]), fn)
            with np.errstate(all="ignore"):
                if fn == "log" and (len(pos) > 1 or "base" in kw):
                    base = as_numeric(self.eval(pos[1] if len(pos) > 1 else kw["base"]), fn)
                    return np.log(v) / np.log(base)
                return getattr(np, fn)(v)
        if fn == "as.numeric":
            arg = self.eval(pos[0])
            if isinstance(arg, Factor):
                return np.where(arg.codes < 0, np.nan, arg.codes + 1.0)
            return as_numeric(arg, fn).astype(np.float64)
        if fn in ("factor", "as.factor"):
            arg = self.eval(pos[0])
            if fn == "as.factor" and isinstance(arg, Factor):
                return arg
            return make_factor(arg)
        if fn in ("round", "sin", "cos", "tan", "as.integer", "ifelse", "relevel", "interaction"):
            return self._eval_base(fn, pos, kw)
        if fn == "poly":
            return self._eval_poly(node, pos, kw)
        if fn == "cbind":  # R: cbind(deparse.level = 1): a column is named only when it is a symbol
            cols = [as_numeric(self.eval(a), fn).astype(np.float64) for a in pos]
            return NumMatrix(np.column_stack(cols), tuple(a.id if isinstance(a, Name) else "" for a in pos))
        if fn == "scale":
            x = as_numeric(self.eval(pos[0]), fn)
            center = kw.get("center", pos[1] if len(pos) > 1 else Name("TRUE"))
            scl = kw.get("scale", pos[2] if len(pos) > 2 else Name("TRUE"))
            vals, consts = _scale(x, self.const(center, "scale()") is True, self.const(scl, "scale()") is True)
            self.made[node] = consts
            return NumMatrix(vals[:, None], None)
        raise FormulaError(f"function '{fn}' is not allowed in formulas")

    def _eval_base(self, fn: str, pos: list[Node], kw: dict[str, Node]) -> Value:
        """``round``, ``sin``/``cos``/``tan``, ``as.integer``, ``ifelse``, ``relevel``, ``interaction``
        (:mod:`pyreterms.formula.base_functions`; arguments matched as R matches them)."""
        if fn == "interaction":
            defaults = {"drop": False, "sep": ".", "lex.order": False}
            for k, v in kw.items():
                if self.const(v, f"interaction({k} =)") != defaults[k]:
                    raise FormulaError(f"interaction(): only the default {k} = {defaults[k]!r} is supported")
            vals = [self.eval(p) for p in pos]
            return r_interaction([v if isinstance(v, Factor) else make_factor(v) for v in vals])
        args = match_args(fn, pos, kw)
        if fn in TRIG:
            with np.errstate(all="ignore"):
                return getattr(np, fn)(as_numeric(self.eval(args["x"]), fn))
        if fn == "round":
            digits = self.const(args["digits"], "round(digits =)") if "digits" in args else 0
            if isinstance(digits, bool) or not isinstance(digits, (int, float)):
                raise FormulaError("round(): digits must be a number")
            return r_round(as_numeric(self.eval(args["x"]), fn), float(digits))
        if fn == "as.integer":
            return r_as_integer(self.eval(args["x"]))
        if fn == "ifelse":
            return r_ifelse(self._logical(self.eval(args["test"]), "ifelse"), self.eval(args["yes"]),
                            self.eval(args["no"]))
        return r_relevel(self.eval(args["x"]), self.const(args["ref"], "relevel(ref =)"))

    def _eval_poly(self, node: Call, pos: list[Node], kw: dict[str, Node], coefs: PolyCoefs | None = None) -> Value:
        """``poly(x, degree, raw)`` (R: ``stats::poly``; with the fit's ``coefs``, on new data)."""
        fn = "poly"
        x = as_numeric(self.eval(pos[0]), fn)
        deg_node = pos[1] if len(pos) > 1 else kw.get("degree", Num(1.0))
        raw_node = kw.get("raw", pos[2] if len(pos) > 2 else Name("FALSE"))
        if not isinstance(deg_node, Num) or deg_node.value < 1 or deg_node.value != int(deg_node.value):
            raise FormulaError(f"poly(): degree must be a positive whole number in {deparse(node)}")
        degree = int(deg_node.value)
        raw = self.const(raw_node, "poly(raw =)") is True
        cols = tuple(str(k) for k in range(1, degree + 1))
        if raw:
            return NumMatrix(x[:, None] ** np.arange(1, degree + 1)[None, :], cols)
        if coefs is not None:
            return NumMatrix(poly_with_coefs(x, degree, coefs), cols)
        Z, self.made[node] = r_poly_coefs(x, degree)
        return NumMatrix(Z, cols)

    def _eval_more(self, node: Call, fn: str, pos: list[Node], kw: dict[str, Node]) -> Value:
        """``ns``, ``bs``, ``cut``, ``pmin``, ``pmax`` (arguments matched as R matches them)."""
        return eval_more(self, node, fn, pos, kw)
