"""R's random numbers, bit for bit: R 4.2's default ``RNGkind("Mersenne-Twister", "Inversion",
"Rejection")`` with ``set.seed``, ``.Random.seed``, ``runif``, ``rnorm`` and ``sample.int``.

Sources (R 4.2.2): ``src/main/RNG.c`` (``RNG_Init``, ``FixupSeeds``, ``MT_genrand``, ``fixup``,
``rbits``, ``R_unif_index``, ``GetRNGstate``/``PutRNGstate``), ``src/nmath/snorm.c`` (``norm_rand``,
INVERSION), ``src/nmath/runif.c``, ``src/nmath/rnorm.c``, ``src/library/stats/src/random.c``
(``random2``: argument recycling, "NAs produced"), ``src/main/random.c`` (``do_sample``),
``src/main/unique.c`` (``do_sample2``, the hash variant) and ``src/library/base/R/sample.R``.
Written by hand because numpy's MT19937 is seeded differently (``init_by_array``) and has no R
``fixup``, inversion normals or rejection sampling; only the exact port reproduces R's streams.

The Mersenne-Twister state is twisted 624 words at a time with numpy (the three dependency-free
slices of the recurrence) and tempered as a block; the values are the same as the C loop's.
"""
from __future__ import annotations

import math
import numbers
import secrets
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from pyreterms.errors import RRandomError, RWarning
from pyreterms.rmath.qnorm import qnorm_std

__all__ = ["RRNG", "RNG_KIND_CODE"]

#: ``.Random.seed[1]`` of RNGkind("Mersenne-Twister", "Inversion", "Rejection"): 3 + 100*4 + 10000*1
RNG_KIND_CODE = 10403
_N, _M = 624, 397
_MATRIX_A = np.uint32(0x9908B0DF)
_UPPER, _LOWER = np.uint32(0x80000000), np.uint32(0x7FFFFFFF)
_TEMPER_B, _TEMPER_C = np.uint32(0x9D2C5680), np.uint32(0xEFC60000)
_I2_32M1 = 2.328306437080797e-10  # 1/(2^32 - 1), RNG.c's i2_32m1 used by fixup()
_2M32 = 2.3283064365386963e-10  # 2^-32, MT_genrand's scale
_BIG = 134217728.0  # 2^27, snorm.c INVERSION
_INT_MAX = 2147483647
#: sexp.c's q[k-1] = sum(log(2)^j / j!, j = 1..k), as R writes them
_EXP_Q = (0.6931471805599453, 0.9333736875190459, 0.9888777961838675, 0.9984959252914960040,
          0.9998292811061389, 0.9999833164100727, 0.9999985691438767, 0.9999998906925558,
          0.9999999924734159, 0.9999999995283275, 0.9999999999728814, 0.9999999999985598,
          0.9999999999999289, 0.9999999999999968, 0.9999999999999999, 1.0000000000000000)


def _twist(mt: np.ndarray) -> None:
    """MT_genrand's "generate N words at one time", in place, as three vector slices + the last
    word (each slice reads only words the C loop has already rewritten or not yet touched)."""
    def step(dst: slice, nxt: slice, src: slice) -> None:
        y = (mt[dst] & _UPPER) | (mt[nxt] & _LOWER)
        mt[dst] = mt[src] ^ (y >> np.uint32(1)) ^ np.where(y & np.uint32(1), _MATRIX_A, np.uint32(0))

    step(slice(0, 227), slice(1, 228), slice(397, 624))      # kk < N - M: mt[kk + M] still old
    step(slice(227, 454), slice(228, 455), slice(0, 227))    # mt[kk + M - N] already new
    step(slice(454, 623), slice(455, 624), slice(227, 396))
    step(slice(623, 624), slice(0, 1), slice(396, 397))      # y uses the new mt[0]


def _temper(mt: np.ndarray) -> np.ndarray:
    """MT_genrand's tempering and ``* 2^-32``, then RNG.c's ``fixup`` (0 -> 0.5/(2^32-1); 1 is
    unreachable), for every word: ``unif_rand()`` for each position of ``mti``."""
    y = mt.copy()
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & _TEMPER_B
    y ^= (y << np.uint32(15)) & _TEMPER_C
    y ^= y >> np.uint32(18)
    u = y.astype(np.float64) * _2M32
    u[y == 0] = 0.5 * _I2_32M1
    return u


