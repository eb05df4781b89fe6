"""bootMer and confint(method = "boot") against lme4 1.1-31 live: the same seed gives lme4's simulated
responses (R's random numbers) and refits within parity's theta tolerance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pyreterms
from verbs_rhelp import names, num, put, r_fit, same_fit

pytestmark = pytest.mark.r

THETA_ATOL = 1e-6  # parity's theta rule (parity.compare.rules)


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
    np.testing.assert_allclose(b.sims.to_numpy(), np.array(R.r_eval("as.matrix(ss)")), rtol=1e-10, atol=0)
    np.testing.assert_array_equal(b.seed, np.array(R.r_eval("b$seed")))
    np.testing.assert_allclose(b.t0.to_numpy(), num(R, "b$t0"), rtol=1e-12)
    np.testing.assert_allclose(b.t.to_numpy().ravel(), num(R, "b$t"), atol=THETA_ATOL, rtol=0)


def test_bootmer_two_terms(R):
    P = pyreterms.load_dataset("Penicillin")
    put(R, "P", P)
    th = r_fit(R, "diameter ~ 1 + (1 | plate) + (1 | sample)", "P", REML=False)
    fit = same_fit("diameter ~ 1 + (1 | plate) + (1 | sample)", P, th, REML=False)
    b = fit.bootMer(lambda f: np.concatenate([f.theta, f.fixef().to_numpy()]), nsim=4, seed=5, use_u=True)
    R.r_eval('b <- bootMer(fit, function(f) c(getME(f, "theta"), fixef(f)), nsim = 4, seed = 5, use.u = TRUE)')
    t, rt = b.t.to_numpy(), np.array(R.r_eval("b$t"))
    np.testing.assert_allclose(t[:, :2], rt[:, :2], atol=THETA_ATOL, rtol=0)
    np.testing.assert_allclose(t[:, 2], rt[:, 2], rtol=1e-6)


@pytest.mark.parametrize("boot_type", ["perc", "basic", "norm"])
def test_confint_boot_table(R, dye, boot_type):
    ours = dye.confint_boot(nsim=40, seed=3, boot_type=boot_type)
    R.r_eval(f"set.seed(3); ci <- confint(fdye, method = 'boot', nsim = 40, boot.type = '{boot_type}')")
    assert list(ours.index) == list(R.r_eval("rownames(ci)"))
    assert list(ours.columns) == list(R.r_eval("colnames(ci)"))
    np.testing.assert_allclose(ours.to_numpy(), np.array(R.r_eval("ci")), rtol=1e-5, atol=1e-6)


def test_confint_boot_slopes_level(R):
    """A three-parameter theta at level 0.9.  The table's rows and columns are lme4's; its numbers are
    order statistics of refitted sd/cor, so they follow the optimizer's path: each replicate's refit is
    judged by parity's theta rule against lme4's refit of the same simulated response (within 1e-6,
    else lme4's devfun at our theta within 1e-8 relative of lme4's optimum), and the interval
    arithmetic (confint.bootMer) is checked exactly on lme4's own replicates."""
    from rpy2.robjects import FloatVector

    from pyreterms.verbs.boot import BootResult, boot_ci

    d = pyreterms.load_dataset("sleepstudy")
    ss3 = d[d["Subject"].isin(["308", "309", "330", "331", "371", "372"])]
    put(R, "s6", ss3)
    th = r_fit(R, "Reaction ~ Days + (Days | Subject)", "s6", REML=False)
    fit = same_fit("Reaction ~ Days + (Days | Subject)", ss3, th, REML=False)
    ours = fit.confint_boot(nsim=12, seed=2, level=0.9)
    R.r_eval("set.seed(2); ci <- confint(fit, method = 'boot', nsim = 12, level = 0.9)")
    assert list(ours.index) == names(R, "ci[, 1]")
    assert list(ours.columns) == list(R.r_eval("colnames(ci)"))
    # the refits, replicate by replicate (same simulated responses: test_bootmer_replicates)
    b = fit.bootMer(lambda f: f.theta, nsim=12, seed=2)
    R.r_eval("bb <- bootMer(fit, function(f) getME(f, 'theta'), nsim = 12, seed = 2); "
             "set.seed(2); ysim <- simulate(fit, nsim = 12)")
    rt = np.array(R.r_eval("bb$t"))
    for i in range(12):
        if np.all(np.abs(b.t.to_numpy()[i] - rt[i]) <= THETA_ATOL):
            continue
        R.r_eval(f"d2 <- s6; d2$Reaction <- ysim[[{i + 1}]]; "
                 "dfun <- lmer(Reaction ~ Days + (Days | Subject), d2, REML = FALSE, devFunOnly = TRUE); "
                 f"opt <- deviance(refit(fit, ysim[[{i + 1}]]))")
        at_ours = float(R.r_eval("dfun")(FloatVector(b.t.to_numpy()[i]))[0])
        opt = float(R.r_eval("opt")[0])
        assert abs(at_ours - opt) <= 1e-8 * abs(opt), (i, b.t.to_numpy()[i], rt[i])
    # confint.bootMer's arithmetic on lme4's replicates
    R.r_eval("cib <- confint(bb, level = 0.9, type = 'perc')")
    rb = BootResult(t0=pd.Series(num(R, "bb$t0")), t=pd.DataFrame(rt), sims=pd.DataFrame(),
                    seed=np.zeros(0), n_fail=0)
    np.testing.assert_allclose(boot_ci(rb, 0.9, "perc").to_numpy(), np.array(R.r_eval("cib")), rtol=1e-12)


