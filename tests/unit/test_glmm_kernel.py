"""The compiled PIRLS (pyreterms.glmm.kernel / pirlsjit / famjit) against the readable numpy path it replaces
(pyreterms.glmm.pirls, agq, family, links), which stays the reference: element kernels bit for bit (the same
C library functions; numpy's own SIMD ``pow`` aside), ``aic``, and the deviance functions at given parameters
to <= 1e-12 relative on every family and link, nAGQ = 0, Laplace and AGQ 3/5/9, with the state they leave
(u, beta, L, RX, RZX, eta, mu), and the same refusals."""
from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numba.core import config

import pyreterms
from pyreterms import jitcache
from pyreterms.glmm import family as fam
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.famjit import FAMILIES, LINKS, aic, aic_setup, family_arrays, link_arrays, pairwise_sum
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.links import _LINKS
from pyreterms.glmm.pirls import PirlsError

RNG = np.random.default_rng(20261127)
CB = "cbind(incidence, size - incidence) ~ period + "


def _eta_grid() -> np.ndarray:
    x = np.concatenate([RNG.normal(0, 3, 20000), RNG.uniform(-40, 40, 5000), np.linspace(-800, 800, 2001),
                        [0.0, -0.0, 30.0, -30.0, 30.000000001, 5.0, -5.0, 1e-300, -1e-300, np.inf, -np.inf, np.nan]])
    return x


@pytest.mark.parametrize("link", list(LINKS))
def test_link_kernels_are_the_numpy_links_bit_for_bit(link: str) -> None:
    lk = _LINKS[link]
    eta = _eta_grid()
    if link in ("sqrt", "1/mu^2", "inverse"):
        eta = np.concatenate([np.abs(eta[np.isfinite(eta)]) + 1e-3, [0.0, np.inf, np.nan]])
    with np.errstate(all="ignore"):
        ref_inv, ref_me = lk.lme4_linkinv(eta), lk.lme4_mu_eta(eta)
    got_inv, got_me = link_arrays(LINKS[link], eta)
    np.testing.assert_array_equal(got_inv, ref_inv)
    if link == "1/mu^2":  # numpy's eta ** 1.5 is its SIMD pow, the kernel's the C library's: 1 ulp apart at most
        np.testing.assert_allclose(got_me, ref_me, rtol=4.5e-16, atol=0)
    else:
        np.testing.assert_array_equal(got_me, ref_me)


FAMS = {"binomial": fam.binomial(), "poisson": fam.poisson(), "Gamma": fam.Gamma(),
        "inverse.gaussian": fam.inverse_gaussian(), "gaussian": fam.gaussian("log")}


@pytest.mark.parametrize("name", list(FAMS))
def test_family_kernels_are_the_numpy_families_bit_for_bit(name: str) -> None:
    f = FAMS[name]
    n = 30000
    if name == "binomial":
        mu = np.concatenate([RNG.uniform(0, 1, n), [2.2e-16, 1 - 2.2e-16, 0.5]])
        size = RNG.integers(1, 30, mu.size).astype(float)
        y = np.round(RNG.uniform(0, 1, mu.size) * size) / size
        y[:50], y[50:100] = 0.0, 1.0
        wt = size
    else:
        mu = np.exp(RNG.normal(0, 2, n))
        y = np.round(mu * RNG.uniform(0, 2, n)) if name == "poisson" else mu * np.exp(RNG.normal(0, 0.5, n))
        wt = RNG.uniform(0.5, 2, n)
    with np.errstate(all="ignore"):
        ref_var, ref_dev = f.lme4_variance(mu), f.dev_resids(y, mu, wt)
    got_var, got_dev = family_arrays(FAMILIES[name], y, mu, wt)
    if name == "inverse.gaussian":  # numpy's mu ** 3 is its SIMD pow, the kernel's the C library's pow
        np.testing.assert_allclose(got_var, ref_var, rtol=4.5e-16, atol=0)
    else:
        np.testing.assert_array_equal(got_var, ref_var)
    np.testing.assert_array_equal(got_dev, ref_dev)
    if name != "Gamma":  # Gamma's aic stays in numpy (scipy's gamma.logpdf)
        dev = float(np.sum(ref_dev))
        nn = wt if name == "binomial" else np.ones(y.size)
        w = np.ones(y.size) if name == "binomial" else wt
        ref = f.aic(y, nn, mu, w, dev)
        got = aic(FAMILIES[name], aic_setup(FAMILIES[name], y, nn, w), y, mu, w, dev, np.empty(y.size),
                  np.flatnonzero(y != 0))
        assert got == pytest.approx(ref, rel=1e-14, abs=0)


