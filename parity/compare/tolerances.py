"""Component-by-component comparison of an implementation's values with R's.

Rules (DEVELOPERS.md, Standards): structure (dims, dimnames, sparsity pattern, level order, names,
integer indices) is compared with ``==``; numbers with a stated tolerance per component (a row of
its class in :mod:`parity.components`); a component present on one side only is a failure, never a pass.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import scipy.sparse as sp

from parity import components
from parity.compare.results import ComponentResult
from parity.compare.selection import Selection
from parity.compare.verdicts import decision_result
from parity.r.values import RError, RFactor, RList, RMatrix, RNull, RSparse, RValue, RVector

__all__ = ["Tolerance", "TOLERANCE_OF_CLASS", "tolerance_for", "Diff", "compare_values", "ComponentResult",
           "compare_components"]


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    why: str


EXACT = Tolerance(0.0, 0.0, "deterministic in lme4: compared with ==")
DATA = Tolerance(1e-12, 1e-14, "data values or functions of them (log, poly, contrasts): rounding only")
AT_THETA = Tolerance(1e-10, 0.0, "computed at a given theta")
PLS = Tolerance(1e-9, 1e-12, "PLS solution at a given theta")
OPTIMUM = Tolerance(0.0, 1e-6, "optimizer output: theta to 1e-6 absolute")
AT_LME4_THETA = Tolerance(1e-9, 1e-10, "evaluated at lme4's fitted theta")
INFO = Tolerance(float("inf"), float("inf"), "informational (shown, not judged)")
CRITERION = Tolerance(1e-8, 0.0, "criterion at the optimum")
#: GLMM (parity.compare.glmm_check): pyreterms' glmer_at at lme4's opt$par, PIRLS from lme4's lp0
AT_LME4_PARS = Tolerance(1e-10, 0.0, "evaluated at lme4's fitted (theta, beta), PIRLS started where lme4's")
#: vcov of a GLMM: 2 solve(H) of deriv12's central-difference Hessian (step 1e-4) at lme4's (theta, beta);
#: a difference above this is judged by the Hessian's rounding bound (parity.compare.glmm_check.hessian_bound)
HESSIAN = Tolerance(1e-6, 0.0, "finite-difference Hessian (deriv12, step 1e-4) at lme4's (theta, beta)")

#: tolerance class of the component registry (parity.components) -> the numbers
TOLERANCE_OF_CLASS: dict[str, Tolerance] = {
    "exact": EXACT, "data": DATA, "at_theta": AT_THETA, "pls": PLS, "optimum": OPTIMUM,
    "at_lme4_theta": AT_LME4_THETA, "info": INFO, "criterion": CRITERION,
    "at_lme4_pars": AT_LME4_PARS, "hessian": HESSIAN,
}


def tolerance_for(name: str) -> Tolerance:
    """The tolerance of a component (its class in :mod:`parity.components`); EXACT for anything else
    (the rule inputs at ``thetas[[k]]`` and names R never produces)."""
    comp = components.lookup(name)
    return TOLERANCE_OF_CLASS[comp.tolerance] if comp is not None else EXACT


@dataclass
class Diff:
    """Accumulates the outcome of one component's comparison."""

    ok: bool = True
    max_abs: float = 0.0
    max_rel: float = 0.0
    problems: list[str] = field(default_factory=list)

    def fail(self, where: str, what: str) -> None:
        self.ok = False
        if len(self.problems) < 5:
            self.problems.append(f"{where}: {what}" if where else what)

    def numbers(self, where: str, a: np.ndarray, b: np.ndarray, tol: Tolerance,
                at: Callable[[int], str] | None = None) -> None:
        """``at`` names the flat position ``k`` as R would (default ``[k + 1]``; matrices ``[i, j]``)."""
        at = at or _at_vector
        a = np.asarray(a, dtype=np.float64).ravel()
        b = np.asarray(b, dtype=np.float64).ravel()
        if a.shape != b.shape:
            self.fail(where, f"length {a.size} vs R {b.size}")
            return
        if a.size == 0:
            return
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if (nan_a != nan_b).any():
            k = int(np.flatnonzero(nan_a != nan_b)[0])
            self.fail(where, f"NA/NaN at {at(k)} on one side only ({plain(a[k])} vs R {plain(b[k])})")
        pos = np.flatnonzero(~(nan_a | nan_b))
        a, b = a[pos], b[pos]
        inf = np.isinf(a) | np.isinf(b)
        if (a[inf] != b[inf]).any():
            self.fail(where, "infinite values differ")
        a, b, pos = a[~inf], b[~inf], pos[~inf]
        if a.size == 0:
            return
        # norm-wise relative error: differences relative to the largest magnitude in the component
        # (a vector computed at a given theta carries rounding of the order of its largest entries)
        d = np.abs(a - b)
        scale = float(np.abs(b).max())
        dmax = float(d.max())
        rel = dmax / scale if scale > 0 else (0.0 if dmax == 0 else np.inf)
        self.max_abs = max(self.max_abs, dmax)
        self.max_rel = max(self.max_rel, rel)
        bad = d > tol.atol + tol.rtol * scale
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            self.fail(where, f"{int(bad.sum())} value(s) differ, first at {at(int(pos[k]))}: "
                             f"{plain(a[k])} vs R {plain(b[k])}")


