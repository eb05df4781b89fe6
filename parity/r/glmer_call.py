"""``parity check --call 'glmer(...)'``: an R call to ``glmer`` read by pyreterms' R parser and an
allowlist (the machinery of :mod:`parity.r.callargs`, shared with the ``lmer`` reader :mod:`parity.r.rcall`),
then run on both sides: R ``lme4::glmer`` / ``lme4::glFormula`` with the same arguments
(``pyreterms_glmm_reference(..., extra = )`` in ``r_scripts/glmm_reference.R``), Python ``pyreterms.glmer``.

Nothing of the call is evaluated as R code.  Accepted (anything else: a one-line :class:`BadCall`):

- a script line ``gm1 <- glmer(...)`` (the assignment target is ignored);
- ``glmer(formula, data = NAME, family = F, control = glmerControl(...), start = ..., verbose = CONST,
  nAGQ = INTEGER, subset = EXPR, weights = EXPR, na.action = NAME, offset = EXPR, contrasts = list(...),
  devFunOnly = CONST)``, matched as R matches arguments (exact, unique partial, then glmer's formals order);
- ``family``: a name (``binomial``), a string (``"poisson"``), a call ``binomial(link = "probit")`` /
  ``binomial("probit")``, ``stats::`` allowed; binomial, poisson, Gamma, inverse.gaussian, gaussian;
- ``control``: ``glmerControl(...)`` with glmerControl's argument names and constants, ``optCtrl =
  list(...)``, ``check.conv.* = "action"`` or ``.makeCC(...)``, ``optimizer = "name"`` or ``c("a", "b")``;
  ``lmerControl(...)`` too (lme4 converts it with a warning; so does pyreterms);
- ``start``, ``subset``, ``weights``, ``offset``, ``na.action``, ``contrasts`` as for lmer
  (:mod:`parity.r.rcall`); ``verbose`` and ``devFunOnly`` any constant (both sides read it as R does).
  ``mustart``/``etastart``: a column of the data by name.

With ``devFunOnly = TRUE`` the fit is compared without it, and the last stage's deviance function (the
one ``devFunOnly`` returns) is compared at lme4's parameters as in every GLMM check (``gdevfun(pars)``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyreterms
from parity.r import session as rsession
from parity.r.callargs import (
    BadCall,
    const,
    const_in_r,
    data_arguments,
    match_args,
    named_list,
    r_text,
    start,
    to_r,
)
from parity.r.convert import py_to_r
from parity.r.modelcall import ModelCall
from pyreterms.errors import PyretermsError
from pyreterms.formula.nodes import Call, Name, Node, Str
from pyreterms.formula.parser import deparse, parse

__all__ = ["GlmerCall", "GLMER_FORMALS", "GLMER_CONTROL_ARGS", "is_glmer_call", "parse_glmer_call"]

GLMER_FORMALS = ("formula", "data", "family", "control", "start", "verbose", "nAGQ", "subset", "weights",
                 "na.action", "offset", "contrasts", "mustart", "etastart", "devFunOnly")
#: glmerControl's formals in lme4 1.1-31's order (positional matching)
GLMER_CONTROL_ARGS = ("optimizer", "restart_edge", "boundary.tol", "calc.derivs", "use.last.params", "sparseX",
                      "standardize.X", "check.nobs.vs.rankZ", "check.nobs.vs.nlev", "check.nlev.gtreq.5",
                      "check.nlev.gtr.1", "check.nobs.vs.nRE", "check.rankX", "check.scaleX", "check.formula.LHS",
                      "check.conv.grad", "check.conv.singular", "check.conv.hess", "optCtrl", "mod.type",
                      "tolPwrss", "compDev", "nAGQ0initStep", "check.response.not.const")
#: lmerControl's (lme4 converts an lmerControl passed to glmer)
LMER_CONTROL_ARGS = GLMER_CONTROL_ARGS[:19]
FAMILIES = ("binomial", "poisson", "Gamma", "inverse.gaussian", "gaussian")
_GLMER = re.compile(r"^\s*((`[^`]+`|[A-Za-z.][A-Za-z0-9._]*)\s*(<-|<<-|=(?!=))\s*)?(lme4::)?glmer\s*\(")


@dataclass(frozen=True)
class GlmerCall(ModelCall):
    """The checked pieces of one ``glmer(...)`` call (R's argument names in ``control``;
    :class:`~parity.r.modelcall.ModelCall` for the arguments lmer shares)."""

    family: str = "gaussian"
    link: str | None = None
    nAGQ: int = 1
    control_fn: str = "glmerControl"
    #: data columns named by ``mustart`` / ``etastart``
    mustart: str | None = None
    etastart: str | None = None

    @property
    def dev_fun_only_true(self) -> bool:
        """``devFunOnly = TRUE`` exactly: the fit is then compared without it (see the module docstring)."""
        return self.dev_fun_only is True

    def py_control(self) -> Any:
        """The control as pyreterms' ``glmerControl``/``lmerControl`` (validated as lme4 does: may raise)."""
        if not self.control and self.control_fn == "glmerControl":
            return None
        fn = pyreterms.glmerControl if self.control_fn == "glmerControl" else pyreterms.lmerControl
        return fn(**{k: tuple(v) if k == "optimizer" and isinstance(v, list) else v
                     for k, v in self.control.items()})

    def py_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``pyreterms.glmer`` beyond formula, data, family and nAGQ (the fit: without
        ``devFunOnly = TRUE``).  ``control`` is left out (see :meth:`py_control`)."""
        out: dict[str, Any] = {"start": self.start, "subset": self.subset, "na_action": self.py_na_action(),
                               "contrasts": self.contrasts}
        for k in ("weights", "offset"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if "verbose" in self.r_text:
            out["verbose"] = self.verbose
        if "devFunOnly" in self.r_text and not self.dev_fun_only_true:
            out["devFunOnly"] = self.dev_fun_only
        return out

    def extra_arguments(self) -> dict[str, str]:
        """The call's arguments beyond formula and data, as R text (report headers)."""
        out: dict[str, str] = {"family": self.r_text.get("family", self.family)}
        for k in ("nAGQ", "verbose", "devFunOnly", "start"):
            if k in self.r_text:
                out[k] = self.r_text[k]
        if self.control or self.control_fn != "glmerControl":
            out["control"] = self.r_text.get("control", f"{self.control_fn}()")
        for k in ("subset", "weights", "offset"):
            if getattr(self, k) is not None:
                out[k] = str(getattr(self, k))
        if "na.action" in self.r_text:
            out["na.action"] = self.r_text["na.action"]
        if self.contrasts:
            out["contrasts"] = r_text(self.contrasts)
        for k in ("mustart", "etastart"):
            if getattr(self, k) is not None:
                out[k] = str(getattr(self, k))
        return out

    def r_args(self, fit: bool = True) -> dict[str, Any]:
        """The same arguments as R values for ``glmer`` (``fit``: without ``devFunOnly = TRUE``); family,
        nAGQ, formula and data are passed by the harness itself."""
        rsession.start()
        import rpy2.rinterface as ri

        out: dict[str, Any] = {}
        if "control" in self.r_text:  # checked: constants in glmerControl/lmerControl/.makeCC/list/c only;
            # an expression, so that a refusal of its arguments is glmer's (evaluated inside the call)
            out["control"] = rsession.r_call("str2lang", ri.StrSexpVector([_lme4_qualified(self.r_text["control"])]))
        if self.start is not None:
            out["start"] = const_in_r(self.r_text["start"]) if "start" in self.r_text else py_to_r(self.start)
        for k in ("verbose", "devFunOnly"):
            if k in self.r_text and not (k == "devFunOnly" and fit and self.dev_fun_only_true):
                out[k] = const_in_r(self.r_text[k])
        out.update(self.data_r_args())
        if self.contrasts:
            out["contrasts"] = to_r(self.contrasts)
        for k in ("mustart", "etastart"):
            if getattr(self, k) is not None:  # a column name: evaluated by R in the data (model.frame)
                out[k] = rsession.r_call("as.name", ri.StrSexpVector([getattr(self, k)]))
        return out