def test_pairwise_sum_is_numpys() -> None:
    for n in [*range(0, 300), 1000, 4097, 7584, 20000]:
        a = RNG.normal(size=n) * 10.0 ** RNG.uniform(-8, 8, n)
        assert pairwise_sum(a, 0, n) == np.sum(a)


def _cbpp() -> pd.DataFrame:
    cb = pyreterms.load_dataset("cbpp").copy()
    cb["obs"] = pd.Categorical([f"o{i:02d}" for i in range(len(cb))])
    cb["x"] = RNG.normal(size=len(cb))
    cb["pos"] = cb["incidence"] + 0.5 + RNG.uniform(size=len(cb))
    cb["prop"] = cb["incidence"] / cb["size"]
    return cb


CB_DATA = _cbpp()
DESIGNS = [  # (formula, family, AGQ allowed)
    (CB + "(1 | herd)", fam.binomial(), True),
    (CB + "(1 | herd)", fam.binomial("probit"), True),
    (CB + "(1 | herd)", fam.binomial("cloglog"), True),
    (CB + "(1 | herd)", fam.binomial("cauchit"), True),
    ("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", fam.binomial("log"), True),
    ("prop ~ period + (1 | herd)", fam.binomial(), True),  # proportions with weights (below)
    (CB + "(1 | obs) + (1 | herd)", fam.binomial(), False),  # nested: the Schur complement eliminated again
    (CB + "(1 | herd) + (1 | period)", fam.binomial(), False),  # 15 diagonal + 4 dense
    ("incidence ~ period + (1 | herd)", fam.poisson(), True),
    ("incidence ~ period + x + (1 | herd)", fam.poisson("sqrt"), True),
    ("incidence ~ 1 + (1 | herd)", fam.poisson("identity"), True),
    ("pos ~ x + (1 | herd)", fam.Gamma("log"), True),
    ("pos ~ x + (1 | herd)", fam.Gamma(), True),
    ("pos ~ x + (1 | herd)", fam.inverse_gaussian("log"), True),
    ("pos ~ x + (1 | herd)", fam.inverse_gaussian(), True),
    ("pos ~ x + (1 | herd)", fam.gaussian("log"), True),
    (CB + "(1 + x | herd)", fam.binomial(), False),  # vector terms: U = Z Lambda per theta, lam = 1
    (CB + "(1 + x | herd) + (1 | period)", fam.binomial(), False),
    ("incidence ~ x + (1 + x | period)", fam.poisson(), False),
    (CB + "(1 | herd) + (0 + x | period)", fam.binomial("probit"), False),
]


def _glf(formula: str, f: fam.Family) -> GLFormula:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glf = glformula(formula, CB_DATA, f, weights="size" if formula.startswith("prop") else None)
    assert isinstance(glf, GLFormula)
    return glf


def _outcome(fn: Callable[[], float]) -> float | str:
    """The value, or the refusal's message."""
    try:
        with np.errstate(all="ignore"):
            return fn()
    except PirlsError as e:
        return f"refused: {e}"


def _close(a: float | str, b: float | str) -> bool:
    """The same refusal, or values <= 1e-12 relative apart (NaN where the reference gives NaN: the log link's
    quadrature nodes leave (0, 1)); True when the value is finite."""
    if isinstance(b, str) or isinstance(a, str):
        assert a == b
        return False
    assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=0), (a, b)
    return bool(np.isfinite(b))


def _pair(glf: GLFormula) -> tuple[GlmerDevfun, GlmerDevfun]:
    return GlmerDevfun(glf, kernel=True), GlmerDevfun(glf, kernel=False)


