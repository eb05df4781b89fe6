"""R 4.2's ``rbinom`` and ``rpois``, bit for bit, on top of :class:`~pyreterms.rmath.rng.RRNG`.

Sources (R 4.2.2): ``src/nmath/rbinom.c`` (Kachitvichyanukul & Schmeiser's BTPE for ``n*p >= 30``,
inversion below; R 4.2's Stirling terms all added, ``one_6th = 0.1666666666666``),
``src/nmath/rpois.c`` (Ahrens & Dieter 1982: table lookup for ``mu < 10``, normal/exponential
"PTRS" otherwise), ``src/main/arithmetic.c`` (``R_pow_di``) and ``src/library/stats/src/random.c``
(``random1``/``random2``: recycling, "NAs produced").

Written by hand, one draw at a time in plain Python loops: each draw consumes a data-dependent
number of uniforms (rejection loops), so only a scalar port reproduces R's stream position; numpy's
binomial/Poisson generators use other algorithms.  The C code keeps ``static`` set-up constants
between calls with the same parameters; they live here in :class:`_BinomStatics` and
:class:`_PoisStatics` (one set per process, as in R) and are recomputed when the parameters change.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyreterms.errors import RRandomError, RWarning
from pyreterms.rmath.rng import RRNG, _recycled, _result_length

__all__ = ["rbinom", "rpois", "rbinom_one", "rpois_one", "r_pow_di"]

_INT_MAX = 2147483647
_FACT = (1.0, 1.0, 2.0, 6.0, 24.0, 120.0, 720.0, 5040.0, 40320.0, 362880.0)  # rpois.c fact[]
_A = (-0.5, 0.3333333, -0.2500068, 0.2000118, -0.1661269, 0.1421878, -0.1384794, 0.1250060)
_ONE_7, _ONE_12, _ONE_24 = 0.1428571428571428571, 0.0833333333333333333, 0.0416666666666666667
_M_1_SQRT_2PI = 0.398942280401432677939946059934


def r_pow_di(x: float, n: int) -> float:
    """R's ``R_pow_di`` (arithmetic.c): ``x^n`` by repeated squaring (differs from ``pow`` in ulps)."""
    if math.isnan(x):
        return x
    xn = 1.0
    if n != 0:
        if not math.isfinite(x):
            return math.pow(x, float(n))
        neg = n < 0
        if neg:
            n = -n
        while True:
            if n & 1:
                xn *= x
            n >>= 1
            if n:
                x *= x
            else:
                break
        if neg:
            xn = 1.0 / xn
    return xn


@dataclass
class _BinomStatics:
    """rbinom.c's ``static`` variables."""
    psave: float = -1.0
    nsave: int = -1
    m: int = 0
    c: float = 0.0
    fm: float = 0.0
    npq: float = 0.0
    p1: float = 0.0
    p2: float = 0.0
    p3: float = 0.0
    p4: float = 0.0
    qn: float = 0.0
    xl: float = 0.0
    xll: float = 0.0
    xlr: float = 0.0
    xm: float = 0.0
    xr: float = 0.0


@dataclass
class _PoisStatics:
    """rpois.c's ``static`` variables."""
    l: int = 0  # noqa: E741 (R's name)
    m: int = 0
    b1: float = 0.0
    b2: float = 0.0
    c: float = 0.0
    c0: float = 0.0
    c1: float = 0.0
    c2: float = 0.0
    c3: float = 0.0
    pp: list[float] = field(default_factory=lambda: [0.0] * 36)
    p0: float = 0.0
    p: float = 0.0
    q: float = 0.0
    s: float = 0.0
    d: float = 0.0
    omega: float = 0.0
    big_l: float = 0.0
    muprev: float = 0.0
    muprev2: float = 0.0


_BINOM = _BinomStatics()
_POIS = _PoisStatics()


def _binom_setup(st: _BinomStatics, n: int, p: float, q: float, np_: float) -> None:
    """rbinom.c's set-up of the BTPE constants (``n*p >= 30``)."""
    ffm = np_ + p
    st.m = int(ffm)
    st.fm = float(st.m)
    st.npq = np_ * q
    st.p1 = int(2.195 * math.sqrt(st.npq) - 4.6 * q) + 0.5
    st.xm = st.fm + 0.5
    st.xl = st.xm - st.p1
    st.xr = st.xm + st.p1
    st.c = 0.134 + 20.5 / (15.3 + st.fm)
    al = (ffm - st.xl) / (ffm - st.xl * p)
    st.xll = al * (1.0 + 0.5 * al)
    al = (st.xr - ffm) / (st.xr * q)
    st.xlr = al * (1.0 + 0.5 * al)
    st.p2 = st.p1 * (1.0 + st.c + st.c)
    st.p3 = st.p2 + st.c / st.xll
    st.p4 = st.p3 + st.c / st.xlr


def _wrap_int32(v: int) -> int:
    return ((v + 2**31) % 2**32) - 2**31


def _stirling(y: float, y2: float) -> float:
    return (13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / y2) / y2) / y2) / y2) / y / 166320.0


