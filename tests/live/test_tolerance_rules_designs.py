"""The tolerance rules on the stored designs of README "Known differences" (tests/data/): each passes
against live lme4 by the rule written for it (the rules without R are tests/unit/test_tolerance_rules.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from exact_pls import exact_pls_beta

from parity.compare.conditioning import COND_RULE, condition_number, within_conditioning
from parity.compare.tolerances import compare_components

pytestmark = pytest.mark.r


HERE = Path(__file__).resolve().parents[1]  # tests/


THETA = 'getME(fit, "theta")'


EPS = np.finfo(float).eps


def _exact_beta(A: np.ndarray, X: np.ndarray, res: np.ndarray) -> np.ndarray:
    """beta of the PLS system, exactly (tests/exact_pls.py)."""
    return exact_pls_beta(A, X, res)


def test_nearly_collinear_fixed_effects_pass_by_the_full_conditioning_bound() -> None:
    """``z ~ x + y2 + (1 | r)`` with y2 = x + 1e-4 noise (balanced r: kappa of the random-effects
    block is 1).  lme4 and pyreterms differ in devfun by ~2e-10 relative (> 1e-10) and in beta by
    ~1.6e-8; against the exact rational solution both err by a few 1e-8, within eps * kappa of the
    whole PLS system -- so the bound with the fixed-effects part passes them, the old one could not."""
    import pyreterms
    from parity.compare.check import check, r_components
    from parity.compare.conditioning import pls_parts

    d = pd.read_csv(HERE / "data" / "collinear_fixed" / "data.csv")
    f = "z ~ x + y2 + (1 | r)"
    rep = check(f, d, level="fit")
    bad = [(c.name, c.detail) for c in rep.components if not c.ok]
    assert not bad, bad
    dev = next(c for c in rep.components if c.name == "devfun(theta)")
    r = r_components(f, d, REML=True, level="fit")
    A, Xw, res = pls_parts(r)
    ev = np.linalg.eigvalsh(A @ A.T + np.eye(A.shape[0]))
    k_re, k = ev[-1] / ev[0], condition_number(r)
    assert EPS * k_re < 1e-10 < dev.max_rel_diff <= EPS * k  # the old bound could not explain it
    assert COND_RULE in dev.detail
    th = np.asarray(r[THETA].x, dtype=float)
    exact = _exact_beta(A, Xw, res)
    ours = pyreterms.lmer(f, d).problem.solve(th).beta
    theirs = np.asarray(r['getME(fit, "beta")'].x, dtype=float)
    for b in (ours, theirs):
        err = np.max(np.abs(b - exact)) / np.max(np.abs(exact))
        assert 1e-10 < err <= EPS * k


def test_tiny_modes_next_to_the_fixed_effects_pass_by_the_mode_bound() -> None:
    """Seed-11 fit campaign design ``log(y + 11) ~ (x + f || k) + (x + z || h)`` (n = 65; stored as
    drawn): theta up to 8382, max |b| 6.8e-3.  lme4's and pyreterms' b differ by 1.8e-7, beyond eps *
    kappa relative to b (9e-7 * 6.8e-3); an independent backward-stable solve (SVD least squares of
    the augmented system) differs from both by the same order, so the noise is the problem's.  The
    bound of the modes (:func:`parity.compare.conditioning.mode_bounds`: eps * kappa_s * ||D [u; beta]||
    through D^-1 and Lambda) covers it; b off by 5 times that bound still fails."""
    from parity.compare.check import check, r_components
    from parity.compare.conditioning import mode_bounds, pls_parts
    from parity.compare.optreplay import exact_fit_evidence
    from parity.compare.rules import criterion_components

    d = pd.read_csv(HERE / "data" / "modes_large_theta" / "data.csv")
    f = "log(y + 11) ~ (x + f || k) + (x + z || h)"
    rep = check(f, d, level="fit")
    bad = [(c.name, c.detail) for c in rep.components if not c.ok]
    if bad:  # lme4's fit is exact (pwrss 2.8e-12 <= n eps ||y||^2 = 3.1e-12): where the optimizer stops
        # along theta is rounding-decided and its criteria are logs of noise (Known differences 10); only
        # those may differ, and only with that evidence
        assert {n for n, _ in bad} <= set(criterion_components(REML=True)), bad
        assert exact_fit_evidence(f, d, REML=True).exact
    b_c = next(c for c in rep.components if c.name == 'getME(fit, "b")')
    r = r_components(f, d, REML=True, level="fit")
    k = condition_number(r)
    b_r = np.asarray(r['getME(fit, "b")'].x, dtype=float).ravel()
    if b_c.max_abs_diff > EPS * k * np.abs(b_r).max():  # on this CPU the relative rule does not suffice
        assert "of the modes" in b_c.detail
    du, db = mode_bounds(r)
    assert b_c.max_abs_diff <= db < 0.01 * np.abs(b_r).max()
    # an SVD least-squares solve at lme4's theta: as far from lme4 as pyreterms is, in the same order
    A, Xw, rw = pls_parts(r)
    q, p = A.shape[0], Xw.shape[1]
    M = np.block([[A.T, Xw], [np.eye(q), np.zeros((q, p))]])
    sol = np.linalg.lstsq(M, np.concatenate([rw, np.zeros(q)]), rcond=None)[0]
    Lam = r['getME(fit, "Lambdat")'].x.T
    b_svd = np.asarray(Lam @ sol[:q]).ravel()
    assert EPS * k * np.abs(b_r).max() < np.abs(b_svd - b_r).max() <= db
    # a real difference is not passed
    from dataclasses import replace

    key = 'getME(fit, "b")'
    x = np.asarray(r[key].x, dtype=float)
    for shift, ok in ((0.5 * db, True), (5 * db, False)):  # the same value type and shape as R's
        py = {key: replace(r[key], x=x + np.where(np.arange(x.size).reshape(x.shape) == 0, shift, 0.0))}
        comps = compare_components(py, {key: r[key]})
        assert not comps[0].ok
        (c,) = within_conditioning(comps, py, r)
        assert c.ok is ok, c.detail


def test_exact_fit_under_ml_is_log_of_noise_on_both_sides() -> None:
    """README "Known differences" 10: ``y ~ f + x + bs(z, 3) + pmin(x, 1) + factor(m) + (1 | g:h)``
    on 10 rows has rank(X) = n = 10 (seed-11 campaign; stored as drawn), so the fit is exact and the
    penalised residual sum of squares is rounding noise on both sides.  Under ML the criterion is
    ``n log(pwrss) + ...``: each side's pwrss is below ``n * eps * ||y||^2``, so the two criteria are
    logs of different noise (the harness reports the disagreement; no rule passes it).  Under REML
    both refuse for the same reason (0 residual degrees of freedom)."""
    import pyreterms
    from parity.compare.check import check, r_components
    from parity.compare.verdicts import Verdict

    d = pd.read_csv(HERE / "data" / "exact_fit_ml" / "data.csv")
    f = "y ~ f + x + bs(z, 3) + pmin(x, 1) + factor(m) + (1 | g:h)"
    floor = len(d) * EPS * float(np.sum(d["y"].to_numpy() ** 2))
    r = r_components(f, d, REML=False, level="fit")
    cmp = dict(r['getME(fit, "devcomp")'].items)["cmp"]
    assert dict(zip(cmp.names, cmp.x))["pwrss"] < floor  # lme4's
    fit = pyreterms.lmer(f, d, REML=False)
    th = np.asarray(r[THETA].x, dtype=float)
    assert fit.problem.solve(th).pwrss < floor  # pyreterms' at lme4's theta
    # which noise each side gets depends on the CPU, so the ML verdict is not pinned (it is a
    # disagreement on the reference machine: criteria -601.8 here vs -608.4 in lme4)
    rep_reml = check(f, d, REML=True, level="fit")
    assert rep_reml.verdict is Verdict.BOTH_REFUSED
