"""Random-effects structures: J_i, X_i, Z_i = (J_i^T * X_i^T)^T, Zt, Lambdat, Lind, theta, flist.

R equivalents: ``lme4:::mkBlist`` (one term) and ``lme4::mkReTrms`` (``R/utilities.R:96``, ``:167``)
of lme4 1.1-31; the JSS paper's eq. (6) (``Z_i`` as a transposed Khatri-Rao product) and the
"Constructing the relative covariance factor" subsection (``Lind``).  Construction is vectorised:
no Python loop runs over observations or levels.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pyreterms.design.model import ModelFrame, ReTerm, ReTrms
from pyreterms.design.modelmatrix import model_matrix
from pyreterms.errors import DataError, FormulaError
from pyreterms.formula.bars import bar_parts
from pyreterms.formula.evaluate import Evaluator, make_factor
from pyreterms.formula.parser import Call, Name, Node, call, deparse, frame_name, walk
from pyreterms.formula.terms import make_terms
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix


def interaction_factor(f1: Factor, f2: Factor) -> Factor:
    """lme4's ``f1 %i% f2`` (fix.order = TRUE): labels ``"a:b"``, observed combinations only, levels
    sorted with ``f1`` varying slowest."""
    ok = (f1.codes >= 0) & (f2.codes >= 0)
    key = np.where(ok, f1.codes * max(f2.nlevels, 1) + f2.codes, -1)
    uniq, inv = np.unique(key[ok], return_inverse=True)
    codes = np.full(len(key), -1, dtype=np.int64)
    codes[ok] = inv
    n2 = max(f2.nlevels, 1)
    levels = tuple(f"{f1.levels[k // n2]}:{f2.levels[k % n2]}" for k in uniq.tolist())
    return Factor(codes, levels)


def grouping_factor(grp: Node, fr: ModelFrame) -> Factor:
    """Evaluate a grouping expression in the frame as mkBlist does: variables made factors
    (``factorize``), ``:`` as ``%i%``, ``factor()`` applied if needed, unused levels dropped."""
    columns = dict(fr.columns)
    for node in walk(grp):
        if isinstance(node, Name) and node.id in columns and not isinstance(columns[node.id], Factor):
            columns[node.id] = make_factor(columns[node.id])
    ev = Evaluator(columns, fr.n)

    def go(node: Node) -> object:
        if isinstance(node, Call) and node.fn == "(":
            return go(node.args[0].value)
        if isinstance(node, Call) and node.fn == ":" and len(node.args) == 2:
            a, b = go(node.args[0].value), go(node.args[1].value)
            if not isinstance(a, Factor) or not isinstance(b, Factor):
                raise DataError(f"couldn't evaluate grouping factor {deparse(grp)} within model frame: "
                                "both inputs of ':' must be factors")
            return interaction_factor(a, b)
        if isinstance(node, Call) and node.fn in ("*", "+", "/"):
            raise DataError(f"Invalid grouping factor specification, {deparse(grp)} "
                            f"(lme4 1.1-31 does not expand '{node.fn}' in a grouping factor)")
        try:
            return ev(node)
        except DataError as e:
            raise DataError(f"couldn't evaluate grouping factor {deparse(grp)} within model frame: {e}") from None

    ff = go(grp)
    if isinstance(ff, NumMatrix):
        raise DataError(f"Invalid grouping factor specification, {deparse(grp)}")
    ff = make_factor(ff)
    if (ff.codes < 0).all():
        raise DataError(f"Invalid grouping factor specification, {deparse(grp)}")
    return ff.drop_unused()


def indicator(ff: Factor) -> sp.csc_matrix:
    """J_i (n x l): one 1 per row at the observation's level; NA rows empty (R: ``t(fac2sparse(ff))``)."""
    n = len(ff)
    ok = ff.codes >= 0
    rows = np.flatnonzero(ok)
    return sp.csc_matrix((np.ones(len(rows)), (rows, ff.codes[ok])), shape=(n, ff.nlevels))


