"""Deliberately broken implementations, to prove that ``parity fuzz`` catches real mistakes.

Each mutant has the implementation contract of :mod:`parity.adapter.pyreterms_lformula` (``fn(formula, data, *, REML,
level, weights, offset, contrasts) -> dict``) and wraps :func:`parity.adapter.pyreterms_lformula.pyreterms_impl` (or
pyreterms internals), changing one thing lme4 1.1-31 does.  Use one with
``parity fuzz --impl parity.campaigns.mutants:lind_off_by_one``.  :data:`MUTANTS` lists them with the level
at which they are observable and the smallest design that can show them.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

import pyreterms
from parity.adapter.pyreterms_lformula import LF, lformula_components, pyreterms_impl
from parity.adapter.rbuild import dbl_vector as _dbl
from parity.adapter.rbuild import int_vector as _int
from parity.campaigns.mutants_patch import PATCH_MUTANTS, make_mutant
from parity.r.values import RList, RSparse, RValue, RVector
from pyreterms.design.lformula import parse_formula
from pyreterms.design.reterms import mk_reterms
from pyreterms.formula.bars import findbars

__all__ = ["MUTANTS", "Mutant", "ties_formula_order", "lind_off_by_one", "theta_row_major",
           "zeros_kept_in_zt", "reml_ml_swapped", "na_slope_as_zero", *(m[0] for m in PATCH_MUTANTS)]


def _lformula(formula: str, data: pd.DataFrame, REML: bool, weights, offset, contrasts):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyreterms.lformula(formula, data, REML, weights=weights, offset=offset, contrasts=contrasts)


def _term_sizes(out: dict[str, RValue]) -> list[tuple[int, int]]:
    """(nc, nl) per term in lme4's (reordered) order, read from ``cnms`` and ``Gp``."""
    cnms = out[f"{LF}$reTrms$cnms"]
    gp = np.asarray(out[f"{LF}$reTrms$Gp"].x)  # type: ignore[union-attr]
    ncs = [len(v.x) for _, v in cnms]  # type: ignore[union-attr]
    return [(nc, int(gp[i + 1] - gp[i]) // nc) for i, nc in enumerate(ncs)]


def ties_formula_order(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "lformula",
                       weights=None, offset=None, contrasts=None, theta=None) -> dict[str, RValue]:
    """Terms reordered by a *stable* descending sort (ties keep formula order) instead of lme4's
    ``rev(order(nl))`` (ties reversed) -- R: ``mkReTrms(..., reorder.terms = TRUE)``.  Observable
    with >= 3 terms, some level count increasing and two distinguishable tied terms."""
    out = pyreterms_impl(formula, data, REML=REML, level=level, weights=weights, offset=offset, contrasts=contrasts,
                         theta=theta)
    lf = _lformula(formula, data, REML, weights, offset, contrasts)
    rt = lf.reTrms
    nl = [0] * len(rt.terms)
    for k, t in zip(rt.formula_order, rt.terms, strict=False):
        nl[k] = t.nl
    if not any(b > a for a, b in zip(nl, nl[1:], strict=False)):
        return out
    order = sorted(range(len(nl)), key=lambda k: -nl[k])
    bars = findbars(parse_formula(formula).argv[1])
    new = lformula_components(replace(lf, reTrms=mk_reterms([bars[k] for k in order], lf.fr)))
    mm = f"lme4:::mmList(formula, {LF}$fr)"
    out.update({k: v for k, v in new.items() if k.startswith(f"{LF}$reTrms") or k.startswith("attr(") or
                k.startswith("lapply(")})
    out[mm] = lformula_components(lf)[mm]
    return out


def lind_off_by_one(formula: str, data: pd.DataFrame, **kw) -> dict[str, RValue]:
    """``Lind`` of every term after the first starts one theta too early (``thoff - 1``) --
    R: the ``Lind`` loop of ``mkReTrms``.  Observable with >= 2 terms."""
    out = pyreterms_impl(formula, data, **kw)
    key = f"{LF}$reTrms$Lind"
    if key not in out:
        return out
    sizes = _term_sizes(out)
    lind = np.asarray(out[key].x).copy()  # type: ignore[union-attr]
    first = sizes[0][1] * sizes[0][0] * (sizes[0][0] + 1) // 2 if sizes else len(lind)
    lind[first:] -= 1
    out[key] = _int(lind)
    return out


def _cm_to_rm(nc: int) -> np.ndarray:
    """Position in row-major lower-triangle order of each column-major position."""
    cm = [(r, c) for c in range(nc) for r in range(c, nc)]
    rm = {(r, c): k for k, (r, c) in enumerate((r, c) for r in range(nc) for c in range(r + 1))}
    return np.array([rm[p] for p in cm])


def theta_row_major(formula: str, data: pd.DataFrame, **kw) -> dict[str, RValue]:
    """theta (and lower, Lind) enumerate each term's lower triangle row by row instead of column by
    column -- R: ``mkReTrms``' ``rowIndices``/``colIndices`` enumeration.  For nc = 2 both orders
    coincide, so this is observable only with a term of nc >= 3 (e.g. ``(x + z | g)``)."""
    out = pyreterms_impl(formula, data, **kw)
    keys = (f"{LF}$reTrms$theta", f"{LF}$reTrms$lower", f"{LF}$reTrms$Lind")
    if any(k not in out for k in keys):
        return out
    theta, lower = (np.asarray(out[k].x, dtype=float).copy() for k in keys[:2])  # type: ignore[union-attr]
    lind = np.asarray(out[keys[2]].x).copy()  # type: ignore[union-attr]
    th_new, lo_new, li_new = theta.copy(), lower.copy(), lind.copy()
    thoff = pos = 0
    for nc, nl in _term_sizes(out):
        m = nc * (nc + 1) // 2
        perm = _cm_to_rm(nc)
        th_new[thoff + perm] = theta[thoff:thoff + m]
        lo_new[thoff + perm] = lower[thoff:thoff + m]
        seg = slice(pos, pos + m * nl)
        li_new[seg] = thoff + perm[lind[seg] - 1 - thoff] + 1
        thoff, pos = thoff + m, pos + m * nl
    out[keys[0]], out[keys[1]], out[keys[2]] = _dbl(th_new), _dbl(lo_new), _int(li_new)
    return out


def _zt_with_zeros(t) -> sp.csc_matrix:
    n, p = t.Xi.shape
    ok = t.ff.codes >= 0
    rows = (t.ff.codes[:, None] * p + np.arange(p)[None, :])[ok].ravel()
    indptr = np.concatenate([[0], np.cumsum(np.where(ok, p, 0))]).astype(np.int64)
    return sp.csc_matrix((t.Xi[ok].ravel(), rows, indptr), shape=(t.ff.nlevels * p, n))


def zeros_kept_in_zt(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "lformula",
                     weights=None, offset=None, contrasts=None, theta=None) -> dict[str, RValue]:
    """Exact zeros of X_i stored as explicit entries of ``Zt``/``Ztlist`` (no ``drop0``) -- R:
    ``KhatriRao`` + ``drop0`` in ``mkReTrms``.  Observable with a zero in a slope column (a numeric
    zero or a factor slope's dummy zeros)."""
    out = pyreterms_impl(formula, data, REML=REML, level=level, weights=weights, offset=offset, contrasts=contrasts,
                         theta=theta)
    zt = out.get(f"{LF}$reTrms$Zt")
    if not isinstance(zt, RSparse):
        return out
    lf = _lformula(formula, data, REML, weights, offset, contrasts)
    parts = [_zt_with_zeros(t) for t in lf.reTrms.terms]
    out[f"{LF}$reTrms$Zt"] = RSparse(sp.vstack(parts, format="csc"), zt.rownames, zt.colnames)
    old = out[f"{LF}$reTrms$Ztlist"]
    out[f"{LF}$reTrms$Ztlist"] = RList(tuple((k, RSparse(z, v.rownames, v.colnames))
                                             for (k, v), z in zip(old.items, parts, strict=False)))  # type: ignore[union-attr]
    return out


def reml_ml_swapped(formula: str, data: pd.DataFrame, *, REML: bool = True, **kw) -> dict[str, RValue]:
    """Fits by ML when asked for REML and vice versa -- R: ``lmer(REML = )``.  Observable at the fit
    level only (lFormula() does not depend on REML)."""
    return pyreterms_impl(formula, data, REML=not REML, **kw)


_BAR_LHS = re.compile(r"\(([^()|]*)\|\|?")


def na_slope_as_zero(formula: str, data: pd.DataFrame, **kw) -> dict[str, RValue]:
    """A row with NA in a random-slope covariate is kept with the value 0 instead of being dropped
    -- R: ``model.frame(..., na.action = na.omit)`` in ``lFormula``.  Observable when a slope
    covariate has an NA in an otherwise complete row."""
    names = {v for m in _BAR_LHS.finditer(formula) for v in re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", m.group(1))}
    d = data.copy()
    for v in names & set(d.columns):
        if pd.api.types.is_float_dtype(d[v].dtype):
            d[v] = d[v].fillna(0.0)
    return pyreterms_impl(formula, d, **kw)


def without(component: str) -> Callable[..., dict[str, RValue]]:
    """pyreterms lacking one component (a missing component must be a disagreement, never a pass)."""

    def impl(formula: str, data: pd.DataFrame, **kw: Any) -> dict[str, RValue]:
        out = pyreterms_impl(formula, data, **kw)
        del out[component]
        return out

    return impl


def shifted(component: str, by: int = -1) -> Callable[..., dict[str, RValue]]:
    """pyreterms with an integer vector component shifted by ``by`` (e.g. ``Lind`` off by one everywhere)."""

    def impl(formula: str, data: pd.DataFrame, **kw: Any) -> dict[str, RValue]:
        out = pyreterms_impl(formula, data, **kw)
        v = out[component]
        assert isinstance(v, RVector)
        out[component] = RVector(v.x + by, v.names, v.kind)
        return out

    return impl


def one_cell_scaled(component: str, k: int, factor: float = 1.001) -> Callable[..., dict[str, RValue]]:
    """pyreterms with the ``k``-th stored value (0-based; R's ``@x[k + 1]``) of a sparse component
    multiplied by ``factor``: a one-cell disagreement."""

    def impl(formula: str, data: pd.DataFrame, **kw: Any) -> dict[str, RValue]:
        out = pyreterms_impl(formula, data, **kw)
        z = out[component]
        assert isinstance(z, RSparse)
        x = z.x.tocsc(copy=True)
        x.sort_indices()
        x.data[k] *= factor
        out[component] = replace(z, x=x)
        return out

    return impl


@dataclass(frozen=True)
class Mutant:
    """A mutant and what it takes to see it: ``level``, ``max_bars`` (the natural bound on the
    shrunk design's bar terms) and ``components`` (any one of them must disagree)."""

    name: str
    fn: object
    level: str
    max_bars: int
    components: tuple[str, ...]  # empty: any component (the test checks pyreterms agrees there)

    @property
    def spec(self) -> str:
        return f"parity.campaigns.mutants:{self.name}"


_ZT = (f"{LF}$reTrms$Zt", f"{LF}$reTrms$Ztlist")
MUTANTS: tuple[Mutant, ...] = (
    Mutant("ties_formula_order", ties_formula_order, "lformula", 3,
           _ZT + (f"{LF}$reTrms$cnms", f"{LF}$reTrms$Lambdat", f"{LF}$reTrms$flist", f"{LF}$reTrms$Gp",
                  f"{LF}$reTrms$nl", f"{LF}$reTrms$theta", f"{LF}$reTrms$Lind",
                  f'attr({LF}$reTrms$flist, "assign")')),
    Mutant("lind_off_by_one", lind_off_by_one, "lformula", 2, (f"{LF}$reTrms$Lind",)),
    Mutant("theta_row_major", theta_row_major, "lformula", 1,
           (f"{LF}$reTrms$theta", f"{LF}$reTrms$lower", f"{LF}$reTrms$Lind")),
    Mutant("zeros_kept_in_zt", zeros_kept_in_zt, "lformula", 1, _ZT),
    Mutant("reml_ml_swapped", reml_ml_swapped, "fit", 1,
           ('getME(fit, "REML")', 'getME(fit, "is_REML")', "devfun(theta)", "REMLcrit(fit)")),
    Mutant("na_slope_as_zero", na_slope_as_zero, "lformula", 1,
           (f"{LF}$fr", f"rownames({LF}$fr)", f"{LF}$X", f"{LF}$reTrms$Zt")),
)

for _name, _level, _doc, _target, _make in PATCH_MUTANTS:
    globals()[_name] = make_mutant(_name, _doc, _target, _make)
    MUTANTS += (Mutant(_name, globals()[_name], _level, 4, ()),)
