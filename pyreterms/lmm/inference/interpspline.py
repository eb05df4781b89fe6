"""R's ``splines`` package as ``lme4::profile.merMod`` uses it: ``interpSpline`` (the natural cubic
interpolating spline, as a ``npolySpline``: per knot the Taylor coefficients of the piece to its right),
``backSpline`` (``backSpline.npolySpline``: the inverse spline of a monotone one, ported line by line)
and ``predict.polySpline`` (R: ``splines/R/splines.R``).

The forward spline is unique (interpolation, zero second derivative at both ends); R builds it from a
B-spline design matrix, we take it from :class:`scipy.interpolate.CubicSpline` (``bc_type="natural"``):
the same spline, equal to rounding.  The inverse spline and the evaluation follow R's code exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from pyreterms.errors import PyretermsError


class SplineError(PyretermsError):
    """R's ``stop()`` in ``interpSpline``/``backSpline`` (lme4 catches it and reports the profile)."""


@dataclass(frozen=True)
class PolySpline:
    """R: a ``polySpline`` (``knots``; ``coefficients`` nk x 4, row i the polynomial in ``x - knots[i]``)."""

    knots: np.ndarray
    coefficients: np.ndarray

    def predict(self, x: np.ndarray | float) -> np.ndarray:
        """R: ``predict.polySpline(object, x)$y``: NA (nan) outside ``[knots[1], knots[nk]]``; the interval
        of x is R's ``cut(x, knots)`` (left-open), ``x == knots[1]`` in the first."""
        xv = np.atleast_1d(np.asarray(x, dtype=float))
        k, c = self.knots, self.coefficients
        out = np.full(xv.shape, np.nan)
        for m, v in enumerate(xv):
            if np.isnan(v) or v < k[0] or v > k[-1]:
                continue
            i = 0 if v == k[0] else int(np.searchsorted(k, v, side="left")) - 1
            d = v - k[i]
            y = c[i, 3]
            for j in (2, 1, 0):
                y = y * d + c[i, j]
            out[m] = y
        return out


def interp_spline(x: np.ndarray, y: np.ndarray) -> PolySpline:
    """R: ``interpSpline(x, y)`` (ord 4, natural), NA pairs dropped, sorted by x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    o = np.argsort(x, kind="stable")
    x, y = x[o], y[o]
    if np.any(np.diff(x) == 0):
        raise SplineError("values of 'x' must be distinct")
    if len(x) < 4:
        raise SplineError("must have at least 'ord'=4 points")
    cs = CubicSpline(x, y, bc_type="natural")
    coef = np.zeros((len(x), 4))
    coef[:, 0] = y
    coef[:-1, 1] = cs.c[2]
    coef[:-1, 2] = cs.c[1]
    coef[:-1, 3] = cs.c[0]
    coef[-1, 1] = float(cs(x[-1], 1))
    # last row: R evaluates the B-spline at the last knot, where its natural extension is linear
    coef[0, 2] = coef[-1, 2] = 0.0  # R: coeff[1, degree] <- coeff[nrow, degree] <- 0
    return PolySpline(knots=x, coefficients=coef)


def back_spline(obj: PolySpline) -> PolySpline:
    """R: ``backSpline.npolySpline`` (errors as R's ``stop()``: :class:`SplineError`)."""
    knots = obj.knots
    nk = len(knots)
    nkm1 = nk - 1
    kdiff = np.diff(knots)
    if np.any(kdiff <= 0):
        raise SplineError("knot positions must be strictly increasing")
    coeff = obj.coefficients
    bknots = coeff[:, 0]
    adiff = np.diff(bknots)
    if np.all(adiff < 0):
        rev = True
    elif np.all(adiff > 0):
        rev = False
    else:
        raise SplineError("spline must be monotone")
    b = np.zeros(coeff.shape)
    b[:, 0] = knots
    with np.errstate(divide="ignore", invalid="ignore"):
        b[:, 1] = 1.0 / coeff[:, 1]
    for i in range(nkm1):
        a = np.array([[adiff[i] ** 2, adiff[i] ** 3], [2 * adiff[i], 3 * adiff[i] ** 2]])
        rhs = np.array([kdiff[i] - adiff[i] * b[i, 1], b[i + 1, 1] - b[i, 1]])
        b[i, 2:4] = np.linalg.solve(a, rhs)
    b[nk - 1, 1:4] = np.nan
    if nk > 2:
        b[0, 3] = b[nkm1 - 1, 3] = 0.0
        a = np.array([[adiff[0], adiff[0] ** 2], [1.0, 2 * adiff[0]]])
        b[0, 1:3] = np.linalg.solve(a, np.array([kdiff[0], 1.0 / coeff[1, 1]]))
        b[nkm1 - 1, 2] = (kdiff[nkm1 - 1] - adiff[nkm1 - 1] * b[nkm1 - 1, 1]) / adiff[nkm1 - 1] ** 2
    if b[0, 2] > 0:
        b[0, 2] = 0.0
        b[0, 1] = kdiff[0] / adiff[0]
    if b[nkm1 - 1, 2] < 0:
        b[nkm1 - 1, 2] = 0.0
        b[nkm1 - 1, 1] = kdiff[nkm1 - 1] / adiff[nkm1 - 1]
    if not rev:
        return PolySpline(knots=bknots.copy(), coefficients=b)
    return PolySpline(knots=bknots[::-1].copy(), coefficients=b[::-1].copy())


__all__ = ["PolySpline", "SplineError", "interp_spline", "back_spline"]
