"""Fit-level components of pyreterms, named as ``r_scripts/reference.R`` names lme4's.

R equivalents: ``getME(fit, name)``, ``fixef``, ``ranef(condVar = TRUE)``, ``coef``,
``as.data.frame(VarCorr(fit))``, ``sigma``, ``logLik``, ``deviance``, ``REMLcrit``, ``AIC``, ``BIC``,
``fitted``, ``residuals``, ``isSingular``, ``vcov`` and ``devfun(theta)`` with the PLS state it leaves.
CHOLMOD's ``L`` and the permuted ``RZX`` are compared through ``ldL2`` and ``RZX^T RZX``.
"""
from __future__ import annotations

import warnings

import numpy as np

from parity import components
from parity.adapter.rbuild import chr_vector as _chr
from parity.adapter.rbuild import conv_messages, factor_value
from parity.adapter.rbuild import dbl_vector as _dbl
from parity.adapter.rbuild import int_vector as _int
from parity.r.values import RList, RMatrix, RNull, RSparse, RValue, RVector
from pyreterms.lmm.inference.condvar import post_var_terms


def _lgl(value: bool) -> RVector:
    return RVector(np.array([bool(value)]), None, "logical")


def post_var(fit) -> dict[str, list[np.ndarray]]:
    """R: ``attr(ranef(fit, condVar = TRUE)[[f]], "postVar")``: per term, the p_i x p_i x l_i array
    ``sigma^2 T_i [(Lambda' Z' W Z Lambda + I)^{-1}]_{block} T_i'`` (paper eqs. 56-59), from
    :func:`pyreterms.lmm.inference.condvar.post_var_terms` (no dense inverse of L)."""
    rt = fit.lf.reTrms
    out: dict[str, list[np.ndarray]] = {}
    for k, arr in enumerate(post_var_terms(fit.problem, fit.theta, fit.sigma())):
        out.setdefault(rt.flist[rt.assign[k]][0], []).append(np.transpose(arr, (1, 2, 0)))
    return out


#: components that are the optimizer's own output (compared with optimizer tolerances); every other
#: fit component is a function of theta and is reported at the oracle's theta when one is given
#: (``REMLcrit(fit)`` of an ML fit is not optimized, so it is one of those)
OPTIMIZER_OUTPUTS = components.optimizer_outputs()


def at_theta(fit, theta):
    """The fit object with its PLS state and ``opt$par``/``opt$fval`` (devcomp's criterion) moved to
    ``theta``; the rest of the optimizer record (feval, messages) stays."""
    import dataclasses

    th = np.asarray(theta, dtype=np.float64)
    state = fit.problem.solve(th)
    return dataclasses.replace(fit, state=state, opt=dataclasses.replace(fit.opt, par=th, fval=state.dev))


def fit_components(fit, *, theta=None) -> dict[str, RValue]:
    """Every fit-level component pyreterms knows.  The optimizer's outputs (:data:`OPTIMIZER_OUTPUTS`)
    come from pyreterms' own optimum; every other component is evaluated at ``theta`` (the oracle's
    fitted theta when given) so that algebra is compared at one point with tight tolerances."""
    own = fit
    if theta is not None:
        fit = at_theta(fit, theta)
    out = _components(fit)
    for name, value in _components_optimizer(own).items():
        out[name] = value
    return out


