"""The minqa BOBYQA port's edge paths without R (the paths themselves are compared with minqa::bobyqa in
tests/live/test_bobyqa_minqa.py): minqa's R-side checks and warnings, the MAXFUN exits, and RESCUE (which
no R run reaches reproducibly: minqa 1.2.5's RESCUE evaluates an undefined point) checked by what it must
produce, the interpolating quadratic model."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from pyreterms.errors import LmeCheckError, LmeWarning
from pyreterms.lmm.bobyqa_minqa import bobyqa
from pyreterms.lmm.bobyqa_prelim import prelim
from pyreterms.lmm.bobyqa_rescue import rescue

A = np.array([[3.0, 1.0], [1.0, 2.0]])
C = np.array([0.4, -1.3])


def quad(x: np.ndarray) -> float:
    d = x - C
    return float(d @ A @ d) + 5.0


def _run(fn, par, lower=-np.inf, upper=np.inf, control=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bobyqa(fn, np.array(par, dtype=np.float64), lower, upper, control or {})
    return res, [str(w.message) for w in caught if issubclass(w.category, LmeWarning)]


def test_normal_exit_finds_the_minimum_and_counts_like_minqa():
    calls = []
    res, warns = _run(lambda x: calls.append(x.copy()) or quad(x), [1.0, 1.0])
    assert warns == [] and res["ierr"] == 0 and res["msg"] == "Normal exit from bobyqa"
    np.testing.assert_allclose(res["par"], C, atol=1e-5)
    # fn(par) first and fn(par-out) last are R's, not counted in feval
    assert len(calls) == res["feval"] + 2
    np.testing.assert_array_equal(calls[0], [1.0, 1.0])
    np.testing.assert_array_equal(calls[-1], res["par"])
    assert res["fval"] == quad(res["par"])


def test_maxfun_reached():
    res, warns = _run(quad, [1.0, 1.0], control={"maxfun": 12})
    assert warns == ["maxfun < 10 * length(par)^2 is not recommended."]
    assert (res["ierr"], res["msg"], res["feval"]) == (1, "bobyqa -- maximum number of function evaluations "
                                                          "exceeded", 12)


def test_maxfun_below_npt_stops_in_prelim():
    res, _ = _run(quad, [1.0, 1.0], control={"maxfun": 3})  # npt = 4
    assert (res["ierr"], res["feval"]) == (1, 3)


def test_rhobeg_changed_when_the_box_is_narrow():
    # rhobeg = 0.2 * max|par| = 0.6 > (0.5 - 0) / 2: minqa warns and uses 0.2 * min(upper - lower) = 0.1,
    # so the first step from the start is 0.1
    calls = []
    res, warns = _run(lambda x: calls.append(x.copy()) or quad(x), [0.2, 3.0], [0.0, 0.0], [0.5, 10.0])
    assert warns == ["All upper - lower must be >= 2*rhobeg. Changing rhobeg"]
    np.testing.assert_allclose(calls[2] - calls[1], [0.1, 0.0], rtol=1e-15)
    assert res["ierr"] == 0


def test_npt_and_unused_control_warnings():
    _, warns = _run(quad, [1.0, 1.0], control={"npt": 6, "foo": 1})
    assert warns == ["unused control arguments ignored", "Setting npt > 2 * length(par) + 1 is not recommended."]


@pytest.mark.parametrize("par,lower,control,msg", [
    ([1.0, np.nan], -np.inf, {}, "all(is.finite(par)) is not TRUE"),
    ([1.0, -1.0], 0.0, {}, "Starting values violate bounds"),
    ([0.0, 0.0], -np.inf, {}, "0 < ctrl$rhoend is not TRUE"),
    ([1.0, 1.0], -np.inf, {"rhobeg": 0.1, "rhoend": 0.2}, "ctrl$rhoend <= ctrl$rhobeg is not TRUE"),
])
def test_minqas_stops(par, lower, control, msg):
    with pytest.raises(LmeCheckError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        _run(quad, par, lower, control=control)


def test_non_finite_values_become_dbl_max():
    """minqa's calfun gives DBL_MAX for a non-finite value; the model then overflows (as the Fortran's
    does, silently: measured live, R's path is the same, tests/live/test_bobyqa_minqa.py)."""
    seen = []
    c = np.array([1.5, -1.0, 2.0])

    def f(x):
        v = math.inf if x[0] > 1.3 else float(((x - c) ** 2).sum())
        seen.append(v)
        return v

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy warning escapes the overflowing model
        res = bobyqa(f, np.array([1.0, 0.5, 0.5]))
    assert any(math.isinf(v) for v in seen)
    assert res["ierr"] == 0 and res["par"][0] <= 1.3