def _same_state(a: GlmerDevfun, b: GlmerDevfun) -> None:
    for x, y in [(a.pp.delu, b.pp.delu), (a.pp.delb, b.pp.delb), (a.resp.eta, b.resp.eta), (a.resp.mu, b.resp.mu),
                 (a.pp.L, b.pp.L), (a.pp.RX, b.pp.RX), (a.pp.RZX, b.pp.RZX), (a.resp.offset, b.resp.offset)]:
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize(("formula", "f", "agq"), DESIGNS, ids=[f"{d[0].split('~')[1]}-{d[1].family}-{d[1].link}"
                                                                 for d in DESIGNS])
def test_deviances_at_given_parameters_are_the_numpy_paths(formula: str, f: fam.Family, agq: bool) -> None:
    glf = _glf(formula, f)
    dk, dn = _pair(glf)
    # every structure runs compiled: scalar and vector terms (U = Z Lambda per theta), one level or nested
    assert dk.kern is not None and dn.kern is None
    _same_state(dk, dn)
    nth = dk.nth
    rng = np.random.default_rng(7)
    finite = 0
    for _ in range(6):  # nAGQ = 0
        th = rng.uniform(0.05, 2.0, nth)
        ok = _close(_outcome(lambda th=th: dk.devfun0(th)), _outcome(lambda th=th: dn.devfun0(th)))
        if ok:
            _same_state(dk, dn)
        finite += ok
    dk.to_stage2()
    dn.to_stage2()
    beta0 = dn.pp.delb.copy()
    for nagq in ([1, 3, 5, 9] if agq else [1]):
        dk.set_agq(nagq)
        dn.set_agq(nagq)
        for _ in range(3):
            pars = np.concatenate([rng.uniform(0.05, 2.0, nth), beta0 + rng.normal(0, 0.1, beta0.size)])
            ok = _close(_outcome(lambda p=pars: dk.devfun(p)), _outcome(lambda p=pars: dn.devfun(p)))
            if ok:
                _same_state(dk, dn)
            finite += ok
    assert finite >= 5


def test_the_kernel_is_used_by_default_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    glf = _glf(CB + "(1 | herd)", fam.binomial())
    assert GlmerDevfun(glf).kern is not None
    monkeypatch.setenv("PYRETERMS_GLMM_KERNEL", "0")
    assert GlmerDevfun(glf).kern is None


@pytest.mark.parametrize(("formula", "f", "call", "pars"), [
    # identity-link Poisson: mu < 0 in the initial PIRLS, NaN deviance that step-halving cannot repair
    ("incidence ~ period + (1 | herd)", fam.poisson("identity"), "init", []),
    ("incidence ~ 1 + (1 | herd)", fam.poisson("identity"), "devfun1", [1.0, -30.0]),
    # a huge theta: the working weights overflow
    (CB + "(1 | herd)", fam.binomial(), "devfun0", [1e200]),
    ("pos ~ x + (1 | herd)", fam.Gamma(), "devfun1", [1.0, -50.0, 0.0]),
])
def test_refusals_are_the_numpy_paths(formula: str, f: fam.Family, call: str, pars: list[float]) -> None:
    glf = _glf(formula, f)
    if call == "init":
        ref = _outcome(lambda: GlmerDevfun(glf, kernel=False).nth)
        assert isinstance(ref, str) and _outcome(lambda: GlmerDevfun(glf, kernel=True).nth) == ref
        return
    dk, dn = _pair(glf)
    assert dk.kern is not None
    if call == "devfun1":
        dk.to_stage2()
        dn.to_stage2()
    p = np.array(pars)
    ref = _outcome(lambda: getattr(dn, call)(p))
    assert isinstance(ref, str), ref
    assert _outcome(lambda: getattr(dk, call)(p)) == ref


