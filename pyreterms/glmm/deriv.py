"""Finite-difference derivatives of the stage-2 deviance (R: ``lme4:::deriv12``, as ``optwrap`` calls
it with ``calc.derivs = TRUE``: no bounds, ``delta = 1e-4``, ``fx = opt$value``, which is NULL for
lme4's optimizers, so ``fx`` is recomputed first).

Evaluation order is lme4's (``f(x)``, then per j ``f(x + d e_j)``, ``f(x - d e_j)`` and for i < j the four
corners), so the deviance function's state (PIRLS iterates) goes through the same sequence.  The
Hessian feeds ``vcov`` (``2 solve(H)[beta, beta]``); its entries divide differences of deviances by
``delta^2 = 1e-8``, so deviance values that agree to ~1e-16 relative give Hessians that agree to ~1e-7
relative only.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def deriv12(fun: Callable[[np.ndarray], float], x: np.ndarray, delta: float = 1e-4,
            fx: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """R: ``deriv12(fun, x, delta, fx)`` without bounds: ``(gradient, Hessian)``."""
    x = np.asarray(x, dtype=np.float64)
    nx = x.size
    if fx is None:
        fx = float(fun(x))
    H = np.full((nx, nx), np.nan)
    g = np.zeros(nx)
    xadd, xsub = x + delta, x - delta

    def at(pairs: list[tuple[int, np.ndarray]]) -> float:
        z = x.copy()
        for pos, src in pairs:
            z[pos] = src[pos]
        return float(fun(z))

    for j in range(nx):
        fadd = at([(j, xadd)])
        fsub = at([(j, xsub)])
        H[j, j] = fadd / delta ** 2 - 2 * fx / (delta * delta) + fsub / delta ** 2
        g[j] = (fadd - fsub) / (delta + delta)
        for i in range(j):
            H[i, j] = H[j, i] = (at([(i, xadd), (j, xadd)]) / (delta + delta) ** 2
                                 - at([(i, xadd), (j, xsub)]) / (delta + delta) ** 2
                                 - at([(i, xsub), (j, xadd)]) / (delta + delta) ** 2
                                 + at([(i, xsub), (j, xsub)]) / (delta + delta) ** 2)
    return g, H
