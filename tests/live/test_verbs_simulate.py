"""simulate() against lme4 1.1-31's simulate.merMod, live: the same seed gives lme4's values (R's
random numbers, lme4's order of draws), at lme4's fitted theta."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from pyreterms.errors import DataError
from verbs_rhelp import put, r_fit, same_fit

pytestmark = pytest.mark.r


def _weighted(d):
    rng = np.random.default_rng(5)
    return d.assign(w=rng.uniform(0.5, 2.0, len(d)), o=rng.normal(0, 3, len(d)))


MODELS = [
    ("sleepstudy REML", "sleepstudy", "Reaction ~ Days + (Days | Subject)", True, {}),
    ("sleepstudy ML", "sleepstudy", "Reaction ~ Days + (Days | Subject)", False, {}),
    ("Penicillin crossed", "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True, {}),
    ("Pastes nested", "Pastes", "strength ~ 1 + (1 | batch/cask)", False, {}),
    ("weighted + offset", "weighted", "Reaction ~ Days + (1 | Subject)", True, {"weights": "w", "offset": "o"}),
]


def _setup(R, data, formula, reml, kw):
    d = _weighted(pyreterms.load_dataset("sleepstudy")) if data == "weighted" else pyreterms.load_dataset(data)
    put(R, "d", d)
    extra = ", ".join(f"{k} = {v}" for k, v in kw.items())
    th = r_fit(R, formula, "d", REML=reml, extra=extra)
    return same_fit(formula, d, th, REML=reml, **kw)


def _r_sim(R, args):
    R.r_eval(f"s <- simulate(fit, {args})")
    return np.array(R.r_eval("as.matrix(s)")), list(R.r_eval("rownames(s)")), list(R.r_eval("names(s)")), \
        np.array(R.r_eval('attr(s, "seed")'))


@pytest.mark.parametrize("label,data,formula,reml,kw", MODELS, ids=[m[0] for m in MODELS])
def test_simulate_nsim10_seed42_is_lme4s(R, label, data, formula, reml, kw):
    fit = _setup(R, data, formula, reml, kw)
    ours = fit.simulate(nsim=10, seed=42)
    vals, rows, cols, seed = _r_sim(R, "nsim = 10, seed = 42")
    assert list(ours.index) == rows and list(ours.columns) == cols
    np.testing.assert_array_equal(ours.attrs["seed"], seed)
    np.testing.assert_allclose(ours.to_numpy(), vals, rtol=1e-10, atol=0)


@pytest.mark.parametrize("ours_kw,r_args", [
    ({"nsim": 3, "seed": 1, "use_u": True}, "nsim = 3, seed = 1, use.u = TRUE"),
    ({"nsim": 3, "seed": 2, "use_u": False}, "nsim = 3, seed = 2, use.u = FALSE"),
    ({"nsim": 2, "seed": 7, "re_form": "~ (1 | plate)"}, "nsim = 2, seed = 7, re.form = ~(1 | plate)"),
    ({"nsim": 2, "seed": 7, "re_form": "~ (1 | sample)"}, "nsim = 2, seed = 7, re.form = ~(1 | sample)"),
    ({"nsim": 2, "seed": 8, "re_form": None}, "nsim = 2, seed = 8, re.form = NULL"),
])
def test_use_u_and_re_form(R, ours_kw, r_args):
    fit = _setup(R, "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True, {})
    ours = fit.simulate(**ours_kw)
    vals, *_ = _r_sim(R, r_args)
    np.testing.assert_allclose(ours.to_numpy(), vals, rtol=1e-10, atol=0)


def test_the_rng_state_carries_over_like_rs_global_seed(R):
    from pyreterms.rmath.rng import RRNG

    fit = _setup(R, "Dyestuff", "Yield ~ 1 + (1 | Batch)", True, {})
    rng = RRNG(11)
    a, b = fit.simulate(2, rng=rng), fit.simulate(2, rng=rng)
    R.r_eval("set.seed(11); s1 <- simulate(fit, 2); s2 <- simulate(fit, 2)")
    np.testing.assert_allclose(a.to_numpy(), np.array(R.r_eval("as.matrix(s1)")), rtol=1e-10)
    np.testing.assert_allclose(b.to_numpy(), np.array(R.r_eval("as.matrix(s2)")), rtol=1e-10)


def test_use_u_with_re_form_stops(R):
    fit = _setup(R, "Dyestuff", "Yield ~ 1 + (1 | Batch)", True, {})
    with pytest.raises(DataError, match="should specify only one of 'use.u' and 're.form'"):
        fit.simulate(1, seed=1, use_u=True, re_form="~0")


@pytest.mark.parametrize("ours_kw,r_args", [
    ({"nsim": 3, "seed": 4}, "nsim = 3, seed = 4"),
    ({"nsim": 2, "seed": 5, "use_u": True}, "nsim = 2, seed = 5, use.u = TRUE"),
    ({"nsim": 2, "seed": 6, "re_form": "~ (1 | sample)"}, "nsim = 2, seed = 6, re.form = ~(1 | sample)"),
])
def test_simulate_newdata(R, ours_kw, r_args):
    import pandas as pd

    fit = _setup(R, "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True, {})
    nd = pd.DataFrame({"plate": ["a", "b", "a", "x"], "sample": ["A", "C", "F", "B"]}, index=["r1", "r2", "r3", "r4"])
    put(R, "nd", nd)
    ours = fit.simulate(newdata=nd, allow_new_levels=True, **ours_kw)
    vals, rows, cols, seed = _r_sim(R, f"newdata = nd, allow.new.levels = TRUE, {r_args}")
    assert list(ours.index) == rows and list(ours.columns) == cols
    np.testing.assert_allclose(ours.to_numpy(), vals, rtol=1e-10, atol=0)


def test_simulate_newdata_new_level_stops(R):
    import pandas as pd

    fit = _setup(R, "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True, {})
    nd = pd.DataFrame({"plate": ["a", "zz"], "sample": ["A", "C"]})
    put(R, "nd", nd)
    with pytest.raises(Exception) as r_err:
        R.r_eval("simulate(fit, 1, seed = 1, newdata = nd)")
    with pytest.raises(DataError) as e:
        fit.simulate(1, seed=1, newdata=nd)
    assert str(e.value) in str(r_err.value)