@pytest.mark.parametrize(("eps", "rechecked"), [(1e-3, False), (1e-6, True)])
def test_u_only_updates_check_rx_as_lme4_does(eps: float, rechecked: bool) -> None:
    """A u-only update (stage 2) forms RZX and RX at its last iteration only, unless the earlier iterations'
    checks of RX are not certified (``fixedjit.certified``): then it runs again checking every iteration,
    as lme4's ``updateDecomp`` does.  x2 = x + eps * noise: at eps = 1e-6 RX is singular to about 1e-12 of
    ``V'V`` and the certificate fails; either way the state and the value are the numpy path's."""
    rng = np.random.default_rng(11)
    data = CB_DATA.copy()
    data["x2"] = data["x"] + eps * rng.normal(size=len(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glf = glformula("cbind(incidence, size - incidence) ~ x + x2 + (1 | herd)", data, fam.binomial())
    assert isinstance(glf, GLFormula) and len(glf.X.colnames) == 3
    dk, dn = _pair(glf)
    assert dk.kern is not None
    dk.to_stage2()
    # stage 2 from the same start (stage 1's beta solve is ill-conditioned here: its rounding is not compared)
    dn.lp0, dn.base_offset = dk.lp0.copy(), dk.base_offset.copy()
    dn.pp.delu, dn.pp.delb = dk.pp.delu.copy(), dk.pp.delb.copy()
    for _ in range(4):  # moderate slopes: X beta is not a cancellation of x's and x2's (large) fitted ones
        pars = np.concatenate([rng.uniform(0.1, 2.0, 1), [dk.pp.delb[0]], rng.normal(0, 0.3, 2)])
        assert _close(_outcome(lambda p=pars: dk.devfun(p)), _outcome(lambda p=pars: dn.devfun(p)))
        for x, y in [(dk.pp.delu, dn.pp.delu), (dk.resp.eta, dn.resp.eta), (dk.resp.mu, dn.resp.mu),
                     (dk.pp.L, dn.pp.L), (dk.pp.RZX, dn.pp.RZX)]:
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-11)
        # RX itself is singular to ~1e-12 here: V'V - RZX'RZX = RX RX' is compared, relative to V'V's scale
        Mk, Mn = dk.pp.RX @ dk.pp.RX.T, dn.pp.RX @ dn.pp.RX.T
        assert np.abs(Mk - Mn).max() <= 1e-12 * np.abs(Mn).max()
    assert (dk.kern.rechecks[0] > 0) == rechecked


def _rx_gram(X: np.ndarray, ZL: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``V'(I + UU')^-1 V`` with ``V = diag(w) X``, ``U = diag(w) Z Lambda``."""
    V, U = w[:, None] * X, w[:, None] * ZL
    return V.T @ np.linalg.solve(np.eye(len(w)) + U @ U.T, V)


def test_rx_is_monotone_in_the_weights() -> None:
    """The premise of the certificate: ``M(W) = V'(I + UU')^-1 V`` with ``V = diag(w) X``, ``U = diag(w) Z
    Lambda`` satisfies ``M(w_k) >= M(w) / c^2`` (and ``<= c^2 M(w)``) when every ``w_k,i / w_i`` lies in
    ``[1/c, c]``; checked on random designs, the extreme ratios included."""
    rng = np.random.default_rng(5)
    for _ in range(200):
        n, p, q = int(rng.integers(5, 40)), int(rng.integers(1, 5)), int(rng.integers(1, 8))
        X = rng.normal(size=(n, p))
        ZL = rng.normal(size=(n, q)) * rng.uniform(0, 3, q)
        w = np.exp(rng.normal(0, 1, n))
        c = float(np.exp(rng.uniform(0, 1.5)))
        wk = w * np.exp(rng.choice([-1.0, 1.0, rng.uniform(-1, 1)], n) * np.log(c))

        Mf, Mk = _rx_gram(X, ZL, w), _rx_gram(X, ZL, wk)
        Li = np.linalg.inv(np.linalg.cholesky(Mf))
        ev = np.linalg.eigvalsh(Li @ Mk @ Li.T)
        assert ev[0] >= (1 - 1e-9) / c ** 2 and ev[-1] <= (1 + 1e-9) * c ** 2


def test_rx_is_monotone_in_lambda_too() -> None:
    """The premise of the certificate across evaluations (Lambda diagonal): ``M = X'(W^-1 + Z Lambda Lambda'
    Z')^-1 X`` satisfies ``M(w_k, lam_k) >= M(w, lam) / c^2`` when every ``w_k,i / w_i`` lies in ``[1/c, c]``
    and every ``|lam_k,j| <= c |lam_j|`` (``lam_k`` may be smaller: M only grows)."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        n, p, q = int(rng.integers(5, 40)), int(rng.integers(1, 5)), int(rng.integers(1, 8))
        X = rng.normal(size=(n, p))
        Z = rng.normal(size=(n, q)) * (rng.uniform(size=(n, q)) < 0.6)
        lam = rng.uniform(0, 3, q)
        w = np.exp(rng.normal(0, 1, n))
        c = float(np.exp(rng.uniform(0, 1.5)))
        wk = w * np.exp(rng.uniform(-1, 1, n) * np.log(c))
        lamk = lam * rng.choice([c, rng.uniform(0, c), 0.0], q)
        Mf, Mk = _rx_gram(X, Z * lam, w), _rx_gram(X, Z * lamk, wk)
        Li = np.linalg.inv(np.linalg.cholesky(Mf))
        assert np.linalg.eigvalsh(Li @ Mk @ Li.T)[0] >= (1 - 1e-9) / c ** 2


