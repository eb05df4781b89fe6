"""Adaptive Gauss-Hermite quadrature for a GLMM with one scalar random-effects term (R: lme4's C++
``glmerAGQ`` and ``devcCol`` in ``src/external.cpp``, lme4 1.1-31; the R-level check in
``updateGlmerDevfun``).

After the u-only PIRLS at ``(theta, beta)`` (conditional modes ``u``, factor ``L`` diagonal because the
term is scalar), per level j of the grouping factor::

    devc0[j] = u[j]^2 + sum_{i in level j} devResid_i
    sd[j]    = 1 / L[j, j]
    mult[j]  = sum_k  w_k                                                  if z_k == 0
                      exp(-(devc(u + z_k sd)[j] - devc0[j]) / 2 - ldnorm_k) w_k / sqrt(2 pi)   otherwise
    value    = sum(devc0) + ldL2 - 2 log(prod(mult))

The deviance residuals (not ``aic``) make the value differ from the Laplace one by the saturated model's
constant, as in lme4.  ``log(prod(mult))`` is kept as lme4 computes it (a product, not a sum of logs).
"""
from __future__ import annotations

import numpy as np

from pyreterms.design.model import ReTrms
from pyreterms.errors import DataError
from pyreterms.glmm.pirls import GlmResp, MerPred
from pyreterms.rmath import libm

_SQRT2PI = float(np.sqrt(2.0 * np.pi))  # external.cpp: std::sqrt(2. * M_PI)


def check_agq_model(reTrms: ReTrms) -> None:
    """R ``updateGlmerDevfun``: one grouping factor with one column, else lme4's error; then the C++
    check that the factor ``L`` has one entry per random effect (one term only: ``(1 | g) + (1 | g)``
    passes the R check and fails this one)."""
    if len(reTrms.flist) != 1 or len(reTrms.cnms[0][1]) != 1:
        raise DataError("nAGQ > 1 is only available for models with a single, scalar random-effects term")
    if len(reTrms.cnms) != 1:
        raise DataError("AGQ only defined for a single scalar random-effects term")


def devc_col(fac: np.ndarray, u: np.ndarray, dev_res: np.ndarray) -> np.ndarray:
    """``devcCol``: ``u^2`` plus the deviance residuals summed per level (added in row order)."""
    ans = u * u
    np.add.at(ans, fac, dev_res)
    return ans


def agq_deviance(pp: MerPred, rp: GlmResp, GQmat: np.ndarray, fac: np.ndarray) -> float:
    """``glmerAGQ`` after its ``pwrssUpdate`` (the caller has run PIRLS): the AGQ deviance; the
    predictor and response are left at the conditional modes, as lme4 restores them."""
    uhat = pp.delu.copy()
    devc0 = devc_col(fac, uhat, rp.dev_resid())
    sd = 1.0 / pp.diag_L()
    mult = np.zeros(uhat.size)
    xb = pp.X @ pp.delb
    for z, w, ldn in GQmat:
        if z == 0:
            mult = mult + w
            continue
        u = z * sd + uhat  # merPredD::u(1) = u0 + delu, with u0 = z sd
        rp.update_mu(xb + pp.z_lam(u))
        mult = mult + libm.exp(-0.5 * (devc_col(fac, u, rp.dev_resid()) - devc0) - ldn) * w / _SQRT2PI
    rp.update_mu(pp.lin_pred())  # setU0(0): restore
    return float(np.sum(devc0) + pp.ldL2() - 2 * np.log(np.prod(mult)))