def _sgenrand(seed: int) -> np.ndarray:
    """RNG.c ``MT_sgenrand`` (only reached from a ``.Random.seed`` whose ``mti`` is 625)."""
    mt = np.empty(_N, dtype=np.uint32)
    for i in range(_N):
        hi = seed & 0xFFFF0000
        seed = (69069 * seed + 1) & 0xFFFFFFFF
        mt[i] = hi | ((seed & 0xFFFF0000) >> 16)
        seed = (69069 * seed + 1) & 0xFFFFFFFF
    return mt


def _result_length(n: Any) -> int:
    """stats/src/random.c ``resultLength``: a number is truncated towards 0; a longer vector gives
    its length."""
    if isinstance(n, (bool, np.bool_, str, bytes)):
        raise RRandomError(f"invalid arguments: n = {n!r}")
    if isinstance(n, numbers.Real):
        if not math.isfinite(n) or n < 0:  # R: ISNAN(dn) || dn < 0 (Inf: "too large")
            raise RRandomError(f"invalid arguments: n = {n!r}")
        # typeshed's Real has no __int__; float() alters a non-integral type only past 2^53 (no vector is that long)
        return int(n) if isinstance(n, numbers.Integral) else int(float(n))
    try:
        size = len(n)
    except TypeError:
        raise RRandomError(f"invalid arguments: n = {n!r}") from None
    return _result_length(n[0]) if size == 1 else size


