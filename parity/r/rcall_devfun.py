"""``parity check --call 'lmer(..., devFunOnly = TRUE)'``: the two deviance functions compared.

lme4 returns a function of theta (``mkLmerDevfun``'s ``devfun``), pyreterms
:func:`pyreterms.lmm.fit.devfun_of`.  Both are evaluated at lme4's fitted theta (the same call
with ``devFunOnly = FALSE``) and at three other points (half of it, twice it plus 0.1, all ones);
each value must agree to :data:`RTOL` relative.  A refusal on either side is judged as every other
refusal (:func:`parity.compare.verdicts.decision_result`).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

import pyreterms
from parity.compare.check import CheckReport
from parity.compare.results import ComponentResult
from parity.compare.verdicts import decision_result
from parity.r import convert
from parity.r import session as rsession
from parity.r.rcall import LmerCall
from parity.r.values import RError

__all__ = ["RTOL", "devfun_report"]

#: the relative tolerance of the devfun values (R's and pyreterms' profiled deviance)
RTOL = 1e-10

_R_DEVFUN = r"""function(ftxt, data, args, contrasts) {
  env <- new.env(parent = globalenv())
  assign("..pyreterms_data..", data, envir = env)
  f <- eval(str2lang(ftxt), env)
  cl <- call("lmer", formula = f, data = as.name("..pyreterms_data.."))
  cl[[1L]] <- quote(lme4::lmer)
  if (!is.null(contrasts)) cl$contrasts <- contrasts
  for (nm in names(args)) cl[[nm]] <- args[[nm]]
  dfo <- if (is.null(args$devFunOnly)) TRUE else args$devFunOnly
  cl$devFunOnly <- FALSE
  fit <- tryCatch(suppressWarnings(suppressMessages(eval(cl, env))), error = function(e) e)
  if (inherits(fit, "error")) return(list(error = conditionMessage(fit)))
  th <- getME(fit, "theta")
  cl$devFunOnly <- dfo
  devfun <- tryCatch(suppressWarnings(suppressMessages(eval(cl, env))), error = function(e) e)
  if (inherits(devfun, "error")) return(list(error = conditionMessage(devfun)))
  thetas <- list(th + 0, th * 0.5, th * 2 + 0.1, rep(1, length(th)))
  list(thetas = thetas, values = vapply(thetas, function(t) devfun(t), 0))
}"""


def _r_side(call: LmerCall, data: pd.DataFrame) -> dict[str, Any]:
    rsession.start()
    import rpy2.rinterface as ri  # rpy2 is the parity extra, loaded with R

    with rsession.rlock():
        fn = rsession.r_eval(_R_DEVFUN)
        args = call.r_args()
        cons = convert.py_to_r(dict(rsession.checked_contrasts(call.contrasts))) if call.contrasts else ri.NULL
        res = rsession.r_call(fn, ri.StrSexpVector([call.formula]), convert.dataframe_to_r(data),
                              rsession.r_list(list(args.items())), cons)
        names = list(res.names)
        if "error" in names:
            return {"error": str(res[names.index("error")][0])}
        thetas = [np.asarray(list(t), dtype=np.float64) for t in res[names.index("thetas")]]
        values = np.asarray(list(res[names.index("values")]), dtype=np.float64)
    return {"thetas": thetas, "values": values}


def _py_devfun(call: LmerCall, data: pd.DataFrame) -> Any:
    kw = call.py_kwargs()
    kw.setdefault("devFunOnly", True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyreterms.lmer(call.formula, data, contrasts=call.contrasts, **kw)


def devfun_report(call: LmerCall, data: pd.DataFrame, data_label: str) -> CheckReport:
    """The comparison of ``lmer(..., devFunOnly = TRUE)`` on both sides (see the module docstring)."""
    r = _r_side(call, data)
    try:
        devfun = _py_devfun(call, data)
        perr = None
    except Exception as e:  # the implementation's refusal is its answer
        devfun, perr = None, RError(str(e).splitlines()[0], getattr(e, "kind", type(e).__name__))
    comps: list[ComponentResult] = []
    if "error" in r or perr is not None:
        rerr = RError(r["error"], "error") if "error" in r else None
        comps.append(decision_result(perr, rerr))
    else:
        for k, (th, rv) in enumerate(zip(r["thetas"], r["values"], strict=True)):
            name = "devfun(theta)" if k == 0 else f"devfun(thetas[[{k}]])"
            try:
                pv = float(devfun(th))
            except Exception as e:  # noqa: BLE001 - shown as a disagreement
                comps.append(ComponentResult(name, False, math.nan, math.nan, RTOL, 0.0, f"pyreterms failed: {e}"))
                continue
            ad = abs(pv - rv)
            rd = ad / abs(rv) if rv != 0 else ad
            ok = bool(np.isfinite(pv) and np.isfinite(rv) and rd <= RTOL) or (pv == rv)
            comps.append(ComponentResult(name, ok, ad, rd, RTOL, 0.0,
                                         f"theta = {np.array2string(th, precision=6)}; lme4 {rv!r}, here {pv!r}"))
    return CheckReport(formula=call.formula, data_label=data_label, level="fit", REML=call.reml_flag,
                       components=tuple(comps), versions=rsession.versions())
