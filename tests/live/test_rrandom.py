"""R's random numbers (pyreterms.rmath.rng, pyreterms.rmath.qnorm) against live R 4.2.2, bit for bit:
``set.seed`` + ``runif``/``rnorm``/``sample.int`` (and interleavings), ``.Random.seed`` after the
calls, setting ``.Random.seed``, ``qnorm`` over its branches and tails, and R's refusals."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from pyreterms.errors import RRandomError, RWarning
from pyreterms.rmath.qnorm import qnorm, qnorm_std
from pyreterms.rmath.rng import RRNG

pytestmark = pytest.mark.r

_INT_MAX = 2**31 - 1


def _seeds() -> list[int]:
    fixed = [0, 1, 2, 42, -1, -2, -42, 7, 100, 624, 4357, 10403, 69069, 123456789, -987654321,
             2**30, -(2**30), 10**9, -(10**9), 2 * 10**9, _INT_MAX, -_INT_MAX, _INT_MAX - 1]
    rng = np.random.default_rng(14)
    more = [int(s) for s in rng.integers(-_INT_MAX, _INT_MAX, size=200, endpoint=True)]
    return fixed + more


def _bits(x: np.ndarray) -> np.ndarray:
    """The IEEE bits (so that == also tells -0.0 from 0.0 and a NaN equals a NaN)."""
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64)).view(np.int64)


def _same(ours: np.ndarray, r) -> bool:
    return np.array_equal(_bits(ours), _bits(np.asarray(r, dtype=np.float64)))


def _doubles(xs) -> "object":
    from rpy2.robjects import FloatVector

    return FloatVector([float(x) for x in xs])


# One seed, five streams from set.seed(seed): runif, rnorm, sample.int (permutation), sample.int
# with replacement, and an interleaving; each followed by .Random.seed.  `n` varies with the seed so
# that the 624-word refills fall everywhere (n = 623, 624, 625, 1249 ...).
_R_STREAMS = r"""
function(seed, n, m) {
  out <- list()
  set.seed(seed); out$u <- runif(n); out$su <- .Random.seed
  set.seed(seed); out$z <- rnorm(n); out$sz <- .Random.seed
  set.seed(seed); out$p <- sample.int(m); out$sp <- .Random.seed
  set.seed(seed); out$r <- sample.int(m, n, replace = TRUE); out$sr <- .Random.seed
  set.seed(seed)
  out$i <- c(runif(3), rnorm(7, mean = c(0, 5, -1e300, Inf, 2), sd = c(1, 0, 2.5, 1, 1e-3)),
             sample.int(50, 20), runif(5, -3, 10), sample.int(1000, 300, replace = TRUE),
             rnorm(n, 10, 0.5), sample.int(2^31 - 1, 3), sample.int(m, 1), runif(2, 4, 4),
             sample.int(1e9, 17, replace = TRUE), sample(7), rnorm(1))
  out$si <- .Random.seed
  out
}
"""


def _py_streams(seed: int, n: int, m: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    g = RRNG(seed)
    out["u"] = g.runif(n)
    out["su"] = g.random_seed
    g.set_seed(seed)
    out["z"] = g.rnorm(n)
    out["sz"] = g.random_seed
    g.set_seed(seed)
    out["p"] = g.sample_int(m)
    out["sp"] = g.random_seed
    g.set_seed(seed)
    out["r"] = g.sample_int(m, n, replace=True)
    out["sr"] = g.random_seed
    g.set_seed(seed)
    parts = [g.runif(3), g.rnorm(7, mean=[0, 5, -1e300, math.inf, 2], sd=[1, 0, 2.5, 1, 1e-3]),
             g.sample_int(50, 20), g.runif(5, -3, 10), g.sample_int(1000, 300, replace=True),
             g.rnorm(n, 10, 0.5), g.sample_int(_INT_MAX, 3), g.sample_int(m, 1), g.runif(2, 4, 4),
             g.sample_int(10**9, 17, replace=True), g.sample(7), g.rnorm(1)]
    out["i"] = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    out["si"] = g.random_seed
    return out


def test_streams_identical_for_many_seeds(R):
    f = R.r_eval(_R_STREAMS)
    sizes = [1, 2, 5, 100, 623, 624, 625, 626, 1000, 1249, 1872, 2500]
    seeds = _seeds()
    assert len(seeds) >= 200
    mism = []
    for i, seed in enumerate(seeds):
        n, m = sizes[i % len(sizes)], [1, 2, 3, 10, 97, 256, 257, 1000, 4096, 65537][i % 10]
        want = R.r_call(f, float(seed), n, m)
        got = _py_streams(seed, n, m)
        for key, val in zip(want.names, want):
            r = np.asarray(val)
            ok = (np.array_equal(got[key], r) and r.dtype == np.int32) if key.startswith("s") \
                else _same(got[key], r)
            if not ok:
                mism.append((seed, n, m, key))
    assert not mism, mism[:10]


def test_random_seed_layout_after_set_seed(R):
    for seed in (0, 1, -1, _INT_MAX):
        want = np.array(R.r_eval(f"set.seed({seed}); .Random.seed"))
        got = RRNG(seed).random_seed
        assert got.dtype == np.int32 and got.shape == (626,) and got[0] == 10403 and got[1] == 624
        assert np.array_equal(got, want)


def test_seed_as_r_integer(R):
    """set.seed's asInteger: doubles truncate towards 0; NA / out of range are refused, as in R."""
    g = RRNG(0)
    for s in (3.7, -3.7, 2147483647.9, 1e9 + 0.5):
        want = np.array(R.r_eval(f"set.seed({s!r}); .Random.seed"))
        g.set_seed(s)
        assert np.array_equal(g.random_seed, want), s
    for s in (2**31, -(2**31), 1e10, math.nan, math.inf):
        rtxt = {math.nan: "NaN", math.inf: "Inf"}.get(s, repr(float(s)))
        msg = str(R.r_eval(f"suppressWarnings(tryCatch({{set.seed({rtxt}); 'ok'}}, "
                           "error = function(e) conditionMessage(e)))")[0])
        assert msg == "supplied seed is not a valid integer"
        with pytest.raises(RRandomError, match="supplied seed is not a valid integer"):
            g.set_seed(s)
    for bad in ("1", None, True):
        with pytest.raises(RRandomError):
            g.set_seed(bad)  # type: ignore[arg-type]


