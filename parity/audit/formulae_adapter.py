"""formulae's design matrices (the formula library of bambi) as an implementation under parity's
contract at the ``lformula`` level (``--impl parity.audit.formulae_adapter:fit``).

R equivalent: ``lme4::lFormula(formula, data)``: its fixed-effects ``X`` and the random-effects
design ``reTrms$Zt``.  formulae reads the lme4 formula itself (``design_matrices(formula, data)``);
the adapter only places what formulae returns in lme4's layout: formulae gives one block of columns
per ``expr|group`` (``1|g``, ``x|g``, ``f|g``), each column labelled ``f[b]|g[p]:h[u]``; lme4 one block
per bar term, levels in its factor order, the columns of a level adjacent.  The layout (terms, their
grouping levels and column names, the rows kept) is taken from pyreterms' ``lformula`` (held equal
to lme4's by parity's own campaigns); each lme4 row takes the formulae column with the same term,
column name and level.  An lme4 row formulae has no column for is left out and a formulae column
with no lme4 row is appended at the end, so either shows as a difference in dimension.  Names are
translated (``f[b]`` -> ``fb``, a logical column ``lg`` -> ``lgTRUE``, ``Intercept`` ->
``(Intercept)``).

Compared where formulae claims the formula: bars whose terms are ``1``/``0``, columns (numeric,
factor, logical) and whose grouping is a column, ``g:h`` or ``g/h``; fixed terms that are columns or
``a:b``.  ``||`` (which formulae does not parse), functions, weights, offsets and ``contrasts=`` are
refused as *not compared* (:class:`parity.adapter.impl.Unsupported`), and so are designs lme4 refuses (the
layout then does not exist).
"""
from __future__ import annotations

import logging
import re
import warnings
from typing import Any

import pandas as pd
import scipy.sparse as sp

import pyreterms
from parity.adapter.impl import Unsupported, r_matrix, r_sparse
from parity.audit.lme4terms import NAME, split_plus

__all__ = ["fit", "check_supported", "LIBRARY", "r_name"]

LIBRARY = "formulae"


def check_supported(formula: str, data: pd.DataFrame) -> None:
    """Unsupported unless formulae is audited on this formula (module docs)."""
    if "||" in formula:
        raise Unsupported("'||' (formulae does not parse it)")
    if "~" not in formula:
        raise Unsupported("not a two-sided formula")
    lhs, rhs = (x.strip() for x in formula.split("~", 1))
    if not NAME.fullmatch(lhs) or lhs not in data.columns:
        raise Unsupported(f"response {lhs!r} is not a plain column (formula functions are not translated)")
    bars = 0
    for t in split_plus(rhs):
        m = re.fullmatch(r"\((.*?)\|(.*)\)", t)
        parts = ([p for p in split_plus(m.group(1)) if p not in ("1", "0", "-1")] + re.split(r"[:/]", m.group(2))
                 if m else [p for p in t.split(":") if t not in ("1", "0", "-1")])
        bars += m is not None
        for p in parts:
            p = p.strip()
            if not NAME.fullmatch(p) or p not in data.columns:
                raise Unsupported(f"term {p!r} is not a plain column (formula functions are not translated)")
    if not bars:
        raise Unsupported("no random-effects term")


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
    check_supported(formula, data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lf = pyreterms.lformula(formula, data)
    except pyreterms.PyretermsError as e:
        raise Unsupported(f"lme4's layout does not exist (lme4 refuses the design: {e})") from None
    log = logging.getLogger("formulae")  # it logs each row it drops; lme4 drops them silently
    log_level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dm = design_matrices(formula, data)
    finally:
        log.setLevel(log_level)
    rown = list(lf.fr.rownames)
    common = dm.common.as_dataframe()
    out: dict[str, Any] = {"lFormula()$X": r_matrix(common.to_numpy(dtype=float),
                                                    (rown if len(common) == len(rown) else None,
                                                     [r_name(c, data) for c in common.columns]))}
    out["lFormula()$reTrms$Zt"] = _zt(dm.group, lf.reTrms.terms, data, rown)
    return out


def _column_key(label: str, data: pd.DataFrame) -> tuple[str, str, str]:
    """(grouping, lme4 column name, level) of a formulae label ``f[b]|g[p]:h[u]``."""
    expr, grp = label.split("|", 1)
    names = re.findall(r"([A-Za-z][A-Za-z0-9_]*)\[", grp)
    level = ":".join(re.findall(r"\[([^\]]*)\]", grp))
    return ":".join(names), ("(Intercept)" if expr == "1" else r_name(expr, data)), level


def _zt(group: Any, terms: Any, data: pd.DataFrame, rown: list[str]):
    """lme4's Zt laid out from formulae's group-specific matrix (module docs)."""
    Z = sp.csc_matrix(group.design_matrix)
    n = Z.shape[0]
    where: dict[tuple[str, str, str], int] = {}
    for name, sl in group.slices.items():
        for j, label in enumerate(group.terms[name].labels):
            where[_column_key(label, data)] = sl.start + j
    cols, rownames, used = [], [], set()
    for t in terms:
        grp = t.name.split("|", 1)[1].strip()
        for lev in t.ff.levels:
            for c in t.cnms:
                col = where.get((grp, c, str(lev)))
                if col is not None:
                    cols.append(col)
                    rownames.append(str(lev))
                    used.add(col)
    extra = [j for j in sorted(where.values()) if j not in used]  # formulae columns lme4 has no row for
    labels = {j: k[2] for k, j in where.items()}
    cols += extra
    rownames += [labels[j] for j in extra]
    Zt = Z[:, cols].T if cols else sp.csc_matrix((0, n))
    return r_sparse(Zt, (rownames, rown if n == len(rown) else None))
