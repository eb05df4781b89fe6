"""R's ``splines::ns``, ``splines::bs``, ``splines::splineDesign``, ``stats::quantile`` (type 7) and
``base::cut.default``, ported from R 4.2.2's sources.

R equivalents: ``splines::splineDesign`` (C ``spline_basis``: ``set_cursor``, ``basis_funcs``,
``evaluate`` in ``src/library/splines/src/splines.c``), ``splines::ns`` (the natural-spline
constraint by ``qr(t(const))`` -- LINPACK ``dqrdc2`` -- and ``qr.qty``), ``splines::bs``,
``stats::quantile.default(type = 7)``, ``base::seq.int(from, to, length.out)``,
``base::cut.default`` with ``formatC(breaks, digits = dig.lab, width = 1)`` labels and ``.bincode``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pyreterms.errors import DataError, UnsupportedInput


def seq_length_out(start: float, end: float, n: int) -> np.ndarray:
    """R: ``seq.int(from, to, length.out = n)`` for doubles: ``from + (0:(n-1)) * by`` (C ``seq_colon``
    rules of ``do_seq``); the last element is ``to`` exactly."""
    if n == 1:
        return np.array([start], dtype=np.float64)
    by = (end - start) / (n - 1)
    out = start + np.arange(n, dtype=np.float64) * by
    out[-1] = end
    return out


def quantile7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R: ``quantile(x, probs, names = FALSE)`` (type 7, no NA)."""
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = len(xs)
    index = 1 + max(n - 1, 0) * np.asarray(probs, dtype=np.float64)
    lo = np.floor(index).astype(np.int64)
    hi = np.ceil(index).astype(np.int64)
    qs = xs[lo - 1].copy()
    xhi = xs[hi - 1]
    i = (index > lo) & (xhi != qs)
    h = (index - lo)[i]
    qs[i] = (1 - h) * qs[i] + h * xhi[i]
    return qs


def _cursor(knots: np.ndarray, order: int, x: float) -> tuple[int, bool]:
    """C ``set_cursor``: ``knots[curs] <= x < knots[curs+1]`` style position, with the right end."""
    nk = len(knots)
    curs = -1
    for i in range(nk):
        if knots[i] >= x:
            curs = i
        if knots[i] > x:
            break
    boundary = False
    if curs > nk - order:
        last = nk - order
        if x == knots[last]:
            boundary, curs = True, last
    return curs, boundary


def _basis_funcs(knots: np.ndarray, curs: int, ordm1: int, x: float) -> list[float]:
    """C ``basis_funcs``: the ``ord`` non-zero B-splines at x (de Boor, left/right differences)."""
    rdel = [knots[curs + i] - x for i in range(ordm1)]
    ldel = [x - knots[curs - (i + 1)] for i in range(ordm1)]
    b = [0.0] * (ordm1 + 1)
    b[0] = 1.0
    for j in range(1, ordm1 + 1):
        saved = 0.0
        for r in range(j):
            den = rdel[r] + ldel[j - 1 - r]
            if den != 0:
                term = b[r] / den
                b[r] = saved + rdel[r] * term
                saved = ldel[j - 1 - r] * term
            else:
                if r != 0 or rdel[r] != 0.0:
                    b[r] = saved
                saved = 0.0
        b[j] = saved
    return b


def _evaluate(knots: np.ndarray, curs: int, boundary: bool, ordm1: int, x: float, nder: int,
              a: list[float]) -> float:
    """C ``evaluate``: derivative ``nder`` of one B-spline (coefficients ``a``) at x."""
    if boundary and nder == ordm1:
        return 0.0
    a = list(a) + [0.0]
    ti = curs
    outer = ordm1
    while nder > 0:
        nder -= 1
        lpt = ti - outer
        for k in range(outer):
            a[k] = outer * (a[k + 1] - a[k]) / (knots[lpt + k + outer] - knots[lpt + k])
        outer -= 1
    rdel = [knots[curs + i] - x for i in range(outer)]
    ldel = [x - knots[curs - (i + 1)] for i in range(outer)]
    while outer > 0:
        outer -= 1
        li, ri = outer, 0
        for k in range(outer + 1):
            a[k] = (a[k + 1] * ldel[li] + a[k] * rdel[ri]) / (rdel[ri] + ldel[li])
            li -= 1
            ri += 1
    return a[0]