def _quadratic_model_at(xopt_idx, xpt, gopt, hq, pq, n, npt):
    """The model's full Hessian HQ + sum_k PQ(k) x_k x_k'."""
    H = np.zeros((n, n))
    ih = 0
    for j in range(1, n + 1):
        for i in range(1, j + 1):
            ih += 1
            H[i - 1, j - 1] = H[j - 1, i - 1] = hq[ih]
    for k in range(1, npt + 1):
        H += pq[k] * np.outer(xpt[k, 1:], xpt[k, 1:])
    return H


def test_rescue_rebuilds_the_exact_model_of_a_quadratic():
    """With the full quadratic interpolation set (npt = (n+1)(n+2)/2) the model of a quadratic is the
    quadratic: after RESCUE moves the base to XOPT and replaces the point that makes the set degenerate, its
    gradient and Hessian are still f's."""
    n, npt = 2, 6
    ndim = npt + n
    x = np.array([0.0, 1.0, 1.0])
    xl = np.array([0.0, -10.0, -10.0])
    xu = np.array([0.0, 10.0, 10.0])
    sl, su = xl - x, xu - x
    xbase, xpt, fval = np.zeros(n + 1), np.zeros((npt + 1, n + 1)), np.zeros(npt + 1)
    gopt, hq, pq = np.zeros(n + 1), np.zeros(n * (n + 1) // 2 + 1), np.zeros(npt + 1)
    bmat, zmat = np.zeros((ndim + 1, n + 1)), np.zeros((npt + 1, npt - n))
    evals = []

    def calfun(p):
        evals.append(p.copy())
        return quad(p)

    nf, kopt, _ = prelim(n, npt, x, xl, xu, 0.5, 100, xbase, xpt, fval, gopt, hq, pq, bmat, zmat, ndim, sl, su,
                         calfun)
    assert nf == npt
    # make the set degenerate: one point next to XOPT (f is quadratic, so the exact model stays f's)
    k = 1 if kopt != 1 else 2
    xpt[k, 1:] = xpt[kopt, 1:] + [1e-9, 0.0]
    fval[k] = quad(xbase[1:] + xpt[k, 1:])
    xopt = xpt[kopt].copy()
    # PRELIM's GOPT is the gradient at XBASE; RESCUE wants it at XOPT (BOBYQB's label 20)
    H0 = _quadratic_model_at(kopt, xpt, gopt, hq, pq, n, npt)
    gopt[1:] = gopt[1:] + H0 @ xopt[1:]
    vlag = np.zeros(ndim + 1)
    nf2, kopt2, _ = rescue(n, npt, xl, xu, 100, xbase, xpt, fval, xopt, gopt, hq, pq, bmat, zmat, ndim, sl, su,
                           nf, 0.25, kopt, vlag, np.zeros((3, n + 1)), np.zeros(npt + 1),
                           np.zeros(ndim + npt + 1), calfun)
    assert nf2 > nf  # it replaced points, evaluating f at each new one
    centre = xbase[1:] + xpt[kopt2, 1:]
    H = _quadratic_model_at(kopt2, xpt, gopt, hq, pq, n, npt)
    np.testing.assert_allclose(H, 2 * A, rtol=1e-9, atol=1e-9)
    g_at_base = gopt[1:]  # RESCUE leaves GOPT at the new XBASE (its XOPT, now 0)
    np.testing.assert_allclose(g_at_base, 2 * A @ (xbase[1:] - C), rtol=1e-9, atol=1e-9)
    # every interpolation point's value is f's
    for k in range(1, npt + 1):
        assert fval[k] == pytest.approx(quad(xbase[1:] + xpt[k, 1:]), rel=1e-14)
    assert quad(centre) == fval[kopt2] == fval[1:].min()


def cubic(x: np.ndarray) -> float:
    return float(x[0] ** 3 + 2 * x[1] ** 2 * x[0] + np.sum((x - 0.5) ** 2) + np.exp(0.3 * x[2]))


def test_rescue_keeps_the_model_interpolating():
    """minqa's default set (npt = n + 2) on a non-quadratic f, with part of the model's curvature held in
    PQ (the implicit part) and one point made degenerate: after RESCUE the model still interpolates f at
    every interpolation point (Q(x_k) = f(x_k), Q's value at the new base being f at the old XOPT)."""
    n, npt = 3, 5
    ndim = npt + n
    x = np.array([0.0, 0.8, -0.4, 1.2])
    xl, xu = np.full(n + 1, -10.0), np.full(n + 1, 10.0)
    sl, su = xl - x, xu - x
    xbase, xpt, fval = np.zeros(n + 1), np.zeros((npt + 1, n + 1)), np.zeros(npt + 1)
    gopt, hq, pq = np.zeros(n + 1), np.zeros(n * (n + 1) // 2 + 1), np.zeros(npt + 1)
    bmat, zmat = np.zeros((ndim + 1, n + 1)), np.zeros((npt + 1, npt - n))
    nf, kopt, _ = prelim(n, npt, x, xl, xu, 0.3, 100, xbase, xpt, fval, gopt, hq, pq, bmat, zmat, ndim, sl, su,
                         cubic)
    # a degenerate point next to the best one, given the model's value there (so the model interpolates it)
    H = _quadratic_model_at(kopt, xpt, gopt, hq, pq, n, npt)
    kd = 4 if kopt != 4 else 3
    xnew = xpt[kopt, 1:] + [1e-9, 0.0, 0.0]
    xpt[kd, 1:] = xnew
    fval[kd] = fval[1] + gopt[1:] @ xnew + 0.5 * xnew @ H @ xnew  # PRELIM's GOPT is at XBASE = point 1
    # then part of the curvature moved from HQ to that point's PQ: the same model
    pq[kd] = 0.7
    ih = 0
    for j in range(1, n + 1):
        for i in range(1, j + 1):
            ih += 1
            hq[ih] -= 0.7 * xpt[kd, i] * xpt[kd, j]
    np.testing.assert_allclose(_quadratic_model_at(kopt, xpt, gopt, hq, pq, n, npt), H, rtol=1e-13, atol=1e-13)
    xopt = xpt[kopt].copy()
    H = _quadratic_model_at(kopt, xpt, gopt, hq, pq, n, npt)
    gopt[1:] = gopt[1:] + H @ xopt[1:]  # BOBYQB's label 20: GOPT at XOPT
    fbase = fval[kopt]
    nf2, kopt2, _ = rescue(n, npt, xl, xu, 100, xbase, xpt, fval, xopt, gopt, hq, pq, bmat, zmat, ndim, sl, su,
                           nf, 0.17, kopt, np.zeros(ndim + 1), np.zeros((3, n + 1)), np.zeros(npt + 1),
                           np.zeros(ndim + npt + 1), cubic)
    assert nf2 > nf
    H = _quadratic_model_at(kopt2, xpt, gopt, hq, pq, n, npt)
    for k in range(1, npt + 1):
        p = xpt[k, 1:]
        assert fbase + gopt[1:] @ p + 0.5 * p @ H @ p == pytest.approx(fval[k], rel=1e-9, abs=1e-9), k
