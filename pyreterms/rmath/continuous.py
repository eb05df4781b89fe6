"""R 4.2's ``rgamma`` and statmod 1.5's ``rinvgauss``, bit for bit, on top of :class:`~pyreterms.rmath.rng.RRNG`
(what lme4's ``simulate()`` draws from for ``Gamma`` and ``inverse.gaussian`` GLMMs).

Sources: R 4.2.2 ``src/nmath/rgamma.c`` (Ahrens & Dieter 1982, algorithm GD, for a shape >= 1; Ahrens &
Dieter 1974, algorithm GS, below 1), called through ``stats``' ``rgamma(n, shape, rate)``: ``scale = 1/rate``
in R, then ``random2`` (recycling; "NAs produced"); statmod 1.5.0's R function ``rinvgauss(n, mean, shape)``
(Michael, Schucany & Haas 1976: one squared normal and one uniform per draw, both vectorised).

``rgamma`` is one draw at a time in a plain Python loop: each draw consumes a data-dependent number of
normals, uniforms and exponentials (rejection), so only a scalar port keeps R's stream position.  The C code
caches its set-up constants in ``static`` variables between calls with the same shape; they are recomputed
here every call, the same numbers.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from pyreterms.errors import RWarning
from pyreterms.rmath.rng import RRNG, _recycled, _result_length

__all__ = ["rgamma", "rgamma_one", "rinvgauss"]

_SQRT32 = 5.656854
_EXP_M1 = 0.36787944117144232159  # exp(-1)
_Q = (0.04166669, 0.02083148, 0.00801191, 0.00144121, -7.388e-5, 2.4511e-4, 2.424e-4)
_A = (0.3333333, -0.250003, 0.2000062, -0.1662921, 0.1423657, -0.1367177, 0.1233795)


def _gs(rng: RRNG, a: float, scale: float) -> float:
    """Algorithm GS (0 < a < 1)."""
    e = 1.0 + _EXP_M1 * a
    while True:
        p = e * rng.unif_rand()
        if p >= 1.0:
            x = -math.log((e - p) / a)
            if rng.exp_rand() >= (1.0 - a) * math.log(x):
                break
        else:
            x = math.exp(math.log(p) / a)
            if rng.exp_rand() >= x:
                break
    return scale * x


def _quotient(t: float, s: float, s2: float, q0: float) -> float:
    """Steps 6 and 10: the quotient ``q`` at the normal (or double exponential) sample ``t``."""
    v = t / (s + s)
    if abs(v) <= 0.25:
        a1, a2, a3, a4, a5, a6, a7 = _A
        return q0 + 0.5 * t * t * ((((((a7 * v + a6) * v + a5) * v + a4) * v + a3) * v + a2) * v + a1) * v
    return q0 - s * t + 0.25 * t * t + (s2 + s2) * math.log(1.0 + v)


def rgamma_one(rng: RRNG, a: float, scale: float) -> float:
    """R's C ``rgamma(a, scale)``: one gamma variate (shape ``a``, scale ``scale``); NaN where invalid."""
    if math.isnan(a) or math.isnan(scale):
        return math.nan
    if a <= 0.0 or scale <= 0.0:
        return 0.0 if scale == 0.0 or a == 0.0 else math.nan
    if not math.isfinite(a) or not math.isfinite(scale):
        return math.inf
    if a < 1.0:
        return _gs(rng, a, scale)
    # GD, step 1
    s2 = a - 0.5
    s = math.sqrt(s2)
    d = _SQRT32 - s * 12.0
    # step 2: immediate acceptance
    t = rng.norm_rand()
    x = s + 0.5 * t
    ret_val = x * x
    if t >= 0.0:
        return scale * ret_val
    # step 3: squeeze acceptance
    u = rng.unif_rand()
    if d * u <= t * t * t:
        return scale * ret_val
    # step 4
    r = 1.0 / a
    q1, q2, q3, q4, q5, q6, q7 = _Q
    q0 = ((((((q7 * r + q6) * r + q5) * r + q4) * r + q3) * r + q2) * r + q1) * r
    if a <= 3.686:
        b, si, c = 0.463 + s + 0.178 * s2, 1.235, 0.195 / s - 0.079 + 0.16 * s
    elif a <= 13.022:
        b, si, c = 1.654 + 0.0076 * s2, 1.68 / s + 0.275, 0.062 / s + 0.024
    else:
        b, si, c = 1.77, 0.75, 0.1515 / s
    # steps 5-7: quotient acceptance
    if x > 0.0 and math.log(1.0 - u) <= _quotient(t, s, s2, q0):
        return scale * ret_val
    while True:  # steps 8-11: double exponential rejection
        e = rng.exp_rand()
        u = rng.unif_rand()
        u = u + u - 1.0
        t = b - si * e if u < 0.0 else b + si * e
        if t >= -0.71874483771719:
            q = _quotient(t, s, s2, q0)
            if q > 0.0 and c * abs(u) <= math.expm1(q) * math.exp(e - 0.5 * t * t):
                break
    x = s + 0.5 * t
    return scale * x * x


def rgamma(rng: RRNG, n: Any, shape: Any, rate: Any = 1.0) -> np.ndarray:
    """R: ``rgamma(n, shape, rate)`` (``scale = 1/rate`` in R, then ``random2``: both recycled; NaN and an
    "NAs produced" warning where invalid)."""
    k = _result_length(n)
    with np.errstate(divide="ignore"):
        scale = 1.0 / np.atleast_1d(np.asarray(rate, dtype=np.float64))
    a, b = _recycled(shape, k, "shape"), _recycled(scale, k, "scale")
    out = np.array([rgamma_one(rng, float(a[i]), float(b[i])) for i in range(k)], dtype=np.float64)
    if np.isnan(out).any():
        warnings.warn("NAs produced", RWarning, stacklevel=2)
    return out


def rinvgauss(rng: RRNG, n: int, mean: Any, shape: Any) -> np.ndarray:
    """statmod 1.5.0's ``rinvgauss(n, mean, shape)`` for finite positive means and shapes (what lme4's
    inverse.gaussian simulation passes: fitted means, ``weights / sigma``); the special cases of an infinite
    mean or dispersion are not ported (a clear error)."""
    mu = _recycled(mean, n, "mean")
    phi = _recycled(1.0 / np.atleast_1d(np.asarray(shape, dtype=np.float64)), n, "dispersion")
    if n == 0:
        return np.zeros(0)
    if not (np.all((mu > 0) & np.isfinite(mu)) and np.all((phi > 0) & np.isfinite(phi))):
        raise ValueError("rinvgauss: a mean or dispersion that is not finite and positive is not supported")
    z = rng.rnorm(n)
    Y = z * z  # R: rnorm(n)^2 is x * x
    Yphi = Y * phi * mu
    big = Yphi > 5e5
    X1 = np.empty(n)
    X1[big] = 1 / Yphi[big]
    nb = ~big
    X1[nb] = 1 + Yphi[nb] / 2 * (1 - np.sqrt(1 + 4 / Yphi[nb]))
    first = rng.runif(n) < 1 / (1 + X1)
    r = np.where(first, X1, 1 / X1)
    return mu * r
