"""The oracle's side of a GLMM comparison: lme4's ``glFormula()`` / ``glmer()`` components.

R equivalent: ``pyreterms_glmm_reference()`` in ``r_scripts/glmm_reference.R`` (sourced once into the
embedded R of :mod:`parity.r.session`, after ``reference.R`` whose helpers it uses).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from parity.r import convert, session
from parity.r.oracle import reference_error
from parity.r.values import RList, RValue

__all__ = ["GLMM_REFERENCE_R", "GLMM_LEVELS", "glmm_r_components"]

#: the R side of the GLMM level (next to reference.R)
GLMM_REFERENCE_R = session.R_SCRIPTS / "glmm_reference.R"
#: glFormula() only, or glFormula() and the glmer() fit
GLMM_LEVELS = ("glformula", "glmer")

_sourced = False
_lock = threading.Lock()


def _source() -> None:
    global _sourced
    if _sourced:
        return
    with _lock:
        if not _sourced:
            session.start()
            if not GLMM_REFERENCE_R.is_file():
                raise FileNotFoundError(f"R GLMM reference script not found: {GLMM_REFERENCE_R}")
            session.r_eval(f'source("{GLMM_REFERENCE_R.as_posix()}")')
            _sourced = True


def glmm_r_components(formula: str, data: pd.DataFrame | Any, *, family: str, link: str | None = None,
                      nAGQ: int = 1, level: str = "glmer", weights: Sequence[float] | None = None,
                      offset: Sequence[float] | None = None,
                      pars: Sequence[Sequence[float]] | None = None,
                      time_limit: float | None = None, extra: Mapping[str, Any] | None = None,
                      stage1: Sequence[float] | None = None, converged_tol: float | None = None,
                      devfun0_at: Sequence[Sequence[float]] | None = None, stage1_theta: bool = False
                      ) -> dict[str, RValue]:
    """lme4's components for one GLMM design as a dict; an R refusal becomes ``{"error": RError}``.

    ``pars``: other implementations' optima ``c(theta, beta)`` at which lme4's own deviance
    function is evaluated (``"gdevfun(pars[[k]])"``, the GLMM theta rule's input).  ``extra``: further
    glmer arguments as R values (``parity check --call 'glmer(...)'``, :meth:`parity.r.glmer_call.GlmerCall.r_args`).
    ``stage1``: a theta that glmer's stage-1 optimizer returns in place of running minqa's bobyqa (R:
    ``pyreterms_fixed_stage1``; default glmerControl otherwise): lme4's fit from another stage-1 endpoint.
    ``converged_tol``: also lme4's stage-2 function with its PIRLS tolerance set to this (``rho$tolPwrss``) at
    ``opt$par`` and at each ``pars`` ("harness: converged gdevfun(pars)", "... (pars[[k]])").
    ``devfun0_at``: thetas at which lme4's nAGQ = 0 function (``glmer(nAGQ = 0, devFunOnly = TRUE)``) is
    evaluated before the fit ("harness: devfun0(at[[k]])": its value, or its stop).  ``stage1_theta``: also
    stage 1's ``opt$par`` ("harness: stage1 theta", nAGQ >= 1).  These harness outputs are not registered
    components: only :mod:`parity.campaigns.glmm_explain` asks for them."""
    if level not in GLMM_LEVELS:
        raise ValueError(f"level must be one of {', '.join(GLMM_LEVELS)}, not {level!r}")
    session.checked_formula(formula)
    _source()
    import rpy2.rinterface as ri  # rpy2 is the parity extra, loaded with R, not on import

    with session.rlock():
        rdata = convert.dataframe_to_r(data) if isinstance(data, pd.DataFrame) else data
        kwargs: dict[str, Any] = {
            "family": ri.StrSexpVector([family]),
            "nAGQ": ri.IntSexpVector([int(nAGQ)]),
            "level": ri.StrSexpVector([level]),
        }
        if link is not None:
            kwargs["link"] = ri.StrSexpVector([link])
        if weights is not None:
            kwargs["weights"] = convert.py_to_r(list(map(float, weights)))
        if offset is not None:
            kwargs["offset"] = convert.py_to_r(list(map(float, offset)))
        if extra:
            kwargs["extra"] = session.r_list(list(extra.items()))
        if stage1 is not None:
            kwargs["stage1"] = convert.py_to_r([float(t) for t in stage1])
        if stage1_theta:
            kwargs["stage1_theta"] = ri.BoolSexpVector([True])
        if devfun0_at is not None:
            kwargs["devfun0_at"] = session.r_list([(None, convert.py_to_r([float(t) for t in p])) for p in devfun0_at])
        if converged_tol is not None:
            kwargs["converged_tol"] = convert.py_to_r([float(converged_tol)])
        if pars is not None:
            kwargs["pars"] = session.r_list([(None, convert.py_to_r([float(t) for t in p])) for p in pars])
        res = session.r_call("pyreterms_glmm_reference", ri.StrSexpVector([formula]), rdata,
                             time_limit=time_limit, **kwargs)
        value = convert.r_to_value(res, strict=False)
    assert isinstance(value, RList)
    err = reference_error(value)
    out: dict[str, RValue] = {}
    for k, v in value.items:
        if k is not None and k not in out and k != "error":
            out[k] = v
    if err is not None:
        out["error"] = err
    return out
