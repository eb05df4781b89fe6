"""``parity check --call 'lmer(...)'``: an R call to ``lmer`` read by pyreterms' R parser and an
allowlist, then run on both sides (R: ``lme4::lmer`` with the same arguments; Python: ``pyreterms.lmer``).

Nothing of the call is evaluated as R code.  Accepted (anything else: a one-line :class:`BadCall`):

- a script line ``fm1 <- lmer(...)`` or ``fm1 = lmer(...)`` (the assignment target is ignored);
- ``lmer(formula, data = NAME, REML = CONST, control = lmerControl(...), start = ...,
  subset = EXPR, weights = EXPR, offset = EXPR, na.action = NAME, contrasts = list(f = "contr.sum", ...),
  verbose = CONST, devFunOnly = CONST)``, its arguments matched as R matches them (exact names, then
  unique partial names, then positions in lmer's formals order; lmerControl's likewise).  ``REML``,
  ``verbose`` and ``devFunOnly`` may be any constant (``"yes"``, ``NA``, ...): both sides read it as
  R does (``if (REML)``, ``as.integer(verbose)``) and refuse with R's message;
- ``weights``/``offset``: an expression over data columns (``Days + 1``), checked with the formula
  allowlist and evaluated by each side over the data;
- ``na.action``: R's four functions, or a name that R does not know (both sides then refuse);
- ``lmerControl(...)`` with lmerControl's own argument names and constant values (strings, numbers,
  TRUE/FALSE, NULL), ``optCtrl = list(name = constant, ...)``, ``check.conv.* = "action"`` or
  ``.makeCC("action", tol = x)``; the optimizer by name (no user functions);
- ``start``: ``c(...)`` / a number, or ``list(theta = c(...))``;
- ``subset``: an expression over data columns, checked with the formula allowlist
  (:func:`pyreterms.formula.evaluate.check_allowlist`), or row indices (``1:100``, ``-(1:10)``).

The R side receives R *values* built from the checked pieces (``lmerControl`` is called with
converted constants; the subset reaches R as our own deparse of the checked tree, which holds only
allowlisted calls, column names and constants).  While :func:`active` is in force,
:func:`parity.r.oracle.reference` adds these arguments to every lme4 call it makes (the fit, lme4 at
a given theta, lme4 against itself), and the pyreterms implementation (:mod:`parity.adapter.pyreterms_lformula`) uses
the same ones.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyreterms
from parity.r import session as rsession
from parity.r.callargs import BadCall, data_arguments, match_args
from parity.r.callargs import const as _const
from parity.r.callargs import const_in_r as _const_in_r
from parity.r.callargs import named_list as _named_list
from parity.r.callargs import r_text as _r_text
from parity.r.callargs import start as _start
from parity.r.callargs import to_r as _to_r
from parity.r.convert import py_to_r
from parity.r.modelcall import ModelCall
from pyreterms.errors import PyretermsError
from pyreterms.formula.nodes import Call, Name, Node
from pyreterms.formula.parser import deparse, parse

__all__ = ["BadCall", "LmerCall", "parse_lmer_call", "active", "current", "strip_assignment"]

LMER_FORMALS = ("formula", "data", "REML", "control", "start", "verbose", "subset", "weights", "na.action",
                "offset", "contrasts", "devFunOnly")
#: lmerControl's formals in lme4 1.1-31's order (positional matching); mod.type is internal
CONTROL_ARGS = ("optimizer", "restart_edge", "boundary.tol", "calc.derivs", "use.last.params", "sparseX",
                "standardize.X", "check.nobs.vs.rankZ", "check.nobs.vs.nlev", "check.nlev.gtreq.5",
                "check.nlev.gtr.1", "check.nobs.vs.nRE", "check.rankX", "check.scaleX", "check.formula.LHS",
                "check.conv.grad", "check.conv.singular", "check.conv.hess", "optCtrl")
OPTIMIZERS = ("nloptwrap", "Nelder_Mead", "bobyqa", "nlminbwrap")
_ASSIGN = re.compile(r"^\s*(`[^`]+`|[A-Za-z.][A-Za-z0-9._]*)\s*(<-|<<-|=(?!=))\s*")


@dataclass(frozen=True)
class LmerCall(ModelCall):
    """The checked pieces of one ``lmer(...)`` call (R's argument names in ``control``;
    :class:`~parity.r.modelcall.ModelCall` for the arguments glmer shares).

    ``REML``, ``verbose`` and ``dev_fun_only`` are the constants as given (``pandas.NA`` for NA);
    ``r_text`` holds the R text of those given explicitly (constants only, evaluated in R's base
    environment for the lme4 side).
    """

    REML: Any = True

    @property
    def reml_flag(self) -> bool:
        """REML as a flag for the harness's own bookkeeping (the sides read the raw value)."""
        v = self.REML
        if isinstance(v, str):
            return v in ("TRUE", "T", "true", "True")
        return v is True or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and v != 0)

    def py_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``pyreterms.lmer`` beyond formula/data/contrasts (REML, weights and
        offset as given: pyreterms reads them as R does)."""
        out: dict[str, Any] = {"control": pyreterms.lmerControl(**self.control), "start": self.start,
                               "subset": self.subset, "na_action": self.py_na_action()}
        for k in ("REML", "verbose", "weights", "offset"):
            if k in self.r_text or (k in ("weights", "offset") and getattr(self, k) is not None):
                out[k] = getattr(self, k)
        if "devFunOnly" in self.r_text:
            out["devFunOnly"] = self.dev_fun_only
        return out

    def extra_arguments(self) -> dict[str, str]:
        """The call's arguments beyond formula and data, as R text (for report headers)."""
        out: dict[str, str] = {k: v for k, v in self.r_text.items() if k in ("REML", "verbose", "devFunOnly")}
        if self.control:
            out["control"] = "lmerControl(" + ", ".join(f"{k} = {_r_text(v)}" for k, v in self.control.items()) + ")"
        if self.start is not None:
            out["start"] = self.r_text.get("start", _r_text(self.start))
        for k in ("subset", "weights", "offset"):
            if getattr(self, k) is not None:
                out[k] = str(getattr(self, k))
        if self.na_action != "na.omit" or "na.action" in self.r_text:
            out["na.action"] = self.na_action if self.na_action_symbol else f'"{self.na_action}"'
        if self.contrasts:
            out["contrasts"] = _r_text(self.contrasts)
        return out

    def r_args(self) -> dict[str, Any]:
        """The same arguments as R values (rpy2 objects) for the lme4 call."""

        out: dict[str, Any] = {}
        if self.control:
            out["control"] = rsession.r_call("lmerControl", **{k: _to_r(v) for k, v in self.control.items()})
        if self.start is not None:
            out["start"] = _const_in_r(self.r_text["start"]) if "start" in self.r_text else py_to_r(self.start)
        for k in ("REML", "verbose", "devFunOnly"):
            if k in self.r_text:
                out[k] = _const_in_r(self.r_text[k])
        out.update(self.data_r_args())
        return out


