"""The oracle's side of a comparison: lme4's components for one design.

R equivalent: ``pyreterms_reference()`` in ``r_scripts/reference.R`` (through :mod:`parity.rsession`).
"""
from __future__ import annotations

import pandas as pd

from parity.r.values import RList, RValue

__all__ = ["r_components"]


def r_components(formula: str, data: pd.DataFrame, *, REML: bool, level: str, weights=None, offset=None,
                 contrasts=None, thetas=None, noisy_seeds=(),
                 time_limit: float | None = None) -> dict[str, RValue]:
    """The oracle's components as a dict; an R refusal becomes ``{"error": RError}``."""
    from parity.r import session as rsession

    res: RList = rsession.reference(formula, data, REML=REML, weights=weights, offset=offset,
                                    contrasts=contrasts, level=level, thetas=thetas,
                                    noisy_seeds=noisy_seeds, time_limit=time_limit)
    err = rsession.reference_error(res)
    out: dict[str, RValue] = {}
    for k, v in res.items:
        if k is not None and k not in out and k != "error":
            out[k] = v
    if err is not None:
        out["error"] = err
    return out