def _btpe(rng: RRNG, st: _BinomStatics, n: int, p: float, q: float, g: float, r: float) -> int:
    """rbinom.c's ``repeat`` loop for ``n*p >= 30`` (R 4.2's Stirling test, all terms added)."""
    xm, p1 = st.xm, st.p1
    while True:
        u = rng.unif_rand() * st.p4
        v = rng.unif_rand()
        if u <= p1:  # triangular region
            return int(xm - p1 * v + u)
        if u <= st.p2:  # parallelogram
            x = st.xl + (u - p1) / st.c
            v = v * st.c + 1.0 - abs(xm - x) / p1
            if v > 1.0 or v <= 0.0:
                continue
            ix = int(x)
        elif u > st.p3:  # right tail
            ix = int(st.xr - math.log(v) / st.xlr)
            if ix > n:
                continue
            v = v * (u - st.p3) * st.xlr
        else:  # left tail
            ix = int(st.xl + math.log(v) / st.xll)
            if ix < 0:
                continue
            v = v * (u - st.p2) * st.xll
        if _btpe_accept(st, n, ix, v, p, q, g, r):
            return ix


def _btpe_accept(st: _BinomStatics, n: int, ix: int, v: float, p: float, q: float, g: float,
                 r: float) -> bool:
    """rbinom.c's accept/reject test of a BTPE candidate ``ix`` (explicit, squeeze, Stirling)."""
    m, npq, xm = st.m, st.npq, st.xm
    k = abs(ix - m)
    if k <= 20 or k >= npq / 2 - 1:  # explicit evaluation
        f = 1.0
        if m < ix:
            for i in range(m + 1, ix + 1):
                f *= (g / i - r)
        elif m != ix:
            for i in range(ix + 1, m + 1):
                f /= (g / i - r)
        return v <= f
    amaxp = (k / npq) * ((k * (k / 3.0 + 0.625) + 0.1666666666666) / npq + 0.5)
    # C computes -k * k in int: it wraps past 2^31 (k > 46340, only for huge size); so does R
    ynorm = _wrap_int32(-k * k) / (2.0 * npq)
    alv = math.log(v)
    if alv < ynorm - amaxp:
        return True
    if alv > ynorm + amaxp:
        return False
    x1 = ix + 1.0
    f1 = st.fm + 1.0
    z = n + 1 - st.fm
    w = n - ix + 1.0
    return alv <= (xm * math.log(f1 / x1) + (n - m + 0.5) * math.log(z / w)
                   + (ix - m) * math.log(w * p / (x1 * q))
                   + _stirling(f1, f1 * f1) + _stirling(z, z * z)
                   + _stirling(x1, x1 * x1) + _stirling(w, w * w))


def _inversion(rng: RRNG, qn: float, g: float, r: float) -> int:
    """rbinom.c's ``L_np_small`` (``n*p < 30``): inverse cdf, restarting past 110."""
    while True:
        ix = 0
        f = qn
        u = rng.unif_rand()
        while True:
            if u < f:
                return ix
            if ix > 110:
                break
            u -= f
            ix += 1
            f *= (g / ix - r)


def rbinom_one(rng: RRNG, nin: float, pp: float) -> float:
    """One draw of R's C ``rbinom(nin, pp)`` (nmath/rbinom.c); NaN where R gives NaN."""
    st = _BINOM
    if not math.isfinite(nin):
        return math.nan
    rr = float(math.floor(nin))
    if rr != nin:  # R_forceint(nin) != nin
        return math.nan
    if not math.isfinite(pp) or rr < 0 or pp < 0.0 or pp > 1.0:
        return math.nan
    if rr == 0 or pp == 0.0:
        return 0.0
    if pp == 1.0:
        return rr
    if rr >= _INT_MAX:
        raise RRandomError(f"rbinom: size {rr:g} >= 2^31 - 1 (R's qbinom path) is not supported")
    n = int(rr)
    p = min(pp, 1.0 - pp)
    q = 1.0 - p
    np_ = n * p
    r = p / q
    g = r * (n + 1)
    if pp != st.psave or n != st.nsave:  # parameters changed: recompute the static constants
        st.psave, st.nsave = pp, n
        if np_ < 30.0:
            st.qn = r_pow_di(q, n)
        else:
            _binom_setup(st, n, p, q, np_)
    if np_ < 30.0:
        ix = _inversion(rng, st.qn, g, r)
    else:
        ix = _btpe(rng, st, n, p, q, g, r)
    if st.psave > 0.5:
        ix = n - ix
    return float(ix)


def _step_f(st: _PoisStatics, mu: float, pois: float, fk: float, difmuk: float
            ) -> tuple[float, float, float, float]:
    """rpois.c's 'subroutine' F: (px, py, fx, fy)."""
    if pois < 10:
        px = -mu
        py = math.pow(mu, pois) / _FACT[int(pois)]
    else:
        dl = _ONE_12 / fk
        dl = dl * (1.0 - 4.8 * dl * dl)
        v = difmuk / fk
        if abs(v) <= 0.25:
            px = fk * v * v * (((((((_A[7] * v + _A[6]) * v + _A[5]) * v + _A[4]) * v + _A[3]) * v
                                 + _A[2]) * v + _A[1]) * v + _A[0]) - dl
        else:
            px = fk * math.log(1.0 + v) - difmuk - dl
        py = _M_1_SQRT_2PI / math.sqrt(fk)
    x = (0.5 - difmuk) / st.s
    x *= x
    fx = -0.5 * x
    fy = st.omega * (((st.c3 * x + st.c2) * x + st.c1) * x + st.c0)
    return px, py, fx, fy