def plain(x: object) -> str:
    """A number as R prints it to full precision (``1.001``, ``1``, ``NaN``, ``Inf``), not numpy's repr."""
    v = float(x)  # type: ignore[arg-type]
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    s = repr(v)
    return s[:-2] if s.endswith(".0") else s


def _at_vector(k: int) -> str:
    return f"[{k + 1}]"


def _at_dense(nrow: int) -> Callable[[int], str]:
    """R's 1-based ``[i, j]`` of a column-major (R's, Fortran) flat position."""
    return lambda k: f"[{k % nrow + 1}, {k // nrow + 1}]"


def _at_csc(m: sp.csc_matrix) -> Callable[[int], str]:
    """R's 1-based ``[i, j]`` of position ``k`` of a CSC matrix's data array (``@x`` in R)."""
    return lambda k: f"[{int(m.indices[k]) + 1}, {int(np.searchsorted(m.indptr, k, side='right'))}]"


def _names_eq(d: Diff, where: str, a, b, what: str) -> None:
    a = None if a is None else tuple(a)
    b = None if b is None else tuple(b)
    if a != b:
        if a is None or b is None:
            d.fail(where, f"{what}: {'missing' if a is None else 'present'} here, "
                          f"{'missing' if b is None else 'present'} in R")
        else:
            k = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
            d.fail(where, f"{what} differ at [{k + 1}]: {_quoted(a, k)} vs R {_quoted(b, k)} "
                          f"(lengths {len(a)} vs {len(b)})")


def _quoted(names: tuple, k: int) -> str:
    """Element ``k`` as R's ``deparse`` writes a string (``"f.L"``), ``<end>`` past the end."""
    if k >= len(names):
        return "<end>"
    return "NA" if names[k] is None else '"' + str(names[k]).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dim(shape: tuple[int, ...]) -> str:
    """A matrix's dimensions as R's Matrix states them (``4 x 3``)."""
    return " x ".join(str(int(n)) for n in shape)


def _compare_sparse(py: RSparse, r: RSparse, tol: Tolerance, d: Diff, where: str) -> None:
    """Two sparse matrices (R's ``dgCMatrix``): dim, dimnames, stored pattern, then the stored values."""
    a, b = py.x.tocsc(), r.x.tocsc()
    a.sort_indices()
    b.sort_indices()
    if a.shape != b.shape:
        d.fail(where, f"dim {_dim(a.shape)} vs R {_dim(b.shape)}")
        return
    _names_eq(d, where, py.rownames, r.rownames, "row names")
    _names_eq(d, where, py.colnames, r.colnames, "column names")
    if a.nnz != b.nnz or not (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)):
        diffp = (a != 0).astype(int) - (b != 0).astype(int) if a.shape == b.shape else None
        d.fail(where, f"sparsity pattern differs: nnz {a.nnz} vs R {b.nnz}"
                      + (f", {int(abs(diffp).sum())} positions" if diffp is not None else ""))
        if a.shape[0] * a.shape[1] < 4_000_000:
            d.numbers(where, a.toarray().ravel(order="F"), b.toarray().ravel(order="F"), tol, _at_dense(a.shape[0]))
        else:
            d.numbers(where, a.data, b.data, tol, lambda k: f"@x[{k + 1}]")
        return
    d.numbers(where, a.data, b.data, tol, _at_csc(b))


