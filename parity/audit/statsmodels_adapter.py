"""statsmodels' ``MixedLM`` as an implementation under parity's contract (``--impl
parity.audit.statsmodels_adapter:fit``).

R equivalent: ``lme4::lmer(formula, data, REML)`` and the accessors of ``r_scripts/reference.R``.
Translation (what MixedLM can express of an lme4 formula, :mod:`parity.audit.lme4terms`): one
grouping column ``g`` -> ``groups="g"``; one bar term on it -> ``re_formula`` (an unstructured
covariance, as lme4's ``(x | g)``); further single-column bars on the same ``g`` (what ``(x || g)``
expands to) -> one ``vc_formula`` entry each (independent variances); the fixed part -> the patsy
formula (``1``/``0``, columns, ``a:b``).  Refused as *not compared* (:class:`parity.adapter.impl.Unsupported`):
weights, offsets, ``contrasts=``, formula functions, missing values, two or more grouping factors,
nested or interaction groupings, factor or logical random slopes, a second multi-column block.

Reported components (lme4's names): ``lFormula()$X`` (MixedLM's ``exog``), ``fixef(fit)``,
``sigma(fit)``, ``as.data.frame(VarCorr(fit))``, ``ranef(fit)``, ``logLik(fit)``; the
random-effects design ``lFormula()$reTrms$Zt`` from ``exog_re`` and ``exog_vc``; and at lme4's
fitted theta (the same covariance, relative to sigma^2) MixedLM's own
``-2 loglike`` and GLS beta, compared with ``devfun(theta)`` and ``devfun(theta); pp$beta(1)``.
Names are translated (patsy ``f[T.b]`` -> R ``fb``, ``Intercept`` -> ``(Intercept)``); level
order of ranef follows R's factor levels (MixedLM has none of its own).
"""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from parity.adapter.impl import Unsupported, r_list, r_matrix, r_sparse, r_varcorr, r_vector
from parity.audit.lme4terms import Bar, is_numeric, r_levels, r_rownames, read_formula

__all__ = ["fit", "translate", "Translation", "r_name", "LIBRARY"]

LIBRARY = "statsmodels"


def r_name(patsy_name: str) -> str:
    """A patsy column name as R's model.matrix spells it (``x:f[T.b]`` -> ``x:fb``)."""
    def one(p: str) -> str:
        if p == "Intercept":
            return "(Intercept)"
        m = re.fullmatch(r"(.+?)\[(?:T\.)?(.*)\]", p)
        if m:
            lev = {"True": "TRUE", "False": "FALSE"}.get(m.group(2), m.group(2))
            return m.group(1) + lev
        return p
    return ":".join(one(p) for p in patsy_name.split(":"))


class Translation:
    """The MixedLM call for an lme4 formula (Unsupported when it has none)."""

    def __init__(self, formula: str, data: pd.DataFrame) -> None:
        f = read_formula(formula, data)
        groups = {b.group for b in f.bars}
        if len(groups) > 1:
            raise Unsupported("more than one grouping factor (crossed or several): MixedLM has one `groups`; "
                              "not translated")
        if len({b for b in f.bars}) < len(f.bars):
            raise Unsupported("a repeated random-effects term")
        multi = [b for b in f.bars if len(b.cnms) > 1]
        if len(multi) > 1:
            raise Unsupported("two correlated blocks on one grouping factor (MixedLM has one re_formula)")
        self.f = f
        self.group = f.bars[0].group
        self.re_bar: Bar = multi[0] if multi else f.bars[0]
        self.vc_bars: list[Bar] = [b for b in f.bars if b is not self.re_bar]
        self.fixed = f"{f.response} ~ " + " + ".join(["1" if f.intercept else "0", *f.fixed])
        self.re_formula = " + ".join(["1" if self.re_bar.intercept else "0", *self.re_bar.cols])
        # vc names sort in term order (MixedLM orders its variance components by name)
        self.vc_formula = {f"vc{k:03d}": ("1" if b.intercept else f"0 + {b.cols[0]}")
                           for k, b in enumerate(self.vc_bars)}
        used = list(dict.fromkeys([f.response, self.group, *(p for t in f.fixed for p in t.split(":")),
                                   *(c for b in f.bars for c in b.cols)]))
        if data[used].isna().any().any():
            raise Unsupported("missing values (MixedLM's missing= handling is not part of this audit)")
        self.used = used

    def block_of(self, bar: Bar) -> str:
        return "re" if bar is self.re_bar else f"vc{self.vc_bars.index(bar):03d}"


def translate(formula: str, data: pd.DataFrame) -> Translation:
    return Translation(formula, data)


def _tri(theta: np.ndarray, nc: int) -> np.ndarray:
    """lme4's relative covariance factor of one term from its theta (lower triangle, by column)."""
    T = np.zeros((nc, nc))
    k = 0
    for j in range(nc):
        for i in range(j, nc):
            T[i, j] = theta[k]
            k += 1
    return T


def _grp_names(bars: tuple[Bar, ...]) -> list[str]:
    """lme4's names of terms on one factor: g, g.1, g.2, ... (R: make.unique)."""
    return [b.group if k == 0 else f"{b.group}.{k}" for k, b in enumerate(bars)]


