"""lme4's Nelder-Mead engine compiled: the state machine of ``optimizer::Nelder_Mead::newf``
(``src/optimizer.cpp``, lme4 1.1-31) as one numba function over the engine's state held in two flat arrays,
driven by reverse communication (:func:`nm_step` takes the objective's value at the current point and leaves
the next point in the state; the Python driver, :func:`pyreterms.lmm.neldermead.nelder_mead`, calls the
objective).  The same statements as the reference :class:`pyreterms.lmm.neldermead.NelderMeadEngine`, in the
same order and with the same comparisons (NaN included), so the points evaluated are bit-identical; a unit
test (``tests/unit/test_nmkernel.py``) checks that on random objectives.

State layout (``n`` parameters): ``fs`` (float64) holds ``minf, fl, fh, f_old, minf_max`` then ``lb, ub,
xtol_abs, x, xeval, xcur, c`` (``n`` each), ``vals`` (``n + 1``) and the simplex ``pts`` stored vertex by
vertex (``(n + 1) x n``, row ``j`` is the reference engine's column ``j``); ``st`` (int64) holds ``nevals,
init_pos, stage, il, ih, maxeval, n``.

R equivalent: ``optimizer::Nelder_Mead::newf`` and its helpers (``init``, ``restart``, ``postreflect``,
``postexpand``, ``postcontract``, ``reflectpt``).
"""
from __future__ import annotations

import numpy as np

from pyreterms.jitcache import jit, prepare

prepare(__file__)

ALPHA, BETA, GAMMA, DELTA = 1.0, 0.5, 2.0, 0.5
EVALS, MINF_MAX, XCVG, ACTIVE = -4, 1, 3, 0
XTOL_REL = 1e-7
# stages (the reference engine's ``stage`` strings)
RESTART, POSTREFLECT, POSTEXPAND, POSTCONTRACT = 0, 1, 2, 3
# offsets in ``fs``
MINF, FL, FH, FOLD, MINFMAX, NSCALAR = 0, 1, 2, 3, 4, 5
# offsets in ``st``
NEVALS, INITPOS, STAGE, IL, IH, MAXEVAL, NPAR = 0, 1, 2, 3, 4, 5, 6


def state_size(n: int) -> int:
    """Length of ``fs`` for ``n`` parameters."""
    return NSCALAR + 7 * n + (n + 1) + (n + 1) * n


def offsets(n: int) -> tuple[int, int, int, int, int, int, int, int, int]:
    """Start of ``lb, ub, xtol_abs, x, xeval, xcur, c, vals, pts`` in ``fs``."""
    o = NSCALAR
    return o, o + n, o + 2 * n, o + 3 * n, o + 4 * n, o + 5 * n, o + 6 * n, o + 7 * n, o + 8 * n + 1


@jit
def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-13 * (abs(a) + abs(b))


@jit
def _relstop(vold: float, vnew: float, reltol: float, abstol: float) -> bool:
    if abs(vold) == np.inf:
        return False
    d = abs(vnew - vold)
    return d < abstol or d < reltol * (abs(vnew) + abs(vold)) * 0.5 or (reltol > 0 and vnew == vold)


@jit
def _reflect(c: np.ndarray, scale: float, xold: np.ndarray, lb: np.ndarray, ub: np.ndarray,
             out: np.ndarray) -> bool:
    """``out = c + scale (c - xold)`` pinned to the bounds (Python's ``min(max(v, lb), ub)``); False when it
    coincides with ``c`` or ``xold`` (the reference's ``_reflectpt``).  ``out`` may alias neither argument."""
    n = c.shape[0]
    equalc = True
    equalold = True
    for i in range(n):
        v = c[i] + scale * (c[i] - xold[i])
        if lb[i] > v:  # max(v, lb): v unless lb > v
            v = lb[i]
        if ub[i] < v:  # min(v, ub): v unless ub < v
            v = ub[i]
        equalc = equalc and _close(v, c[i])
        equalold = equalold and _close(v, xold[i])
        out[i] = v
    return not (equalc or equalold)