def _compare_matrix(py: RMatrix, r: RMatrix, tol: Tolerance, d: Diff, where: str) -> None:
    """Two dense matrices: dim, dimnames, then the values in R's column-major order."""
    if py.x.shape != r.x.shape:
        d.fail(where, f"dim {_dim(py.x.shape)} vs R {_dim(r.x.shape)}")
        return
    _names_eq(d, where, py.rownames, r.rownames, "row names")
    _names_eq(d, where, py.colnames, r.colnames, "column names")
    if r.x.dtype == object or py.x.dtype == object:
        if not np.array_equal(py.x, r.x):
            d.fail(where, "values differ")
        return
    if r.x.ndim == 2:  # column-major, as R stores a matrix: the first difference is R's which(A != B)[1]
        d.numbers(where, py.x.ravel(order="F"), r.x.ravel(order="F"), tol, _at_dense(r.x.shape[0]))
    else:
        d.numbers(where, py.x, r.x, tol)


def _compare_vector(py: RVector, r: RVector, tol: Tolerance, d: Diff, where: str) -> None:
    """Two atomic vectors: names, then numbers (integer and double alike) or values of the same type."""
    _names_eq(d, where, py.names, r.names, "names")
    numeric = {"double", "integer"}
    if r.kind in numeric and py.kind in numeric:
        d.numbers(where, py.x, r.x, tol)
        return
    if r.kind != py.kind:
        d.fail(where, f"type {py.kind} vs R {r.kind}")
        return
    a, b = list(py.x), list(r.x)
    if a != b:
        _names_eq(d, where, [str(x) for x in a], [str(x) for x in b], "values")


def _compare_factor(py: RFactor, r: RFactor, d: Diff, where: str) -> None:
    """Two factors: levels, ordered, then the codes (exactly)."""
    _names_eq(d, where, py.levels, r.levels, "levels")
    if py.ordered != r.ordered:
        d.fail(where, f"ordered {str(py.ordered).upper()} vs R {str(r.ordered).upper()}")
    if not np.array_equal(py.codes, r.codes):
        if len(py.codes) != len(r.codes):
            d.fail(where, f"length {len(py.codes)} vs R {len(r.codes)}")
        else:
            k = int(np.flatnonzero(py.codes != r.codes)[0])
            d.fail(where, f"codes differ, first at [{k + 1}]")


# one branch per R value type (sparse, dense, vector, factor, list, NULL, error), as R's all.equal methods
def compare_values(py: RValue, r: RValue, tol: Tolerance, d: Diff, where: str = "") -> None:
    """Structural + numeric comparison of two values, recording problems in ``d``."""
    if isinstance(r, RError) or isinstance(py, RError):
        side, e = ("here", py) if isinstance(py, RError) else ("lme4", r)
        d.fail(where, f"one side refused ({side}: {cast(RError, e).message})")
        return
    if type(py) is not type(r):
        # integer vs double vectors are the same numbers; anything else is a real difference
        d.fail(where, f"type {type(py).__name__} vs R {type(r).__name__}")
        return
    # below, py is of r's class (checked above)
    if r is RNull:
        return
    if isinstance(r, RSparse):
        _compare_sparse(cast(RSparse, py), r, tol, d, where)
    elif isinstance(r, RMatrix):
        _compare_matrix(cast(RMatrix, py), r, tol, d, where)
    elif isinstance(r, RVector):
        _compare_vector(cast(RVector, py), r, tol, d, where)
    elif isinstance(r, RFactor):
        _compare_factor(cast(RFactor, py), r, d, where)
    elif isinstance(r, RList):
        pl = cast(RList, py)
        _names_eq(d, where, pl.names(), r.names(), "component names")
        for k, ((nk, pv), (_, rv)) in enumerate(zip(pl.items, r.items, strict=False)):
            compare_values(pv, rv, tol, d, f"{where}[[{_quoted((nk,), 0) if nk is not None else k + 1}]]")
    else:
        d.fail(where, f"cannot compare {type(r).__name__}")