_R_FROM_STATE = r"""
function(state, n) {
  assign(".Random.seed", state, envir = globalenv())
  x <- c(runif(n), rnorm(n), sample.int(1000, 5))
  list(x = x, s = .Random.seed)
}
"""


def test_set_random_seed_continues_as_r(R):
    """A state read from R continues identically; edited states: mti = 0 (FixupSeeds -> 624),
    625 (MT_sgenrand(4357) at the next draw), 700 (refill at the next draw), 1 and 623."""
    from rpy2.robjects import IntVector

    f = R.r_eval(_R_FROM_STATE)
    g = RRNG(5)
    for seed in (5, -77, 2024):
        base = np.array(R.r_eval(f"set.seed({seed}); invisible(runif({seed % 700 + 1})); .Random.seed"))
        for mti in (None, 0, 1, 623, 624, 625, 700):
            state = base.copy()
            if mti is not None:
                state[1] = mti
            want = R.r_call(f, IntVector([int(v) for v in state]), 700)
            g.random_seed = state
            got_x = np.concatenate([g.runif(700), g.rnorm(700), g.sample_int(1000, 5)])
            assert _same(got_x, want.rx2("x")), (seed, mti)
            assert np.array_equal(g.random_seed, np.asarray(want.rx2("s"))), (seed, mti)


def test_bad_states_refused():
    good = RRNG(1).random_seed
    for bad, match in ((good[:-1], "wrong length"), (np.r_[10402, good[1:]], "only 10403"),
                       (np.r_[good[:1], -5, good[2:]], "mti"), (np.r_[good[:2], np.zeros(624, int)], "all-zero"),
                       (good.astype(float), "integers"), ("abc", "integers")):
        with pytest.raises(RRandomError, match=match):
            RRNG(1).set_random_seed(bad)