@jit
def _restart(fs: np.ndarray, st: np.ndarray) -> int:
    n = st[NPAR]
    o = NSCALAR
    lb, ub, xtol = fs[o:o + n], fs[o + n:o + 2 * n], fs[o + 2 * n:o + 3 * n]
    xeval, xcur, c = fs[o + 4 * n:o + 5 * n], fs[o + 5 * n:o + 6 * n], fs[o + 6 * n:o + 7 * n]
    vals = fs[o + 7 * n:o + 8 * n + 1]
    pts = fs[o + 8 * n + 1:o + 8 * n + 1 + (n + 1) * n].reshape((n + 1, n))
    il = 0
    res = vals[0]
    for k in range(1, n + 1):  # Eigen's minCoeff: strict <, first wins
        if vals[k] < res:
            il, res = k, vals[k]
    ih = 0
    res = vals[0]
    for k in range(1, n + 1):
        if vals[k] > res:
            ih, res = k, vals[k]
    st[IL], st[IH] = il, ih
    fs[FL], fs[FH] = vals[il], vals[ih]
    for i in range(n):
        s = pts[0, i]
        for k in range(1, n + 1):
            s = s + pts[k, i]
        c[i] = (s - pts[ih, i]) / n
    conv = True
    for i in range(n):  # np.abs(pts - c).max(axis=1): NaN propagates
        m = abs(pts[0, i] - c[i])
        for k in range(1, n + 1):
            a = abs(pts[k, i] - c[i])
            if m == m and (a > m or a != a):
                m = a
        if not _relstop(m, 0.0, XTOL_REL, xtol[i]):
            conv = False
    if conv:
        return XCVG
    if not _reflect(c, ALPHA, pts[ih], lb, ub, xcur):
        return XCVG
    xeval[:] = xcur
    st[STAGE] = POSTREFLECT
    return ACTIVE


@jit
def _views(fs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          np.ndarray, np.ndarray]:
    """``lb, ub, x, xeval, xcur, c, vals, pts`` as views of ``fs``."""
    o = NSCALAR
    pts = fs[o + 8 * n + 1:o + 8 * n + 1 + (n + 1) * n].reshape((n + 1, n))
    return (fs[o:o + n], fs[o + n:o + 2 * n], fs[o + 3 * n:o + 4 * n], fs[o + 4 * n:o + 5 * n],
            fs[o + 5 * n:o + 6 * n], fs[o + 6 * n:o + 7 * n], fs[o + 7 * n:o + 8 * n + 1], pts)


@jit
def _postreflect(f: float, fs: np.ndarray, st: np.ndarray) -> int:
    n = st[NPAR]
    lb, ub, _, xeval, xcur, c, vals, pts = _views(fs, n)
    ih = st[IH]
    if f < fs[FL]:  # new best point: try to expand
        tmp = np.empty(n)
        ok = _reflect(c, GAMMA, pts[ih], lb, ub, tmp)
        xeval[:] = tmp
        if not ok:
            return XCVG
        st[STAGE] = POSTEXPAND
        fs[FOLD] = f
        return ACTIVE
    if f < fs[FH]:  # accept the new point
        vals[ih] = f
        pts[ih, :] = xeval
        return _restart(fs, st)
    scale = -BETA if fs[FH] <= f else BETA
    if not _reflect(c, scale, pts[ih], lb, ub, xcur):
        return XCVG
    fs[FOLD] = f
    xeval[:] = xcur
    st[STAGE] = POSTCONTRACT
    return ACTIVE


@jit
def _postcontract(f: float, fs: np.ndarray, st: np.ndarray) -> int:
    n = st[NPAR]
    lb, ub, _, xeval, _, _, vals, pts = _views(fs, n)
    ih = st[IH]
    if f < fs[FOLD] and f < fs[FH]:
        pts[ih, :] = xeval
        vals[ih] = f
        return _restart(fs, st)
    il = st[IL]
    best = pts[il].copy()
    for i in range(n + 1):  # shrink towards the best vertex
        if i != il:
            old = pts[i].copy()
            if not _reflect(best, -DELTA, old, lb, ub, xeval):
                return XCVG
            pts[i, :] = xeval
    st[INITPOS] = 0
    xeval[:] = pts[0]
    return ACTIVE


@jit
def nm_step(f: float, fs: np.ndarray, st: np.ndarray) -> int:
    """R: ``Nelder_Mead::newf(f)`` (``iprint = 0``): record ``f``, the value at ``xeval``, and leave the next
    point in ``xeval``; returns lme4's ``nm_status`` (``ACTIVE`` = evaluate ``xeval`` and call again)."""
    n = st[NPAR]
    _, _, x, xeval, xcur, _, vals, pts = _views(fs, n)
    st[NEVALS] += 1
    if f < fs[MINF]:
        fs[MINF] = f
        x[:] = xeval
        if f < fs[MINFMAX]:
            return MINF_MAX
    if st[MAXEVAL] > 0 and st[NEVALS] > st[MAXEVAL]:
        return EVALS
    if st[INITPOS] <= n:  # the initial simplex's values
        vals[st[INITPOS]] = f
        st[INITPOS] += 1
        if st[INITPOS] > n:
            return _restart(fs, st)
        xeval[:] = pts[st[INITPOS]]
        return ACTIVE
    stage = st[STAGE]
    if stage == POSTREFLECT:
        return _postreflect(f, fs, st)
    if stage == POSTCONTRACT:
        return _postcontract(f, fs, st)
    if stage == POSTEXPAND:
        ih = st[IH]
        if f < vals[ih]:  # (sic) compared with the worst value, as lme4 does
            pts[ih, :] = xeval
            vals[ih] = f
        else:
            pts[ih, :] = xcur
            vals[ih] = fs[FOLD]
    return _restart(fs, st)
