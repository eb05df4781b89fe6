"""formulae's design matrices (the formula library of bambi) as an implementation under parity's
contract at the ``lformula`` level (``--impl parity.audit.formulae_adapter:fit``).

R equivalent: ``lme4::lFormula(formula, data)``: its fixed-effects ``X`` and the random-effects
design ``reTrms$Zt``.  formulae reads the lme4 formula itself (``design_matrices(formula, data)``);
the adapter only re-arranges what formulae returns into lme4's layout: formulae gives one block of
columns per ``expr|group`` (``1|g``, ``x|g``), lme4 one block per bar term with the columns of a level
adjacent (level-major), bar terms ordered by their number of levels, decreasing (lme4's mkReTrms).
Column labels ``x|g[level]`` say where each formulae column goes; names are translated (``f[b]`` ->
``fb``, a logical column ``lg`` -> ``lgTRUE``, ``Intercept`` -> ``(Intercept)``).

Compared where formulae claims the formula: bars whose grouping is one column and whose terms are
``1``/``0`` and numeric columns; fixed terms that are columns or ``a:b``.  ``||`` (which formulae
does not parse), functions, nested/interaction groupings, factor slopes, weights, offsets and
``contrasts=`` are refused as *not compared* (:class:`parity.impl.Unsupported`).
"""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..impl import Unsupported, r_matrix, r_sparse
from .lme4terms import Bar, r_levels, r_rownames, read_formula, split_plus

__all__ = ["fit", "check_supported", "LIBRARY", "r_name"]

LIBRARY = "formulae"


def check_supported(formula: str, data: pd.DataFrame) -> list[Bar]:
    """The bar terms of a formula formulae is audited on (Unsupported otherwise)."""
    if "||" in formula:
        raise Unsupported("'||' (formulae does not parse it)")
    f = read_formula(formula, data)
    if len(set(f.bars)) < len(f.bars):
        raise Unsupported("a repeated random-effects term")
    for b in f.bars:
        r_levels(data[b.group])  # Unsupported for groupings of doubles
    return list(f.bars)


def r_name(label: str, data: pd.DataFrame) -> str:
    """A formulae column label as R's model.matrix spells it."""
    def one(p: str) -> str:
        if p == "Intercept":
            return "(Intercept)"
        m = re.fullmatch(r"(.+?)\[(.*)\]", p)
        if m:
            return m.group(1) + m.group(2)
        if p in data.columns and pd.api.types.is_bool_dtype(data[p].dtype):
            return p + "TRUE"
        return p
    return ":".join(one(p) for p in label.split(":"))


def fit(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "lformula", weights=None,
        offset=None, contrasts=None, theta=None) -> dict:
    """formulae's X and Z in lme4's layout, under lme4's component names (module docs)."""
    from formulae import design_matrices

    if weights is not None or offset is not None or contrasts:
        raise Unsupported("weights, offsets and contrasts= are not part of formulae's design matrices")
    bars = check_supported(formula, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm = design_matrices(formula, data)
    used = _used(formula, data)
    keep = ~data[used].isna().any(axis=1).to_numpy()  # formulae drops incomplete rows, as model.frame does
    rown = [r for r, k in zip(r_rownames(data), keep) if k]
    common = dm.common.as_dataframe()
    out: dict[str, Any] = {"lFormula()$X": r_matrix(common.to_numpy(dtype=float),
                                                    (rown if len(common) == len(rown) else None,
                                                     [r_name(c, data) for c in common.columns]))}
    out["lFormula()$reTrms$Zt"] = _zt(dm.group, bars, data[keep], rown)
    return out


def _used(formula: str, data: pd.DataFrame) -> list[str]:
    names = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", formula))
    return [c for c in data.columns if c in names]


def _zt(group: Any, bars: list[Bar], data: pd.DataFrame, rown: list[str]):
    """lme4's Zt from formulae's group-specific matrix: terms by number of levels (decreasing,
    stable), within a term level-major; the columns of a level in the term's order."""
    Z = sp.csc_matrix(group.design_matrix)
    n = Z.shape[0]
    nlev = [len(r_levels(data[b.group])) for b in bars]
    order = sorted(range(len(bars)), key=lambda k: -nlev[k])
    blocks, rownames = [], []
    for k in order:
        b = bars[k]
        levels = r_levels(data[b.group])
        exprs = (["1"] if b.intercept else []) + list(b.cols)
        rows = []
        for lev in levels:
            for e in exprs:
                name = f"{e}|{b.group}"
                sl = group.slices.get(name)
                term = group.terms.get(name)
                if sl is None or term is None:
                    raise ValueError(f"formulae has no group-specific term {name!r} (it has {list(group.slices)})")
                labels = [str(g) for g in term.groups]
                rownames.append(lev)
                # a level formulae does not have: an all-zero row in lme4's layout (shows as a difference)
                rows.append(Z[:, sl.start + labels.index(lev)] if lev in labels else sp.csc_matrix((n, 1)))
        blocks.extend(rows)
    Zt = sp.hstack(blocks).T if blocks else sp.csc_matrix((0, n))
    return r_sparse(Zt, (rownames, rown if n == len(rown) else None))