def _components_optimizer(fit) -> dict[str, RValue]:
    out: dict[str, RValue] = {}
    out['getME(fit, "theta")'] = _dbl(fit.theta, list(fit.theta_names()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["deviance(fit)"] = _dbl([fit.deviance()])
    if fit.is_REML:  # the optimized criterion; an ML fit's REMLcrit is not optimized: at lme4's theta
        out["REMLcrit(fit)"] = _dbl([fit.REMLcrit()])
    out["logLik(fit)"] = _dbl([fit.logLik()])
    out["AIC(fit)"] = _dbl([fit.AIC()])
    out["BIC(fit)"] = _dbl([fit.BIC()])
    out["isSingular(fit)"] = _lgl(fit.isSingular())
    out["fit@optinfo$feval"] = _int([fit.opt.feval])
    out["fit@optinfo$conv$lme4$messages"] = conv_messages(list(fit.opt.conv_lme4.messages))
    out["fit@optinfo$warnings"] = (RNull if fit.control.optimizer is None  # R: no optwrap, attr NULL
                                   else RList(tuple((None, _chr([w])) for w in fit.opt.warnings)))
    out["fit@optinfo$conv$opt"] = _dbl([fit.opt.conv])
    out["fit@optinfo$message"] = _chr([fit.opt.message])
    return out


def _components(fit) -> dict[str, RValue]:
    rt, lf = fit.lf.reTrms, fit.lf
    rown = lf.fr.rownames
    xcn = lf.X.colnames or None  # R drops empty dimnames (p = 0)
    G = lambda name: f'getME(fit, "{name}")'  # noqa: E731
    out: dict[str, RValue] = {}
    tn = list(fit.theta_names())
    out[G("X")] = RMatrix(lf.X.X, rown, xcn)
    out[G("Z")] = RSparse(rt.Zt.T.tocsc(), rown, rt.Zt_rownames)
    out[G("Zt")] = RSparse(rt.Zt, rt.Zt_rownames, rown)
    ztl = fit.getME("Ztlist")
    items = ztl.items() if isinstance(ztl, dict) else ztl
    lev_rows = [tuple(f.levels) for t in rt.terms for f in [t.ff] for _ in range(t.nc)]
    out[G("Ztlist")] = RList(tuple((k, RSparse(v, lv, rown)) for (k, v), lv in zip(items, lev_rows, strict=False)))
    byf = {f: t for f, t in zip(rt.formula_order, rt.terms, strict=False)}
    mm = [byf[f] for f in rt.mmList_order()]  # a list: term names may repeat ((1|g) + (1|g))
    out[G("mmList")] = RList(tuple((t.name, RMatrix(t.Xi, rown, t.cnms)) for t in mm))
    out[G("y")] = _dbl(lf.y)
    out[G("mu")] = _dbl(fit.state.mu)
    out[G("u")] = _dbl(fit.state.u)
    out[G("b")] = RMatrix(fit.state.b.reshape(-1, 1), None, None)
    out[G("Gp")] = _int(rt.Gp)
    tp = fit.getME("Tp")
    out[G("Tp")] = _dbl(tp.values, list(tp.index))
    out[G("Lambda")] = RSparse(fit.getME("Lambda"), None, None)
    out[G("Lambdat")] = RSparse(fit.getME("Lambdat"), None, None)
    out[G("Lind")] = _int(rt.Lind + 1)
    out[G("Tlist")] = RList(tuple((g, RMatrix(T, None, None)) for g, T in fit.Tlist()))
    out[G("A")] = RSparse(fit.getME("A"), None, rown)
    out[G("RX")] = RMatrix(fit.state.RX, xcn, xcn)
    out[G("sigma")] = _dbl([fit.sigma()])
    out[G("flist")] = RList(tuple((g, _factor(f)) for g, f in rt.flist))
    out['attr(getME(fit, "flist"), "assign")'] = _int(rt.assign + 1)
    out[G("fixef")] = _dbl(fit.state.beta, xcn)
    out[G("beta")] = _dbl(fit.state.beta)
    out[G("theta")] = _dbl(fit.theta, tn)
    out[G("ST")] = RList(tuple((g, RMatrix(S, None, None)) for g, S in fit.getME("ST")))
    dc = fit.devcomp()
    out[G("REML")] = _int([dc["dims"]["REML"]])
    out[G("is_REML")] = _lgl(fit.is_REML)
    for nm in ("n_rtrms", "n_rfacs", "N", "n", "p", "q", "k", "m"):
        out[G(nm)] = _int([fit.getME(nm)])
    p_names, p_vals = [t.name for t in mm], [t.nc for t in mm]
    out[G("p_i")] = _int(p_vals, p_names)
    l_names, l_vals = [g for g, _ in rt.flist], [f.nlevels for _, f in rt.flist]
    out[G("l_i")] = _int(l_vals, l_names)
    m = max(len(p_vals), len(l_vals))  # R recycles p_i * l_i; names from the operand as long as the result
    q_vals = [p_vals[i % len(p_vals)] * l_vals[i % len(l_vals)] for i in range(m)]
    out[G("q_i")] = _int(q_vals, p_names if len(p_names) == m else l_names)
    out[G("m_i")] = _dbl([v * (v + 1) // 2 for v in p_vals], p_names)
    out[G("cnms")] = RList(tuple((g, _chr(c)) for g, c in rt.cnms))
    out[G("devcomp")] = RList((("cmp", _dbl(list(dc["cmp"].values()), list(dc["cmp"].keys()))),
                               ("dims", _int(list(dc["dims"].values()), list(dc["dims"].keys())))))
    out[G("offset")] = _dbl(lf.offset)
    out[G("lower")] = _dbl(rt.lower, tn)
    out['ldL2(getME(fit, "L"))'] = _dbl([fit.state.ldL2])
    out['crossprod(getME(fit, "RZX"))'] = RMatrix(fit.state.RZX.T @ fit.state.RZX, xcn, xcn)
    out["fixef(fit)"] = _dbl(fit.state.beta, xcn)
    out["ranef(fit)"] = RList(tuple((g, RMatrix(df.to_numpy(float), tuple(df.index), tuple(df.columns)))
                                    for g, df in fit.ranef().items()))
    if rt.q <= 20000:
        pv = post_var(fit)
        out["postVar(ranef(fit, condVar = TRUE))"] = RList(tuple(
            (g, RMatrix(arrs[0].reshape(-1, arrs[0].shape[2], order="F"), None, None) if len(arrs) == 1 else
             RList(tuple((nm, RMatrix(a.reshape(-1, a.shape[2], order="F"), None, None))
                         for nm, a in zip(_pv_names(fit, g), arrs, strict=False))))
            for g, arrs in pv.items()))
    out["coef(fit)"] = RList(tuple((g, RMatrix(df.to_numpy(float), tuple(df.index), tuple(df.columns)))
                                   for g, df in fit.coef().items()))
    vc = fit.VarCorr_df()
    out["as.data.frame(VarCorr(fit))"] = RList((
        ("grp", _chr(vc["grp"])), ("var1", _chr(vc["var1"])), ("var2", _chr(vc["var2"])),
        ("vcov", _dbl(vc["vcov"])), ("sdcor", _dbl(vc["sdcor"]))))
    out["sigma(fit)"] = _dbl([fit.sigma()])
    out["logLik(fit)"] = _dbl([fit.logLik()])
    out['attr(logLik(fit), "df")'] = _int([fit.npar()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["deviance(fit)"] = _dbl([fit.deviance()])
    out["deviance(fit, REML = FALSE)"] = _dbl([fit.deviance(REML=False)])
    out["REMLcrit(fit)"] = _dbl([fit.REMLcrit()])
    out["AIC(fit)"] = _dbl([fit.AIC()])
    out["BIC(fit)"] = _dbl([fit.BIC()])
    fv, rv = fit.fitted(), fit.residuals()  # Series named like R's (NA-padded under na.exclude)
    out["fitted(fit)"] = _dbl(fv.to_numpy(dtype=float), tuple(str(k) for k in fv.index))
    out["residuals(fit)"] = _dbl(rv.to_numpy(dtype=float), tuple(str(k) for k in rv.index))
    out["isSingular(fit)"] = _lgl(fit.isSingular())
    V = fit.vcov()
    out["vcov(fit)"] = RMatrix(V.to_numpy(float), tuple(V.index) or None, tuple(V.columns) or None)
    # the deviance function and the PLS state it leaves, at the oracle's theta
    th = np.asarray(fit.theta, dtype=np.float64)
    s = fit.problem.solve(th)
    pre = "devfun(theta)"
    out[pre] = _dbl([fit.problem.deviance(th)])
    out[f"{pre}; pp$beta(1)"] = _dbl(s.beta)
    out[f"{pre}; pp$u(1)"] = _dbl(s.u)
    out[f"{pre}; pp$b(1)"] = _dbl(s.b)
    out[f"{pre}; resp$mu"] = _dbl(s.mu)
    out[f"{pre}; pp$ldL2()"] = _dbl([s.ldL2])
    out[f"{pre}; pp$ldRX2()"] = _dbl([s.ldRX2])
    out[f"{pre}; pp$sqrL(1)"] = _dbl([s.ussq])
    out[f"{pre}; resp$wrss()"] = _dbl([s.wrss])
    out[f"{pre}; pwrss"] = _dbl([s.pwrss])
    return out


def _factor(f):
    return factor_value(f)


def _mm_cnms(fit) -> list[tuple[str, ...]]:
    rt = fit.lf.reTrms
    byf = {f: t for f, t in zip(rt.formula_order, rt.terms, strict=False)}
    return [byf[f].cnms for f in rt.mmList_order()]


def _pv_names(fit, group: str) -> list[str | None]:
    rt = fit.lf.reTrms
    def r_name(cn: tuple[str, ...]) -> str:  # R: deparse of the term's cnms vector
        return cn[0] if len(cn) == 1 else "c(" + ", ".join('"' + c + '"' for c in cn) + ")"

    return [r_name(cn) for (g, cn), a in zip(rt.cnms, rt.assign, strict=False) if rt.flist[a][0] == group]


def _recycled_names(names: list[str], n: int) -> list[str]:
    return [names[i % len(names)] for i in range(n)]
