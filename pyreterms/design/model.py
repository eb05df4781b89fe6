"""The immutable values that flow through the pipeline (lme4: ``lFormula -> mkLmerDevfun -> ...``).

Field names that are compared with R keep lme4's spelling (``Zt``, ``Lambdat``, ``Lind``, ...).
Indices are 0-based in Python (``Lind``, ``assign``, ``Gp`` offsets); only ``parity/`` converts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from pyreterms.formula.deparse import unquote_symbol
from pyreterms.formula.predvars import Predvars
from pyreterms.formula.values import Factor


@dataclass(frozen=True)
class FixedX:
    """Fixed-effects model matrix (R: ``lFormula()$X``), after lme4's rank check."""

    X: np.ndarray  # n x p, float64
    colnames: tuple[str, ...]
    assign: tuple[int, ...]  # R's attr(X, "assign"): 0 = intercept, k = k-th term (1-based like R)
    col_dropped: tuple[tuple[str, int], ...] = ()  # (name, 1-based original position), as attr(X, "col.dropped")
    contrasts: tuple[tuple[str, str], ...] = ()  # factor name -> contrast function name, as attr(X, "contrasts")


@dataclass(frozen=True)
class ReTerm:
    """One random-effects term ``(expr | group)`` before reordering (lme4: one ``mkBlist`` result).

    ``J`` is J_i (n x l_i, the indicator of the grouping factor; R: ``t(fac2sparse(ff))``),
    ``Xi`` the raw model matrix X_i of ``~ expr`` (n x p_i; R: ``model.matrix(~expr, fr)``),
    ``Zt`` is Z_i^T = (J_i^T * X_i^T) (row-wise Khatri-Rao, paper eq. 6; R: ``KhatriRao(J^T, t(X_i))``).
    """

    name: str  # deparse1 of the bar term, e.g. "Days | Subject"
    group: str  # deparse1 of the grouping expression (barnames), e.g. "Subject", "b:a"
    ff: Factor
    J: sp.csc_matrix
    Xi: np.ndarray
    cnms: tuple[str, ...]
    Zt: sp.csc_matrix

    @property
    def nl(self) -> int:
        return self.ff.nlevels

    @property
    def nc(self) -> int:
        return len(self.cnms)


@dataclass(frozen=True)
class ReTrms:
    """R: ``lFormula()$reTrms`` (``mkReTrms``), every field in lme4's (reordered) term order."""

    Zt: sp.csc_matrix  # q x n, drop0-ed
    Zt_rownames: tuple[str, ...]
    Zt_colnames: tuple[str, ...]
    Ztlist: tuple[tuple[str, sp.csc_matrix], ...]  # (term name, Z_i^T)
    Lambdat: sp.csc_matrix  # q x q upper triangular at theta
    Lind: np.ndarray  # 0-based theta index of each stored entry of Lambdat (CSC order)
    theta: np.ndarray
    lower: np.ndarray
    Gp: np.ndarray
    cnms: tuple[tuple[str, tuple[str, ...]], ...]  # (group name, column names) per term
    flist: tuple[tuple[str, Factor], ...]  # unique grouping factors
    assign: np.ndarray  # 0-based index into flist, per term
    nl: tuple[tuple[str, int], ...]
    terms: tuple[ReTerm, ...]  # reordered, same order as Ztlist
    formula_order: tuple[int, ...]  # terms[k] was term formula_order[k] of findbars()
    #: per findbars() term, ``nlevels(eval(grouping expr, fr))`` as ``lme4:::mmList.formula`` computes it
    #: with base R (a non-factor counts 0; ``a:b`` of two factors counts all level combinations)
    mm_nl: tuple[int, ...] = ()

    @property
    def q(self) -> int:
        return int(self.Zt.shape[0])

    def theta_names(self) -> tuple[str, ...]:
        """lme4's ``tnames``: ``g.(Intercept)``, ``g.Days.(Intercept)``, ``g.Days`` ..."""
        out: list[str] = []
        for g, nms in self.cnms:
            for c in range(len(nms)):
                for r in range(c, len(nms)):
                    out.append(f"{g}.{nms[r]}" if r == c else f"{g}.{nms[r]}.{nms[c]}")
        return tuple(out)

    def mmList_order(self) -> tuple[int, ...]:
        """Order of ``getME(, "mmList")``: ``order(nl, decreasing = TRUE)`` on formula order (stable)
        when some level count increases, else formula order.  Returns formula-order indices."""
        nl_formula = [0] * len(self.terms)
        for k, t in zip(self.formula_order, self.terms, strict=False):
            nl_formula[k] = t.nl
        if self.mm_nl:
            nl_formula = list(self.mm_nl)
        if any(b > a for a, b in zip(nl_formula, nl_formula[1:], strict=False)):
            return tuple(sorted(range(len(nl_formula)), key=lambda k: -nl_formula[k]))
        return tuple(range(len(nl_formula)))


@dataclass(frozen=True)
class ModelFrame:
    """R: ``lFormula()$fr``: the model frame after NA removal and dropping unused levels.

    ``columns`` maps the deparsed variable text (``"Reaction"``, ``"log(x)"``, ``"poly(x, 2)"``,
    ``"(weights)"``) to a float64 vector, an n x k float64 matrix, or a :class:`Factor`.
    """

    columns: tuple[tuple[str, object], ...]
    rownames: tuple[str, ...]
    dropped_rows: tuple[str, ...] = ()  # row names removed by na.omit (attr(fr, "na.action"))
    na_action: str = "omit"  # R: class(attr(fr, "na.action")): "omit" | "exclude"
    #: R: ``attr(attr(fr, "terms"), "predvars")`` (lme4: ``predvars.fixed`` / ``predvars.random``): the
    #: constants of each data-dependent variable, by column name (:mod:`pyreterms.formula.predvars`)
    predvars: Predvars = ()

    def get(self, name: str) -> object:
        for k, v in self.columns:
            if k == name:
                return v
        bare = unquote_symbol(name)  # a term label `my x` names the column my x
        if bare is not None:
            return self.get(bare)
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.columns)

    @property
    def n(self) -> int:
        return len(self.rownames)


@dataclass(frozen=True)
class LFormula:
    """R: the value of ``lme4::lFormula(formula, data, REML, ...)``."""

    formula: str  # the formula after ``||`` expansion, deparsed like R's
    fr: ModelFrame
    y: np.ndarray | None  # None when the response is not numeric (lmer refuses it, lFormula does not)
    X: FixedX
    reTrms: ReTrms
    REML: bool
    weights: np.ndarray  # prior weights (ones if none)
    offset: np.ndarray  # model.offset(fr) (zeros if none)
    messages: tuple[str, ...] = field(default=())  # lme4 messages/warnings given on the way
