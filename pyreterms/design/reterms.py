"""Random-effects structures: J_i, X_i, Z_i = (J_i^T * X_i^T)^T, Zt, Lambdat, Lind, theta, flist.

R equivalents: ``lme4:::mkBlist`` (one term) and ``lme4::mkReTrms`` (``R/utilities.R:96``, ``:167``)
of lme4 1.1-31; the JSS paper's eq. (6) (``Z_i`` as a transposed Khatri-Rao product) and the
"Constructing the relative covariance factor" subsection (``Lind``).  Construction is vectorised:
no Python loop runs over observations or levels.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from pyreterms.design.model import ModelFrame, ReTerm, ReTrms
from pyreterms.design.modelmatrix import model_matrix
from pyreterms.errors import DataError, FormulaError
from pyreterms.formula.bars import bar_parts
from pyreterms.formula.evaluate import Evaluator, make_factor
from pyreterms.formula.parser import Call, Name, Node, call, deparse, frame_name, walk
from pyreterms.formula.terms import Terms, make_terms
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


_INT32_MAX = int(np.iinfo(np.int32).max)


def _index_dtype(*sizes: int) -> type[np.signedinteger]:
    """The index dtype scipy's constructors settle on (int32 when every index and count fits)."""
    return np.int32 if max(sizes, default=0) <= _INT32_MAX else np.int64


def csc_from_parts(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                   shape: tuple[int, int]) -> sp.csc_matrix:
    """A CSC matrix from canonical parts (indices sorted within each column, no duplicates), with the
    index dtype scipy would pick: the ``(data, indices, indptr)`` constructor without its COO detour
    or downcasting copies (small designs spend more in scipy's constructors than in arithmetic)."""
    it = _index_dtype(data.size, *shape)
    m = sp.csc_matrix((data, indices.astype(it, copy=False), indptr.astype(it, copy=False)), shape=shape)
    m.has_sorted_indices = True  # (canonical by construction: what sort_indices() would find)
    return m


def indicator(ff: Factor) -> sp.csc_matrix:
    """J_i (n x l): one 1 per row at the observation's level; NA rows empty (R: ``t(fac2sparse(ff))``).
    Built in CSC order directly: column ``k`` holds the rows at level ``k``, ascending."""
    n = len(ff)
    codes = ff.codes
    ok = codes >= 0
    if ok.all():
        rows = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=ff.nlevels)
    else:
        kept = np.flatnonzero(ok)
        rows = kept[np.argsort(codes[kept], kind="stable")]
        counts = np.bincount(codes[kept], minlength=ff.nlevels)
    indptr = np.zeros(ff.nlevels + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return csc_from_parts(np.ones(rows.size), rows, indptr, (n, ff.nlevels))


def khatri_rao_t(ff: Factor, Xi: np.ndarray) -> sp.csc_matrix:
    """Z_i^T = KhatriRao(J_i^T, X_i^T): column j holds X_i[j, ] in rows level_j * p_i + (0..p_i-1);
    exact zeros are not stored (as Matrix::KhatriRao and drop0 give)."""
    n, p = Xi.shape
    rows = ff.codes[:, None] * p + np.arange(p)[None, :]
    mask = (Xi != 0) & (ff.codes >= 0)[:, None]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    if mask.all():  # (the usual case: no zero in X_i, no NA level)
        return csc_from_parts(Xi.ravel(), rows.ravel(), indptr, (ff.nlevels * p, n))
    return csc_from_parts(Xi[mask], rows[mask], indptr, (ff.nlevels * p, n))


def vstack_csc(blocks: list[sp.csc_matrix]) -> sp.csc_matrix:
    """``sp.vstack(blocks, format="csc")`` followed by ``sort_indices()`` for CSC blocks with sorted
    indices and the same column count: column ``j`` is the blocks' columns ``j`` in order, each
    block's rows offset by the rows above it (so the result's indices are sorted)."""
    if len(blocks) == 1:
        return blocks[0]
    n = blocks[0].shape[1]
    offsets = np.cumsum([0] + [b.shape[0] for b in blocks])
    # the entries of all blocks, block by block; a stable sort by column keeps block order, then rows
    cols = np.concatenate([np.repeat(np.arange(n), np.diff(b.indptr)) for b in blocks])
    order = np.argsort(cols, kind="stable")
    indices = np.concatenate([b.indices.astype(np.int64) + off for b, off in zip(blocks, offsets, strict=False)])
    data = np.concatenate([b.data for b in blocks])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=n), out=indptr[1:])
    return csc_from_parts(data[order], indices[order], indptr, (int(offsets[-1]), n))