def fit(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "fit", weights=None, offset=None,
        contrasts=None, theta=None) -> dict:
    """MixedLM's answers under lme4's component names (module docs)."""
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    if weights is not None or offset is not None or contrasts:
        raise Unsupported("weights, offsets and contrasts= are not modelled by MixedLM")
    tr = translate(formula, data)
    df = data[tr.used].copy()
    for c in df.columns:  # patsy reads logical and character columns as categorical, as R does
        if is_numeric(df[c]):
            df[c] = df[c].astype(float)
    rown = r_rownames(data)
    levels = r_levels(data[tr.group])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MixedLM.from_formula(tr.fixed, data=df, groups=data[tr.group].astype(str).to_numpy(),
                                     re_formula=tr.re_formula, vc_formula=tr.vc_formula or None)
    xnames = [r_name(n) for n in model.exog_names]
    out: dict[str, Any] = {"lFormula()$X": r_matrix(model.exog, (rown, xnames))}
    out["lFormula()$reTrms$Zt"] = _zt(model, tr, levels, rown)
    if level != "fit":
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(reml=REML)
    scale = float(res.scale)
    out["fixef(fit)"] = r_vector(np.asarray(res.fe_params, dtype=float), names=xnames)
    out["sigma(fit)"] = r_vector([np.sqrt(scale)])
    out["logLik(fit)"] = r_vector([float(res.llf)])
    out["as.data.frame(VarCorr(fit))"] = _varcorr(res, tr, scale)
    out["ranef(fit)"] = _ranef(res, tr, levels)
    if theta is not None:
        out.update(_at_theta(model, tr, np.asarray(theta, dtype=float), MixedLMParams))
    return out


def _cov_of(res: Any, tr: Translation, bar: Bar, scale: float) -> np.ndarray:
    if bar is tr.re_bar:
        return np.asarray(res.cov_re, dtype=float)
    names = list(res.model.exog_vc.names)
    return np.array([[float(res.vcomp[names.index(tr.block_of(bar))])]])


def _varcorr(res: Any, tr: Translation, scale: float):
    rows: list[tuple[Any, ...]] = []
    for grp, bar in zip(_grp_names(tr.f.bars), tr.f.bars, strict=False):
        v = _cov_of(res, tr, bar, scale)
        nm = bar.cnms
        sd = np.sqrt(np.diag(v))
        rows += [(grp, nm[i], None, v[i, i], sd[i]) for i in range(len(nm))]
        rows += [(grp, nm[i], nm[j], v[j, i], v[j, i] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else np.nan)
                 for i in range(len(nm)) for j in range(i + 1, len(nm))]
    rows.append(("Residual", None, None, scale, np.sqrt(scale)))
    return r_varcorr(rows)


def _ranef(res: Any, tr: Translation, levels: list[str]):
    k_re = len(tr.re_bar.cnms)
    vc_names = list(res.model.exog_vc.names) if tr.vc_bars else []
    cols, names = [], []
    for bar in tr.f.bars:
        names += list(bar.cnms)
        if bar is tr.re_bar:
            cols += [("re", i) for i in range(k_re)]
        else:
            cols.append(("vc", k_re + vc_names.index(tr.block_of(bar))))
    re_ = {str(k): np.asarray(v, dtype=float) for k, v in res.random_effects.items()}
    M = np.array([[re_[lev][i] for _, i in cols] for lev in levels]) if levels else np.zeros((0, len(cols)))
    return r_list({tr.group: r_matrix(M, (levels, names))})


def _zt(model: Any, tr: Translation, levels: list[str], rown: list[str]):
    """lme4's Zt from MixedLM's own random-effects design: ``exog_re`` for the re_formula term and
    ``exog_vc`` (per group, rows ``row_indices``) for each variance component; terms in lme4's
    order (one factor: formula order), each level-major."""
    import scipy.sparse as sp

    n = len(rown)
    pos = {lev: i for i, lev in enumerate(levels)}
    Z_re = np.asarray(model.exog_re, dtype=float)
    vc_names = list(model.exog_vc.names) if tr.vc_bars else []
    blocks, rownames = [], []
    for bar in tr.f.bars:
        nc = len(bar.cnms)
        B = np.zeros((len(levels) * nc, n))
        if bar is tr.re_bar:
            codes = np.array([pos[str(v)] for v in model.groups])
            for k in range(nc):
                B[codes * nc + k, np.arange(n)] = Z_re[:, k]
        else:
            mats = model.exog_vc.mats[vc_names.index(tr.block_of(bar))]
            for gi, lab in enumerate(model.group_labels):
                rows = np.asarray(model.row_indices[lab])
                B[pos[str(lab)] * nc:(pos[str(lab)] + 1) * nc, rows] = np.asarray(mats[gi], dtype=float).T
        blocks.append(B)
        rownames += np.repeat(np.asarray(levels, dtype=object), nc).tolist()
    return r_sparse(sp.csc_matrix(np.vstack(blocks)), (rownames, rown))


def _at_theta(model: Any, tr: Translation, theta: np.ndarray, MixedLMParams: Any) -> dict:
    """MixedLM's profiled criterion (-2 loglike) and GLS beta at lme4's fitted theta."""
    k, cov_re, vcomp = 0, None, [0.0] * len(tr.vc_bars)
    for bar in tr.f.bars:
        nc = len(bar.cnms)
        m = nc * (nc + 1) // 2
        T = _tri(theta[k:k + m], nc)
        k += m
        if bar is tr.re_bar:
            cov_re = T @ T.T
        else:
            vcomp[tr.vc_bars.index(bar)] = float(T[0, 0] ** 2)
    if k != len(theta) or cov_re is None:
        return {}
    vc = np.asarray(vcomp, dtype=float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            beta, _ = model.get_fe_params(cov_re, vc)
            p = MixedLMParams.from_components(np.asarray(beta, dtype=float), cov_re=cov_re, vcomp=vc)
            ll = float(model.loglike(p, profile_fe=True))
    except Exception:  # noqa: BLE001 - MixedLM cannot evaluate there (e.g. a singular covariance): not provided
        return {}
    return {"devfun(theta)": r_vector([-2.0 * ll]),
            "devfun(theta); pp$beta(1)": r_vector(np.asarray(beta, dtype=float))}
