"""The values a walkthrough is made of: a :class:`Step` (title, the R code that builds the same
object, the object, its R-style text, the identities checked on it) and :class:`Check`.

Identities are checked when the step is built.  Exact identities (integer structure, 0/1 matrices,
products of data with 0/1 indicators) are compared with ``==``; identities that involve a floating
point computation on both sides (``L L' = Lambda' Z' Z Lambda + I``, ``b = Lambda u``) with a stated
relative tolerance, written into the check's text.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from pyreterms.errors import PyretermsError


class IdentityError(PyretermsError):
    """An identity that the walkthrough prints does not hold for these objects."""


@dataclass(frozen=True)
class Check:
    identity: str  # as printed, in R notation
    ok: bool
    detail: str  # "exact" or "max |diff| = ... <= tol"


@dataclass(frozen=True)
class Step:
    key: str  # stable name: "fr", "J[1]", "Zt", "u", ...
    title: str
    r_code: str
    obj: object
    text: str  # the object printed as R prints it (possibly an excerpt, see ``note``)
    note: str = ""
    checks: tuple[Check, ...] = field(default=())


def _dense(a: object) -> np.ndarray:
    # (scipy is untyped, so mypy cannot narrow ``a`` by issparse; csc_matrix(a) is ``a`` in CSC form)
    return sp.csc_matrix(a).toarray() if sp.issparse(a) else np.asarray(a, dtype=float)


def same_pattern(a: sp.spmatrix, b: sp.spmatrix) -> bool:
    """Equal shape and equal set of stored entries (Matrix's structural pattern)."""
    a, b = sp.csc_matrix(a), sp.csc_matrix(b)
    a.sort_indices()
    b.sort_indices()
    return a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


def check_exact(identity: str, lhs: object, rhs: object, pattern: bool = False) -> Check:
    """``lhs == rhs`` element by element (and the same stored pattern when ``pattern``)."""
    a, b = _dense(lhs), _dense(rhs)
    ok = a.shape == b.shape and bool(np.array_equal(a, b))
    detail = "exact (==)"
    if ok and pattern and sp.issparse(lhs) and sp.issparse(rhs):
        ok = same_pattern(lhs, rhs)
        detail = "exact (==), same stored entries"
    if not ok:
        detail = f"FAILED: shapes {a.shape} vs {b.shape}" if a.shape != b.shape else \
            f"FAILED: {int(np.sum(a != b))} entries differ"
    return Check(identity, ok, detail)


def check_close(identity: str, lhs: object, rhs: object, rtol: float = 1e-10) -> Check:
    """``max|lhs - rhs| <= rtol * max(1, max|rhs|)``: both sides are floating point computations."""
    a, b = _dense(lhs), _dense(rhs)
    if a.shape != b.shape:
        return Check(identity, False, f"FAILED: shapes {a.shape} vs {b.shape}")
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    tol = rtol * max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    ok = diff <= tol
    return Check(identity, ok, f"{'' if ok else 'FAILED: '}max |diff| = {diff:.2e} "
                               f"{'<=' if ok else '>'} {tol:.1e} (rtol {rtol:g})")
