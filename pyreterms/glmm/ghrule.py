"""Gauss-Hermite quadrature rules for the standard normal density (R: ``lme4::GHrule(ord)``, lme4 1.1-31).

``GHrule`` reads lme4's precomputed table ``lme4:::fgq_rules`` (nodes ``z``, weights ``w`` summing to 1) and
adds ``ldnorm = dnorm(z, log = TRUE)``.  The whole table, orders 1..100, is shipped in
``pyreterms/data/ghrules.json``, dumped from lme4 1.1-31 as R's hexadecimal ``sprintf("%a")`` (exact), rather
than recomputed (``numpy.polynomial.hermite_e.hermegauss``): a fresh rule agrees only to ~1e-15, odd orders'
middle nodes are not exactly 0 in lme4's table (which decides whether ``glmerAGQ`` evaluates that node) and
the AGQ deviance must be lme4's to the last bits.  Regenerate with ``Rscript r_scripts/export_ghrules.R``.
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np

from pyreterms.errors import DataError

#: R: ``M_LN_SQRT_2PI`` (Rmath.h)
M_LN_SQRT_2PI = 0.918938533204672741780329736406
#: the largest order lme4 has (``GHrule``'s ``ord < 101L``)
MAX_ORDER = 100


def GHrule(ord: int) -> np.ndarray:  # noqa: N802 - R's name
    """R: ``GHrule(ord, asMatrix = TRUE)``: an ``ord x 3`` matrix with columns ``z``, ``w``, ``ldnorm``
    (``ord = 0``: a 0 x 3 matrix).  ``ldnorm`` is R's ``dnorm(z, log = TRUE)`` (``nmath/dnorm.c``:
    ``-(M_LN_SQRT_2PI + 0.5 * z * z + log(1))``)."""
    if isinstance(ord, bool) or not isinstance(ord, (int, np.integer)):
        raise DataError(f"GHrule: ord must be an integer (not {type(ord).__name__})")
    if ord < 0 or ord >= 101:
        raise DataError("(ord <- as.integer(ord)) >= 0L is not TRUE" if ord < 0 else "ord < 101L is not TRUE")
    if ord == 0:
        return np.zeros((0, 3))
    z, w = _rules()[int(ord)]
    ldnorm = -(M_LN_SQRT_2PI + 0.5 * z * z + 0.0)
    return np.column_stack([z, w, ldnorm])


@cache
def _rules() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``lme4:::fgq_rules``: order -> (z, w), read once from ``pyreterms/data/ghrules.json``."""
    raw = json.loads(resources.files("pyreterms").joinpath("data/ghrules.json").read_text())
    out = {}
    for k, rule in raw.items():
        z, w = (np.array([float.fromhex(x) for x in rule[c]], dtype=np.float64) for c in ("z", "w"))
        z.flags.writeable = w.flags.writeable = False
        out[int(k)] = (z, w)
    return out