def test_lam_ratio() -> None:
    from pyreterms.glmm.fixedjit import lam_ratio
    ref = np.array([1.0, 2.0, 0.0, 0.5])
    assert lam_ratio(np.array([1.0, 2.0, 0.0, 0.5]), ref) == 1.0
    assert lam_ratio(np.array([0.5, 0.1, 0.0, 0.0]), ref) == 1.0  # smaller: M only grows
    assert lam_ratio(np.array([3.0, -4.0, 0.0, 0.5]), ref) == 3.0  # |lam| counts
    assert lam_ratio(np.array([1.0, 2.0, 1e-300, 0.5]), ref) == np.inf  # the reference's zero
    assert lam_ratio(np.array([1.0, np.inf, 0.0, 0.5]), ref) == np.inf
    assert lam_ratio(np.array([1.0, np.nan, 0.0, 0.5]), ref) == np.inf


@pytest.mark.parametrize("formula", [CB + "(1 | herd)", CB + "(1 | herd) + (1 | period)",
                                     CB + "(1 | obs) + (1 | herd)", "incidence ~ period + x + (1 | herd)"])
def test_deferred_rzx_rx_are_formed_when_read_as_they_would_have_been(formula: str) -> None:
    """Stage-2 evaluations certified against an earlier one's ``M`` leave ``RZX``, ``RX``, ``Vtr`` to be formed
    when read (``MerPred.pending``); read, they are bit for bit those of a kernel without the reference (which
    forms them at the last iteration of every evaluation), and so are the values and the other state.  The
    first evaluation has no reference; the second is not certified by it (a theta of zero there: no Lambda is
    within a factor of it), so it forms them and becomes the reference."""
    f = fam.poisson() if formula.startswith("incidence") else fam.binomial()
    glf = _glf(formula, f)
    dk, dc = GlmerDevfun(glf, kernel=True), GlmerDevfun(glf, kernel=True)
    assert dk.kern is not None and dc.kern is not None and dk.kern.ref.size > 0
    object.__setattr__(dc.kern, "ref", np.zeros(0))  # no reference: every evaluation forms them
    for d in (dk, dc):
        d.to_stage2()
    rng = np.random.default_rng(3)
    beta0 = dk.pp.delb.copy()
    thetas = [np.zeros(dk.nth)] + [rng.uniform(0.5, 1.0, dk.nth) for _ in range(6)]
    q = dk.pp.pat.q
    for k, th in enumerate(thetas):
        pars = np.concatenate([th, beta0 + rng.normal(0, 0.05, beta0.size)])
        before = int(dk.kern.deferrals[0])
        assert dk.devfun(pars) == dc.devfun(pars)
        deferred = int(dk.kern.deferrals[0]) > before
        assert (dk.pp.pending is not None) == deferred and dc.pp.pending is None
        if k <= 1:
            assert not deferred
            np.testing.assert_array_equal(dk.kern.ref[3:3 + q], dk.pp.pat.lam)  # the new reference
        reads = int(dk.kern.deferrals[1])
        for a, b in [(dk.pp.RX, dc.pp.RX), (dk.pp.RZX, dc.pp.RZX), (dk.pp.Vtr, dc.pp.Vtr), (dk.pp.delu, dc.pp.delu),
                     (dk.pp.L, dc.pp.L), (dk.resp.mu, dc.resp.mu), (dk.pp.Xwts, dc.pp.Xwts)]:
            np.testing.assert_array_equal(a, b)
        assert dk.pp.pending is None and int(dk.kern.deferrals[1]) == reads + deferred  # formed once, on read
    assert int(dk.kern.deferrals[0]) >= 4 and int(dc.kern.deferrals[0]) == 0
    assert dk.kern.rechecks[0] == 0 and dc.kern.rechecks[0] == 0
    dk.devfun(pars)  # deferred again, then a failed update: its pending work is dropped, not formed later
    assert dk.pp.pending is not None
    assert isinstance(_outcome(lambda: dk.devfun(np.concatenate([np.full(dk.nth, 1e200), beta0]))), str)
    assert dk.pp.pending is None


