"""summary() as a structured object whose str() is lme4 1.1-31's print(summary(fit)), Data line
included; its fields against summary(fit) live; the short repr."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from verbs_rhelp import num, put, r_fit, same_fit

pytestmark = pytest.mark.r

MODELS = [
    ("sleepstudy REML", "sleepstudy", "Reaction ~ Days + (Days | Subject)", True, ""),
    ("sleepstudy ML", "sleepstudy", "Reaction ~ Days + (Days | Subject)", False, ""),
    ("Penicillin", "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True, ""),
    ("Pastes", "Pastes", "strength ~ 1 + (1 | batch/cask)", True, ""),
    ("weighted", "sleepstudy", "Reaction ~ Days + (1 | Subject)", True, "weights"),
]


def _setup(R, data, formula, reml, extra):
    d = pyreterms.load_dataset(data)
    kw = {}
    if extra:
        d = d.assign(w=np.random.default_rng(2).uniform(0.5, 2, len(d)))
        kw = {"weights": "w"}
    put(R, "dd", d)
    th = r_fit(R, formula, "dd", REML=reml, extra="weights = w" if extra else "", name="fs")
    return same_fit(formula, d, th, REML=reml, **kw)


@pytest.mark.parametrize("label,data,formula,reml,extra", MODELS, ids=[m[0] for m in MODELS])
def test_summary_text_and_fields(R, label, data, formula, reml, extra):
    fit = _setup(R, data, formula, reml, extra)
    s = fit.summary(data_name="dd", weights_name="w" if extra else None)
    theirs = list(R.r_eval("capture.output(print(summary(fs)))"))
    ours = str(s).splitlines()
    assert ours[:3] == theirs[:3]  # title, Formula:, Data:
    assert ours == theirs
    R.r_eval("sm <- summary(fs)")
    np.testing.assert_allclose(s.coefficients.to_numpy().ravel(order="F"), num(R, "coef(sm)"), rtol=1e-8)
    assert list(s.coefficients.columns) == list(R.r_eval("colnames(coef(sm))"))
    np.testing.assert_allclose(s.residuals.to_numpy(), num(R, "quantile(sm$residuals)"), rtol=1e-8)
    np.testing.assert_allclose(s.varcor["sdcor"].to_numpy(), num(R, "as.data.frame(sm$varcor)$sdcor"), rtol=1e-8)
    np.testing.assert_allclose(s.correlation.to_numpy().ravel(), num(R, "as.matrix(cov2cor(vcov(fs)))"), rtol=1e-8)
    assert list(s.ngrps) == list(num(R, "sm$ngrps"))
    assert s.sigma == pytest.approx(float(num(R, "sm$sigma")[0]), rel=1e-10)


def test_repr_is_short(R):
    fit = pyreterms.lmer("Reaction ~ Days + (Days | Subject)", pyreterms.load_dataset("sleepstudy"))
    text = repr(fit)
    assert len(text) < 200 and "\n" not in text
    for part in ("Reaction ~ Days + (Days | Subject)", "n = 180", "Subject 18", "REML criterion"):
        assert part in text
    assert "<table>" in fit._repr_html_()