def test_confint_method_boot_with_parm(R, dye):
    """confint(fit, method = "boot", parm = ...) through both entry points: citab[parm, ] as lme4 does."""
    ours = dye.confint(method="boot", nsim=30, seed=9, parm=[".sigma", "(Intercept)"])
    free = pyreterms.confint(dye, method="boot", nsim=30, seed=9, parm=[".sigma", "(Intercept)"])
    R.r_eval("set.seed(9); ci <- confint(fdye, method = 'boot', nsim = 30, parm = c('.sigma', '(Intercept)'))")
    for got in (ours, free):
        assert list(got.index) == list(R.r_eval("rownames(ci)"))
        np.testing.assert_allclose(got.to_numpy(), np.array(R.r_eval("ci")), rtol=1e-5, atol=1e-6)


def test_bootmer_semiparametric(R, dye):
    """type = "semiparametric", use.u = TRUE: fitted(x) + sample(residuals(x, "response"), replace = TRUE)
    per replicate, R's sample() exactly; the refits within parity's theta rule."""
    b = dye.bootMer(lambda f: np.concatenate([f.theta, f.fixef().to_numpy()]), nsim=6, seed=11,
                    use_u=True, type="semiparametric")
    R.r_eval('b <- bootMer(fdye, function(f) c(getME(f, "theta"), fixef(f)), nsim = 6, seed = 11, '
             'type = "semiparametric", use.u = TRUE)')
    R.r_eval('set.seed(11); ss <- replicate(6, fitted(fdye) + sample(residuals(fdye, "response"), '
             'replace = TRUE), simplify = FALSE)')
    np.testing.assert_allclose(b.sims.to_numpy(), np.array(R.r_eval("do.call(cbind, ss)")), rtol=1e-10, atol=0)
    np.testing.assert_array_equal(b.seed, np.array(R.r_eval("b$seed")))
    assert int(R.r_eval('attr(b, "bootFail")')[0]) == b.n_fail == 0
    np.testing.assert_allclose(b.t0.to_numpy(), num(R, "b$t0"), rtol=1e-12)
    t, rt = b.t.to_numpy(), np.array(R.r_eval("b$t"))
    np.testing.assert_allclose(t[:, 0], rt[:, 0], atol=THETA_ATOL, rtol=0)
    np.testing.assert_allclose(t[:, 1], rt[:, 1], rtol=1e-6)


