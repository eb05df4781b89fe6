"""``glmerAGQ`` compiled (nAGQ > 1, one scalar term) and the Laplace approximation's ``ldL2``, for
:mod:`pyreterms.glmm.pirlsjit`; the readable numpy code is :mod:`pyreterms.glmm.agq`.

R equivalent: ``glmerAGQ`` and ``merPredD::ldL2`` (``src/external.cpp``, ``src/predModule.cpp``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from pyreterms.glmm.famjit import dev_resid, pairwise_sum
from pyreterms.glmm.linjit import mv
from pyreterms.glmm.weightsjit import lin_pred, update_mu
from pyreterms.jitcache import jit_numpy_errors

Arr = npt.NDArray[Any]


@jit_numpy_errors
def ldl2(d: Arr, L22: Arr) -> float:
    """``ldL2 = 2 sum log diag(L)`` (pairwise sum of the logs, as ``BlockChol.ldL2``)."""
    q1, q2 = d.size, L22.shape[0]
    logs = np.empty(q1 + q2)
    for j in range(q1):
        logs[j] = math.log(d[j])
    for j in range(q2):
        logs[q1 + j] = math.log(L22[j, j])
    return 2 * pairwise_sum(logs, 0, q1 + q2)


@jit_numpy_errors
def agq(fam: int, link: int, y: Arr, wt: Arr, offset: Arr, eta: Arr, mu: Arr, X: Arr, Zp: Arr, Zi: Arr, Zx: Arr,
        lam: Arr, d: Arr, delu: Arr, delb: Arr, fac: Arr, GQ: Arr) -> float:
    """``glmerAGQ`` after its PIRLS (:func:`pyreterms.glmm.agq.agq_deviance`): one scalar term, so L is
    ``diag(d)``; ``eta``/``mu`` are restored to the conditional modes."""
    n = y.size
    q = delu.size
    devc0 = delu * delu
    for i in range(n):
        devc0[fac[i]] += dev_resid(fam, y[i], mu[i], wt[i])
    xb = mv(X, delb)
    mult = np.zeros(q)
    u, b, devc, gam = np.empty(q), np.empty(q), np.empty(q), np.empty(n)
    for r in range(GQ.shape[0]):
        z, wk, ldn = GQ[r, 0], GQ[r, 1], GQ[r, 2]
        if z == 0:
            mult += wk
            continue
        for j in range(q):
            u[j] = z * (1.0 / d[j]) + delu[j]
            b[j] = lam[j] * u[j]
            devc[j] = u[j] * u[j]
        for i in range(n):  # xb + csr_mv(Z, b)
            zb = 0.0
            for t in range(Zp[i], Zp[i + 1]):
                zb += Zx[t] * b[Zi[t]]
            gam[i] = xb[i] + zb
        update_mu(link, offset, gam, eta, mu)
        for i in range(n):
            devc[fac[i]] += dev_resid(fam, y[i], mu[i], wt[i])
        for j in range(q):
            mult[j] = mult[j] + math.exp(-0.5 * (devc[j] - devc0[j]) - ldn) * wk / math.sqrt(2.0 * np.pi)
    update_mu(link, offset, lin_pred(X, Zp, Zi, Zx, lam, delu, delb), eta, mu)
    prod = 1.0
    for j in range(q):
        prod *= mult[j]
    return pairwise_sum(devc0, 0, q) + ldl2(d, np.zeros((0, 0))) - 2 * math.log(prod)


__all__ = ["agq", "ldl2"]
