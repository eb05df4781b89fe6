"""Base R functions lme4 users write in formulas: ``round``, ``sin``/``cos``/``tan``, ``as.integer``,
``ifelse``, ``relevel`` and ``interaction``.

R equivalents: ``base::round`` (R >= 4.0.0's ``private_fround`` in ``src/nmath/fround.c``: the
shorter of the two decimal candidates, ties to the even last digit; ported because numpy's
``round`` scales by 10^digits and differs from R on values such as 0.15), ``base::sin`` etc.
(the C library's, as R), ``base::as.integer`` (truncation; factor codes), ``base::ifelse``,
``stats::relevel`` (``relevel.factor``) and ``base::interaction`` (``drop = FALSE``, ``sep = "."``,
``lex.order = FALSE``: the first factor varies fastest in the levels).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from pyreterms.errors import DataError, FormulaError, RWarning
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix, Value, as_numeric

__all__ = ["r_round", "r_as_integer", "r_ifelse", "r_relevel", "r_interaction", "TRIG"]

TRIG = ("sin", "cos", "tan")
_LOG10_2 = math.log10(2.0)
_DBL_DIG = 15
_MAX_DIGITS = 308


def _fround1(x: float, digits: float) -> float:
    """R 4's ``private_fround(x, digits)`` for one value."""
    if math.isnan(x) or math.isnan(digits):
        return x + digits
    if not math.isfinite(x) or digits > _MAX_DIGITS + 15 or x == 0.0:
        return x
    if digits < -_MAX_DIGITS:
        return 0.0
    if digits == 0.0:
        return float(np.rint(x))  # nearbyint: ties to even
    dig = int(math.floor(digits + 0.5))
    sgn = 1.0
    if x < 0.0:
        sgn, x = -1.0, -x
    if dig + (math.frexp(x)[1] - 1 + 0.5) * _LOG10_2 > _DBL_DIG:  # logb(x) = frexp exponent - 1
        return sgn * x
    if dig <= _MAX_DIGITS:
        pow10 = 10.0 ** dig if dig >= 0 else 1.0 / (10.0 ** -dig)  # R_pow_di
        x10 = pow10 * x
        i10 = math.floor(x10)
        xd, xu = i10 / pow10, math.ceil(x10) / pow10
    else:
        pow10, p10 = 10.0 ** _MAX_DIGITS, 10.0 ** (dig - _MAX_DIGITS)
        x10 = (pow10 * x) * p10
        i10 = math.floor(x10)
        xd, xu = i10 / pow10 / p10, math.ceil(x10) / pow10 / p10
    du, dd = xu - x, x - xd
    return sgn * (xu if (du < dd or (du == dd and math.fmod(i10, 2.0) == 1.0)) else xd)


def r_round(x: np.ndarray, digits: float = 0.0) -> np.ndarray:
    """R: ``round(x, digits)``."""
    if digits == 0.0:
        return np.rint(x)
    return np.array([_fround1(float(v), float(digits)) for v in x], dtype=np.float64)


def r_as_integer(v: Value) -> np.ndarray:
    """R: ``as.integer(x)`` as a formula variable (numbers, NaN = NA): a factor's codes (1-based),
    TRUE/FALSE as 1/0, numbers truncated towards zero (NA beyond the integer range, with R's warning)."""
    if isinstance(v, Factor):
        return np.where(v.codes < 0, np.nan, v.codes + 1.0)
    if isinstance(v, Character):
        raise DataError("as.integer() of strings is not supported in formulas")
    x = as_numeric(v, "as.integer")
    if isinstance(v, NumMatrix):
        raise DataError("as.integer() of a matrix variable is not supported")
    out = np.trunc(x)
    big = np.isfinite(out) & (np.abs(out) > 2147483647)
    if big.any():
        warnings.warn("NAs introduced by coercion to integer range", RWarning, stacklevel=3)
    out[big | ~np.isfinite(out)] = np.nan
    return out


def r_ifelse(test: Value, yes: Value, no: Value) -> Value:
    """R: ``ifelse(test, yes, no)`` with a logical test and numeric yes/no."""
    if not isinstance(test, Logical):
        raise DataError("ifelse(): the test must be a condition (a comparison, &, !)")
    if isinstance(yes, (Factor, Character, NumMatrix)) or isinstance(no, (Factor, Character, NumMatrix)):
        raise DataError("ifelse(): yes and no must be numbers in pyreterms (strings, factors: not supported)")
    a, b = as_numeric(yes, "ifelse"), as_numeric(no, "ifelse")
    out = np.where(test.values, a, b).astype(np.float64)
    out[test.na] = np.nan
    return out


def r_relevel(x: Value, ref: Any) -> Factor:
    """R: ``relevel(x, ref)`` (``stats::relevel.factor``): ``ref`` (a level or its number) first."""
    if not isinstance(x, Factor):
        raise DataError("'relevel' only for (unordered) factors")
    if x.ordered:
        raise DataError("'relevel' only for unordered factors")
    if isinstance(ref, str):
        if ref not in x.levels:
            raise DataError("'ref' must be an existing level")
        k = x.levels.index(ref)
    elif isinstance(ref, (int, float)) and not isinstance(ref, bool) and float(ref) == int(ref):
        k = int(ref) - 1
        if not 0 <= k < x.nlevels:
            raise DataError(f"ref = {int(ref)} must be in 1L:{x.nlevels}")
    else:
        raise FormulaError("relevel(): ref must be a level (a string) or its number")
    order = [k] + [i for i in range(x.nlevels) if i != k]
    new_code = np.empty(x.nlevels, dtype=np.int64)
    new_code[order] = np.arange(x.nlevels)
    codes = np.where(x.codes < 0, -1, new_code[np.maximum(x.codes, 0)])
    return Factor(codes.astype(np.int64), tuple(x.levels[i] for i in order))


def r_interaction(factors: list[Factor]) -> Factor:
    """R: ``interaction(f1, f2, ...)`` (``drop = FALSE``): every combination, the first factor
    varying fastest, labels joined by "."; NA where any factor is NA."""
    if not factors:
        raise FormulaError("interaction() needs at least one factor")
    last = factors[-1]
    codes = last.codes.copy()
    na = last.codes < 0
    lvs = list(last.levels)
    for f in reversed(factors[:-1]):
        na |= f.codes < 0
        codes = codes * f.nlevels + f.codes
        lvs = [f"{a}.{b}" for b in lvs for a in f.levels]
    if len(set(lvs)) != len(lvs):
        raise DataError("interaction(): the combined labels are not unique (R merges them): not supported")
    return Factor(np.where(na, -1, codes).astype(np.int64), tuple(lvs))
