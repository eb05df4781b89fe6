"""What an ``lmer(...)`` and a ``glmer(...)`` call of ``parity check --call`` share: the checked arguments over
the data (``subset``, ``weights``, ``offset``, ``na.action``, ``contrasts``), ``start``, ``verbose``,
``devFunOnly`` and the R text of the constants given, with the check every call gets before anything runs
(:meth:`ModelCall.check_in_r`) and the data arguments as R values (:meth:`ModelCall.data_r_args`).  The call
readers (:mod:`parity.r.rcall`, :mod:`parity.r.glmer_call`) add their own arguments (REML; family, nAGQ,
mustart, etastart) and control.

R equivalent: the arguments ``lmer`` and ``glmer`` pass on to ``model.frame`` through ``lFormula``/``glFormula``.
``na.action`` is looked up by R as a function and called with the model frame, so a name outside R's four
(:data:`parity.r.callargs.NA_ACTIONS`) runs only when R does not know it (then R itself refuses the call).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parity.r import session as rsession
from parity.r.callargs import NA_ACTIONS, BadCall
from pyreterms.errors import DataError

__all__ = ["ModelCall"]


@dataclass(frozen=True)
class ModelCall:
    """The pieces of a checked model call that lmer and glmer share (R's argument names in ``r_text``:
    the R text of the constants given explicitly).  ``weights``/``offset``/``subset`` are checked R
    expression text (the formula allowlist)."""

    formula: str
    data: str
    control: dict[str, Any] = field(default_factory=dict)
    start: Any = None
    verbose: Any = 0
    subset: str | None = None
    weights: str | None = None
    offset: str | None = None
    na_action: str = "na.omit"
    contrasts: dict[str, str] | None = None
    dev_fun_only: Any = False
    r_text: dict[str, str] = field(default_factory=dict)
    #: True when na.action was a symbol (R looks it up as an object), False for a string
    na_action_symbol: bool = True

    def check_in_r(self) -> None:
        """Before anything runs: a na.action name outside R's four must be unknown to R (else R would call it
        with the model frame); raises :class:`~parity.r.callargs.BadCall` for one R knows."""
        if self.na_action in NA_ACTIONS:
            return
        known = rsession.r_eval(f'exists("{self.na_action}")')  # na_action matched R_NAME: a plain name
        if bool(known[0]):
            raise BadCall(f"na.action = {self.na_action}: only {', '.join(NA_ACTIONS)} (or a name R does not "
                          "know) are run")

    def py_na_action(self) -> str:
        """``na.action`` for pyreterms (a name): R evaluates a symbol before model.frame calls it, so a symbol R
        does not know stops there with R's "object 'X' not found" (raised here, as R's evaluation of the
        argument); a string reaches model.frame, whose "could not find function" pyreterms gives itself."""
        if self.na_action not in NA_ACTIONS and self.na_action_symbol:
            raise DataError(f"object '{self.na_action}' not found")
        return self.na_action

    def data_r_args(self) -> dict[str, Any]:
        """``subset``, ``weights``, ``offset`` (R expressions evaluated by R over the data) and ``na.action``
        (one of R's four from ``stats``; any other name, unknown to R after :meth:`check_in_r`, as given: a
        symbol or a string, for R's own refusal)."""
        import rpy2.rinterface as ri  # rpy2 is the parity extra, loaded with R

        out: dict[str, Any] = {}
        for k in ("subset", "weights", "offset"):
            if getattr(self, k) is not None:  # checked with the allowlist: evaluated by R over the data
                out[k] = rsession.r_call("str2lang", ri.StrSexpVector([getattr(self, k)]))
        if self.na_action in NA_ACTIONS:
            if self.na_action != "na.omit" or "na.action" in self.r_text:
                out["na.action"] = rsession.r_eval(f"stats::{self.na_action}")  # one of NA_ACTIONS, checked
        else:  # unknown to R (check_in_r): R says so itself
            out["na.action"] = (rsession.r_call("as.name", ri.StrSexpVector([self.na_action]))
                                if self.na_action_symbol else ri.StrSexpVector([self.na_action]))
        return out