@functools.lru_cache(maxsize=128)
def _bar_names(bar: Call) -> tuple[Node, Node, str, str, frozenset[str]]:
    """The formula-only parts of a bar term (cached): lhs, grouping expression, ``deparse(bar)``,
    the grouping expression's frame name and the variable names in it."""
    lhs, grp = bar_parts(bar)
    return lhs, grp, deparse(bar), frame_name(grp), frozenset(n.id for n in walk(grp) if isinstance(n, Name))


@functools.lru_cache(maxsize=128)
def _lhs_terms(lhs: Node) -> Terms:
    """``terms(~ lhs)`` of a bar term (read-only: shared by the fits of one formula)."""
    return make_terms(call("~", lhs))


def mk_term(bar: Call, fr: ModelFrame) -> ReTerm:
    """R: ``mkBlist(bar, fr)`` for one term."""
    lhs, grp, name, group, gnames = _bar_names(bar)
    ff = grouping_factor(grp, fr)
    # X_i = model.matrix(~ lhs, frloc), where frloc has the grouping variables made factors
    cols = fr.columns
    if any(k in gnames and isinstance(v, (np.ndarray, Logical, Character)) for k, v in cols):
        cols = tuple((k, make_factor(v) if k in gnames and isinstance(v, (np.ndarray, Logical, Character)) else v)
                     for k, v in cols)
    frloc = ModelFrame(cols, fr.rownames)
    mm = model_matrix(_lhs_terms(lhs), frloc)
    if mm.X.shape[1] == 0:
        raise FormulaError(f"random-effects term ({name}) has no columns")
    Xi = mm.X
    return ReTerm(name=name, group=group, ff=ff, J=indicator(ff), Xi=Xi,
                  cnms=mm.colnames, Zt=khatri_rao_t(ff, Xi))


@functools.lru_cache(maxsize=16)
def _lambdat_pattern(nc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row offset within the level, theta index, per-column count) of one level's nc x nc block of
    Lambdat, in CSC order: column r holds rows c = 0..r with theta index ``k(r, c)`` (read-only)."""
    r_idx, c_idx = [], []
    for r in range(nc):
        for c in range(r + 1):
            r_idx.append(r)
            c_idx.append(c)
    r_arr, c_arr = np.array(r_idx, dtype=np.int64), np.array(c_idx, dtype=np.int64)
    k = c_arr * nc - c_arr * (c_arr - 1) // 2 + (r_arr - c_arr)
    out = (c_arr, k, np.arange(1, nc + 1, dtype=np.int64))
    for a in out:
        a.flags.writeable = False
    return out


def _lambdat_block(nc: int, nl: int, boff: int, thoff: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row indices, column pointers relative, Lind) of one term's part of Lambdat in CSC order.

    Column ``boff + l*nc + r`` of Lambdat holds rows ``boff + l*nc + c`` for ``c = 0..r`` with
    theta index ``k(r, c)`` (column-major lower-triangle numbering)."""
    c_arr, k, cnt = _lambdat_pattern(nc)
    if nc == 1:
        rows1 = np.arange(boff, boff + nl, dtype=np.int64)
        return rows1, np.ones(nl, dtype=np.int64), np.full(nl, thoff, dtype=np.int64)
    rows = (boff + np.arange(nl, dtype=np.int64) * nc)[:, None] + c_arr[None, :]
    return rows.ravel(), np.tile(cnt, nl), np.tile(k + thoff, nl)


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
    Zt = vstack_csc([t.Zt for t in terms])
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
    Lambdat = csc_from_parts(theta[Lind], np.concatenate(rows_all), indptr, (q, q))
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
