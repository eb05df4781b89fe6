"""Conditional variances of the random effects (R: ``attr(ranef(fit, condVar = TRUE)[[g]], "postVar")``).

``Var(b | y) = sigma^2 Lambda (L L')^{-1} Lambda'`` with ``L L' = Lambda' Z' Z Lambda + I``, taking for
each level the ``nc x nc`` diagonal block of a term, computed without a dense inverse of ``L`` by
:func:`pyreterms.lmm.inference.condvar.post_var_terms` (the fixed effects are held at their estimates,
as in lme4).
"""
from __future__ import annotations

import numpy as np

from pyreterms.lmm.fit import LmerFit
from pyreterms.lmm.inference.condvar import post_var_terms


def post_var(fit: LmerFit) -> dict[str, np.ndarray]:
    """Per term (keyed ``"group"`` or, when a group has several terms, ``"group.k"``), an array
    ``nc x nc x nl`` like lme4's ``postVar`` attribute."""
    rt = fit.lf.reTrms
    pv = post_var_terms(fit.problem, fit.theta, float(fit.sigma()))
    out: dict[str, np.ndarray] = {}
    groups = [rt.flist[a][0] for a in rt.assign]
    for k, arr in enumerate(pv):
        key = groups[k] if groups.count(groups[k]) == 1 else f"{groups[k]}.{k + 1}"
        out[key] = np.transpose(arr, (1, 2, 0))
    return out
