"""Tolerances with a scale: the conditioning bound of at-theta components (README "Known
differences" 8 and the tolerance table).

R equivalent: none (a statement about floating point): the forward error of a backward-stable solve
of the penalised least-squares system is bounded by ``eps * kappa``; ``kappa`` is computed from
**lme4's own** ``getME(fit, "Lambdat")``, ``getME(fit, "Zt")``, ``getME(fit, "X")`` and weights.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from parity.compare.tolerances import (
    AT_LME4_THETA,
    AT_THETA,
    PLS,
    ComponentResult,
    Diff,
    Tolerance,
    compare_values,
    tolerance_for,
)

#: at most this q + p, the conditioning of lme4's own PLS system is computed (dense eigenvalues)
COND_MAX_Q = 3000
EPS = float(np.finfo(float).eps)


def _sparse(r: dict, key: str):
    v = r.get(key)
    x: Any = getattr(v, "x", None)
    return x.tocsc() if hasattr(x, "tocsc") else None


def _vec(r: dict, key: str, n: int) -> np.ndarray | None:
    v: Any = r.get(key)
    if not hasattr(v, "x"):
        return None
    x = np.asarray(v.x, dtype=np.float64).ravel()
    return x if x.size == n else None


def pls_parts(r: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(A, Xw, rw)`` from lme4's own fit: ``A = Lambda'Z'W^(1/2)`` (q x n), ``Xw = W^(1/2) X``
    (n x p) and ``rw = W^(1/2) (y - offset)`` (R: ``getME(fit, "Lambdat") %*% getME(fit, "Zt")``,
    ``getME(fit, "X")``, ``getME(fit, "y")``, ``getME(fit, "offset")``, ``weights(fit)``); None when
    unavailable or q + p > :data:`COND_MAX_Q`."""
    Lt, Zt = _sparse(r, 'getME(fit, "Lambdat")'), _sparse(r, 'getME(fit, "Zt")')
    if Lt is None or Zt is None:
        return None
    q, n = Lt.shape[0], Zt.shape[1]
    Xv = r.get('getME(fit, "X")')
    xv = getattr(Xv, "x", None)
    X = np.asarray(xv, dtype=np.float64) if xv is not None and not hasattr(xv, "tocsc") else None
    if X is None or X.ndim != 2 or X.shape[0] != n:
        X = np.zeros((n, 0))
    if q == 0 or q + X.shape[1] > COND_MAX_Q:
        return None
    w = _vec(r, "harness: weights(fit)", n)
    if w is None:
        return None
    sw = np.sqrt(w)
    y = _vec(r, 'getME(fit, "y")', n)
    o = _vec(r, 'getME(fit, "offset")', n)
    res = np.zeros(n) if y is None else (y - (o if o is not None else 0.0))
    return (Lt @ Zt).toarray() * sw[None, :], X * sw[:, None], res * sw


def condition_number(r: dict) -> float | None:
    """The condition number that bounds at-theta forward errors: the larger of kappa_2 of
    ``Lambda'Z'WZ Lambda + I`` (the random-effects block) and kappa_2 of the whole penalised
    least-squares system ``[[Lambda'Z'WZ Lambda + I, Lambda'Z'WX], [X'WZ Lambda, X'WX]]`` after
    symmetric diagonal scaling to unit diagonal (the scaling Cholesky's error depends on: van der
    Sluis), i.e. including the fixed-effects part (lme4's ``RX``).  From **lme4's own** matrices at
    its fitted theta; None when unavailable."""
    parts = pls_parts(r)
    if parts is None:
        return None
    return pls_kappa(parts[0], parts[1])


def pls_kappa(A: np.ndarray, Xw: np.ndarray) -> float | None:
    """:func:`condition_number` of the PLS system given ``A = Lambda'Z'W^(1/2)`` and ``Xw = W^(1/2) X``
    (inf when the scaled system is singular; None when it cannot be scaled)."""
    q, p = A.shape[0], Xw.shape[1]
    M = A @ A.T + np.eye(q)
    ev = np.linalg.eigvalsh(M)
    if ev[0] <= 0:
        return None
    k_re = float(ev[-1] / ev[0])
    if p == 0:
        return k_re
    K = np.block([[M, A @ Xw], [Xw.T @ A.T, Xw.T @ Xw]])
    d = np.sqrt(np.diag(K))
    if not (d > 0).all():
        return None
    evk = np.linalg.eigvalsh(K / d[:, None] / d[None, :])
    if evk[0] <= 0:
        return float("inf")
    return max(k_re, float(evk[-1] / evk[0]))


