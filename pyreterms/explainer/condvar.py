"""Conditional variances of the random effects (R: ``attr(ranef(fit, condVar = TRUE)[[g]], "postVar")``).

pyreterms' ``ranef`` has no ``condVar``, so they are computed here from public objects:
``Var(b | y) = sigma^2 Lambda (L L')^{-1} Lambda'`` with ``L L' = Lambda' Z' Z Lambda + I``
(``getME(fit, "L")`` in natural order), taking for each level the ``nc x nc`` diagonal block of a
term.  This is what lme4's ``condVar`` gives for a grouping factor used by a single term (the fixed
effects are held at their estimates, as in lme4).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pyreterms.lmm.fit import LmerFit


def post_var(fit: LmerFit) -> dict[str, np.ndarray]:
    """Per term (keyed ``"group"`` or, when a group has several terms, ``"group.k"``), an array
    ``nc x nc x nl`` like lme4's ``postVar`` attribute."""
    rt = fit.lf.reTrms
    L = sp.csc_matrix(fit.getME("L"))
    Lt = sp.csc_matrix(fit.getME("Lambdat"))
    sigma2 = float(fit.sigma()) ** 2
    # X = L^{-1} Lambda'  => Lambda (L L')^{-1} Lambda' = X' X
    Xs = spla.spsolve_triangular(L.tocsr(), Lt.toarray(), lower=True)
    out: dict[str, np.ndarray] = {}
    groups = [rt.flist[a][0] for a in rt.assign]
    for k, t in enumerate(rt.terms):
        lo = int(rt.Gp[k])
        arr = np.empty((t.nc, t.nc, t.nl))
        for lev in range(t.nl):
            cols = Xs[:, lo + lev * t.nc: lo + (lev + 1) * t.nc]
            arr[:, :, lev] = sigma2 * (cols.T @ cols)
        key = groups[k] if groups.count(groups[k]) == 1 else f"{groups[k]}.{k + 1}"
        out[key] = arr
    return out
