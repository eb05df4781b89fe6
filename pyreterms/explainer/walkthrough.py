"""The porting walkthrough: lme4's construction of one model, step by step (R: ``lFormula`` ->
``mkReTrms`` -> ``mkBlist``; with a fit, ``lmer`` -> ``getME``/``fixef``/``ranef``/``coef``).

Each step carries the R code that builds the same object in R (``lf <- lme4::lFormula(f, d)``,
``fit <- lme4::lmer(f, d)``), the object itself, its text as R prints it, and the identities that
tie it to the earlier steps (checked here; see :mod:`pyreterms.explainer.steps`).  pyreterms'
objects are reached only through the public package (``pyreterms.lformula``/``pyreterms.lmer``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from pyreterms.design.model import LFormula, ReTrms
from pyreterms.lmm.fit import LmerFit

from .rprint import format_real, print_dense, print_sparse, print_vector
from .steps import Check, Step, check_close, check_exact, same_pattern


@dataclass(frozen=True)
class Limits:
    """How much of a large object is printed (the rest is summarised in a note)."""

    rows: int = 12
    cols: int = 30
    vector: int = 40
    zrows: int = 6  # rows of Z_i shown as J_i[j, ] (x) X_i[j, ]


@dataclass
class Builder:
    lf: LFormula
    limits: Limits = field(default_factory=Limits)
    steps: list[Step] = field(default_factory=list)

    def add(self, step: Step) -> None:
        self.steps.append(step)


# ------------------------------------------------------------------------------------------ helpers

_L_NOTE = ("pyreterms' L (getME(fit, \"L\")) is the factor in the natural order; lme4's getME(fit, \"L\") is a "
           "CHOLMOD factor of the fill-reducing permutation P A P' (equal to this one when its perm is the identity)")

def _rng(n: int, k: int) -> str:
    return f"1:{min(n, k)}"


def sparse_excerpt(M: sp.spmatrix, expr: str, lim: Limits, rownames: Sequence[str] | None = None,
                   colnames: Sequence[str] | None = None,
                   rclass: str = "dgCMatrix", square: bool = False) -> tuple[str, str, str]:
    """(text, R code that prints exactly this text, note) for a sparse matrix, truncated to
    ``lim.rows`` x ``lim.cols`` (a leading square block when ``square``)."""
    nr, nc = M.shape
    r = min(nr, lim.rows)
    c = min(nc, lim.rows if square else lim.cols)
    if square:
        r = c = min(r, c)
    if (r, c) == (nr, nc):
        return "\n".join(print_sparse(M, rownames, colnames, rclass)), expr, ""
    sub = sp.csc_matrix(M)[:r, :c]
    rn = None if rownames is None else list(rownames)[:r]
    cn = None if colnames is None else list(colnames)[:c]
    note = f"showing rows 1-{r} of {nr} and columns 1-{c} of {nc}"
    return "\n".join(print_sparse(sub, rn, cn, rclass)), f"{expr}[1:{r}, 1:{c}]", note


def dense_excerpt(m: np.ndarray, expr: str, lim: Limits, rownames: Sequence[str] | None = None,
                  colnames: Sequence[str] | None = None,
                  integer: bool = False) -> tuple[str, str, str]:
    n = m.shape[0]
    r = min(n, lim.rows)
    rn = None if rownames is None else list(rownames)[:r]
    text = "\n".join(print_dense(m[:r], rn, colnames, integer))
    if r == n:
        return text, expr, ""
    return text, f"head({expr}, {r})", f"showing rows 1-{r} of {n}"


def vector_excerpt(x: np.ndarray, expr: str, lim: Limits, names: Sequence[str] | None = None,
                   integer: bool = False) -> tuple[str, str, str]:
    n = len(x)
    k = min(n, lim.vector)
    nm = None if names is None else list(names)[:k]
    text = "\n".join(print_vector(list(x[:k]), nm, integer))
    if k == n:
        return text, expr, ""
    return text, f"head({expr}, {k})", f"showing elements 1-{k} of {n}"


def _show(define: str, show: str) -> str:
    return define + ("\n" + show if show else "")


def _frame_text(lf: LFormula, lim: Limits) -> tuple[str, str]:
    """R: ``print(head(lf$fr, k))`` (numbers per column with 7 digits, factors by label)."""
    fr = lf.fr
    k = min(fr.n, lim.rows)
    cols: list[list[str]] = []
    names: list[str] = []
    for name, v in fr.columns:
        if hasattr(v, "levels") and hasattr(v, "codes"):
            labs = ["<NA>" if c < 0 else v.levels[c] for c in v.codes[:k]]
            w = max(len(s) for s in labs)
            cols.append([s.ljust(w) for s in labs])
        elif hasattr(v, "values") and not isinstance(v, np.ndarray):  # logical / character wrappers
            vals = [str(s) for s in list(v.values)[:k]]
            cols.append(vals)
        else:
            a = np.asarray(v, dtype=float)
            if a.ndim == 2:
                for j in range(a.shape[1]):
                    cols.append(format_real(a[:k, j]))
                    names.append(f"{name}.{j + 1}")
                continue
            cols.append(format_real(a[:k]))
        names.append(name)
    rn = list(fr.rownames[:k])
    rw = max(len(r) for r in rn)
    ws = [max([len(h)] + [len(s) for s in c]) for h, c in zip(names, cols, strict=False)]
    lines = [" " * rw + "".join(" " + h.rjust(w) for h, w in zip(names, ws, strict=False))]
    for i in range(k):
        lines.append(rn[i].ljust(rw) + "".join(" " + c[i].rjust(w) for c, w in zip(cols, ws, strict=False)))
    note = "" if k == fr.n else f"showing rows 1-{k} of {fr.n}"
    return "\n".join(lines), note


def _lhs(term_name: str) -> str:
    return term_name.rsplit(" | ", 1)[0]


def templates(rt: ReTrms) -> list[np.ndarray]:
    """Per term (lme4 order), the lower-triangular template of 1-based theta indices (column-major
    lower triangle, as ``mkReTrms`` fills it)."""
    out, off = [], 0
    for _, nms in rt.cnms:
        nc = len(nms)
        T = np.zeros((nc, nc), dtype=int)
        for c in range(nc):
            for r in range(c, nc):
                off += 1
                T[r, c] = off
        out.append(T)
    return out


# ------------------------------------------------------------------------------------------ lFormula
def frame_steps(b: Builder, f_r: str, d_r: str) -> None:
    lf, lim = b.lf, b.limits
    text, note = _frame_text(lf, lim)
    k = min(lf.fr.n, lim.rows)
    b.add(Step("fr", "The model frame", _show(f"lf <- lme4::lFormula({f_r}, {d_r})",
                                              f"head(lf$fr, {k})" if k < lf.fr.n else "lf$fr"),
               lf.fr, text, "; ".join(x for x in (note, f"n = {lf.fr.n} rows after na.omit and dropping unused "
                                                           "levels (model.frame(subbars(f), d))") if x)))
    X = lf.X.X
    text, code, note = dense_excerpt(X, "lf$X", lim, lf.fr.rownames, lf.X.colnames)
    b.add(Step("X", "The fixed-effects model matrix X", code, X, text,
               "; ".join(x for x in (note, f"{X.shape[0]} x {X.shape[1]}: model.matrix(nobars(f), lf$fr)") if x)))
    rt = lf.reTrms
    bars: list[str | None] = [None] * len(rt.terms)
    for k, t in zip(rt.formula_order, rt.terms, strict=False):
        bars[k] = t.name
    b.add(Step("bars", "The random-effects terms (findbars)", f"lme4::findbars({f_r})", list(bars),
               "\n".join(f"[[{i + 1}]]\n{name}\n" for i, name in enumerate(bars)).rstrip(),
               "each term (expr | group) gives one block of Z: J_i (the group's indicators) times X_i "
               "(the model matrix of expr), row by row"))


def term_steps(b: Builder, k_formula: int) -> None:
    """J_i, X_i, Z_i for the term at position ``k_formula`` (0-based) of ``findbars()``."""
    lf, lim = b.lf, b.limits
    rt = lf.reTrms
    pos = list(rt.formula_order).index(k_formula)  # its position after lme4's reordering
    t = rt.terms[pos]
    i = k_formula + 1
    grp = rt.flist[rt.assign[pos]][0]
    levels = t.ff.levels
    ff_r = f'lf$reTrms$flist[["{grp}"]]'
    J = sp.csc_matrix(t.J)
    text, show, note = sparse_excerpt(J, f"J_{i}", lim, None, levels)
    checks = (check_exact(f"rowSums(J_{i}) == 1 (each observation in exactly one level of {grp})",
                          np.asarray(J.sum(axis=1)).ravel(), np.ones(J.shape[0])),
              check_exact(f"colnames(J_{i}) == levels({grp}), J_{i}[j, ] == (as.integer({grp}[j]) == 1:{len(levels)})",
                          J.toarray(), (t.ff.codes[:, None] == np.arange(len(levels))[None, :]).astype(float)))
    b.add(Step(f"J[{i}]", f"Term {i} ({t.name}): the indicator matrix J_{i} of the grouping factor {grp}",
               _show(f"J_{i} <- t(Matrix::fac2sparse({ff_r}))", show), J, text,
               "; ".join(x for x in (note, f"n x l_{i} = {J.shape[0]} x {J.shape[1]}, columns = levels of {grp} "
                                           f"({len(levels)} levels)") if x), checks))
    Xi = np.asarray(t.Xi, dtype=float)
    text, show, note = dense_excerpt(Xi, f"X_{i}", lim, lf.fr.rownames, t.cnms)
    b.add(Step(f"X[{i}]", f"Term {i}: X_{i}, the model matrix of ~ {_lhs(t.name)}",
               _show(f"X_{i} <- model.matrix(~ {_lhs(t.name)}, lf$fr)", show), Xi, text,
               "; ".join(x for x in (note, f"n x p_{i} = {Xi.shape[0]} x {Xi.shape[1]}, columns {', '.join(t.cnms)}")
                         if x)))
    Zt_i = sp.csc_matrix(t.Zt)
    Zi = Zt_i.T.tocsc()
    kr = np.vstack([np.kron(J.getrow(j).toarray().ravel(), Xi[j]) for j in range(Xi.shape[0])])
    rows = []
    for j in range(min(lim.zrows, Xi.shape[0])):
        jr = " ".join(str(int(v)) for v in J.getrow(j).toarray().ravel())
        xr = " ".join(s.strip() for s in format_real(Xi[j]))
        zr = " ".join(s.strip() for s in format_real(kr[j]))
        if J.shape[1] * Xi.shape[1] > 24:
            nzk = np.flatnonzero(kr[j])
            zr = f"non-zero at columns {', '.join(str(c + 1) for c in nzk[:8])}: " + \
                 " ".join(s.strip() for s in format_real(kr[j][nzk[:8]]))
        rows.append(f"row {j + 1}: ({jr if J.shape[1] <= 12 else '...'}) (x) ({xr}) = ({zr})")
    text, show, note = sparse_excerpt(Zi, f"Z_{i}", lim)
    checks = (check_exact(f"Z_{i} == t(KhatriRao(t(J_{i}), t(X_{i}))): row j is kronecker(J_{i}[j, ], X_{i}[j, ])",
                          Zi, kr),
              check_exact(f"t(Z_{i}) == lf$reTrms$Ztlist[[\"{t.name}\"]]", Zt_i, rt.Ztlist[pos][1], pattern=True))
    b.add(Step(f"Z[{i}]", f"Term {i}: Z_{i} = (J_{i}^T * X_{i}^T)^T, the row-wise Khatri-Rao product",
               _show(f"Z_{i} <- t(KhatriRao(t(J_{i}), t(X_{i})))", show), Zi,
               "\n".join(rows) + "\n\n" + text,
               "; ".join(x for x in (note, f"n x (l_{i} p_{i}) = {Zi.shape[0]} x {Zi.shape[1]}: columns grouped by "
                                           f"level, within a level one column per column of X_{i}") if x), checks))


def assembly_steps(b: Builder) -> None:
    lf, lim = b.lf, b.limits
    rt = lf.reTrms
    nl_formula = [0] * len(rt.terms)
    for k, t in zip(rt.formula_order, rt.terms, strict=False):
        nl_formula[k] = t.nl
    reordered = list(rt.formula_order) != sorted(rt.formula_order)
    lines = ["findbars order: " + ", ".join(f"{i + 1}. {rt.terms[list(rt.formula_order).index(i)].name} "
                                              f"(nl = {nl_formula[i]})" for i in range(len(nl_formula))),
             "lme4 order:     " + ", ".join(f"{t.name} (nl = {t.nl})" for t in rt.terms)]
    why = ("lme4's mkReTrms (reorder.terms = TRUE): when a later term's grouping factor has more levels "
           "(any(diff(nl) > 0)), the terms are put in the order rev(order(nl)): most levels first, ties in "
           "reverse findbars order. The factor with most levels then gives the leading block of "
           "Lambda' Z' Z Lambda + I, which keeps the Cholesky factor L sparse. ")
    why += "Here the terms were reordered." if reordered else "Here nothing moved (no term has more levels " \
                                                             "than the one before it)."
    b.add(Step("order", "Term order (lme4 sorts terms by number of levels)", "names(lf$reTrms$Ztlist)",
               list(rt.formula_order), "\n".join(lines), why))
    Zt = sp.csc_matrix(rt.Zt)
    text, show, note = sparse_excerpt(Zt, "lf$reTrms$Zt", lim, rt.Zt_rownames, rt.Zt_colnames)
    stacked = sp.vstack([m for _, m in rt.Ztlist]).tocsc()
    checks: tuple[Check, ...] = (
        check_exact("lf$reTrms$Zt == do.call(rbind, lf$reTrms$Ztlist) (the Z_i^T stacked in lme4 order)",
                    Zt, stacked),)
    b.add(Step("Zt", "Zt: the Z_i^T stacked (q x n)", show, Zt, text,
               "; ".join(x for x in (note, f"q x n = {Zt.shape[0]} x {Zt.shape[1]}, {Zt.nnz} stored entries; rows "
                                           "named by level, columns by the model frame's row names") if x), checks))
    Gp = np.asarray(rt.Gp)
    nb = [t.nl * t.nc for t in rt.terms]
    b.add(Step("Gp", "Gp: where each term's block of rows starts in Zt", "lf$reTrms$Gp", Gp,
               "\n".join(print_vector(list(Gp), integer=True)),
               "0-based offsets; term k owns rows Gp[k] + 1 .. Gp[k + 1] of Zt",
               (check_exact("Gp == c(0, cumsum(nl * nc))", Gp, np.concatenate([[0], np.cumsum(nb)])),)))
    theta = np.asarray(rt.theta, dtype=float)
    lower = np.asarray(rt.lower, dtype=float)
    tn = rt.theta_names()
    Ts = templates(rt)
    diag_idx = np.concatenate([np.diag(T) for T in Ts]) - 1
    checks = (check_exact("theta0: 1 on the diagonal of each template, 0 below", theta,
                          np.isin(np.arange(len(theta)), diag_idx).astype(float)),
              check_exact("lower: 0 for diagonal entries, -Inf for the others", lower,
                          np.where(np.isin(np.arange(len(theta)), diag_idx), 0.0, -np.inf)))
    text = "theta\n" + "\n".join(print_vector(list(theta), list(tn))) + "\nlower\n" + \
        "\n".join(print_vector(list(lower), list(tn)))
    b.add(Step("theta", "theta (start) and lower", _show("lf$reTrms$theta", "lf$reTrms$lower"),
               {"theta": theta, "lower": lower, "names": tn}, text,
               "names as getME(fit, \"theta\") gives them (lf$reTrms$theta itself is unnamed); theta holds "
               "the lower triangles of the relative covariance factors, column by column", checks))
    tmpl_lines = []
    for (_g, nms), T, t in zip(rt.cnms, Ts, rt.terms, strict=False):
        tmpl_lines.append(f"term {t.name}: template T (1-based theta indices), block t(T) repeated "
                          f"for {t.nl} levels")
        tmpl_lines += print_dense(T, list(nms), list(nms), integer=True)
    Lind1 = np.asarray(rt.Lind) + 1
    ltext, lcode, lnote = vector_excerpt(Lind1, "lf$reTrms$Lind", lim, integer=True)
    Lt = sp.csc_matrix(rt.Lambdat)
    Lt.sort_indices()
    pairs = list(zip(rt.terms, Ts, strict=False))
    expect = sp.block_diag([sp.kron(sp.identity(t.nl),
                                    sp.csc_matrix(np.where(T.T > 0, theta[np.maximum(T.T, 1) - 1], 0.0)))
                            for t, T in pairs]).tocsc()
    pat = sp.block_diag([sp.kron(sp.identity(t.nl), sp.csc_matrix((T.T > 0).astype(float)))
                         for t, T in pairs]).tocsc()
    expect_lind = sp.block_diag([sp.kron(sp.identity(t.nl), sp.csc_matrix(T.T.astype(float)))
                                 for t, T in zip(rt.terms, Ts, strict=False)]).tocsc()
    expect_lind.eliminate_zeros()  # sp.kron may go through BSR blocks that store zeros
    expect_lind.sort_indices()
    pat.eliminate_zeros()
    checks = (check_exact("Lambdat@x == theta[Lind]", Lt.data, theta[Lind1 - 1]),
              check_exact("Lind == (bdiag over terms of kronecker(Diagonal(nl), t(T))))@x", Lind1,
                          expect_lind.data),
              check_exact("Lambdat == bdiag over terms of kronecker(Diagonal(nl), t(T(theta)))", Lt, expect),
              Check("Lambdat stores every template entry (off-diagonal zeros at theta0 are stored, not dropped)",
                    same_pattern(Lt, pat),
                    "same stored entries" if same_pattern(Lt, pat) else "FAILED: pattern differs"))
    text, show, note = sparse_excerpt(Lt, "lf$reTrms$Lambdat", lim, square=True)
    b.add(Step("Lambdat", "Lambdat at theta0, and the template Lind", _show(show, lcode),
               {"Lambdat": Lt, "Lind": Lind1, "templates": Ts},
               text + "\nLind (1-based, as in R)\n" + ltext + "\n" + "\n".join(tmpl_lines),
               "; ".join(x for x in (note, lnote, "Lambdat = t(Lambda) is upper triangular, block diagonal: for each "
                                                  "term, one t(T) per level; Lind[k] is the theta index of the k-th "
                                                  "stored entry (column-major), so Lambdat@x <- theta[Lind] updates it")
                         if x), checks))


# ------------------------------------------------------------------------------------------ fit
def fit_steps(b: Builder, fit: LmerFit, f_r: str, d_r: str) -> None:
    lf, lim = b.lf, b.limits
    rt = lf.reTrms
    tn = list(rt.theta_names())
    theta = np.asarray(fit.theta, dtype=float)
    b.add(Step("theta_hat", "The fitted theta (REML)" if lf.REML else "The fitted theta (ML)",
               _show(f"fit <- lme4::lmer({f_r}, {d_r}{'' if lf.REML else ', REML = FALSE'})",
                     'getME(fit, "theta")'),
               theta, "\n".join(print_vector(list(theta), tn)),
               "the optimizer's result (nloptwrap / BOBYQA); everything below is evaluated at it"))
    Lt = sp.csc_matrix(fit.getME("Lambdat"))
    text, show, note = sparse_excerpt(Lt, 'getME(fit, "Lambdat")', lim, square=True)
    b.add(Step("Lambdat_hat", "Lambdat at the fitted theta", show, Lt, text, note,
               (check_exact("getME(fit, \"Lambdat\")@x == theta[Lind]", Lt.data, theta[np.asarray(rt.Lind)]),)))
    Zt = sp.csc_matrix(rt.Zt)
    L = sp.tril(sp.csc_matrix(fit.getME("L"))).tocsc()  # (its stored upper-triangle zeros are not R's)
    A = (Lt @ Zt @ Zt.T @ Lt.T + sp.identity(Lt.shape[0])).tocsc()
    text, show, note = sparse_excerpt(L, "L", lim, rclass="dtCMatrix", square=True)
    b.add(Step("L", "The sparse Cholesky factor L (natural order)",
               _show("L <- t(chol(tcrossprod(getME(fit, \"Lambdat\") %*% getME(fit, \"Zt\")) + "
                     "Diagonal(nrow(getME(fit, \"Zt\")))))", show), L, text,
               "; ".join(x for x in (note, _L_NOTE) if x),
               (check_close("L %*% t(L) == Lambdat %*% Zt %*% t(Zt) %*% t(Lambdat) + I", L @ L.T, A),)))
    u = np.asarray(fit.getME("u"), dtype=float).ravel()
    text, code, note = vector_excerpt(u, 'getME(fit, "u")', lim)
    b.add(Step("u", "u: the spherical random effects", code, u, text,
               "; ".join(x for x in (note, "the solution of the penalised least squares problem") if x)))
    bb = np.asarray(fit.getME("b"), dtype=float).ravel()
    text, code, note = vector_excerpt(bb, 'as.vector(getME(fit, "b"))', lim)
    b.add(Step("b", "b = Lambda u: the random effects on the data scale", code, bb, text, note,
               (check_close("b == crossprod(getME(fit, \"Lambdat\"), getME(fit, \"u\")) (b = Lambda u)", bb,
                            Lt.T @ u, rtol=1e-12),)))
    beta = fit.fixef()
    b.add(Step("beta", "beta: the fixed effects", "fixef(fit)", beta,
               "\n".join(print_vector(list(beta.to_numpy()), list(beta.index)))))
    re_ = fit.ranef()
    co = fit.coef()
    for g, df in co.items():
        rdf = re_[g]
        text, code, note = dense_excerpt(df.to_numpy(), f"coef(fit)${g}" if g.isidentifier() else f'coef(fit)[["{g}"]]',
                                         lim, list(df.index), list(df.columns))
        expect = np.tile(np.array([beta.get(c, 0.0) for c in df.columns]), (len(df), 1))
        for c in rdf.columns:
            expect[:, list(df.columns).index(c)] += rdf[c].to_numpy()
        blk_checks = [check_close(f"coef(fit)${g} == fixef(fit) + ranef(fit)${g} (columns matched by name)",
                                  df.to_numpy(), expect, rtol=1e-12)]
        for k, t in enumerate(rt.terms):
            if rt.flist[rt.assign[k]][0] != g:
                continue
            lo, hi = int(rt.Gp[k]), int(rt.Gp[k + 1])
            blk = bb[lo:hi].reshape(t.nl, t.nc)
            cols = [list(rdf.columns).index(c) for c in t.cnms] if len(set(rdf.columns)) == len(rdf.columns) else None
            if cols is not None:
                blk_checks.append(check_exact(f"ranef(fit)${g}[, c({', '.join(repr(c) for c in t.cnms)})] == "
                                              f"matrix(b[{lo + 1}:{hi}], {t.nl}, {t.nc}, byrow = TRUE)",
                                              rdf.to_numpy()[:, cols], blk))
        b.add(Step(f"coef[{g}]", f"Per-group coefficients for {g}: coef() = fixef() + ranef()", code, df, text,
                   "; ".join(x for x in (note, f"ranef(fit)${g} reads b level by level") if x), tuple(blk_checks)))