def _pois_small(rng: RRNG, st: _PoisStatics, mu: float) -> float:
    """rpois.c Case B (``mu < 10``): inversion with the lazily extended table ``pp``."""
    if mu != st.muprev:
        st.muprev = mu
        st.m = max(1, int(mu))
        st.l = 0
        st.q = st.p0 = st.p = math.exp(-mu)
    pp = st.pp
    while True:
        u = rng.unif_rand()  # Step U
        if u <= st.p0:
            return 0.0
        if st.l != 0:  # Step T
            for k in range(1 if u <= 0.458 else min(st.l, st.m), st.l + 1):
                if u <= pp[k]:
                    return float(k)
            if st.l == 35:
                continue
        st.l += 1  # Step C
        for k in range(st.l, 36):
            st.p *= mu / k
            st.q += st.p
            pp[k] = st.q
            if u <= st.q:
                st.l = k
                return float(k)
        st.l = 35


def rpois_one(rng: RRNG, mu: float) -> float:
    """One draw of R's C ``rpois(mu)`` (nmath/rpois.c); NaN where R gives NaN."""
    st = _POIS
    if not math.isfinite(mu) or mu < 0:
        return math.nan
    if mu <= 0.0:
        return 0.0
    big_mu = mu >= 10.0
    new_big_mu = False
    if not (big_mu and mu == st.muprev):
        if not big_mu:
            return _pois_small(rng, st, mu)
        new_big_mu = True  # Case A
        st.muprev = mu
        st.s = math.sqrt(mu)
        st.d = 6.0 * mu * mu
        st.big_l = math.floor(mu - 1.1484)
    pois = -1.0
    fk = difmuk = u = 0.0
    g = mu + st.s * rng.norm_rand()  # Step N
    if g >= 0.0:
        pois = math.floor(g)
        if pois >= st.big_l:  # Step I
            return pois
        fk = pois
        difmuk = mu - fk
        u = rng.unif_rand()  # Step S
        if st.d * u >= difmuk * difmuk * difmuk:
            return pois
    if new_big_mu or mu != st.muprev2:  # Step P
        st.muprev2 = mu
        st.omega = _M_1_SQRT_2PI / st.s
        st.b1 = _ONE_24 / mu
        st.b2 = 0.3 * st.b1 * st.b1
        st.c3 = _ONE_7 * st.b1 * st.b2
        st.c2 = st.b2 - 15.0 * st.c3
        st.c1 = st.b1 - 6.0 * st.b2 + 45.0 * st.c3
        st.c0 = 1.0 - st.b1 + 3.0 * st.b2 - 15.0 * st.c3
        st.c = 0.1069 / mu
    if g >= 0.0:  # Step Q (kflag = 0)
        px, py, fx, fy = _step_f(st, mu, pois, fk, difmuk)
        if fy - u * fy <= py * math.exp(px - fx):
            return pois
    while True:  # Step E
        e = rng.exp_rand()
        u = 2 * rng.unif_rand() - 1.0
        t = 1.8 + (abs(e) if u >= 0 else -abs(e))  # fsign(E, u)
        if t > -0.6744:
            pois = math.floor(mu + st.s * t)
            fk = pois
            difmuk = mu - fk
            px, py, fx, fy = _step_f(st, mu, pois, fk, difmuk)
            if st.c * abs(u) <= py * math.exp(px + e) - fy * math.exp(fx + e):  # Step H
                return pois


def _finish(out: np.ndarray) -> np.ndarray:
    if np.isnan(out).any():
        warnings.warn("NAs produced", RWarning, stacklevel=3)
    return out


def rbinom(rng: RRNG, n: Any, size: Any, prob: Any) -> np.ndarray:
    """R: ``rbinom(n, size, prob)`` (stats' ``random2``: ``size`` and ``prob`` recycled; NaN and
    an "NAs produced" warning where invalid).  R returns an integer vector; this a double one."""
    k = _result_length(n)
    a, b = _recycled(size, k, "size"), _recycled(prob, k, "prob")
    out = np.array([rbinom_one(rng, float(a[i]), float(b[i])) for i in range(k)], dtype=np.float64)
    return _finish(out)


def rpois(rng: RRNG, n: Any, lambda_: Any) -> np.ndarray:
    """R: ``rpois(n, lambda)`` (stats' ``random1``: ``lambda`` recycled; NaN and an "NAs
    produced" warning where invalid).  R returns an integer vector; this a double one."""
    k = _result_length(n)
    a = _recycled(lambda_, k, "lambda")
    out = np.array([rpois_one(rng, float(a[i])) for i in range(k)], dtype=np.float64)
    return _finish(out)