def khatri_rao_t(ff: Factor, Xi: np.ndarray) -> sp.csc_matrix:
    """Z_i^T = KhatriRao(J_i^T, X_i^T): column j holds X_i[j, ] in rows level_j * p_i + (0..p_i-1);
    exact zeros are not stored (as Matrix::KhatriRao and drop0 give)."""
    n, p = Xi.shape
    rows = ff.codes[:, None] * p + np.arange(p)[None, :]
    mask = (Xi != 0) & (ff.codes >= 0)[:, None]
    indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int64)
    return sp.csc_matrix((Xi[mask], rows[mask], indptr), shape=(ff.nlevels * p, n))


def mk_term(bar: Call, fr: ModelFrame) -> ReTerm:
    """R: ``mkBlist(bar, fr)`` for one term."""
    lhs, grp = bar_parts(bar)
    ff = grouping_factor(grp, fr)
    # X_i = model.matrix(~ lhs, frloc), where frloc has the grouping variables made factors
    cols = list(fr.columns)
    gnames = {n.id for n in walk(grp) if isinstance(n, Name)}
    cols = [(k, make_factor(v) if k in gnames and isinstance(v, (np.ndarray, Logical, Character)) else v)
            for k, v in cols]
    frloc = ModelFrame(tuple(cols), fr.rownames)
    t = make_terms(call("~", lhs))
    mm = model_matrix(t, frloc)
    if mm.X.shape[1] == 0:
        raise FormulaError(f"random-effects term ({deparse(bar)}) has no columns")
    Xi = mm.X
    return ReTerm(name=deparse(bar), group=frame_name(grp), ff=ff, J=indicator(ff), Xi=Xi,
                  cnms=mm.colnames, Zt=khatri_rao_t(ff, Xi))


