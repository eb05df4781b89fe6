"""Mutants made by monkeypatching one pyreterms function with a one-line realistic bug.

Each mutant runs :func:`parity.adapter.pyreterms_lformula.pyreterms_impl` while one pyreterms function (or method) is
replaced by a wrapper that changes one thing lme4 1.1-31 does; the R equivalent of each is named in
its ``doc``.  The patch is undone after every call (process-global: not thread-safe, like the
rest of a campaign).  :data:`PATCH_MUTANTS` lists them as ``(name, level, doc, target, make)``.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from parity.adapter.pyreterms_lformula import pyreterms_impl
from parity.r.values import RValue
from pyreterms.formula.parser import Call
from pyreterms.formula.values import Character, Factor, Logical

__all__ = ["PATCH_MUTANTS", "MUTANT_CRASHES", "patched", "make_mutant", "check_target"]


def _resolve(target: str) -> tuple[Any, str]:
    mod, path = target.split(":")
    obj: Any = importlib.import_module(mod)
    *owners, name = path.split(".")
    for o in owners:
        obj = getattr(obj, o)
    return obj, name


#: programming errors raised inside a patched function (a broken mutant, not a realistic bug: a
#: mutant must be caught by what it computes, never by crashing); tests/live/test_mutants.py checks it
#: stays empty
MUTANT_CRASHES: list[tuple[str, str]] = []
_PROGRAMMING_ERRORS = (AttributeError, TypeError, NameError, KeyError, IndexError, UnboundLocalError)


def _guarded(target: str, fn: Callable) -> Callable:
    def guard(*a: Any, **k: Any) -> Any:
        try:
            return fn(*a, **k)
        except _PROGRAMMING_ERRORS as e:
            MUTANT_CRASHES.append((target, f"{type(e).__name__}: {e}"))
            raise
    return guard


def check_target(target: str) -> None:
    """Raise AttributeError/ImportError unless ``module:name`` (or ``module:Class.method``) exists."""
    owner, name = _resolve(target)
    if name not in getattr(owner, "__dict__", {}) and not hasattr(owner, name):
        raise AttributeError(f"mutant patch target {target!r} does not exist")


@contextlib.contextmanager
def patched(target: str, make: Callable[[Any], Any]) -> Iterator[None]:
    """Replace ``module:name`` (or ``module:Class.method``) by ``make(original)`` wherever pyreterms
    bound it (``from .x import name`` copies included), and restore it afterwards."""
    owner, name = _resolve(target)
    raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    if isinstance(raw, classmethod):
        new: Any = classmethod(_guarded(target, make(raw.__func__)))
        places = [owner]
    else:
        new = _guarded(target, make(raw))
        places = [owner] if isinstance(owner, type) else \
            [m for k, m in list(sys.modules.items())
             if k.split(".")[0] == "pyreterms" and getattr(m, name, None) is raw]
    for p in places:
        setattr(p, name, new)
    try:
        yield
    finally:
        for p in places:
            setattr(p, name, raw)


def make_mutant(name: str, doc: str, target: str, make: Callable[[Any], Any]) -> Callable[..., dict[str, RValue]]:
    """An implementation (the contract of parity.adapter.pyreterms_lformula) running pyreterms under ``patched``
    (the target must exist now: a renamed pyreterms function fails here, not as a fake catch)."""
    check_target(target)
    def fn(formula: str, data: pd.DataFrame, **kw: Any) -> dict[str, RValue]:
        with patched(target, make):
            return pyreterms_impl(formula, data, **kw)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = "parity.campaigns.mutants"
    return fn


def _relevel(f: Any, key: Callable[[str], Any]) -> Any:
    """The factor ``f`` with its levels re-sorted by ``key`` (codes follow their labels)."""
    order = sorted(range(len(f.levels)), key=lambda i: key(f.levels[i]))
    new_code = np.empty(len(order), dtype=np.int64)
    new_code[order] = np.arange(len(order))
    codes = np.where(f.codes < 0, -1, new_code[np.maximum(f.codes, 0)])
    return Factor(codes.astype(np.int64), tuple(f.levels[i] for i in order), f.ordered)


def _make_factor_sorted(kind: str, key: Callable[[str], Any]) -> Callable[[Any], Any]:
    def make(orig: Callable) -> Callable:
        def new(x: Any) -> Any:
            f = orig(x)
            hit = (kind == "int" and isinstance(x, np.ndarray) and x.dtype.kind in "iu") or \
                  (kind == "str" and isinstance(x, Character))
            return _relevel(f, key) if hit else f
        return new
    return make


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def _eval_hook(fn_name: str, replace_with: Callable[[Any, Any, Callable], Any]) -> Callable[[Any], Any]:
    """Wrap ``Evaluator.eval``: calls of ``fn_name`` are answered by ``replace_with(self, node, orig)``."""
    def make(orig: Callable) -> Callable:
        def new(self: Any, node: Any) -> Any:
            if isinstance(node, Call) and node.fn == fn_name:
                return replace_with(self, node, orig)
            return orig(self, node)
        return new
    return make


def _log10(self: Any, node: Any, orig: Callable) -> Any:
    if len(node.args) != 1:
        return orig(self, node)
    return np.log10(np.asarray(self.eval(node.args[0].value), dtype=np.float64))


def _comparison_numeric(self: Any, node: Any, orig: Callable) -> Any:
    v = orig(self, node)
    return np.where(v.na, np.nan, v.values.astype(np.float64))


def _as_numeric_logical_codes(self: Any, node: Any, orig: Callable) -> Any:
    v = self.eval(node.args[0].value)
    if isinstance(v, Logical):  # as if the logical were a factor FALSE/TRUE: 1/2
        return np.where(v.na, np.nan, v.values + 1.0)
    return orig(self, node)


def _reterms_field(fieldname: str, value: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], Any]:
    def make(orig: Callable) -> Callable:
        from dataclasses import replace

        def new(bars: Any, fr: Any) -> Any:
            rt = orig(bars, fr)
            return replace(rt, **{fieldname: value(np.asarray(getattr(rt, fieldname)))})
        return new
    return make


def _build_arg(index: int, change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap ``LmerProblem.build``: positional argument ``index`` is replaced by ``change(arg)``."""
    def make(orig: Callable) -> Callable:
        def new(cls: Any, *args: Any, **kw: Any) -> Any:
            a = list(args)
            if len(a) > index:
                a[index] = change(a[index])
            return orig(cls, *a, **kw)
        return new
    return make