def _recycled(x: Any, n: int, what: str) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        raise RRandomError(f"invalid arguments: '{what}' must be numeric") from None
    if a.size == 0:
        return np.full(n, np.nan)
    if a.size == 1:
        return np.full(n, a[0])
    return np.tile(a, -(-n // a.size))[:n]  # R's recycling a[i % na]


def _sample_args(n: float, size: float | None, replace: bool) -> tuple[float, float, int]:
    """``sample.int``'s argument checks in R's order (``do_sample``, ``asVecSize``): (n as a double,
    size, size truncated towards 0)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Real):
        raise RRandomError(f"invalid first argument: n = {n!r}")
    size = n if size is None else size
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Real) or not math.isfinite(size):
        raise RRandomError(f"invalid 'size' argument: {size!r}")
    if size > 4503599627370496.0:  # asVecSize: R_XLEN_T_MAX = 2^52
        raise RRandomError("vector size specified is too large")
    k = int(size)  # (R_xlen_t) d: towards 0
    if not math.isfinite(n) or n < 0 or n > 4.5e15:  # checked before size < 0, as in do_sample
        raise RRandomError(f"invalid first argument: n = {n!r}")
    if k < 0:
        raise RRandomError(f"invalid 'size' argument: {size!r}")
    dn = float(n)
    if k > 0 and dn == 0:
        raise RRandomError("invalid first argument: n = 0 with size > 0")
    if not isinstance(replace, (bool, np.bool_)):
        raise RRandomError("invalid 'replace' argument")
    return dn, float(size), k


class RRNG:
    """One R random number stream: ``RNGkind("Mersenne-Twister", "Inversion", "Rejection")``.

    ``RRNG(seed)`` is R's ``set.seed(seed)``; ``RRNG()`` seeds from the OS (R seeds from the time
    and process id).  The state is R's ``.Random.seed`` (:attr:`random_seed`, settable).
    Results of :meth:`sample_int` are 1-based, as in R.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._mt = np.zeros(_N, dtype=np.uint32)
        self._mti = _N
        self._u: np.ndarray | None = None  # unif_rand() for each mti, of the current _mt
        self.set_seed(secrets.randbelow(2 * _INT_MAX + 1) - _INT_MAX if seed is None else seed)

    # ---- state -------------------------------------------------------------------------------
    def set_seed(self, seed: int) -> None:
        """R: ``set.seed(seed)`` (RNG.c ``do_setseed`` -> ``RNG_Init`` -> ``FixupSeeds(kind, 1)``).

        ``seed`` goes through R's ``asInteger``: a double is truncated towards 0; NA, NaN and values
        outside R's integer range (``|seed| > 2^31 - 1``) are "not a valid integer", as in R.
        """
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Real) \
                or not math.isfinite(seed) or abs(seed) >= _INT_MAX + 1:
            raise RRandomError(f"supplied seed is not a valid integer: {seed!r}")
        s = int(seed) & 0xFFFFFFFF  # (Int32) seed: unsigned 32-bit arithmetic below
        for _ in range(50):  # initial scrambling
            s = (69069 * s + 1) & 0xFFFFFFFF
        words = np.empty(_N + 1, dtype=np.uint32)
        for j in range(_N + 1):  # i_seed[0] (mti) is filled too, "for historical consistency"
            s = (69069 * s + 1) & 0xFFFFFFFF
            words[j] = s
        self._mt = words[1:].copy()
        self._mti = _N  # FixupSeeds(initial = 1): dummy[0] = 624
        self._u = None  # (an all-zero state, FixupSeeds' other case, cannot follow from this LCG)

    @property
    def random_seed(self) -> np.ndarray:
        """R: ``.Random.seed`` -- 626 int32: 10403, ``mti``, then the 624 words of ``mt`` as signed."""
        out = np.empty(_N + 2, dtype=np.int32)
        out[0] = RNG_KIND_CODE
        out[1] = np.uint32(self._mti & 0xFFFFFFFF).view(np.int32)
        out[2:] = self._mt.view(np.int32)
        return out

    @random_seed.setter
    def random_seed(self, seed: Sequence[int]) -> None:
        self.set_random_seed(seed)

    def set_random_seed(self, seed: Sequence[int]) -> None:
        """R: ``.Random.seed <- seed`` followed by the next draw's ``GetRNGstate`` (``FixupSeeds(kind,
        0)``: an ``mti`` of 0 becomes 624; 625 re-seeds with ``MT_sgenrand(4357)`` at the next draw).

        Only kind 10403 is reproduced.  R re-seeds from the clock on an all-zero state; that and a
        negative ``mti`` (undefined behaviour in R's C code) are refused here.
        """
        try:
            a = np.asarray(seed)
            if a.ndim != 1 or a.dtype.kind not in "iu" or a.size == 0:
                raise TypeError
            v = [int(x) for x in a]
        except (TypeError, ValueError):
            raise RRandomError("'.Random.seed' must be a 1-d vector of integers") from None
        if len(v) != _N + 2:
            raise RRandomError(f"'.Random.seed' has wrong length: {len(v)}, not {_N + 2}")
        if v[0] != RNG_KIND_CODE:
            raise RRandomError(f"'.Random.seed[1]' is {v[0]}: only {RNG_KIND_CODE} (Mersenne-Twister, "
                               "Inversion, Rejection) is supported")
        if any(x < -_INT_MAX - 1 or x > 0xFFFFFFFF for x in v[1:]):
            raise RRandomError("'.Random.seed' values must be 32-bit integers")
        mti = v[1] if v[1] <= _INT_MAX else v[1] - (1 << 32)
        if mti < 0:
            raise RRandomError(f"'.Random.seed[2]' (mti) is {mti}: must be >= 0")
        mt = np.array([x & 0xFFFFFFFF for x in v[2:]], dtype=np.uint32)
        if not mt.any():
            raise RRandomError("'.Random.seed' has an all-zero Mersenne-Twister state (R would "
                               "re-seed from the clock)")
        self._mt, self._mti, self._u = mt, (_N if mti == 0 else mti), None

    def _refill(self) -> None:
        if self._mti == _N + 1:
            self._mt = _sgenrand(4357)
        _twist(self._mt)
        self._mti = 0
        self._u = None

    # ---- uniforms ----------------------------------------------------------------------------
    def unif_rand(self) -> float:
        """R's C ``unif_rand()``: ``fixup(MT_genrand())``, in (0, 1)."""
        if self._mti >= _N:
            self._refill()
        if self._u is None:
            self._u = _temper(self._mt)
        u = float(self._u[self._mti])
        self._mti += 1
        return u

    def _uniforms(self, k: int) -> np.ndarray:
        """The next ``k`` ``unif_rand()`` values."""
        out = np.empty(k)
        got = 0
        while got < k:
            if self._mti >= _N:
                self._refill()
            if self._u is None:
                self._u = _temper(self._mt)
            take = min(_N - self._mti, k - got)
            out[got:got + take] = self._u[self._mti:self._mti + take]
            self._mti += take
            got += take
        return out

    def runif(self, n: int, min: Any = 0.0, max: Any = 1.0) -> np.ndarray:  # noqa: A002 (R's names)
        """R: ``runif(n, min = 0, max = 1)`` (nmath/runif.c via stats' ``random2``; ``min``/``max``
        recycled; ``min == max`` gives ``min`` without a draw; NaN + "NAs produced" where invalid)."""
        n = _result_length(n)
        a, b = _recycled(min, n, "min"), _recycled(max, n, "max")
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(a) & np.isfinite(b) & (b >= a)
            draw = ok & (a != b)
            out = np.where(ok, a, np.nan)
            u = self._uniforms(int(draw.sum()))  # never <= 0 or >= 1: R's do-while runs once
            out[draw] = a[draw] + (b[draw] - a[draw]) * u
        if not ok.all():
            warnings.warn("NAs produced", RWarning, stacklevel=2)
        return out

    # ---- normals -----------------------------------------------------------------------------
    def _norms(self, k: int) -> np.ndarray:
        u = self._uniforms(2 * k)
        u1 = np.floor(_BIG * u[0::2]) + u[1::2]  # (int)(BIG * u) + unif_rand()
        return qnorm_std(u1 / _BIG)

    def norm_rand(self) -> float:
        """R's C ``norm_rand()`` with INVERSION (nmath/snorm.c): two uniforms, 27 + 32 bits, qnorm."""
        return float(self._norms(1)[0])

    def exp_rand(self) -> float:
        """R's C ``exp_rand()`` (nmath/sexp.c, Ahrens & Dieter 1972): a standard exponential."""
        a = 0.0
        u = self.unif_rand()
        while u <= 0.0 or u >= 1.0:  # sexp.c's precaution; unif_rand() is in (0, 1)
            u = self.unif_rand()
        while True:
            u += u
            if u > 1.0:
                break
            a += _EXP_Q[0]
        u -= 1.0
        if u <= _EXP_Q[0]:
            return a + u
        i = 0
        umin = self.unif_rand()
        while True:
            ustar = self.unif_rand()
            if umin > ustar:
                umin = ustar
            i += 1
            if u <= _EXP_Q[i]:
                break
        return a + umin * _EXP_Q[0]

    def rnorm(self, n: int, mean: Any = 0.0, sd: Any = 1.0) -> np.ndarray:
        """R: ``rnorm(n, mean = 0, sd = 1)`` (nmath/rnorm.c via ``random2``; recycled arguments;
        ``sd == 0`` or infinite ``mean`` gives ``mean`` without a draw)."""
        n = _result_length(n)
        mu, sigma = _recycled(mean, n, "mean"), _recycled(sd, n, "sd")
        with np.errstate(invalid="ignore"):
            bad = np.isnan(mu) | ~np.isfinite(sigma) | (sigma < 0.0)
            draw = ~bad & (sigma != 0.0) & np.isfinite(mu)
            out = np.where(bad, np.nan, mu)
            out[draw] = mu[draw] + sigma[draw] * self._norms(int(draw.sum()))
        if bad.any():
            warnings.warn("NAs produced", RWarning, stacklevel=2)
        return out

    # ---- sampling ----------------------------------------------------------------------------
    def _rbits(self, bits: int) -> int:
        """RNG.c ``rbits``: 16 bits per ``unif_rand()``, high chunk first, masked to ``bits``."""
        v = 0
        for _ in range(bits // 16 + 1):
            v = 65536 * v + math.floor(self.unif_rand() * 65536)
        return v & ((1 << bits) - 1)

    def unif_index(self, dn: float) -> int:
        """R's C ``R_unif_index(dn)`` with "Rejection": uniform on 0, ..., dn - 1."""
        if not isinstance(dn, numbers.Real) or not math.isfinite(dn) or dn > 4.5e15:
            raise RRandomError(f"R_unif_index needs a finite dn <= 4.5e15, not {dn!r}")
        if dn <= 0:
            return 0
        bits = math.ceil(math.log2(dn))
        while True:
            dv = self._rbits(bits)
            if dn > dv:
                return dv

    def _unif_index_many(self, dn: float, k: int) -> np.ndarray:
        """``k`` successive ``R_unif_index(dn)`` (same ``dn``), vectorised: the candidates are drawn
        in blocks and the stream is rewound to just after the ``k``-th accepted one."""
        out = np.empty(k, dtype=np.int64)
        if dn <= 0:
            out[:] = 0
            return out
        bits = math.ceil(math.log2(dn))
        chunks = bits // 16 + 1
        mask = np.uint64((1 << bits) - 1)
        got = 0
        while got < k:
            need = k - got
            m = int(need * (2.0 ** bits) / dn * 1.05) + 16
            saved = (self._mt.copy(), self._mti, self._u)
            u = self._uniforms(m * chunks).reshape(m, chunks)
            v = np.zeros(m, dtype=np.uint64)
            for c in range(chunks):  # uint64 wraps like R's int_least64_t; the mask keeps low bits
                v = v * np.uint64(65536) + np.floor(u[:, c] * 65536).astype(np.uint64)
            dv = (v & mask).astype(np.float64)
            acc = np.flatnonzero(dv < dn)
            if acc.size >= need:
                used = int(acc[need - 1]) + 1
                self._mt, self._mti, self._u = saved
                self._uniforms(used * chunks)
                acc = acc[:need]
            out[got:got + acc.size] = dv[acc].astype(np.int64)
            got += acc.size
        return out

    def sample_int(self, n: float, size: float | None = None, replace: bool = False,
                   use_hash: bool | None = None) -> np.ndarray:
        """R: ``sample.int(n, size = n, replace = FALSE)`` without ``prob`` (base/R/sample.R;
        ``do_sample`` in main/random.c, or ``do_sample2`` in main/unique.c when ``useHash``, whose
        default is ``n > 1e7 && !replace && size <= n/2``).  1-based int64 values, as R's.

        A fractional ``n`` or ``size`` is treated as R does: ``size`` is truncated (``asVecSize``,
        ``asInteger``), ``n`` is truncated on the ``n <= 2^31 - 1`` path and without replacement,
        and used as it is by ``R_unif_index`` on the hash and ``n > 2^31 - 1`` with-replacement paths.
        """
        dn, size, k = _sample_args(n, size, replace)
        if use_hash is None:
            use_hash = dn > 1e7 and not replace and size <= dn / 2
        if use_hash:
            if replace:
                raise RRandomError("useHash = TRUE needs replace = FALSE")
            if k > _INT_MAX:
                raise RRandomError(f"invalid 'size' argument: {size!r}")
            if k > dn / 2:
                raise RRandomError("This algorithm is for size <= n/2")
            return self._sample2(dn, k)
        if not replace and k > dn:
            raise RRandomError("cannot take a sample larger than the population when 'replace = FALSE'")
        big = dn > _INT_MAX or k > _INT_MAX
        if replace or (k < 2 and not big):
            return self._unif_index_many(dn if big else float(int(dn)), k) + 1
        # partial Fisher-Yates: x[j] is j unless moved (a dict instead of R's n-vector: same values)
        out = np.empty(k, dtype=np.int64)
        moved: dict[int, int] = {}
        m = int(dn)
        for i in range(k):
            j = self.unif_index(float(m))
            out[i] = moved.get(j, j) + 1
            m -= 1
            moved[j] = moved.get(m, m)
        return out

    def _sample2(self, dn: float, k: int) -> np.ndarray:
        """unique.c ``do_sample2``: draw, redraw a duplicate (at most 100 tries, then keep it)."""
        out = np.empty(k, dtype=np.int64)
        seen: set[int] = set()
        i = tries = 0
        while i < k:
            for c in self._unif_index_many(dn, k - i):  # each slot needs >= 1 candidate: none wasted
                c = int(c) + 1
                out[i] = c
                if c in seen:
                    tries += 1
                    if tries < 100:
                        continue
                else:
                    seen.add(c)
                i += 1
                tries = 0
        return out

    def sample(self, x: Any, size: int | None = None, replace: bool = False) -> Any:
        """R: ``sample(x, size, replace = FALSE)`` without ``prob``: a single number ``x >= 1`` means
        ``sample.int(x, ...)``; otherwise the elements of ``x`` (a sequence or array) are drawn."""
        if isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)):
            if math.isfinite(x) and not x < 1:  # x >= 1 (typeshed's Real has only < and <=)
                # any numbers.Real goes on unconverted (error messages show it as given); _sample_args
                # checks it at run time, and typeshed's Real is not a float
                return self.sample_int(x, size, replace)  # type: ignore[arg-type]
            x = [x]
        arr = np.asarray(x)
        if arr.ndim != 1:
            raise RRandomError("sample(x): x must be a number or a 1-d sequence")
        idx = self.sample_int(arr.size, arr.size if size is None else size, replace)
        return arr[idx - 1]