def _lambdat_block(nc: int, nl: int, boff: int, thoff: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row indices, column pointers relative, Lind) of one term's part of Lambdat in CSC order.

    Column ``boff + l*nc + r`` of Lambdat holds rows ``boff + l*nc + c`` for ``c = 0..r`` with
    theta index ``k(r, c)`` (column-major lower-triangle numbering)."""
    r_idx, c_idx = [], []
    for r in range(nc):
        for c in range(r + 1):
            r_idx.append(r)
            c_idx.append(c)
    r_arr, c_arr = np.array(r_idx), np.array(c_idx)
    k = c_arr * nc - c_arr * (c_arr - 1) // 2 + (r_arr - c_arr)
    per_level = len(r_arr)
    level = np.repeat(np.arange(nl), per_level)
    rows = boff + level * nc + np.tile(c_arr, nl)
    lind = thoff + np.tile(k, nl)
    counts = np.tile(np.arange(1, nc + 1), nl)
    return rows, counts, lind


def mmlist_nlevels(grp: Node, fr: ModelFrame, known: int | None = None) -> int:
    """``nlevels(eval(factor(<grp>), fr))`` with base R, as ``lme4:::mmList.formula`` orders its terms
    (``grpfact``).  This differs from lme4's own level count only where ``:`` joins non-factors: base
    ``:`` then makes the number sequence ``a[1]:b[1]``.  ``known``: lme4's own count for the term
    (``mkBlist``'s ``factor(<grp>)``), returned where the two must agree (a factor, a non-factor,
    or ``:`` of two factors) without building the interaction again."""
    node = grp
    while isinstance(node, Call) and node.fn == "(":
        node = node.args[0].value
    ev = Evaluator(dict(fr.columns), fr.n)
    try:
        def colon(n: Node) -> object:  # base ':' of two factors is their interaction
            while isinstance(n, Call) and n.fn == "(":
                n = n.args[0].value
            if isinstance(n, Call) and n.fn == ":" and len(n.args) == 2:
                x, y = (colon(z.value) for z in n.args)
                if isinstance(x, Factor) and isinstance(y, Factor):
                    return interaction_factor(x, y)
                raise DataError("':' of non-factors inside an interaction")
            return ev(n)

        if isinstance(node, Call) and node.fn == ":" and len(node.args) == 2:
            a, b = (colon(x.value) for x in node.args)
            if isinstance(a, Factor) and isinstance(b, Factor):
                return known if known is not None else interaction_factor(a, b).drop_unused().nlevels
            # one factor: base ':' uses its integer codes
            a, b = ((x.codes + 1.0) if isinstance(x, Factor) else x for x in (a, b))
            if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and len(a) and len(b):
                return int(np.floor(abs(float(b[0]) - float(a[0])))) + 1
            return 0
        if known is not None:
            return known
        v = ev(node)
        return make_factor(v).nlevels
    except Exception:  # R fails here too; mmList's order is then moot
        return 0


def mk_reterms(bars: list[Call], fr: ModelFrame) -> ReTrms:
    """R: ``mkReTrms(bars, fr)`` with lme4's term reordering by number of levels."""
    if not bars:
        raise FormulaError("No random effects terms specified in formula")
    blist = [mk_term(b, fr) for b in bars]
    nl = [t.nl for t in blist]
    order = list(range(len(blist)))
    if any(b > a for a, b in zip(nl, nl[1:], strict=False)):
        # rev(order(nl)): stable ascending order, reversed -> ties come out in reverse formula order
        order = list(reversed(sorted(range(len(nl)), key=lambda k: nl[k])))
    terms = [blist[k] for k in order]
    Zt = sp.vstack([t.Zt for t in terms], format="csc")
    Zt.sort_indices()
    nb = [t.nc * t.nl for t in terms]
    Gp = np.concatenate([[0], np.cumsum(nb)]).astype(np.int64)
    nth = [t.nc * (t.nc + 1) // 2 for t in terms]
    thoff = np.concatenate([[0], np.cumsum(nth)]).astype(np.int64)
    rows_all, counts_all, lind_all = [], [], []
    for i, t in enumerate(terms):
        rows, counts, lind = _lambdat_block(t.nc, t.nl, int(Gp[i]), int(thoff[i]))
        rows_all.append(rows)
        counts_all.append(counts)
        lind_all.append(lind)
    q = int(Gp[-1])
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts_all))]).astype(np.int64)
    Lind = np.concatenate(lind_all).astype(np.int64)
    lower = np.full(int(thoff[-1]), -np.inf)
    theta = np.zeros(int(thoff[-1]))
    for i, t in enumerate(terms):
        for c in range(t.nc):
            k = int(thoff[i]) + c * t.nc - c * (c - 1) // 2
            lower[k] = 0.0
            theta[k] = 1.0
    Lambdat = sp.csc_matrix((theta[Lind], np.concatenate(rows_all), indptr), shape=(q, q))
    fnames: list[str] = []
    flist: list[tuple[str, Factor]] = []
    assign = []
    for t in terms:
        if t.group not in fnames:
            fnames.append(t.group)
            flist.append((t.group, t.ff))
        assign.append(fnames.index(t.group))
    nl_by_formula = [0] * len(terms)
    for k, t in zip(order, terms, strict=False):
        nl_by_formula[k] = t.nl
    rownames: list[str] = []
    for t in terms:
        rownames.extend(np.repeat(np.array(t.ff.levels, dtype=object), t.nc).tolist())
    return ReTrms(
        Zt=Zt, Zt_rownames=tuple(rownames), Zt_colnames=fr.rownames,
        Ztlist=tuple((t.name, t.Zt) for t in terms), Lambdat=Lambdat, Lind=Lind, theta=theta,
        lower=lower, Gp=Gp, cnms=tuple((t.group, t.cnms) for t in terms), flist=tuple(flist),
        assign=np.array(assign, dtype=np.int64), nl=tuple((t.group, t.nl) for t in terms),
        terms=tuple(terms), formula_order=tuple(order),
        mm_nl=tuple(mmlist_nlevels(bar_parts(b)[1], fr, known=nl_by_formula[k]) for k, b in enumerate(bars)))