@pytest.mark.parametrize("formula", [CB + "(1 | herd)", CB + "(1 | herd) + (1 | period)",
                                     "incidence ~ period + x + (1 | herd) + (1 | obs)"])
def test_unit_z_passes_are_the_general_ones(formula: str) -> None:
    """Scalar intercept terms: every row of Z has one 1.0 per term, so the passes over the observations skip
    reading ``Zp``/``Zx`` and the pairs' ``kp``/``gcoef`` (``dims[8]``, ``dims[9]``).  The values and the state
    are those of the general passes bit for bit."""
    f = fam.poisson() if formula.startswith("incidence") else fam.binomial()
    glf = _glf(formula, f)
    du, dg = GlmerDevfun(glf, kernel=True), GlmerDevfun(glf, kernel=True)
    assert du.kern is not None and dg.kern is not None
    assert du.kern.dims[8] == 1 and du.kern.dims[9] == 1
    dg.kern.dims[8:10] = 0  # the general passes (dg was built, and its first PIRLS run, with the unit ones)
    rng = np.random.default_rng(8)
    for _ in range(3):
        th = rng.uniform(0.1, 2.0, du.nth)
        assert du.devfun0(th) == dg.devfun0(th)
    for d in (du, dg):
        d.to_stage2()
    beta0 = du.pp.delb.copy()
    for _ in range(4):
        pars = np.concatenate([rng.uniform(0.1, 2.0, du.nth), beta0 + rng.normal(0, 0.1, beta0.size)])
        assert du.devfun(pars) == dg.devfun(pars)
        for a, b in [(du.pp.delu, dg.pp.delu), (du.resp.eta, dg.resp.eta), (du.resp.mu, dg.resp.mu),
                     (du.pp.L, dg.pp.L), (du.pp.RX, dg.pp.RX), (du.pp.RZX, dg.pp.RZX), (du.pp.Utr, dg.pp.Utr)]:
            np.testing.assert_array_equal(a, b)
    vector = GlmerDevfun(_glf(CB + "(1 + x | herd)", fam.binomial()), kernel=True).kern
    assert vector is not None and vector.dims[8] == 0 and vector.dims[9] == 0  # U = Z Lambda: values vary


def test_weight_spread() -> None:
    from pyreterms.glmm.fixedjit import ratio_max as _ratio_max
    a = np.array([1.0, 2.0, 0.5])
    assert _ratio_max(a, np.array([1.0, 1.0, 1.0])) == 2.0
    assert _ratio_max(a, a) == 1.0
    for bad in (0.0, -1.0, np.nan, np.inf):
        assert _ratio_max(np.array([1.0, bad]), np.array([1.0, 1.0])) == np.inf
        assert _ratio_max(np.array([1.0, 1.0]), np.array([1.0, bad])) == np.inf


