"""The one component registry: every value the harness compares, named by the R expression that
computes it, with its tolerance class, whether it is an optimizer output, and its level.

R equivalent: the names of ``pyreterms_reference()``'s result in ``r_scripts/reference.R`` (the R side
produces exactly these: ``tests/live/test_components_registry.py`` checks it against live R, and
``tests/unit/test_components_registry_consistency.py`` against
the pyreterms adapter).  The registry is the one place that classifies components:
:mod:`parity.compare.tolerances` takes the tolerance from it, :mod:`parity.adapter.pyreterms_fit` the
optimizer outputs, :mod:`parity.compare.check` the required components, and the reports the
conditions that are shown rather than compared.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Component", "COMPONENTS", "TOLERANCE_CLASSES", "KINDS", "LEVELS", "FAMILIES", "lookup", "names",
           "optimizer_outputs", "required", "meta_names", "is_rule_input", "DEVFUN_ONLY",
           "VERBOSE_OUTPUT"]

#: the tolerance classes (the numbers are :data:`parity.compare.tolerances.TOLERANCE_OF_CLASS`)
TOLERANCE_CLASSES = ("exact", "data", "at_theta", "pls", "optimum", "at_lme4_theta", "info", "criterion",
                     "at_lme4_pars", "hessian")
#: value: compared; condition: warnings/messages (compared as text, listed apart); r-condition: shown
#: from R only; harness: an input of parity's own rules (never compared); error: a refusal
KINDS = ("value", "condition", "r-condition", "harness", "error")
LEVELS = ("lformula", "fit", "glformula", "glmer")
#: the levels each level includes (a fit is compared with its formula's components too)
LEVEL_INCLUDES: dict[str, tuple[str, ...]] = {"lformula": ("lformula",), "fit": ("lformula", "fit"),
                                             "glformula": ("glformula",), "glmer": ("glformula", "glmer")}


@dataclass(frozen=True)
class Component:
    """One component: ``name`` is the R expression (e.g. ``lFormula()$reTrms$Zt``)."""

    name: str
    level: str
    tolerance: str
    optimizer_output: bool = False
    required: bool = False
    kind: str = "value"
    #: produced only when the case's lmer call has this argument (e.g. ``devFunOnly``); then both
    #: sides must produce it (a missing side fails, as for any component)
    only_with: str = ""


def _c(name: str, level: str, tolerance: str, *, optimizer_output: bool = False, required: bool = False,
       kind: str = "value", only_with: str = "") -> Component:
    assert tolerance in TOLERANCE_CLASSES and level in LEVELS and kind in KINDS, name
    return Component(name, level, tolerance, optimizer_output, required, kind, only_with)


#: the GLMM levels (R: ``glFormula()`` and ``glmer()``, r_scripts/glmm_reference.R): the fit is ``gfit``
#: so that no name is shared with the LMM level; every at-parameter value is pyreterms' ``glmer_at`` at
#: lme4's ``opt$par`` (c(theta, beta)); theta, beta and the criteria are each side's own optimum
_GF = "glFormula()"
GLMM_COMPONENTS: tuple[Component, ...] = (
    _c(f'{_GF}$fr', 'glformula', 'data'),
    _c(f'rownames({_GF}$fr)', 'glformula', 'exact'),
    _c(f'{_GF}$X', 'glformula', 'data', required=True),
    _c(f'attr({_GF}$X, "assign")', 'glformula', 'exact'),
    _c(f'{_GF}$reTrms$Zt', 'glformula', 'data', required=True),
    _c(f'{_GF}$reTrms$Ztlist', 'glformula', 'data'),
    _c(f'{_GF}$reTrms$Lambdat', 'glformula', 'exact', required=True),
    _c(f'{_GF}$reTrms$Lind', 'glformula', 'exact', required=True),
    _c(f'{_GF}$reTrms$theta', 'glformula', 'exact', required=True),
    _c(f'{_GF}$reTrms$lower', 'glformula', 'exact', required=True),
    _c(f'{_GF}$reTrms$Gp', 'glformula', 'exact', required=True),
    _c(f'{_GF}$reTrms$cnms', 'glformula', 'exact', required=True),
    _c(f'{_GF}$reTrms$flist', 'glformula', 'exact', required=True),
    _c(f'{_GF}$reTrms$nl', 'glformula', 'exact'),
    _c(f'{_GF}$formula', 'glformula', 'data'),
    _c(f'mkRespMod({_GF}$fr, family)$y', 'glformula', 'data', required=True),
    _c(f'mkRespMod({_GF}$fr, family)$weights', 'glformula', 'data', required=True),
    _c(f'mkRespMod({_GF}$fr, family)$offset', 'glformula', 'data', required=True),
    _c(f'mkRespMod({_GF}$fr, family)$n', 'glformula', 'data'),
    _c('glFormula(): warnings', 'glformula', 'exact', kind='condition'),
    _c('glFormula(): messages', 'glformula', 'exact', kind='condition'),
    _c('glmer(): warnings', 'glmer', 'exact', kind='condition'),
    _c('glmer(): messages', 'glmer', 'exact', kind='condition'),
    _c('getME(gfit, "theta")', 'glmer', 'optimum', optimizer_output=True, required=True),
    _c('getME(gfit, "beta")', 'glmer', 'optimum', optimizer_output=True, required=True),
    _c('fixef(gfit)', 'glmer', 'optimum', optimizer_output=True),
    _c('ranef(gfit)', 'glmer', 'at_lme4_pars', required=True),
    _c('postVar(ranef(gfit, condVar = TRUE))', 'glmer', 'at_lme4_pars'),
    _c('coef(gfit)', 'glmer', 'at_lme4_pars'),
    _c('as.data.frame(VarCorr(gfit))', 'glmer', 'at_lme4_pars'),
    _c('sigma(gfit)', 'glmer', 'at_lme4_pars'),
    _c('deviance(gfit)', 'glmer', 'criterion', optimizer_output=True),
    _c('logLik(gfit)', 'glmer', 'criterion', optimizer_output=True, required=True),
    _c('attr(logLik(gfit), "df")', 'glmer', 'exact'),
    _c('AIC(gfit)', 'glmer', 'criterion', optimizer_output=True),
    _c('BIC(gfit)', 'glmer', 'criterion', optimizer_output=True),
    _c('fitted(gfit)', 'glmer', 'at_lme4_pars', required=True),
    _c('residuals(gfit, type = "deviance")', 'glmer', 'at_lme4_pars'),
    _c('residuals(gfit, type = "pearson")', 'glmer', 'at_lme4_pars'),
    _c('residuals(gfit, type = "working")', 'glmer', 'at_lme4_pars'),
    _c('residuals(gfit, type = "response")', 'glmer', 'at_lme4_pars'),
    _c('predict(gfit, type = "link")', 'glmer', 'at_lme4_pars', required=True),
    _c('predict(gfit, type = "response")', 'glmer', 'at_lme4_pars'),
    _c('vcov(gfit)', 'glmer', 'hessian', required=True),
    _c('getME(gfit, "u")', 'glmer', 'at_lme4_pars'),
    _c('getME(gfit, "b")', 'glmer', 'at_lme4_pars'),
    _c('getME(gfit, "mu")', 'glmer', 'at_lme4_pars'),
    _c('isSingular(gfit)', 'glmer', 'exact', optimizer_output=True),
    _c('gfit@optinfo$conv$lme4$messages', 'glmer', 'exact', optimizer_output=True),
    _c('harness: pars', 'glmer', 'exact', kind='harness'),
    _c('harness: fval', 'glmer', 'exact', kind='harness'),
    _c('harness: lp0', 'glmer', 'exact', kind='harness'),
    _c('harness: Hessian', 'glmer', 'exact', kind='harness'),
    _c('gdevfun(pars)', 'glmer', 'at_lme4_pars', required=True),
)


_ALL: tuple[Component, ...] = (
    _c('lFormula()$fr', 'lformula', 'data'),
    _c('rownames(lFormula()$fr)', 'lformula', 'exact'),
    _c('lFormula()$X', 'lformula', 'data', required=True),
    _c('attr(lFormula()$X, "assign")', 'lformula', 'exact'),
    _c('attr(lFormula()$X, "col.dropped")', 'lformula', 'exact'),
    _c('lFormula()$reTrms$Zt', 'lformula', 'data', required=True),
    _c('lFormula()$reTrms$Ztlist', 'lformula', 'data'),
    _c('lFormula()$reTrms$Lambdat', 'lformula', 'exact', required=True),
    _c('lFormula()$reTrms$Lind', 'lformula', 'exact', required=True),
    _c('lFormula()$reTrms$theta', 'lformula', 'exact', required=True),
    _c('lFormula()$reTrms$lower', 'lformula', 'exact'),
    _c('lFormula()$reTrms$Gp', 'lformula', 'exact', required=True),
    _c('lFormula()$reTrms$cnms', 'lformula', 'exact', required=True),
    _c('lFormula()$reTrms$flist', 'lformula', 'exact', required=True),
    _c('attr(lFormula()$reTrms$flist, "assign")', 'lformula', 'exact'),
    _c('lFormula()$reTrms$nl', 'lformula', 'exact'),
    _c('lapply(reTrms$flist[assign], function(f) t(fac2sparse(f)))', 'lformula', 'exact'),
    _c('lme4:::mmList(formula, lFormula()$fr)', 'lformula', 'data'),
    _c('lFormula()$formula', 'lformula', 'data'),
    _c('warnings', 'lformula', 'exact', kind='condition'),
    _c('messages', 'lformula', 'exact', kind='condition'),
    _c('extraction: warnings', 'lformula', 'exact', kind='r-condition'),
    _c('lmer(): warnings', 'fit', 'exact', kind='condition'),
    _c('lmer(): messages', 'fit', 'exact', kind='condition'),
    _c('getME(fit, "X")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "Z")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "Zt")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "Ztlist")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "mmList")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "y")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "mu")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "u")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "b")', 'fit', 'at_lme4_theta', required=True),
    _c('getME(fit, "Gp")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "Tp")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "Lambda")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "Lambdat")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "Lind")', 'fit', 'exact'),
    _c('getME(fit, "Tlist")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "A")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "RX")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "sigma")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "flist")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "fixef")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "beta")', 'fit', 'at_lme4_theta', required=True),
    _c('getME(fit, "theta")', 'fit', 'optimum', optimizer_output=True, required=True),
    _c('getME(fit, "ST")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "REML")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "is_REML")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "n_rtrms")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "n_rfacs")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "N")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "n")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "p")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "q")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "p_i")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "l_i")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "q_i")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "k")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "m_i")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "m")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "cnms")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "devcomp")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "offset")', 'fit', 'at_lme4_theta'),
    _c('getME(fit, "lower")', 'fit', 'exact'),
    _c('attr(getME(fit, "flist"), "assign")', 'fit', 'exact'),
    _c('ldL2(getME(fit, "L"))', 'fit', 'at_lme4_theta'),
    _c('crossprod(getME(fit, "RZX"))', 'fit', 'at_lme4_theta'),
    _c('fixef(fit)', 'fit', 'at_lme4_theta'),
    _c('ranef(fit)', 'fit', 'at_lme4_theta'),
    _c('postVar(ranef(fit, condVar = TRUE))', 'fit', 'at_lme4_theta'),
    _c('coef(fit)', 'fit', 'at_lme4_theta'),
    _c('as.data.frame(VarCorr(fit))', 'fit', 'at_lme4_theta'),
    _c('sigma(fit)', 'fit', 'at_lme4_theta'),
    _c('logLik(fit)', 'fit', 'criterion', optimizer_output=True),
    _c('attr(logLik(fit), "df")', 'fit', 'exact'),
    _c('deviance(fit)', 'fit', 'criterion', optimizer_output=True),
    _c('deviance(fit, REML = FALSE)', 'fit', 'criterion'),
    _c('REMLcrit(fit)', 'fit', 'criterion', optimizer_output=True),
    _c('AIC(fit)', 'fit', 'criterion', optimizer_output=True),
    _c('BIC(fit)', 'fit', 'criterion', optimizer_output=True),
    _c('fitted(fit)', 'fit', 'at_lme4_theta'),
    _c('residuals(fit)', 'fit', 'at_lme4_theta'),
    _c('isSingular(fit)', 'fit', 'exact', optimizer_output=True),
    _c('vcov(fit)', 'fit', 'at_lme4_theta'),
    _c('predict(fit)', 'fit', 'at_lme4_theta'),
    _c('predict(fit, re.form = NA)', 'fit', 'at_lme4_theta'),
    _c('predict(fit, newdata = nd, allow.new.levels = TRUE)', 'fit', 'at_lme4_theta'),
    _c('predict(fit, newdata = nd, re.form = NA)', 'fit', 'at_lme4_theta'),
    _c('simulate(fit, nsim = 2, seed = 101)', 'fit', 'at_lme4_theta'),
    _c('hatvalues(fit)', 'fit', 'at_lme4_theta'),
    _c('confint(fit, method = "Wald")', 'fit', 'at_lme4_theta'),
    _c('anova(fit)', 'fit', 'at_lme4_theta'),
    _c('coef(summary(fit))', 'fit', 'at_lme4_theta'),
    _c('predict(fit, re.form = rf)', 'fit', 'at_lme4_theta'),
    _c('predict(fit, newdata = ndv, re.form = rf, allow.new.levels = TRUE)', 'fit', 'at_lme4_theta'),
    _c('fit@optinfo$feval', 'fit', 'info', optimizer_output=True),
    _c('fit@optinfo$conv$lme4$messages', 'fit', 'exact', optimizer_output=True),
    _c('fit@optinfo$warnings', 'fit', 'exact', optimizer_output=True),
    _c('fit@optinfo$conv$opt', 'fit', 'exact', optimizer_output=True),
    _c('fit@optinfo$message', 'fit', 'info', optimizer_output=True),
    _c('harness: weights(fit)', 'fit', 'exact', kind='harness'),
    _c('devfun(theta)', 'fit', 'at_theta', required=True),
    _c('devfun(theta); pp$beta(1)', 'fit', 'pls'),
    _c('devfun(theta); pp$u(1)', 'fit', 'pls'),
    _c('devfun(theta); pp$b(1)', 'fit', 'pls'),
    _c('devfun(theta); resp$mu', 'fit', 'pls'),
    _c('devfun(theta); pp$ldL2()', 'fit', 'pls'),
    _c('devfun(theta); pp$ldRX2()', 'fit', 'pls'),
    _c('devfun(theta); pp$sqrL(1)', 'fit', 'pls'),
    _c('devfun(theta); resp$wrss()', 'fit', 'pls'),
    _c('devfun(theta); pwrss', 'fit', 'pls'),
    _c("error", "lformula", "exact", kind="error"),
    # lmer(devFunOnly = TRUE) (a case whose call says so): the returned function's values at lme4's
    # fitted theta, theta/2, 2*theta and lFormula's start theta, in that order
    _c(DEVFUN_ONLY := "vapply(list(theta, theta/2, 2*theta, lFormula()$reTrms$theta), lmer(devFunOnly = TRUE), 0)",
       "fit", "at_theta", only_with="devFunOnly"),
    # lmer(verbose = N) (a case whose call says so): the optimizer's printed lines (nloptwrap's
    # "iteration: k" / "f(x) = ...", Nelder_Mead's "(NM) k: f = ... at ..."), compared as text
    _c(VERBOSE_OUTPUT := "capture.output(lmer(..., verbose = N))", "fit", "exact", only_with="verbose"),
    *GLMM_COMPONENTS,
)

#: name -> component
COMPONENTS: dict[str, Component] = {c.name: c for c in _ALL}

#: components R computes at extra points, for parity's rules (never compared one by one): the PLS state
#: at ``thetas[[k]]``, the criteria of a fit moved there, and lme4 refitted with a noisy devfun
FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^devfun\(thetas\[\[\d+\]\]\)"), "devfun(thetas[[k]]) and its PLS state"),
    (re.compile(r"^at\(thetas\[\[\d+\]\]\): "), "the criteria at thetas[[k]]"),
    (re.compile(r"^lmer\(noisy devfun \d+\): "), "lme4 refitted with a noisy deviance function"),
    (re.compile(r"^gdevfun\(pars\[\[\d+\]\]\)"), "lme4's glmer devfun at pars[[k]] and the deviance there"),
    (re.compile(r"^harness: converged gdevfun\(pars(\[\[\d+\]\])?\)$"),
     "lme4's glmer devfun with tolPwrss tightened, at opt$par and pars[[k]] (GLMM explanations)"),
    (re.compile(r"^harness: devfun0\(at\[\[\d+\]\]\)$"), "lme4's nAGQ = 0 devfun at given thetas (GLMM explanations)"),
    (re.compile(r"^harness: stage1 theta$"), "lme4's stage-1 opt$par (GLMM explanations)"),
)


def lookup(name: str) -> Component | None:
    """The registered component called ``name`` (None for a rule input or an unknown name)."""
    return COMPONENTS.get(name)


def is_rule_input(name: str) -> bool:
    """Whether ``name`` belongs to one of :data:`FAMILIES`."""
    return any(p.match(name) for p, _ in FAMILIES)


def names(level: str, kind: str | None = "value", with_args: Iterable[str] = ()) -> tuple[str, ...]:
    """The components R produces at ``level`` (``fit`` includes ``lformula``'s), of one kind (None: all),
    for an lmer call with the arguments ``with_args`` (those of :attr:`Component.only_with`)."""
    levels = LEVEL_INCLUDES[level]
    extra = set(with_args)
    return tuple(c.name for c in _ALL if c.level in levels and (kind is None or c.kind == kind)
                 and (not c.only_with or c.only_with in extra))


def optimizer_outputs() -> tuple[str, ...]:
    """The optimizer's own outputs (compared at each side's optimum, with optimizer tolerances)."""
    return tuple(c.name for c in _ALL if c.optimizer_output)


def required(level: str) -> set[str]:
    """Components both sides must have at ``level`` (so an empty answer can never pass)."""
    return {n for n in names(level) if COMPONENTS[n].required}


def meta_names() -> set[str]:
    """The components that are not values: conditions, refusals, harness inputs."""
    return {c.name for c in _ALL if c.kind != "value"}


def in_order(component_names: Iterable[str]) -> list[str]:
    """``component_names`` in the registry's order (lme4's: the order ``reference.R`` returns them); names
    the registry does not know keep their given order, after the known ones (for reports: never sorted
    alphabetically)."""
    pos = {n: k for k, n in enumerate(COMPONENTS)}
    given = list(component_names)
    return sorted(given, key=lambda n: (pos.get(n, len(pos)), given.index(n)))