def mode_bounds(r: dict) -> tuple[float, float] | None:
    """Absolute forward-error bounds ``(for u, for b)`` of the random-effects modes from a backward-
    stable solve of the PLS normal equations ``K [u; beta] = rhs`` (``K`` as in :func:`pls_kappa`):
    in the variables scaled by ``D = sqrt(diag(K))``, ``||D dx|| <= eps * kappa_s * ||D x||``
    (``kappa_s`` the condition number after that scaling: van der Sluis), so ``|du_j| <= eps *
    kappa_s * ||D x|| / d_j`` and ``|db_i| <= sum_j |Lambda_ij| |du_j|``.  ``x = [u; beta]`` and the
    matrices are **lme4's own** (``getME(fit, "u")``, ``getME(fit, "beta")``, ``Lambdat``, ``Zt``,
    ``X``, weights at its theta).  The relative bound ``eps * kappa`` of :func:`within_conditioning`
    measures b against itself; when the random effects are tiny next to the fixed effects (a large
    theta with a near-exact fit) the noise of every stable solve is set by ``||D x||`` instead (seed-11
    campaign: ``log(y + 11) ~ (x + f || k) + (x + z || h)``, theta up to 8382: lme4, pyreterms and an
    SVD least-squares solve differ from each other by 2-4e-7 in b, max |b| 6.8e-3).  None when
    unavailable."""
    parts = pls_parts(r)
    if parts is None:
        return None
    A, Xw, _ = parts
    q, p = A.shape[0], Xw.shape[1]
    u = _vec(r, 'getME(fit, "u")', q)
    beta = _vec(r, 'getME(fit, "beta")', p) if p else np.zeros(0)
    Lt = _sparse(r, 'getME(fit, "Lambdat")')
    if u is None or beta is None or Lt is None:
        return None
    M = A @ A.T + np.eye(q)
    K = np.block([[M, A @ Xw], [Xw.T @ A.T, Xw.T @ Xw]]) if p else M
    d = np.sqrt(np.diag(K))
    if not (d > 0).all():
        return None
    ev = np.linalg.eigvalsh(K / d[:, None] / d[None, :])
    if ev[0] <= 0:
        return None
    err_scaled = EPS * float(ev[-1] / ev[0]) * float(np.linalg.norm(d * np.concatenate([u, beta])))
    du = err_scaled / d[:q]  # |du_j| bound
    db = np.abs(Lt.T) @ du  # b = Lambda u; Lambda = t(Lambdat)
    return float(du.max()), float(np.max(db)) if q else 0.0


#: components that are linear predictions from (beta, b): their differences are those of beta and b
#: carried through X and Z (:func:`prediction_slack`)
PREDICTIONS_PREFIX = ("predict(", "fitted(fit)", "residuals(fit)")


def prediction_slack(py: dict, r: dict) -> float | None:
    """``max_i (|X_i| |d beta| + |Z_i| |d b|)`` over the fit's rows, ``d`` the difference between this
    implementation's and lme4's ``getME(fit, "beta")`` / ``getME(fit, "b")`` (each judged by its own
    rule), ``X``, ``Zt`` lme4's own: how far the accepted coefficient differences can move a prediction
    ``x'beta + z'b``.  Relative to the prediction this can exceed ``eps * kappa`` when ``x'beta`` cancels
    (seed-11 campaign: ``y ~ x3 + offset(o) + lg + ...``, ``x3`` up to 15,000, predictions near 0.46).
    The harness's new rows (``nd``, ``ndv``) copy the covariates of the fit's rows, so the maximum covers
    them.  None when unavailable."""
    Zt = _sparse(r, 'getME(fit, "Zt")')
    Xv: Any = getattr(r.get('getME(fit, "X")'), "x", None)
    if Zt is None or Xv is None or hasattr(Xv, "tocsc"):
        return None
    X = np.asarray(Xv, dtype=np.float64)
    n, p, q = Zt.shape[1], X.shape[1] if X.ndim == 2 else -1, Zt.shape[0]
    if X.ndim != 2 or X.shape[0] != n or n == 0:
        return None
    pairs = [(_vec(src, 'getME(fit, "beta")', p) if p else np.zeros(0), _vec(src, 'getME(fit, "b")', q))
             for src in (py, r)]
    if any(v is None for pair in pairs for v in pair):
        return None
    dbeta = np.abs(pairs[0][0] - pairs[1][0])  # type: ignore[operator]
    db = np.abs(pairs[0][1] - pairs[1][1])  # type: ignore[operator]
    row = np.abs(X) @ dbeta + np.asarray(abs(Zt).T @ db).ravel()
    return float(row.max())


