"""``pyreterms.explain``: lme4's construction of one model, step by step, for someone porting lme4
(R: ``lme4::lFormula`` / ``mkReTrms`` / ``mkBlist``, and with ``fit=True`` ``lme4::lmer``, ``getME``,
``fixef``, ``ranef``, ``coef``).

Modules: :mod:`.rprint` (R's and Matrix's printed forms), :mod:`.steps` (steps and checked
identities), :mod:`.walkthrough` (the steps), :mod:`.subset` (``--subset``), :mod:`.render`
(text / markdown / html), :mod:`.plots` (matplotlib pictures), :mod:`.condvar` (conditional
variances for the caterpillar plot).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from pyreterms.datasets import dataset_info, list_datasets, load_data
from pyreterms.design.lformula import lformula
from pyreterms.design.model import LFormula
from pyreterms.errors import DataError
from pyreterms.lmm.fit import LmerFit, lmer

from .plots import write_plots
from .render import render
from .steps import Check, IdentityError, Step
from .subset import subset_rows
from .walkthrough import Builder, Limits, assembly_steps, fit_steps, frame_steps, term_steps

__all__ = ["explain", "Explanation", "Step", "Check", "IdentityError", "Limits"]


@dataclass(frozen=True)
class Explanation:
    """What :func:`explain` returns: the steps (each with its R code, object, text and checks), the
    ``LFormula`` and, when fitted, the ``LmerFit``; ``plots`` maps picture names to PNG paths."""

    formula: str
    data_r: str
    steps: tuple[Step, ...]
    lf: LFormula
    fit: LmerFit | None
    plots: tuple[tuple[str, str], ...] = ()
    plot_notes: tuple[str, ...] = ()

    def step(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(f"no step {key!r}; steps: {', '.join(s.key for s in self.steps)}")

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for s in self.steps for c in s.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def render(self, format: str = "text") -> str:

        return render(self, format)


def _r_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def data_r_code(name: str | None, subset: str | None) -> str:
    """The R expression for the data: a built-in data set (``lme4::sleepstudy``) or a CSV file."""
    if name is None:
        base = "d"
    elif os.path.exists(name) and name not in _builtin():
        base = f"read.csv({_r_string(name)}, stringsAsFactors = TRUE)"
    else:

        base = f"{dataset_info(name).get('package', 'lme4')}::{name}"
    return f"subset({base}, {subset})" if subset else base


def _builtin() -> list[str]:

    return list_datasets()


def explain(formula: str, data: pd.DataFrame | str, *, subset: str | None = None, term: int | None = None,
            fit: bool = False, REML: bool = True, data_name: str | None = None, limits: Limits | None = None,
            plots_dir: str | None = None, strict: bool = True) -> Explanation:
    """Walk through lme4's construction of ``formula`` on ``data`` (a data frame, a built-in data set
    name or a CSV path).  ``subset`` is R's ``subset(data, EXPR)``, evaluated as ``lformula(subset=)``
    evaluates it (see :mod:`pyreterms.explainer.subset`); ``term`` (1-based, in the formula's ``findbars`` order)
    limits the per-term steps to one term; ``fit`` adds ``lmer``'s u, b, beta and ``coef()``;
    ``plots_dir`` writes the pictures there (and fits the model for them).  Every printed identity
    is checked; with ``strict`` a failed one raises :class:`IdentityError`."""
    if isinstance(data, str):
        data_name = data_name or data
        data = load_data(data)
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, a built-in data set name or a CSV path, "
                                  f"not {type(data).__name__}")
    if subset:
        data = subset_rows(data, subset)
    lf = lformula(formula, data, REML=REML)
    nterms = len(lf.reTrms.terms)
    if term is not None and not (1 <= int(term) <= nterms):
        raise DataError(f"--term {term}: the formula has {nterms} random-effects term"
                                  f"{'' if nterms == 1 else 's'} (1..{nterms})")
    b = Builder(lf, limits or Limits())
    f_r, d_r = "f", "d"
    b.steps.append(Step("setup", "Setting up in R", f"library(lme4)\nf <- {lf.formula}\n"
                                                    f"d <- {data_r_code(data_name, subset)}", None,
                        f"formula: {lf.formula}\nn = {lf.fr.n}, p = {lf.X.X.shape[1]}, q = {lf.reTrms.q}, "
                        f"{nterms} random-effects term{'' if nterms == 1 else 's'}",
                        "the R code of every step below runs in this session, in order"))
    frame_steps(b, f_r, d_r)
    for k in range(nterms):
        if term is None or k == int(term) - 1:
            term_steps(b, k)
    assembly_steps(b)
    fitted = None
    if fit or plots_dir:
        fitted = lmer(formula, data, REML=REML)
        if fit:
            fit_steps(b, fitted, f_r, d_r)
    ex = Explanation(lf.formula, data_r_code(data_name, subset), tuple(b.steps), lf, fitted)
    if strict and ex.failed:
        bad = ex.failed[0]
        raise IdentityError(f"identity failed: {bad.identity}: {bad.detail}")
    if plots_dir and fitted is not None:  # (plots_dir always fits the model above)
        made, notes = write_plots(lf, fitted, plots_dir)
        ex = Explanation(ex.formula, ex.data_r, ex.steps, ex.lf, ex.fit, tuple(made), tuple(notes))
    return ex