def _control(node: Node) -> dict[str, Any]:
    if not (isinstance(node, Call) and node.fn in ("lmerControl", "lme4::lmerControl")):
        raise BadCall(f"control must be lmerControl(...), not {deparse(node)}")
    out: dict[str, Any] = {}
    for name, v in match_args(node, CONTROL_ARGS, "lmerControl").items():
        if name == "optCtrl":
            out[name] = _named_list(v, "optCtrl")
        elif name.startswith("check.conv.") and isinstance(v, Call) and v.fn in (".makeCC", "lme4:::.makeCC"):
            pos = [x for x in v.args if x.name is None]
            kw = {str(x.name): _const(x.value, name) for x in v.args if x.name is not None}
            if pos:
                kw.setdefault("action", _const(pos[0].value, name))
            out[name] = kw
        else:
            out[name] = _const(v, f"lmerControl({name})")
    opt = out.get("optimizer", "nloptwrap")
    if opt is not None and not isinstance(opt, str):
        raise BadCall(f"lmerControl(optimizer = {deparse(node)}): give an optimizer's name or NULL")
    return out


def strip_assignment(text: str) -> str:
    """``fm1 <- lmer(...)`` / ``fm1 = lmer(...)`` -> ``lmer(...)`` (the target is ignored)."""
    m = _ASSIGN.match(text)
    if m and re.match(r"\s*(lme4::)?lmer\s*\(", text[m.end():]):
        return text[m.end():]
    return text


def parse_lmer_call(text: str) -> LmerCall:
    """Read ``lmer(...)`` (see the module docstring); raises :class:`BadCall` on anything else."""
    text = strip_assignment(text.strip().rstrip(";"))
    try:
        tree = parse(text)
    except PyretermsError as e:
        raise BadCall(f"--call: cannot read it: {e}") from None
    if not (isinstance(tree, Call) and tree.fn in ("lmer", "lme4::lmer")):
        raise BadCall("--call must be a call of lmer(...)")
    args = match_args(tree, LMER_FORMALS, "lmer")
    if "formula" not in args or "data" not in args:
        raise BadCall("lmer: give the formula and data = NAME")
    formula = deparse(args["formula"])
    if not (isinstance(args["formula"], Call) and args["formula"].fn == "~"):
        raise BadCall(f"lmer: the first argument must be a formula, not {formula}")
    if not isinstance(args["data"], Name):
        raise BadCall("lmer: data must be a name given with --data NAME=FILE")
    return LmerCall(formula=formula, data=args["data"].id, **_pieces(args))


def _pieces(args: dict[str, Node]) -> dict[str, Any]:
    """The checked values of the arguments other than formula and data."""
    kw: dict[str, Any] = {}
    r_text: dict[str, str] = {}
    for nm, key in (("REML", "REML"), ("verbose", "verbose"), ("devFunOnly", "dev_fun_only")):
        if nm in args:
            kw[key] = _const(args[nm], nm)
            r_text[nm] = deparse(args[nm])
    if "control" in args:
        kw["control"] = _control(args["control"])
    if "start" in args:
        kw["start"] = _start(args["start"])  # constants, list(name = constants) only: R evaluates the same text
        r_text["start"] = deparse(args["start"])
    data_arguments(args, kw, r_text)
    kw["r_text"] = r_text
    return kw


_CURRENT: contextvars.ContextVar[LmerCall | None] = contextvars.ContextVar("lmer_call", default=None)


def current() -> LmerCall | None:
    """The call whose extra arguments are in force (see :func:`active`), or None."""
    return _CURRENT.get()


@contextlib.contextmanager
def active(call: LmerCall | None) -> Iterator[None]:
    """Within this block every lme4 call of :func:`parity.r.oracle.reference` and the pyreterms
    implementation take ``call``'s control, start, subset and na.action."""
    token = _CURRENT.set(call)
    try:
        yield
    finally:
        _CURRENT.reset(token)