def rounding_floor(r: dict) -> float | None:
    """The rounding level of the random-effects modes (``u``, ``b``, ``ranef``) in this problem:
    ``n * eps * S * max(1, max|Lambda|)`` with ``S = max_j (|A| |rw|)_j``, the largest sum of
    magnitudes in the PLS right-hand side ``Lambda'Z'W(y - offset)`` (|.| element-wise; ``(A, rw)``
    of :func:`pls_parts`): a dot product of length n carries rounding of up to ``n * eps`` times the
    sum of its terms' magnitudes, the u-system ``Lambda'Z'WZ Lambda + I >= I`` does not amplify it, and
    ``b = Lambda u`` scales it by at most ``max|Lambda|``.  None when unavailable."""
    parts = pls_parts(r)
    if parts is None:
        return None
    A, _, rw = parts
    Lt = _sparse(r, 'getME(fit, "Lambdat")')
    lam = float(np.abs(Lt.data).max()) if Lt is not None and Lt.nnz else 0.0
    S = float((np.abs(A) @ np.abs(rw)).max()) if A.size else 0.0
    return A.shape[1] * EPS * S * max(1.0, lam)


#: tolerance classes of quantities computed at a given theta (PLS solution, deviance, their functions)
_AT_THETA_CLASSES = (AT_THETA, PLS, AT_LME4_THETA)
#: the random-effects modes: exactly 0 at a boundary (or by symmetry), then both sides return noise
MODES = ('devfun(theta); pp$u(1)', 'devfun(theta); pp$b(1)', 'getME(fit, "u")', 'getME(fit, "b")', "ranef(fit)")
_U_MODES = ('devfun(theta); pp$u(1)', 'getME(fit, "u")')
SCALE_RULE = "rounding level of the problem's scale"
COND_RULE = "conditioning bound"


def _leaf_maxes(v) -> list[float]:
    """The largest magnitude of each numeric leaf of a value (a list's items one by one: a ranef()
    list has one matrix per grouping factor, each judged on its own scale)."""
    if hasattr(v, "items") and not hasattr(v, "x"):
        return [m for _, x in v.items for m in _leaf_maxes(x)]
    x = getattr(v, "x", None)
    if x is None:
        return []
    a = np.asarray(x.data if hasattr(x, "tocsc") else x)
    if a.dtype == object:
        return []
    a = np.abs(a.astype(float).ravel())
    a = a[np.isfinite(a)]
    return [float(a.max()) if a.size else 0.0]


def within_problem_scale(comps: list, py: dict, r: dict) -> list:
    """Random-effects modes (:data:`MODES`) of which lme4's values, in at least one leaf (a vector, or
    one grouping factor's matrix of ``ranef``), are all at the rounding level of the problem's scale
    (:func:`rounding_floor`: both sides return rounding noise around an exact 0) are judged with that
    floor as their absolute tolerance: they pass when every difference is within
    ``max(atol, floor) + rtol * scale`` (README: tolerance table, "scale")."""
    floor: list = []
    out = []
    for c in comps:
        if c.ok or c.name not in MODES or c.name not in py or c.name not in r:
            out.append(c)
            continue
        if not floor:
            floor.append(rounding_floor(r))
        f = floor[0]
        leaves = _leaf_maxes(r[c.name])
        if f is None or not f > 0 or not any(m <= f for m in leaves):
            out.append(c)
            continue
        tol = tolerance_for(c.name)
        d = Diff()
        compare_values(py[c.name], r[c.name], Tolerance(tol.rtol, max(tol.atol, f), SCALE_RULE), d)
        if d.ok:
            out.append(ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, tol.rtol, max(tol.atol, f),
                                       f"lme4's values are at the {SCALE_RULE} (max |R| = {min(leaves):.2g} <= "
                                       f"n * eps * S * max(1, max|Lambda|) = {f:.2g}); differences within that "
                                       "floor (README: tolerance table)"))
        else:
            out.append(ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                       c.detail + f"; beyond the rounding level of the problem's scale {f:.2g}"))
    return out