def spline_design(knots: np.ndarray, x: np.ndarray, ord: int = 4, derivs: np.ndarray | int = 0) -> np.ndarray:
    """R: ``splines::splineDesign(knots, x, ord, derivs)`` (``outer.ok = FALSE``, dense)."""
    knots = np.sort(np.asarray(knots, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64)
    nk, nx = len(knots), len(x)
    ders = np.atleast_1d(np.asarray(derivs, dtype=np.int64))
    if len(ders) > nx:  # R checks this first: ns()/bs() of new x that are all NA stop here
        raise DataError("length of 'derivs' is larger than length of 'x'")
    if ord > nk or ord < 1:
        raise DataError("'ord' must be positive integer, at most the number of knots")
    if nk < 2 * ord - 1:
        raise DataError(f"need at least 2*ord -1 (={2 * ord - 1}) knots")
    degree = ord - 1
    if np.any((x < knots[ord - 1]) | (knots[nk - degree - 1] < x)):
        raise DataError(f"the 'x' data must be in the range {knots[ord - 1]:g} to {knots[nk - degree - 1]:g} "
                        "unless you set 'outer.ok = TRUE'")
    ncoef = nk - ord
    design = np.zeros((nx, ncoef))
    for i in range(nx):
        xi = float(x[i])
        curs, boundary = _cursor(knots, ord, xi)
        io = curs - ord
        if io < 0 or io > nk:
            vals = [math.nan] * ord
        elif ders[i % len(ders)] > 0:
            d = int(ders[i % len(ders)])
            if d >= ord:
                vals = [0.0] * ord
            else:
                vals = []
                for ii in range(ord):
                    a = [0.0] * ord
                    a[ii] = 1.0
                    vals.append(_evaluate(knots, curs, boundary, degree, xi, d, a))
        else:
            vals = _basis_funcs(knots, curs, degree, xi)
        for j in range(ord):
            design[i, io + j] = vals[j]
    return design


def _dqrdc2_qty(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """R: ``qr.qty(qr(A), Y)`` for a full-rank A (LINPACK ``dqrdc2`` Householder vectors, no pivoting
    needed, applied as ``dqrsl`` does)."""
    x = np.array(A, dtype=np.float64, order="F")
    n, p = x.shape
    qraux = np.zeros(p)
    for l in range(min(n, p)):  # noqa: E741 - dqrdc2/dqrsl's own loop index
        nrmxl = float(np.sqrt(np.dot(x[l:, l], x[l:, l])))
        if nrmxl == 0.0:
            raise UnsupportedInput("ns(): the natural-spline constraint matrix is rank deficient")
        if x[l, l] != 0.0:
            nrmxl = math.copysign(nrmxl, x[l, l])
        x[l:, l] *= 1.0 / nrmxl
        x[l, l] = 1.0 + x[l, l]
        for j in range(l + 1, p):
            t = -np.dot(x[l:, l], x[l:, j]) / x[l, l]
            x[l:, j] += t * x[l:, l]
        qraux[l] = x[l, l]
        x[l, l] = -nrmxl
    qty = np.array(Y, dtype=np.float64)
    for j in range(min(p, n - 1)):
        if qraux[j] != 0.0:
            v = x[j:, j].copy()
            v[0] = qraux[j]
            t = -(v @ qty[j:]) / v[0]
            qty[j:] += np.outer(v, t)
    return qty


def _prepare(x: np.ndarray, df: float | None, knots: Sequence[float] | None,
             boundary: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    nax = np.isnan(x)
    xs = x[~nax]
    if boundary is not None:
        bk = np.sort(np.asarray(boundary, dtype=np.float64))
        outside = (xs < bk[0]) | (xs > bk[1])
    else:
        if len(xs) == 0:
            raise DataError("ns()/bs(): no non-missing values")
        bk = np.array([xs.min(), xs.max()]) if len(xs) != 1 else xs[0] * np.array([7.0, 9.0]) / 8
        outside = np.zeros(len(xs), dtype=bool)
    return xs, nax, bk, outside


def _inner_knots(xs: np.ndarray, outside: np.ndarray, n_inner: int) -> np.ndarray:
    if n_inner <= 0:
        return np.zeros(0)
    probs = seq_length_out(0.0, 1.0, n_inner + 2)[1:-1]
    return quantile7(xs[~outside], probs)


def _with_na(basis: np.ndarray, nax: np.ndarray) -> np.ndarray:
    if not nax.any():
        return basis
    out = np.full((len(nax), basis.shape[1]), np.nan)
    out[~nax] = basis
    return out


def ns(x: np.ndarray, df: float | None = None, knots: Sequence[float] | None = None, intercept: bool = False,
       boundary_knots: Sequence[float] | None = None) -> np.ndarray:
    """R: ``splines::ns(x, df, knots, intercept, Boundary.knots)`` (the matrix; columns "1".."k")."""
    return ns_basis(x, df, knots, intercept, boundary_knots)[0]


def ns_basis(x: np.ndarray, df: float | None = None, knots: Sequence[float] | None = None, intercept: bool = False,
             boundary_knots: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R: ``splines::ns``: the matrix and its attributes ``knots`` (inner) and ``Boundary.knots``."""
    xs, nax, bk, outside = _prepare(x, df, knots, boundary_knots)
    if df is not None and knots is None:
        n_inner = int(df) - 1 - int(intercept)
        if df != int(df):
            raise UnsupportedInput("ns(): a non-integer df is not supported")
        if n_inner < 0:
            raise UnsupportedInput(f"ns(): 'df' was too small (R warns and uses {1 + int(intercept)})")
        kn = _inner_knots(xs, outside, n_inner)
    else:
        kn = np.zeros(0) if knots is None else np.asarray(knots, dtype=np.float64)
        n_inner = len(kn)
    aknots = np.sort(np.concatenate([np.repeat(bk, 4), kn]))
    if outside.any():
        basis = np.zeros((len(xs), n_inner + 4))
        for side, sel in ((0, xs < bk[0]), (1, xs > bk[1])):
            if sel.any():
                piv = bk[side]
                xl = np.column_stack([np.ones(sel.sum()), xs[sel] - piv])
                tt = spline_design(aknots, np.array([piv, piv]), 4, np.array([0, 1]))
                basis[sel] = xl @ tt
        inside = ~outside
        if inside.any():
            basis[inside] = spline_design(aknots, xs[inside], 4)
    else:
        basis = spline_design(aknots, xs, 4)
    const = spline_design(aknots, bk, 4, np.array([2, 2]))
    if not intercept:
        const, basis = const[:, 1:], basis[:, 1:]
    qty = _dqrdc2_qty(const.T, basis.T)
    return _with_na(np.ascontiguousarray(qty.T[:, 2:]), nax), kn, bk


def bs(x: np.ndarray, df: float | None = None, knots: Sequence[float] | None = None, degree: int = 3,
       intercept: bool = False, boundary_knots: Sequence[float] | None = None) -> np.ndarray:
    """R: ``splines::bs(x, df, knots, degree, intercept, Boundary.knots)``."""
    return bs_basis(x, df, knots, degree, intercept, boundary_knots)[0]


def bs_basis(x: np.ndarray, df: float | None = None, knots: Sequence[float] | None = None, degree: int = 3,
             intercept: bool = False, boundary_knots: Sequence[float] | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """R: ``splines::bs``: the matrix, its attributes ``knots`` (inner) and ``Boundary.knots``, and
    whether some x lie outside the boundary knots (R warns "some 'x' values beyond boundary knots may
    cause ill-conditioned bases")."""
    ord_ = 1 + int(degree)
    if ord_ <= 1:
        raise DataError("'degree' must be integer >= 1")
    xs, nax, bk, outside = _prepare(x, df, knots, boundary_knots)
    if boundary_knots is None:
        bk = np.array([xs.min(), xs.max()])  # bs() has no single-value special case
    if df is not None and knots is None:
        if df != int(df):
            raise UnsupportedInput("bs(): a non-integer df is not supported")
        n_inner = int(df) - ord_ + (1 - int(intercept))
        if n_inner < 0:
            raise UnsupportedInput(f"bs(): 'df' was too small (R warns and uses {ord_ - (1 - int(intercept))})")
        kn = _inner_knots(xs, outside, n_inner)
    else:
        kn = np.zeros(0) if knots is None else np.asarray(knots, dtype=np.float64)
    aknots = np.sort(np.concatenate([np.repeat(bk, ord_), kn]))
    if outside.any():
        basis = _bs_outside(xs, bk, aknots, ord_, outside)
    else:
        basis = spline_design(aknots, xs, ord_)
    if not intercept:
        basis = basis[:, 1:]
    return _with_na(np.ascontiguousarray(basis), nax), kn, bk, bool(outside.any())


def _bs_outside(xs: np.ndarray, bk: np.ndarray, aknots: np.ndarray, ord_: int, outside: np.ndarray) -> np.ndarray:
    """``splines::bs`` for x beyond the boundary knots: the Taylor polynomial of degree ``ord - 1`` at a
    pivot a quarter of the way from the boundary knot to its neighbouring knot (R >= 3.2.3, ``e <- 1/4``)."""
    degree = ord_ - 1
    derivs = np.arange(ord_)
    scalef = np.array([math.gamma(k) for k in range(1, ord_ + 1)])  # R: gamma(1L:ord), the factorials
    basis = np.zeros((len(xs), len(aknots) - degree - 1))
    e = 0.25
    sides = ((xs < bk[0], (1 - e) * bk[0] + e * aknots[ord_]),
             (xs > bk[1], (1 - e) * bk[1] + e * aknots[len(aknots) - ord_ - 1]))
    for sel, pivot in sides:
        if sel.any():
            xl = np.column_stack([np.ones(int(sel.sum()))] + [(xs[sel] - pivot) ** k for k in range(1, degree + 1)])
            tt = spline_design(aknots, np.repeat(pivot, ord_), ord_, derivs)
            basis[sel] = xl @ (tt / scalef[:, None])
    inside = ~outside
    if inside.any():
        basis[inside] = spline_design(aknots, xs[inside], ord_)
    return basis


def _format_g(v: float, digits: int) -> str:
    """R: ``formatC(v, digits = digits, width = 1)`` for a double (C's ``%.*g``; R spells infinities
    ``Inf``/``-Inf``)."""
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return f"{v:.{digits}g}"


def cut(x: np.ndarray, breaks: Sequence[float] | float, labels: Sequence[str] | bool | None = None,
        include_lowest: bool = False, right: bool = True,
        dig_lab: int = 3) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """R: ``cut.default(x, breaks, labels, include.lowest, right, dig.lab)``: 0-based codes (-1 = NA)
    and the level labels (None when ``labels = FALSE``: then the codes + 1 are R's integer result)."""
    x = np.asarray(x, dtype=np.float64)
    br, nb = _cut_breaks(x, breaks)
    codes = np.full(len(x), -1, dtype=np.int64)
    lft = not right
    for i, xi in enumerate(x.tolist()):
        if math.isnan(xi):
            continue
        lo, hi = 0, nb - 1
        if xi < br[lo] or br[hi] < xi or (xi == br[hi if lft else lo] and not include_lowest):
            continue
        while hi - lo >= 2:
            new = (hi + lo) // 2
            if xi > br[new] or (lft and xi == br[new]):
                lo = new
            else:
                hi = new
        codes[i] = lo
    if labels is False:
        return codes, None
    if labels is None:
        return codes, _cut_labels(br, include_lowest, right, dig_lab)
    if labels is True:
        raise UnsupportedInput("cut(): labels = TRUE is not supported")
    labs = tuple(labels)
    if len(labs) != nb - 1:
        raise DataError("number of intervals and length of 'labels' differ")  # R: lengths differ
    if len(set(labs)) != len(labs):
        raise UnsupportedInput("cut(): duplicated labels are not supported")
    return codes, labs


def _cut_breaks(x: np.ndarray, breaks: object) -> tuple[np.ndarray, int]:
    """``cut.default``'s breaks: a number of intervals widened by 1/1000 of the range, or sorted
    break points; and their count."""
    br = np.atleast_1d(np.asarray(breaks, dtype=np.float64))
    if len(br) == 1:
        if math.isnan(br[0]) or br[0] < 2:
            raise DataError("invalid number of intervals")
        nb = int(br[0] + 1)
        ok = x[~np.isnan(x)]
        if len(ok) == 0:
            raise DataError("cut(): no finite values")  # R: range() of nothing
        rx = (float(ok.min()), float(ok.max()))
        dx = rx[1] - rx[0]
        if dx == 0:
            dx = abs(rx[0]) if rx[0] != 0 else 1.0
            br = seq_length_out(rx[0] - dx / 1000, rx[1] + dx / 1000, nb)
        else:
            br = seq_length_out(rx[0], rx[1], nb)
            br[0], br[-1] = rx[0] - dx / 1000, rx[1] + dx / 1000
    else:
        br = np.sort(br)
        nb = len(br)
    if len(np.unique(br)) != nb:
        raise DataError("'breaks' are not unique")
    return br, nb


def _cut_labels(br: np.ndarray, include_lowest: bool, right: bool, dig_lab: int) -> tuple[str, ...]:
    """``cut.default``'s interval labels: ``formatC`` of the breaks with the fewest digits (from
    ``dig.lab``, up to 12) that tell them apart."""
    for dig in range(dig_lab, max(12, dig_lab) + 1):
        ch = [_format_g(0.0 + b, dig) for b in br]
        # formatC formats the non-finite values together with format(): a common width
        wide = max((len(c) for c, b in zip(ch, br, strict=False) if math.isinf(b)), default=0)
        ch = [c.rjust(wide) if math.isinf(b) else c for c, b in zip(ch, br, strict=False)]
        if all(a != b for a, b in zip(ch[1:], ch[:-1], strict=False)):
            break
    else:
        raise UnsupportedInput("cut(): breaks too close to label (R numbers the levels instead)")
    labs = [("(" if right else "[") + a + "," + b + ("]" if right else ")")
            for a, b in zip(ch[:-1], ch[1:], strict=False)]
    if include_lowest:
        if right:
            labs[0] = "[" + labs[0][1:]
        else:
            labs[-1] = labs[-1][:-1] + "]"
    return tuple(labs)