#: shown, not compared value by value: conditions, refusals, harness inputs (parity.components)
META = components.meta_names()


def _short(v: RValue) -> str:
    if isinstance(v, RVector) and len(v.x) == 1:
        return str(v.x[0])
    return repr(v)


def _messages(v: RValue | None) -> list[str]:
    if isinstance(v, RVector):
        return [str(x) for x in v.x]
    return []


def compare_components(py: dict[str, RValue], r: dict[str, RValue], *, only: set[str] | None = None,
                       selection: Selection | None = None, not_provided: list[str] | None = None
                       ) -> list[ComponentResult]:
    """Compare every component of both sides.  When either side refused, the one component is the
    decision (:func:`parity.compare.verdicts.decision_result`: both refused agrees only for the same refusal
    class; a harness refusal makes the report *not compared*); a component missing on either side fails.

    ``selection`` (:class:`parity.compare.selection.Selection`, ``--only``/``--ignore``) limits the components
    compared; with a list ``not_provided`` (an audit), a component lme4 has and this implementation
    lacks is appended there instead of failing (the caller enforces the required ones)."""
    out: list[ComponentResult] = []
    nan = float("nan")
    pe, re_ = py.get("error"), r.get("error")
    if pe is not None or re_ is not None:
        return [decision_result(pe, re_)]
    names = [k for k in r if k not in META] + [k for k in py if k not in META and k not in r]
    for name in names:
        if only is not None and name not in only:
            continue
        if selection is not None and not selection.selects(name):
            continue
        tol = tolerance_for(name)
        if name not in py and not_provided is not None:
            not_provided.append(name)
            continue
        if name not in py:
            out.append(ComponentResult(name, False, nan, nan, tol.rtol, tol.atol, "missing in this implementation"))
            continue
        if name not in r:
            out.append(ComponentResult(name, False, nan, nan, tol.rtol, tol.atol, "missing on the R side"))
            continue
        pv, rv = py[name], r[name]
        if isinstance(pv, RError) and isinstance(rv, RError):  # a verb both sides refuse (e.g. new data
            out.append(ComponentResult(name, True, nan, nan, tol.rtol, tol.atol,  # R cannot take): agreement
                                       f"both refused: here {_quoted((pv.message,), 0)}, lme4 "
                                       f"{_quoted((rv.message,), 0)}"))
            continue
        d = Diff()
        compare_values(pv, rv, tol, d)
        if tol is INFO:
            out.append(ComponentResult(name, True, d.max_abs, d.max_rel, tol.rtol, tol.atol,
                                       f"informational: {_short(py[name])} here, {_short(r[name])} in lme4"))
            continue
        out.append(ComponentResult(name, d.ok, d.max_abs, d.max_rel, tol.rtol, tol.atol,
                                   "; ".join(d.problems) if d.problems else ""))
    for key, label in (("warnings", "lFormula() warnings"), ("messages", "lFormula() messages"),
                       ("lmer(): warnings", "lmer() warnings"), ("lmer(): messages", "lmer() messages")):
        if selection is not None and not selection.selects(label):
            continue
        if key in r and key not in py and not_provided is not None:
            not_provided.append(label)
            continue
        if key in r or key in py:
            a, b = sorted(_messages(py.get(key))), sorted(_messages(r.get(key)))
            ok = a == b
            out.append(ComponentResult(label, ok, nan, nan, 0.0, 0.0, "" if ok else f"here {a} vs lme4 {b}"))
    return out
