"""``parity check --call 'lmer(...)'``: an R call to ``lmer`` read by pyreterms' R parser and an
allowlist, then run on both sides (R: ``lme4::lmer`` with the same arguments; Python: ``pyreterms.lmer``).

Nothing of the call is evaluated as R code.  Accepted (anything else: a one-line :class:`BadCall`):

- ``lmer(formula, data = NAME, REML = TRUE|FALSE, control = lmerControl(...), start = ...,
  subset = EXPR, weights = COLUMN, offset = COLUMN, na.action = na.omit|na.exclude|na.fail|na.pass,
  contrasts = list(f = "contr.sum", ...), verbose = N, devFunOnly = TRUE|FALSE)`` (positional: formula,
  data, REML, control, start, verbose, subset, weights, na.action, offset, contrasts, as lmer's formals);
- ``lmerControl(...)`` with lmerControl's own argument names and constant values (strings, numbers,
  TRUE/FALSE, NULL), ``optCtrl = list(name = constant, ...)``, ``check.conv.* = "action"`` or
  ``.makeCC("action", tol = x)``; the optimizer by name (no user functions);
- ``start``: ``c(...)`` / a number, or ``list(theta = c(...))``;
- ``subset``: an expression over data columns, checked with the formula allowlist
  (:func:`pyreterms.formula.evaluate.check_allowlist`).

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyreterms
from parity.r import session as rsession
from parity.r.convert import py_to_r
from pyreterms.design.frame import check_subset
from pyreterms.errors import PyretermsError
from pyreterms.formula.nodes import Call, Name, Node, Num, Str
from pyreterms.formula.parser import deparse, parse

__all__ = ["BadCall", "LmerCall", "parse_lmer_call", "active", "current"]

LMER_FORMALS = ("formula", "data", "REML", "control", "start", "verbose", "subset", "weights", "na.action",
                "offset", "contrasts", "devFunOnly")
NA_ACTIONS = ("na.omit", "na.exclude", "na.fail", "na.pass")
CONTROL_ARGS = ("optimizer", "restart_edge", "boundary.tol", "calc.derivs", "use.last.params", "sparseX",
                "standardize.X", "check.nobs.vs.rankZ", "check.nobs.vs.nlev", "check.nlev.gtreq.5",
                "check.nlev.gtr.1", "check.nobs.vs.nRE", "check.rankX", "check.scaleX", "check.formula.LHS",
                "check.conv.grad", "check.conv.singular", "check.conv.hess", "optCtrl")
OPTIMIZERS = ("nloptwrap", "Nelder_Mead", "bobyqa", "nlminbwrap")


class BadCall(ValueError):
    """The --call text is not an lmer call this harness accepts (one line)."""


@dataclass(frozen=True)
class LmerCall:
    """The checked pieces of one ``lmer(...)`` call (R's argument names in ``control``)."""

    formula: str
    data: str
    REML: bool = True
    control: dict[str, Any] = field(default_factory=dict)
    start: list[float] | dict[str, list[float]] | None = None
    verbose: int = 0
    subset: str | None = None
    weights: str | None = None
    offset: str | None = None
    na_action: str = "na.omit"
    contrasts: dict[str, str] | None = None
    dev_fun_only: bool = False  # devFunOnly = TRUE: the fit is compared, plus DEVFUN_ONLY (lme4's devfun values)

    def py_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``pyreterms.lmer`` beyond formula/data/REML/weights/offset/contrasts."""

        return {"control": pyreterms.lmerControl(**self.control), "start": self.start, "subset": self.subset,
                "na_action": self.na_action}

    def r_args(self) -> dict[str, Any]:
        """The same arguments as R values (rpy2 objects) for the lme4 call."""
        import rpy2.rinterface as ri


        out: dict[str, Any] = {}
        if self.control:
            out["control"] = rsession.r_call("lmerControl", **{k: _to_r(v) for k, v in self.control.items()})
        if self.start is not None:
            out["start"] = py_to_r(self.start)
        if self.subset is not None:
            out["subset"] = rsession.r_call("str2lang", ri.StrSexpVector([self.subset]))
        if self.na_action != "na.omit":
            out["na.action"] = rsession.r_eval(f"stats::{self.na_action}")  # one of NA_ACTIONS, checked
        if self.verbose:  # taken out again by reference.R, which captures a verbose lmer() run itself
            out["verbose"] = ri.IntSexpVector([int(self.verbose)])
        if self.dev_fun_only:  # taken out again by reference.R, which calls lmer(devFunOnly = TRUE) itself
            out["devFunOnly"] = ri.BoolSexpVector([True])
        return out


def _to_r(v: Any) -> Any:

    return py_to_r(v)


def _const(node: Node, what: str) -> Any:
    """A constant: number, string, TRUE/FALSE, NULL, -number, c(constants...)."""
    if isinstance(node, Num):
        return int(node.value) if node.is_int else node.value
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Name) and node.id in ("TRUE", "FALSE", "T", "F"):
        return node.id in ("TRUE", "T")
    if isinstance(node, Name) and node.id == "NULL":
        return None
    if isinstance(node, Call) and node.fn == "-" and len(node.args) == 1:
        v = _const(node.args[0].value, what)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
    if isinstance(node, Call) and node.fn == "c" and all(a.name is None for a in node.args):
        return [_const(a.value, what) for a in node.args]
    raise BadCall(f"{what} must be a constant (number, string, TRUE/FALSE, NULL, c(...)), not {deparse(node)}")


def _named_list(node: Node, what: str) -> dict[str, Any]:
    if not (isinstance(node, Call) and node.fn == "list") or any(a.name is None for a in node.args):
        raise BadCall(f"{what} must be list(name = value, ...), not {deparse(node)}")
    return {str(a.name): _const(a.value, f"{what}${a.name}") for a in node.args}


def _control(node: Node) -> dict[str, Any]:
    if not (isinstance(node, Call) and node.fn in ("lmerControl", "lme4::lmerControl")):
        raise BadCall(f"control must be lmerControl(...), not {deparse(node)}")
    out: dict[str, Any] = {}
    for a in node.args:
        if a.name is None or a.name not in CONTROL_ARGS:
            raise BadCall(f"lmerControl: argument {a.name or deparse(a.value)!r} is not accepted "
                          f"(accepted: {', '.join(CONTROL_ARGS)})")
        v = a.value
        if a.name == "optCtrl":
            out[a.name] = _named_list(v, "optCtrl")
        elif a.name.startswith("check.conv.") and isinstance(v, Call) and v.fn in (".makeCC", "lme4:::.makeCC"):
            pos = [x for x in v.args if x.name is None]
            kw = {str(x.name): _const(x.value, a.name) for x in v.args if x.name is not None}
            if pos:
                kw.setdefault("action", _const(pos[0].value, a.name))
            out[a.name] = kw
        else:
            out[a.name] = _const(v, f"lmerControl({a.name})")
    opt = out.get("optimizer", "nloptwrap")
    if opt is not None and opt not in OPTIMIZERS:
        raise BadCall(f"lmerControl(optimizer = {opt!r}): one of {', '.join(OPTIMIZERS)} or NULL")
    return out


def _start(node: Node) -> list[float] | dict[str, list[float]]:
    if isinstance(node, Call) and node.fn == "list":
        lst = _named_list(node, "start")
        return {k: [float(x) for x in (v if isinstance(v, list) else [v])] for k, v in lst.items()}
    v = _const(node, "start")
    if isinstance(v, bool) or v is None or isinstance(v, str):
        raise BadCall("start must be numbers: c(...) or list(theta = c(...))")
    return [float(x) for x in (v if isinstance(v, list) else [v])]


def _symbol_or_string(node: Node, what: str) -> str:
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Str):
        return node.value
    raise BadCall(f"{what} must be a column name, not {deparse(node)}")


def parse_lmer_call(text: str) -> LmerCall:
    """Read ``lmer(...)`` (see the module docstring); raises :class:`BadCall` on anything else."""
    try:
        tree = parse(text)
    except PyretermsError as e:
        raise BadCall(f"--call: cannot read it: {e}") from None
    if not (isinstance(tree, Call) and tree.fn in ("lmer", "lme4::lmer")):
        raise BadCall("--call must be a call of lmer(...)")
    args = _bind(tree)
    if "formula" not in args or "data" not in args:
        raise BadCall("lmer: give the formula and data = NAME")
    formula = deparse(args["formula"])
    if not (isinstance(args["formula"], Call) and args["formula"].fn == "~"):
        raise BadCall(f"lmer: the first argument must be a formula, not {formula}")
    if not isinstance(args["data"], Name):
        raise BadCall("lmer: data must be a name given with --data NAME=FILE")
    dfo = _const(args["devFunOnly"], "devFunOnly") if "devFunOnly" in args else False
    if not isinstance(dfo, bool):
        raise BadCall("devFunOnly must be TRUE or FALSE")
    # devFunOnly = TRUE returns a function: parity compares the fit and that function's values at
    # lme4's theta and other points (parity.components: DEVFUN_ONLY)
    return LmerCall(formula=formula, data=args["data"].id, dev_fun_only=dfo, **_pieces(args))


def _bind(tree: Call) -> dict[str, Node]:
    """R's argument matching for lmer's formals (exact names, then positions)."""
    args: dict[str, Node] = {}
    free = list(LMER_FORMALS)
    for a in tree.args:
        if a.name is not None:
            if a.name not in LMER_FORMALS:
                raise BadCall(f"lmer: argument {a.name!r} is not an argument of lmer ({', '.join(LMER_FORMALS)})")
            if a.name in args:
                raise BadCall(f"lmer: argument {a.name!r} given twice")
            args[a.name] = a.value
            free.remove(a.name)
    for a in tree.args:
        if a.name is None:
            if not free:
                raise BadCall("lmer: too many positional arguments")
            args[free.pop(0)] = a.value
    return args


def _pieces(args: dict[str, Node]) -> dict[str, Any]:
    """The checked values of the arguments other than formula and data."""
    kw: dict[str, Any] = {}
    if "REML" in args:
        reml = _const(args["REML"], "REML")
        if not isinstance(reml, bool):
            raise BadCall("REML must be TRUE or FALSE")
        kw["REML"] = reml
    if "control" in args:
        kw["control"] = _control(args["control"])
    if "start" in args:
        kw["start"] = _start(args["start"])
    if "verbose" in args:
        kw["verbose"] = int(_const(args["verbose"], "verbose") or 0)
    if "subset" in args:
        try:
            check_subset(args["subset"])
        except PyretermsError as e:
            raise BadCall(f"subset: {e}") from None
        kw["subset"] = deparse(args["subset"])
    for nm in ("weights", "offset"):
        if nm in args:
            kw[nm] = _symbol_or_string(args[nm], nm)
    if "na.action" in args:
        act = _symbol_or_string(args["na.action"], "na.action")
        if act not in NA_ACTIONS:
            raise BadCall(f"na.action must be one of {', '.join(NA_ACTIONS)}, not {act}")
        kw["na_action"] = act
    if "contrasts" in args:
        con = _named_list(args["contrasts"], "contrasts")
        if not all(isinstance(v, str) for v in con.values()):
            raise BadCall("contrasts: give contrast function names, e.g. list(f = \"contr.sum\")")
        kw["contrasts"] = con
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