def _lme4_qualified(text: str) -> str:
    """The control's R text with lme4's functions qualified (``lme4::glmerControl``, ``lme4::.makeCC``)."""
    text = re.sub(r"^(lme4::)?(glmerControl|lmerControl)\(", r"lme4::\2(", text)
    return re.sub(r"(?<![:\w.])\.makeCC\(", "lme4::.makeCC(", text)


def is_glmer_call(text: str) -> bool:
    """Whether ``text`` is (an assignment of) a ``glmer(...)`` call."""
    return bool(_GLMER.match(text))


def _family(node: Node) -> tuple[str, str | None]:
    """``binomial`` / ``"binomial"`` / ``binomial(link = "probit")`` / ``stats::binomial("probit")``."""
    fn: Node = node
    link: str | None = None
    if isinstance(node, Call):
        fn = Name(node.fn)
        if len(node.args) > 1:
            raise BadCall(f"family: give at most the link, not {deparse(node)}")
        if node.args:
            a = node.args[0]
            if a.name not in (None, "link") or not isinstance(a.value, (Str, Name)):
                raise BadCall(f"family: the link must be a string, not {deparse(node)}")
            link = a.value.value if isinstance(a.value, Str) else a.value.id
    name = fn.id if isinstance(fn, Name) else fn.value if isinstance(fn, Str) else None
    if name is not None and name.startswith("stats::"):
        name = name[len("stats::"):]
    if name not in FAMILIES:
        raise BadCall(f"family must be one of {', '.join(FAMILIES)} (a name, a string or a call with the link), "
                      f"not {deparse(node)}")
    return name, link