def _second_chance(c: ComponentResult, py: dict, r: dict, bound: float, tol: Tolerance, atol: float,
                   why: str) -> ComponentResult | None:
    """The component judged again with an absolute allowance ``atol`` (a stated bound from lme4's own
    matrices); the passing result, or None when it is beyond that too. ``why`` names the bound
    (``{atol}`` is filled in)."""
    d = Diff()
    compare_values(py[c.name], r[c.name], Tolerance(bound, max(tol.atol, atol), COND_RULE), d)
    if not d.ok:
        return None
    return ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, bound, atol,
                           f"differs by {c.max_abs_diff:.2g} (absolute), " + why.format(atol=atol))


def within_conditioning(comps: list, py: dict, r: dict) -> list:
    """At-theta components that miss their tolerance get a second, stated chance: the forward error
    of any backward-stable solve of the PLS system is bounded by ``eps * kappa`` (relative; kappa of
    :func:`condition_number`, random-effects and fixed-effects parts), so with kappa large
    (non-identified, nearly collinear or badly scaled designs) two exact-to-rounding implementations
    legitimately differ by up to that much.  The component passes when it is within
    ``max(rtol, eps * kappa)``, with kappa computed from lme4's own matrices (README: Known differences).
    Then :func:`within_problem_scale` judges modes that are rounding noise around 0."""

    kappa: list = []
    modes: list = []
    pscale: list = []

    def lazy(cache: list, compute: Callable[[dict], Any]) -> Any:
        if not cache:
            cache.append(compute(r))
        return cache[0]

    out = []
    for c in comps:
        tol = tolerance_for(c.name)
        if c.ok or tol not in _AT_THETA_CLASSES or c.name not in py or c.name not in r:
            out.append(c)
            continue
        k = lazy(kappa, condition_number)
        bound = EPS * k if k is not None else 0.0
        if bound <= tol.rtol:
            out.append(c)
            continue
        d = Diff()
        compare_values(py[c.name], r[c.name], Tolerance(bound, tol.atol, COND_RULE), d)
        second = None
        if not d.ok and c.name.startswith(PREDICTIONS_PREFIX):
            slack = lazy(pscale, lambda rr: prediction_slack(py, rr))
            if slack is not None:
                second = _second_chance(
                    c, py, r, bound, tol, slack * (1 + 1e-6),
                    "within what the accepted differences of beta and b carry through X and Z: "
                    "max_i(|X_i| |d beta| + |Z_i| |d b|) = {atol:.2g} "
                    f"(kappa = {k:.3g} from lme4's own matrices; README: Known differences)")
        if not d.ok and c.name in MODES:
            mb = lazy(modes, mode_bounds)
            if mb is not None:
                second = _second_chance(
                    c, py, r, bound, tol, mb[0] if c.name in _U_MODES else mb[1],
                    f"within the {COND_RULE} of the modes: eps * kappa_s * ||D [u; beta]|| carried through "
                    "D^-1 and Lambda = {atol:.2g} "
                    f"(kappa_s = {k:.3g} from lme4's own matrices; README: Known differences)")
        if second is not None:
            out.append(second)
        elif d.ok:
            out.append(ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, bound, tol.atol,
                                       f"differs by {c.max_rel_diff:.2g} (relative) > {tol.rtol:g}, within the "
                                       f"{COND_RULE} eps * kappa = {bound:.2g} (kappa of the PLS system, random- and "
                                       f"fixed-effects parts, = {k:.3g} from lme4's own matrices; README: Known "
                                       "differences)"))
        else:
            out.append(ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                       c.detail + f"; also beyond the {COND_RULE} {bound:.2g}"))
    return within_problem_scale(out, py, r)