def test_bootmer_semiparametric_crossed_ml(R):
    """Two terms, ML, a statistic of sigma: each refit against lme4's refit of the same response (the
    responses equal lme4's to 1e-10; where theta differs by more than 1e-6, lme4's devfun at our theta
    is within 1e-8 relative of lme4's optimum, parity's theta rule)."""
    from rpy2.robjects import FloatVector

    P = pyreterms.load_dataset("Penicillin")
    put(R, "P", P)
    th = r_fit(R, "diameter ~ 1 + (1 | plate) + (1 | sample)", "P", REML=False, name="fP")
    fit = same_fit("diameter ~ 1 + (1 | plate) + (1 | sample)", P, th, REML=False)
    b = fit.bootMer(lambda f: f.theta, nsim=5, seed=7, use_u=True, type="semiparametric")
    R.r_eval('bp <- bootMer(fP, function(f) getME(f, "theta"), nsim = 5, seed = 7, type = "semiparametric", '
             'use.u = TRUE); set.seed(7); ssp <- replicate(5, fitted(fP) + sample(residuals(fP, "response"), '
             'replace = TRUE), simplify = FALSE)')
    np.testing.assert_allclose(b.sims.to_numpy(), np.array(R.r_eval("do.call(cbind, ssp)")), rtol=1e-10, atol=0)
    np.testing.assert_array_equal(b.seed, np.array(R.r_eval("bp$seed")))
    rt = np.array(R.r_eval("bp$t"))
    for i in range(5):
        if np.all(np.abs(b.t.to_numpy()[i] - rt[i]) <= THETA_ATOL):
            continue
        R.r_eval(f"P2 <- P; P2$diameter <- ssp[[{i + 1}]]; dfun <- lmer(diameter ~ 1 + (1 | plate) + "
                 f"(1 | sample), P2, REML = FALSE, devFunOnly = TRUE); opt <- deviance(refit(fP, ssp[[{i + 1}]]))")
        at_ours = float(R.r_eval("dfun")(FloatVector(b.t.to_numpy()[i]))[0])
        opt = float(R.r_eval("opt")[0])
        assert abs(at_ours - opt) <= 1e-8 * abs(opt), (i, b.t.to_numpy()[i], rt[i])


def test_bootmer_semiparametric_use_u_false_refused(R, dye):
    """lme4 stops for use.u = FALSE; so does pyreterms, with lme4's message."""
    msg = str(R.r_eval('tryCatch(bootMer(fdye, function(f) 1, nsim = 1, type = "semiparametric"), '
                       'error = function(e) conditionMessage(e))')[0])
    with pytest.raises(pyreterms.errors.DataError) as ei:
        dye.bootMer(lambda f: 1.0, nsim=1, type="semiparametric")
    assert str(ei.value) == msg


def test_bootmer_semiparametric_na_exclude(R):
    """Under na.exclude, fitted and residuals are NA-padded, so sample() draws NA residuals too: lme4's
    refits fail where the response has an NA outside the excluded rows ("NA/NaN/Inf in 'y'"), and so
    do ours; the responses and the failure count are lme4's."""
    d = pyreterms.load_dataset("sleepstudy").copy()
    d.loc[d.index[[2, 49]], "Reaction"] = np.nan
    put(R, "sna", d)
    th = r_fit(R, "Reaction ~ Days + (1 | Subject)", "sna", extra="na.action = na.exclude", name="fna")
    fit = same_fit("Reaction ~ Days + (1 | Subject)", d, th, na_action="na.exclude")
    with pytest.warns(pyreterms.errors.LmeWarning, match="some bootstrap runs failed"):
        b = fit.bootMer(lambda f: f.theta, nsim=4, seed=3, use_u=True, type="semiparametric")
    R.r_eval('bn <- suppressWarnings(bootMer(fna, function(f) getME(f, "theta"), nsim = 4, seed = 3, '
             'type = "semiparametric", use.u = TRUE)); set.seed(3); ssn <- replicate(4, fitted(fna) + '
             'sample(residuals(fna, "response"), replace = TRUE), simplify = FALSE)')
    np.testing.assert_allclose(b.sims.to_numpy(), np.array(R.r_eval("do.call(cbind, ssn)")), rtol=1e-10, atol=0)
    assert b.n_fail == int(R.r_eval('attr(bn, "bootFail")')[0])
    rt = np.array(R.r_eval("bn$t")).ravel()
    np.testing.assert_array_equal(np.isnan(b.t.to_numpy().ravel()), np.isnan(rt))
    # a successful refit is judged against lme4's fresh lmer() on the same response: lme4 1.1-31's
    # refit() of an na.exclude fit stops elsewhere (its REMLcrit is not its own devfun's value at its
    # theta), so bn$t is not the reference there
    ok = np.flatnonzero(~np.isnan(rt))
    assert ok.size  # seed 3 has a replicate whose NA fall on the excluded rows only
    for i in ok:
        fresh = num(R, f'{{s2 <- sna; s2$Reaction <- ssn[[{i + 1}]]; getME(lmer(Reaction ~ Days + (1 | Subject), '
                       f's2, na.action = na.exclude), "theta")}}')
        np.testing.assert_allclose(b.t.to_numpy()[i], fresh, atol=THETA_ATOL, rtol=0)
