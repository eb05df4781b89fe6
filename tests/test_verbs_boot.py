"""bootMer and confint(method = "boot") against lme4 1.1-31 live: the same seed gives lme4's simulated
responses (R's random numbers) and refits within parity's theta tolerance."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from verbs_rhelp import names, num, put, r_fit, same_fit

pytestmark = pytest.mark.r

THETA_ATOL = 1e-6  # parity's theta rule (parity.rules)


@pytest.fixture(scope="module")
def dye(R):
    d = pyreterms.load_dataset("Dyestuff")
    put(R, "dye", d)
    th = r_fit(R, "Yield ~ 1 + (1 | Batch)", "dye", name="fdye")
    return same_fit("Yield ~ 1 + (1 | Batch)", d, th)


def test_bootmer_replicates(R, dye):
    b = dye.bootMer(lambda f: f.theta, nsim=8, seed=1)
    R.r_eval('b <- bootMer(fdye, function(f) getME(f, "theta"), nsim = 8, seed = 1)')
    # the simulated responses are lme4's: bootMer draws them as simulate(fit, nsim) right after set.seed
    R.r_eval("set.seed(1); ss <- simulate(fdye, nsim = 8, use.u = FALSE)")
    np.testing.assert_allclose(b.sims.to_numpy(), np.asarray(R.r_eval("as.matrix(ss)")), rtol=1e-10, atol=0)
    np.testing.assert_array_equal(b.seed, np.asarray(R.r_eval("b$seed")))
    np.testing.assert_allclose(b.t0.to_numpy(), num(R, "b$t0"), rtol=1e-12)
    np.testing.assert_allclose(b.t.to_numpy().ravel(), num(R, "b$t"), atol=THETA_ATOL, rtol=0)


def test_bootmer_two_terms(R):
    P = pyreterms.load_dataset("Penicillin")
    put(R, "P", P)
    th = r_fit(R, "diameter ~ 1 + (1 | plate) + (1 | sample)", "P", REML=False)
    fit = same_fit("diameter ~ 1 + (1 | plate) + (1 | sample)", P, th, REML=False)
    b = fit.bootMer(lambda f: np.concatenate([f.theta, f.fixef().to_numpy()]), nsim=4, seed=5, use_u=True)
    R.r_eval('b <- bootMer(fit, function(f) c(getME(f, "theta"), fixef(f)), nsim = 4, seed = 5, use.u = TRUE)')
    t, rt = b.t.to_numpy(), np.asarray(R.r_eval("b$t"))
    np.testing.assert_allclose(t[:, :2], rt[:, :2], atol=THETA_ATOL, rtol=0)
    np.testing.assert_allclose(t[:, 2], rt[:, 2], rtol=1e-6)


@pytest.mark.parametrize("boot_type", ["perc", "basic", "norm"])
def test_confint_boot_table(R, dye, boot_type):
    ours = dye.confint_boot(nsim=40, seed=3, boot_type=boot_type)
    R.r_eval(f"set.seed(3); ci <- confint(fdye, method = 'boot', nsim = 40, boot.type = '{boot_type}')")
    assert list(ours.index) == list(R.r_eval("rownames(ci)"))
    assert list(ours.columns) == list(R.r_eval("colnames(ci)"))
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(R.r_eval("ci")), rtol=1e-5, atol=1e-6)


def test_confint_boot_slopes_level(R):
    d = pyreterms.load_dataset("sleepstudy")
    ss3 = d[d["Subject"].isin(["308", "309", "330", "331", "371", "372"])]
    put(R, "s6", ss3)
    th = r_fit(R, "Reaction ~ Days + (Days | Subject)", "s6", REML=False)
    fit = same_fit("Reaction ~ Days + (Days | Subject)", ss3, th, REML=False)
    ours = fit.confint_boot(nsim=12, seed=2, level=0.9)
    R.r_eval("set.seed(2); ci <- confint(fit, method = 'boot', nsim = 12, level = 0.9)")
    assert list(ours.index) == names(R, "ci[, 1]")
    assert list(ours.columns) == list(R.r_eval("colnames(ci)"))
    # sd/cor rows come from refitted thetas (optimizer tolerance), the fixed effects likewise
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(R.r_eval("ci")), rtol=1e-4, atol=1e-4)


def test_confint_method_boot_with_parm(R, dye):
    """confint(fit, method = "boot", parm = ...) through both entry points: citab[parm, ] as lme4 does."""
    ours = dye.confint(method="boot", nsim=30, seed=9, parm=[".sigma", "(Intercept)"])
    free = pyreterms.confint(dye, method="boot", nsim=30, seed=9, parm=[".sigma", "(Intercept)"])
    R.r_eval("set.seed(9); ci <- confint(fdye, method = 'boot', nsim = 30, parm = c('.sigma', '(Intercept)'))")
    for got in (ours, free):
        assert list(got.index) == list(R.r_eval("rownames(ci)"))
        np.testing.assert_allclose(got.to_numpy(), np.asarray(R.r_eval("ci")), rtol=1e-5, atol=1e-6)