def test_cache_falls_back_to_a_temporary_directory_when_nothing_else_is_writable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only install under a read-only home: numba's own locations refuse, the fallback is used."""
    src = tmp_path / "ro" / "mod.py"
    src.parent.mkdir()
    src.write_text("x = 1\n")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setattr(config, "CACHE_DIR", "")
    src.parent.chmod(0o555)
    home.chmod(0o555)
    try:
        if os.access(src.parent, os.W_OK):  # root ignores the mode bits
            monkeypatch.setattr(jitcache.InTreeCacheLocator, "ensure_cache_path", _refuse)
            monkeypatch.setattr(jitcache.UserWideCacheLocator, "ensure_cache_path", _refuse)
        assert jitcache.ensure_cache_dir(str(src)) == jitcache.fallback_dir() == config.CACHE_DIR
        assert os.path.isdir(config.CACHE_DIR)
        monkeypatch.setattr(config, "CACHE_DIR", "/somewhere/chosen")
        assert jitcache.ensure_cache_dir(str(src)) is None  # NUMBA_CACHE_DIR set: left alone
    finally:
        src.parent.chmod(0o755)
        home.chmod(0o755)


def _refuse(self: object) -> None:
    raise PermissionError("read-only")


def test_cache_stays_numbas_choice_when_the_package_is_writable(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "mod.py"
    src.write_text("x = 1\n")
    monkeypatch.setattr(config, "CACHE_DIR", "")
    assert jitcache.ensure_cache_dir(str(src)) is None and config.CACHE_DIR == ""


def test_cached_kernels_are_dropped_when_any_kernel_source_changes(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """numba keys the cache by each function's own file; an edit of any kernel module (here lmm/jitblas.py) must
    also drop pirlsjit's code."""
    pkg = tmp_path / "pyreterms"
    for name in jitcache.KERNEL_MODULES:
        (pkg / f"{name}.py").parent.mkdir(parents=True, exist_ok=True)
        (pkg / f"{name}.py").write_text(f"# {name}\n")
    glmm = pkg / "glmm"
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "cache"))
    path = jitcache.cache_path(str(glmm / "famjit.py"))
    assert path is not None and path.startswith(str(tmp_path / "cache"))
    cached = [Path(path) / "pirlsjit.evaluate-300.py311.nbi", Path(path) / "famjit.aic-10.py311.1.nbc"]
    other = Path(path) / "elsewhere.f-1.py311.nbi"
    for f in [*cached, other]:
        f.write_text("x")
    assert jitcache.drop_stale(str(glmm / "famjit.py"), str(pkg))  # no stamp yet: compiled from unknown sources
    assert not any(f.exists() for f in cached) and other.exists()
    for f in cached:
        f.write_text("x")
    assert not jitcache.drop_stale(str(glmm / "linjit.py"), str(pkg))  # same sources: kept
    assert all(f.exists() for f in cached)
    (pkg / "lmm" / "jitblas.py").write_text("# jitblas, edited\n")  # another package's kernel module
    assert jitcache.drop_stale(str(glmm / "pirlsjit.py"), str(pkg))
    assert not any(f.exists() for f in cached) and other.exists()


@pytest.mark.parametrize(("tol", "maxit", "dup", "message"), [
    (1e-7, 100, True, "Downdated VtV is not positive definite"),  # a repeated column of X
    (1e-7, 1, False, "pwrssUpdate did not converge in (maxit) iterations"),
    # a negative tolerance never converges and makes the first rise of the deviance (rounding) fatal
    (-1.0, 100, False, "(maxstephalfit) PIRLS step-halvings failed to reduce deviance in pwrssUpdate"),
])
@pytest.mark.parametrize(("formula", "f"), [(CB + "(1 | herd)", fam.binomial()),
                                            ("incidence ~ period + (1 | herd)", fam.poisson())])
def test_pwrss_stops_are_the_numpy_paths(formula: str, f: fam.Family, tol: float, maxit: int, dup: bool,
                                         message: str) -> None:
    glf = _glf(formula, f)
    if dup:
        X = glf.X.X
        glf = dataclasses.replace(glf, X=dataclasses.replace(glf.X, X=np.column_stack([X, X[:, 1]])))
    ref = _outcome(lambda: GlmerDevfun(glf, tol_pwrss=tol, maxit=maxit, kernel=False).nth)
    assert ref == f"refused: {message}"
    assert _outcome(lambda: GlmerDevfun(glf, tol_pwrss=tol, maxit=maxit, kernel=True).nth) == ref