def test_sample_paths_and_big_n(R):
    """sample.int's other paths: the hash variant (n > 1e7, size <= n/2, and useHash forced), the
    double path (n > 2^31 - 1, with and without replacement), size 0, and sample() of a vector."""
    cases = [("sample.int(1e8, 1000)", lambda g: g.sample_int(10**8, 1000)),
             ("sample.int(2^40, 50)", lambda g: g.sample_int(2**40, 50)),
             ("sample.int(3e9, 40, replace = TRUE)", lambda g: g.sample_int(3e9, 40, replace=True)),
             ("sample.int(4.5e15, 9, replace = TRUE)", lambda g: g.sample_int(4.5e15, 9, replace=True)),
             ("sample.int(2e7, 30, useHash = FALSE)", lambda g: g.sample_int(2 * 10**7, 30, use_hash=False)),
             ("sample.int(3000, 1000, useHash = TRUE)", lambda g: g.sample_int(3000, 1000, use_hash=True)),
             ("sample.int(20, 10, useHash = TRUE)", lambda g: g.sample_int(20, 10, use_hash=True)),
             ("sample.int(2^31 + 10, 6)", lambda g: g.sample_int(2**31 + 10, 6)),
             ("sample.int(65536, 300)", lambda g: g.sample_int(65536, 300)),
             ("sample.int(1, 5, replace = TRUE)", lambda g: g.sample_int(1, 5, replace=True)),
             ("sample.int(10.7, 3.9)", lambda g: g.sample_int(10.7, 3.9)),
             ("sample.int(10.7, 1)", lambda g: g.sample_int(10.7, 1)),
             ("sample.int(3e9 + 0.5, 25, replace = TRUE)", lambda g: g.sample_int(3e9 + 0.5, 25, replace=True)),
             ("sample.int(1e8 + 0.5, 20)", lambda g: g.sample_int(1e8 + 0.5, 20)),
             ("sample.int(2^31 + 0.5, 1)", lambda g: g.sample_int(2**31 + 0.5, 1)),
             ("c(runif(2.9), rnorm(c(7, 8, 9)))", lambda g: np.r_[g.runif(2.9), g.rnorm([7, 8, 9])]),
             ("c(sample.int(5, 0), sample.int(0, 0), runif(1))",
              lambda g: np.r_[g.sample_int(5, 0), g.sample_int(0, 0), g.runif(1)]),
             ("c(sample(c(10, 20, 30, 40)), sample(c(5.5, 6.5), 5, replace = TRUE), sample(3.5))",
              lambda g: np.r_[g.sample([10, 20, 30, 40]), g.sample([5.5, 6.5], 5, replace=True), g.sample(3.5)])]
    for seed in (0, 1, -9, 31337):
        for rcode, ours in cases:
            want = np.array(R.r_eval(f"set.seed({seed}); x <- {rcode}; list(x, .Random.seed)")[0], dtype=float)
            rs = np.array(R.r_eval(".Random.seed"))
            g = RRNG(seed)
            got = np.asarray(ours(g), dtype=float)
            assert np.array_equal(got, want), (seed, rcode)
            assert np.array_equal(g.random_seed, rs), (seed, rcode)


def test_sample_errors_as_r(R):
    g = RRNG(1)
    for rcode, call in (("sample.int(3, 5)", lambda: g.sample_int(3, 5)),
                        ("sample.int(-1)", lambda: g.sample_int(-1)),
                        ("sample.int(0, 2)", lambda: g.sample_int(0, 2)),
                        ("sample.int(5e15)", lambda: g.sample_int(5e15)),
                        ("sample.int(5e15, 3)", lambda: g.sample_int(5e15, 3)),
                        ("sample.int(10, -1)", lambda: g.sample_int(10, -1)),
                        ("sample.int(10, 8, useHash = TRUE)", lambda: g.sample_int(10, 8, use_hash=True))):
        msg = str(R.r_eval(f"tryCatch({{{rcode}; 'no error'}}, error = function(e) conditionMessage(e))")[0])
        assert msg != "no error"
        with pytest.raises(RRandomError) as ei:
            call()
        assert msg in str(ei.value), (rcode, msg, str(ei.value))
    with pytest.raises(RRandomError):
        g.runif(-1)
    with pytest.raises(RRandomError):
        g.rnorm(math.nan)
    with pytest.raises(RRandomError):
        g.rnorm(3, mean="a")


