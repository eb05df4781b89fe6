"""The oracle's side of a comparison: lme4's components for one design.

R equivalent: ``pyreterms_reference()`` in ``r_scripts/reference.R``, called in the one embedded R of
:mod:`parity.r.session` with the data converted by :mod:`parity.r.convert`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from parity.r import convert, session
from parity.r.rcall import current as current_call
from parity.r.values import RError, RList, RValue, RVector
from parity.r.verbvariant import current as current_variant
from parity.r.verbvariant import default_variant

__all__ = ["reference", "reference_error", "r_components"]


def reference(formula: str, data: pd.DataFrame | Any, *, REML: bool = True,
              weights: Sequence[float] | None = None, offset: Sequence[float] | None = None,
              contrasts: Mapping[str, str] | None = None, level: str = "lformula",
              thetas: Sequence[Sequence[float]] | None = None, noisy_seeds: Sequence[int] = (),
              time_limit: float | None = None) -> RList:
    """Run ``pyreterms_reference()`` of r_scripts/reference.R and convert its result.

    ``data`` is a pandas DataFrame (converted column by column, see parity.r.convert) or an R
    data.frame.  Returns the RList whose component names are the R expressions (see reference.R).
    """
    if level not in ("lformula", "fit"):
        raise ValueError(f"level must be 'lformula' or 'fit', not {level!r}")
    session.checked_formula(formula)
    session.start()
    import rpy2.rinterface as ri  # rpy2 is the parity extra, loaded with R, not on import

    with session.rlock():
        rdata = convert.dataframe_to_r(data) if isinstance(data, pd.DataFrame) else data
        kwargs: dict[str, Any] = {
            "REML": ri.BoolSexpVector([bool(REML)]),
            "level": ri.StrSexpVector([level]),
        }
        if weights is not None:
            kwargs["weights"] = convert.py_to_r(list(map(float, weights)))
        if offset is not None:
            kwargs["offset"] = convert.py_to_r(list(map(float, offset)))
        if contrasts is not None:
            kwargs["contrasts"] = convert.py_to_r(dict(session.checked_contrasts(contrasts)))
        if thetas is not None:
            kwargs["thetas"] = session.r_list([(None, convert.py_to_r([float(t) for t in th])) for th in thetas])
        if len(noisy_seeds):
            kwargs["noisy_seeds"] = ri.IntSexpVector([int(k) for k in noisy_seeds])
        call = current_call()  # parity check --call: the call's control/start/subset/na.action
        call_args = call.r_args() if call is not None else {}
        if call_args:
            kwargs["call_args"] = session.r_list(list(call_args.items()))
        if level == "fit":  # the re.form / new-level variant of the verb components (parity.r.verbvariant)
            vv = current_variant() or default_variant(formula)
            kwargs["verb_variant"] = session.r_list([("re_form", ri.StrSexpVector([vv.re_form])),
                                                     ("new_level", ri.BoolSexpVector([vv.new_level]))])
        try:
            res = session.r_call("pyreterms_reference", ri.StrSexpVector([formula]), rdata,
                         time_limit=time_limit, **kwargs)
        except session.RCallError as e:
            if "time limit" in str(e):
                return RList((("error", RError(str(e), "timeout")),))
            raise
        value = convert.r_to_value(res, strict=False)
    assert isinstance(value, RList)
    return value


def reference_error(result: RList) -> Any:
    """The ``RError`` a reference() result stands for, or None if R did not refuse.

    kind: ``"not-allowed"`` (formula allowlist), ``"parse"``, ``"timeout"`` or ``"error"``.
    """
    err = result.get("error")
    if err is None:
        return None
    if isinstance(err, RError):
        return err
    msg = str(err.scalar()) if isinstance(err, RVector) else str(err)
    if msg.startswith("formula uses function") or msg.startswith("formula must be a formula"):
        kind = "not-allowed"
    elif msg.startswith("cannot parse formula"):
        kind = "parse"
    elif "reached elapsed time limit" in msg:
        kind = "timeout"
    else:
        kind = "error"
    return RError(msg, kind)


def r_components(formula: str, data: pd.DataFrame, *, REML: bool, level: str, weights=None, offset=None,
                 contrasts=None, thetas=None, noisy_seeds=(),
                 time_limit: float | None = None) -> dict[str, RValue]:
    """The oracle's components as a dict; an R refusal becomes ``{"error": RError}``."""
    res: RList = reference(formula, data, REML=REML, weights=weights, offset=offset,
                           contrasts=contrasts, level=level, thetas=thetas, noisy_seeds=noisy_seeds,
                           time_limit=time_limit)
    err = reference_error(res)
    out: dict[str, RValue] = {}
    for k, v in res.items:
        if k is not None and k not in out and k != "error":
            out[k] = v
    if err is not None:
        out["error"] = err
    return out