def _convert_column(change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def make(orig: Callable) -> Callable:
        def new(name: str, s: pd.Series) -> Any:
            v = orig(name, s)
            return change(v) if isinstance(v, Factor) else v
        return new
    return make


def _factor_unordered(v: Any) -> Any:
    return Factor(v.codes, v.levels, False)


def _check_scale(orig: Callable) -> Callable:
    def new(X: np.ndarray) -> str | None:
        msg = orig(X)
        if msg is None:
            return None
        cont = np.flatnonzero(~((X == 0.0) | (X == 1.0)).all(axis=0))
        sds = X[:, cont].std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            logsd = np.log(sds)
        # the bug: log(1e4) instead of log(1000) as the limit
        big = np.nanmax(np.abs(logsd)) > np.log(1e4) or np.nanmax(np.abs(logsd[:, None] - logsd[None, :])) > np.log(1e4)
        return msg if big else None
    return new


#: (name, level, doc, target, make)
PATCH_MUTANTS: tuple[tuple[str, str, str, str, Callable[[Any], Any]], ...] = (
    ("contrasts_ignored", "lformula", "The contrasts= argument is not passed on: treatment/poly contrasts "
     "always -- R: model.matrix(contrasts.arg = contrasts) in lFormula.",
     "pyreterms.design.lformula:model_matrix", lambda o: (lambda terms, fr, contrasts=None: o(terms, fr, None))),
    ("contr_poly_scaled_wrongly", "lformula", "contr.poly columns scaled to norm sqrt(k) instead of 1 -- "
     "R: make.poly's normalisation in stats::contr.poly (ordered factors).",
     "pyreterms.design.contrasts:contrast_matrix",
     lambda o: (lambda name, levels: ((lambda m, cn: (m * np.sqrt(len(levels)) if name == "contr.poly" else m, cn))
                                      (*o(name, levels))))),
    ("scale_population_sd", "lformula", "scale(x) divides by the population sd (n) instead of the sample "
     "sd (n - 1) -- R: scale.default's sqrt(sum(x^2) / (n - 1)).",
     "pyreterms.formula.evaluate:_scale",
     lambda o: (lambda x, center, scale: (lambda r: (r[0] * (
         np.sqrt(np.sum(~np.isnan(x)) / max(np.sum(~np.isnan(x)) - 1, 1)) if scale else 1.0), r[1]))(
         o(x, center, scale)))),
    ("int_levels_as_strings", "lformula", "Integer grouping variables get levels sorted as strings "
     "('10' < '9') -- R: factor() of an integer sorts numerically.",
     "pyreterms.formula.evaluate:make_factor", _make_factor_sorted("int", str)),
    ("collation_case_insensitive", "lformula", "String levels sorted case-insensitively ('a' < 'B') -- "
     "R: factor() under LC_COLLATE=C sorts by code point ('B' < 'a').",
     "pyreterms.formula.evaluate:make_factor", _make_factor_sorted("str", lambda s: (s.lower(), s))),
    ("collation_accent_aware", "lformula", "String levels sorted with accents stripped ('é' < 'f') -- "
     "R: factor() under LC_COLLATE=C sorts by code point ('f' < 'é').",
     "pyreterms.formula.evaluate:make_factor", _make_factor_sorted("str", lambda s: (_strip_accents(s), s))),
    ("categorical_order_ignored", "lformula", "A pandas Categorical's category order is replaced by sorted "
     "labels -- R: a factor keeps its levels() order.",
     "pyreterms.design.frame:convert_column", _convert_column(lambda v: _relevel(v, lambda s: s))),
    ("ordered_as_unordered", "lformula", "Ordered Categoricals lose their ordered flag (treatment "
     "instead of contr.poly) -- R: options('contrasts') uses contr.poly for ordered factors.",
     "pyreterms.design.frame:convert_column", _convert_column(_factor_unordered)),
    ("unused_levels_kept", "lformula", "Unused factor levels are kept (no drop after NA removal or for "
     "unused categories) -- R: model.frame(drop.unused.levels = TRUE) and factor(grp).",
     "pyreterms.formula.values:Factor.drop_unused", lambda o: (lambda self: self)),
    ("log_is_log10", "lformula", "log(x) evaluated as log10(x) -- R: log() is the natural logarithm.",
     "pyreterms.formula.evaluate:Evaluator.eval", _eval_hook("log", _log10)),
    ("poly_unnormalised", "lformula", "poly(x, k) columns scaled to norm sqrt(n) instead of 1 -- R: "
     "stats::poly's normalisation by sqrt(norm2).",
     "pyreterms.formula.evaluate:r_poly_coefs",
     lambda o: (lambda x, degree: (lambda r: (r[0] * np.sqrt(len(x)), r[1]))(o(x, degree)))),
    ("comparison_as_numeric", "lformula", "I(x > 0) gives a numeric 0/1 column instead of a logical "
     "(model.matrix names it 'I(x > 0)TRUE') -- R: comparisons return logicals.",
     "pyreterms.formula.evaluate:Evaluator.eval", _eval_hook(">", _comparison_numeric)),
    ("as_numeric_logical_codes", "lformula", "as.numeric() of a logical gives factor codes 1/2 instead of "
     "0/1 -- R: as.numeric(TRUE) == 1.",
     "pyreterms.formula.evaluate:Evaluator.eval", _eval_hook("as.numeric", _as_numeric_logical_codes)),
    ("interaction_swapped", "lformula", "g:h grouping factor built as h:g (second factor slowest, labels "
     "'h:g') -- R: lme4's `%i%` / interaction(g, h, drop = TRUE, sep = ':') with g slowest.",
     "pyreterms.design.reterms:interaction_factor", lambda o: (lambda f1, f2: o(f2, f1))),
    ("lower_all_zero", "lformula", "lower bound 0 for every theta (off-diagonals too) -- R: mkReTrms' "
     "lower = 0 on the diagonal, -Inf elsewhere.",
     "pyreterms.design.reterms:mk_reterms", _reterms_field("lower", np.zeros_like)),
    ("theta0_ones", "lformula", "Initial theta 1 for every element (off-diagonals too) -- R: mkReTrms' "
     "theta = diagonal of the identity.",
     "pyreterms.design.reterms:mk_reterms", _reterms_field("theta", np.ones_like)),
    ("logical_slope_numeric", "lformula", "A logical variable enters model matrices as numeric 0/1 "
     "instead of a factor (column 'lg' instead of 'lgTRUE') -- R: model.matrix treats logicals as factors.",
     "pyreterms.design.modelmatrix:_lookup",
     lambda o: (lambda fr, name: (lambda v: v.values.astype(np.float64) if type(v).__name__ == "Logical" else v)(
         o(fr, name)))),
    ("scale_warning_threshold", "lformula", "checkScaleX warns only beyond a 1e4-fold sd ratio instead "
     "of 1000 -- R: lme4:::checkScaleX.", "pyreterms.design.lformula:check_scale_x", _check_scale),
    ("weights_ignored", "fit", "Prior weights are not passed to the response module -- R: "
     "mkRespMod(fr, REML) reads model.weights(fr).", "pyreterms.lmm.deviance:LmerProblem.build",
     _build_arg(6, lambda w: None)),
    ("offset_sign", "fit", "The offset is subtracted instead of added -- R: mkRespMod's offset "
     "(eta = X beta + Z b + offset).", "pyreterms.lmm.deviance:LmerProblem.build",
     _build_arg(7, lambda o: None if o is None else -np.asarray(o))),
    ("reml_without_ldrx2", "fit", "The REML criterion omits log|R_X|^2 -- R: lmerResp::Laplace "
     "(ldL2 + ldRX2 + (n-p)(1 + log(2 pi pwrss/(n-p)))).", "pyreterms.lmm.deviance:LmerProblem.objective",
     lambda o: (lambda self, ldL2, ldRX2, pwrss: o(self, ldL2, 0.0, pwrss))),
    ("sigma_ml_always", "fit", "sigma(fit) is the ML estimate even for REML fits -- R: sigma.merMod "
     "uses sigmaREML when isREML(fit).", "pyreterms.lmm.fit:LmerFit.sigma",
     lambda o: (lambda self: self.state.sigmaML)),
    ("singular_tolerance", "fit", "isSingular() with tol = 0, so a variance on its bound (theta = 0) is "
     "not singular -- R: lme4::isSingular(x, tol = 1e-4).", "pyreterms.lmm.fit:LmerFit.isSingular",
     lambda o: (lambda self, tol=1e-4: o(self, 0.0))),
    ("power_as_times", "lformula", "x^2 inside I() evaluated as x * 2 -- R: `^` is the power operator.",
     "pyreterms.formula.evaluate:Evaluator.eval",
     _eval_hook("^", lambda self, node, orig: np.asarray(self.eval(node.args[0].value), dtype=np.float64)
                * np.asarray(self.eval(node.args[1].value), dtype=np.float64))),
    ("treatment_baseline_last", "lformula", "contr.treatment takes the last level as the baseline "
     "(contr.SAS) -- R: contr.treatment(n, base = 1).", "pyreterms.design.contrasts:contrast_matrix",
     lambda o: (lambda name, levels: o("contr.SAS" if name == "contr.treatment" else name, levels))),
)