def _control(node: Node) -> tuple[str, dict[str, Any]]:
    fns = {"glmerControl": GLMER_CONTROL_ARGS, "lmerControl": LMER_CONTROL_ARGS}
    fn = node.fn.removeprefix("lme4::") if isinstance(node, Call) else ""
    if fn not in fns:
        raise BadCall(f"control must be glmerControl(...) (or lmerControl(...)), not {deparse(node)}")
    assert isinstance(node, Call)
    out: dict[str, Any] = {}
    for name, v in match_args(node, fns[fn], fn).items():
        if name == "optCtrl":
            out[name] = named_list(v, "optCtrl")
        elif name.startswith("check.conv.") and isinstance(v, Call) and v.fn in (".makeCC", "lme4:::.makeCC"):
            pos = [x for x in v.args if x.name is None]
            kw = {str(x.name): const(x.value, name) for x in v.args if x.name is not None}
            if pos:
                kw.setdefault("action", const(pos[0].value, name))
            out[name] = kw
        else:
            out[name] = const(v, f"{fn}({name})")
    opt = out.get("optimizer")
    if opt is not None and not (isinstance(opt, str) or (isinstance(opt, list) and len(opt) in (1, 2)
                                                          and all(isinstance(o, str) for o in opt))):
        raise BadCall(f"{fn}(optimizer = ...): give one or two optimizer names")
    return fn, out


def _start(node: Node) -> Any:
    """``start`` as for lmer, plus a named ``fixef = c(name = number, ...)`` (a dict: getStart reorders it)."""
    if isinstance(node, Call) and node.fn == "list":
        named = {}
        for a in node.args:
            v = a.value
            if a.name == "fixef" and isinstance(v, Call) and v.fn == "c" and v.args and \
                    all(x.name is not None for x in v.args):
                vals = {str(x.name): const(x.value, f"start$fixef${x.name}") for x in v.args}
                if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vals.values()):
                    named[str(a.name)] = {k: float(x) for k, x in vals.items()}
        if named:
            rest = Call("list", tuple(a for a in node.args if a.name not in named))
            return {**start(rest), **named} if rest.args else named
    return start(node)


def parse_glmer_call(text: str) -> GlmerCall:
    """Read ``glmer(...)`` (see the module docstring); raises :class:`BadCall` on anything else."""
    text = text.strip().rstrip(";")
    m = _GLMER.match(text)
    if m and m.group(1):
        text = text[m.end(1):]
    try:
        tree = parse(text)
    except PyretermsError as e:
        raise BadCall(f"--call: cannot read it: {e}") from None
    if not (isinstance(tree, Call) and tree.fn in ("glmer", "lme4::glmer")):
        raise BadCall("--call must be a call of glmer(...)")
    args = match_args(tree, GLMER_FORMALS, "glmer")
    if "formula" not in args or "data" not in args:
        raise BadCall("glmer: give the formula and data = NAME")
    if not (isinstance(args["formula"], Call) and args["formula"].fn == "~"):
        raise BadCall(f"glmer: the first argument must be a formula, not {deparse(args['formula'])}")
    if not isinstance(args["data"], Name):
        raise BadCall("glmer: data must be a name given with --data NAME=FILE")
    for nm in ("mustart", "etastart"):
        if nm in args and not isinstance(args[nm], Name):
            raise BadCall(f"glmer: {nm} must be a column of the data (a name), not {deparse(args[nm])}")
    return GlmerCall(formula=deparse(args["formula"]), data=args["data"].id, **_pieces(args))


def _family_nagq(args: dict[str, Node], kw: dict[str, Any], rt: dict[str, str]) -> None:
    """``family`` and ``nAGQ`` (a non-negative whole number) into ``kw`` and their R text into ``rt``."""
    if "family" in args:
        kw["family"], kw["link"] = _family(args["family"])
        rt["family"] = deparse(args["family"])
    if "nAGQ" in args:
        v = const(args["nAGQ"], "nAGQ")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v < 0:
            raise BadCall(f"nAGQ must be a non-negative whole number, not {deparse(args['nAGQ'])}")
        kw["nAGQ"] = int(v)
        rt["nAGQ"] = deparse(args["nAGQ"])


def _pieces(args: dict[str, Node]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    rt: dict[str, str] = {}
    _family_nagq(args, kw, rt)
    for nm, key in (("verbose", "verbose"), ("devFunOnly", "dev_fun_only")):
        if nm in args:
            kw[key] = const(args[nm], nm)
            rt[nm] = r_text(kw[key])  # the constant as R reads it (NA, not `NA`)
    if "control" in args:
        kw["control_fn"], kw["control"] = _control(args["control"])
        rt["control"] = deparse(args["control"])
    if "start" in args:
        kw["start"] = _start(args["start"])
        rt["start"] = deparse(args["start"])
    data_arguments(args, kw, rt)
    for nm in ("mustart", "etastart"):
        if nm in args:
            kw[nm] = args[nm].id  # type: ignore[union-attr]  # a Name: checked in parse_glmer_call
    kw["r_text"] = rt
    return kw