def test_nas_produced_as_r(R):
    """Invalid parameters give NaN without consuming the stream, with R's warning."""
    rcode = ("set.seed(3); x <- suppressWarnings(c(rnorm(4, sd = c(1, -1, NaN, Inf)), "
             "runif(4, c(0, 2, -Inf, 0), c(1, 1, 0, NaN)), rnorm(2, mean = numeric(0)), runif(3))); "
             "list(x, .Random.seed)")
    res = R.r_eval(rcode)
    g = RRNG(3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = np.r_[g.rnorm(4, sd=[1, -1, math.nan, math.inf]),
                    g.runif(4, [0, 2, -math.inf, 0], [1, 1, 0, math.nan]), g.rnorm(2, mean=[]), g.runif(3)]
    assert [str(x.message) for x in w] == ["NAs produced"] * 3 and all(x.category is RWarning for x in w)
    want = np.asarray(res[0])
    assert np.array_equal(np.isnan(got), np.isnan(want))  # R's NA_real_ is a NaN with a payload
    assert np.array_equal(got[~np.isnan(got)], want[~np.isnan(want)])
    assert np.array_equal(g.random_seed, np.asarray(res[1]))


def _qnorm_ps() -> np.ndarray:
    rng = np.random.default_rng(241)
    special = [0.0, 1.0, 0.5, 1e-300, 1 - 1e-16, 1e-16, 5e-324, 2.2250738585072014e-308, 1e-310,
               0.075, 0.925, 0.07499999999999999, 0.9250000000000002, 0.425, 1.3887943864964021e-11,
               1.388794386496402e-11, 1 - 1.3887943864964021e-11, 2.220446049250313e-16,
               1 - 2.220446049250313e-16, 1 - 1.1102230246251565e-16, 0.5 + 1e-17, 0.49999999999999994,
               0.9999999999999999, math.nan, -0.0]
    ps = np.r_[special, 10.0 ** -rng.uniform(0, 320, 3000), rng.uniform(0, 1, 3000),
               1 - 10.0 ** -rng.uniform(0, 16, 1000), np.linspace(0, 1, 2001)]
    return ps


def test_qnorm_bit_for_bit(R):
    ps = _qnorm_ps()
    f = R.r_eval("function(p, lt, lg) qnorm(p, lower.tail = lt, log.p = lg)")
    for lower in (True, False):
        want = np.asarray(R.r_call(f, _doubles(ps), lower, False))
        assert _same(qnorm(ps, lower_tail=lower), want), lower
    with np.errstate(divide="ignore"):
        logp = np.log(_qnorm_ps()[1:-2])
    logs = np.r_[-np.logspace(-20, 7, 3000), 0.0, -math.inf, -1e-300, -665856.0, -665857.0, -1e300,
                 logp]
    for lower in (True, False):
        want = np.asarray(R.r_call(f, _doubles(logs), lower, True))
        assert _same(qnorm(logs, lower_tail=lower, log_p=True), want), lower
    inner = ps[(ps > 0) & (ps < 1)]  # rnorm's vectorised path, all three AS 241 pieces
    assert _same(qnorm_std(inner), R.r_call(f, _doubles(inner), True, False))
    for p in (1e-300, 1 - 1e-16, 0.0, 1.0, 0.5):  # the scalar entry point
        assert _same(np.array([qnorm(p)]), R.r_call(f, p, True, False))


def test_qnorm_mean_sd_and_nans(R):
    ps = np.r_[_qnorm_ps()[:400], 1.5, -0.25]
    mean, sd = [0.0, -3.5, 1e10], [1.0, 2.0, 0.0, 1e-5, -1.0]
    with pytest.warns(RWarning, match="NaNs produced"):
        got = qnorm(ps, mean, sd)
    want = np.array(R.r_eval("function(p) suppressWarnings(qnorm(p, c(0, -3.5, 1e10), c(1, 2, 0, 1e-5, -1)))")(
        _doubles(ps)))
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(_bits(got[~np.isnan(got)]), _bits(want[~np.isnan(want)]))
