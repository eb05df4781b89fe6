"""R data as R holds it: factor ``contrasts`` attributes, matrix columns, the R object handed to lme4,
refusals for what pandas cannot carry, R-like CSV reading and the integer/string rules
(pyreterms.design.dataframe, parity.r.attrs, parity.r.convert).  Expected values come from R itself (live; the pure checks are tests/unit/test_rdata_conventions.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyreterms.design.dataframe import read_csv

from parity.r import frame as r_frame

# --------------------------------------------------------------------------------------------
# without R


# --------------------------------------------------------------------------------------------
# live R

MAKE = r"""local({
  d <- lme4::sleepstudy
  d$fac <- factor(rep(c("a", "b"), 90)); contrasts(d$fac) <- contr.sum(2)
  d$f3 <- factor(rep(c("a", "b", "c"), 60))
  contrasts(d$f3) <- matrix(c(1, 0, -1, 0, 1, -1), 3, dimnames = list(NULL, c("p", "q")))
  d$X <- cbind(a = d$Days, b = d$Days^2)
  d$Z <- cbind(d$Days / 10)
  d
})"""


@pytest.fixture(scope="module")
def rframe(R):

    obj = R.r_eval(MAKE)
    return obj, r_frame.r_dataframe_to_pandas(obj)


def _r_colnames(R, obj, formula: str):
    from parity.r import convert

    f = R.r_eval(f"function(d) list(colnames(lme4::lFormula({formula}, d)$X), "
                 f"lme4::lFormula({formula}, d)$reTrms$cnms)")
    v = convert.r_to_value(R.r_call(f, obj))
    x, cnms = (item for _, item in v.items)
    return tuple(x.x.tolist()), tuple((k, tuple(c.x.tolist())) for k, c in cnms.items)


@pytest.mark.r
def test_r_frame_carries_contrasts_and_matrix_columns(R, rframe):
    obj, df = rframe
    assert df.attrs["matrix_columns"] == {"X": {"columns": ["X.a", "X.b"], "colnames": ["a", "b"]},
                                          "Z": {"columns": ["Z.1"], "colnames": None}}
    assert df.attrs["contrasts"]["fac"] == {"matrix": [[1.0], [-1.0]], "colnames": None}
    assert df.attrs["contrasts"]["f3"] == {"matrix": [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], "colnames": ["p", "q"]}
    assert len(pd.concat([df, df])) == 2 * len(df)  # plain values: pandas can compare the attrs
    from parity.r import convert
    from parity.r.attrs import R_OBJECT_ATTR

    # rebuilt from pandas (no R object attached), R sees the same frame as the original
    plain = df.copy()
    plain.attrs = {k: v for k, v in df.attrs.items() if k != R_OBJECT_ATTR}
    rebuilt = convert.dataframe_to_r(plain)
    assert rebuilt is not obj
    # every column with its attributes (row names: R's automatic 1..n vs the same labels as strings)
    same = R.r_eval("function(a, b) identical(names(a), names(b)) && "
                    "isTRUE(all.equal(as.list(a), as.list(b), check.attributes = TRUE))")
    assert bool(R.r_call(same, obj, rebuilt)[0])


@pytest.mark.r
def test_r_object_is_handed_to_lme4_while_unchanged(R, rframe):
    from parity.r import convert
    from parity.r.attrs import r_object_for

    from parity.r.datasource import load_source

    ss = load_source("r:lme4::sleepstudy")  # what `parity check --data r:lme4::sleepstudy` loads
    robj = r_object_for(ss)
    assert robj is not None and convert.dataframe_to_r(ss) is robj
    obj, df = rframe
    assert convert.dataframe_to_r(df) is obj and r_object_for(df.copy()) is obj
    sub = df[df.Days > 2]  # a subset keeps the attrs but is other data
    assert r_object_for(sub) is None
    changed = df.copy()
    changed.loc[changed.index[0], "Reaction"] = 0.0
    assert r_object_for(changed) is None


@pytest.mark.r
@pytest.mark.parametrize("formula,X,cnms", [
    # R 4.2.2 / lme4 1.1-31 (printed by tests via _r_colnames as well)
    ("Reaction ~ -1 + X + (Days | Subject)", ("Xa", "Xb"), (("Subject", ("(Intercept)", "Days")),)),
    ("Reaction ~ Days + fac + (fac | Subject)", ("(Intercept)", "Days", "fac1"), (("Subject", ("(Intercept)", "fac1")),)),
    ("Reaction ~ f3 + Z + (1 | Subject)", ("(Intercept)", "f3p", "f3q", "Z"), (("Subject", ("(Intercept)",)),)),
    ("Reaction ~ factor(fac) + (1 | Subject)", ("(Intercept)", "factor(fac)b"), (("Subject", ("(Intercept)",)),)),
    ("Reaction ~ as.factor(fac) + (1 | Subject)", ("(Intercept)", "as.factor(fac)1"), (("Subject", ("(Intercept)",)),)),
])
def test_lme4_on_r_data_with_attributes(R, rframe, formula, X, cnms):
    import pyreterms
    from parity.compare.check import check

    obj, df = rframe
    assert _r_colnames(R, obj, formula) == (X, cnms)  # what lme4 builds from the R object
    lf = pyreterms.lformula(formula, df)
    assert lf.X.colnames == X and lf.reTrms.cnms == cnms
    rep = check(formula, df, level="fit")
    assert rep.ok, [(c.name, c.detail) for c in rep.components if not c.ok]
    from parity.r.attrs import R_OBJECT_ATTR

    plain = df.copy()  # the same data built in R from the pandas conventions (no R object attached)
    plain.attrs = {k: v for k, v in df.attrs.items() if k != R_OBJECT_ATTR}
    rep = check(formula, plain, level="lformula")
    assert rep.ok, [(c.name, c.detail) for c in rep.components if not c.ok]


@pytest.mark.r
def test_losing_the_attribute_is_a_disagreement(R, rframe):
    """Before: the contrasts attribute was lost on both sides and parity agreed.  Now R gets the R
    object; a frame that lost the attribute is compared against it and disagrees."""
    from parity.compare.check import check, r_components

    obj, df = rframe
    formula = "Reaction ~ Days + fac + (1 | Subject)"
    r = r_components(formula, obj, REML=True, level="lformula")
    lost = df.copy()
    lost.attrs = {}
    lost = lost[["Reaction", "Days", "Subject", "fac"]]
    rep = check(formula, lost, level="lformula", r=r)
    bad = {c.name for c in rep.components if not c.ok}
    assert "lFormula()$X" in bad


@pytest.mark.r
def test_unused_level_drops_the_attribute_as_r_does(R):
    """R's model.frame(drop.unused.levels = TRUE) drops contrasts when a level disappears."""
    import pyreterms
    from parity.compare.check import check

    obj = R.r_eval(MAKE.replace("\n  d\n})", "\n  d[d$f3 != 'c', ]\n})"))
    df = r_frame.r_dataframe_to_pandas(obj)
    formula = "Reaction ~ f3 + (1 | Subject)"
    assert _r_colnames(R, obj, formula)[0] == ("(Intercept)", "f3b")
    assert pyreterms.lformula(formula, df).X.colnames == ("(Intercept)", "f3b")
    rep = check(formula, df, level="lformula")
    assert rep.ok, [(c.name, c.detail) for c in rep.components if not c.ok]


@pytest.mark.r
@pytest.mark.parametrize("expr,what", [
    ("data.frame(y = 1:3, d = as.Date('2020-01-01') + 0:2)", "class Date"),
    ("local({d <- data.frame(y = 1:3); d$l <- list(1, 'a', 2); d})", "list"),
    ("local({d <- data.frame(y = 1:3); d$m <- matrix(letters[1:6], 3); d})", "non-numeric matrix"),
    ("local({d <- data.frame(y = 1:3); attr(d$y, 'units') <- 'cm'; d})", "attribute"),
])
def test_unrepresentable_r_data_is_not_compared(R, expr, what):
    from parity.compare.notcompared import NotCompared

    with pytest.raises(NotCompared, match=what) as e:
        r_frame.r_dataframe_to_pandas(R.r_eval(expr))
    assert e.value.kind == "unrepresentable"


@pytest.mark.r
def test_read_csv_matches_r_read_csv(R, tmp_path):
    from parity.r import convert

    p = tmp_path / "big.csv"
    p.write_text("y,big,huge,g\n1,3000000000,1180591620717411303424,a\n2,-3000000001,5,b\n")
    ours = read_csv(p)
    f = R.r_eval("function(p) { d <- utils::read.csv(p); list(vapply(d, typeof, ''), d$big, d$huge) }")
    types, big, huge = (v for _, v in convert.r_to_value(R.r_call(f, convert.py_to_r(str(p)))).items)
    assert types.x.tolist() == ["integer", "double", "double", "character"]
    assert str(ours.big.dtype) == "float64" and str(ours.huge.dtype) == "float64"
    assert ours.big.tolist() == big.x.tolist() and ours.huge.tolist() == huge.x.tolist()


@pytest.mark.r
def test_contrasts_matrix_file_cli(R, tmp_path, capsys):
    import pyreterms
    from parity.cli.main import main

    d = pyreterms.load_dataset("sleepstudy")
    d["f"] = np.tile(["a", "b", "c"], 60)
    d.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "cm.csv").write_text("p,q\n1,0\n0,1\n-1,-1\n")
    (tmp_path / "bad.csv").write_text("p\nx\ny\n")
    rc = main(["check", "Reaction ~ Days + f + (1 | Subject)", "--data", str(tmp_path / "d.csv"),
               "--level", "lformula", "--contrasts", f"f={tmp_path / 'cm.csv'}"])
    assert rc == 0, capsys.readouterr()
    rc = main(["check", "Reaction ~ Days + f + (1 | Subject)", "--data", str(tmp_path / "d.csv"),
               "--contrasts", f"f={tmp_path / 'bad.csv'}"])
    err = capsys.readouterr().err
    assert rc == 2 and "not a numeric contrasts matrix" in err and len(err.strip().splitlines()) == 1
    lf = pyreterms.lformula("Reaction ~ Days + f + (1 | Subject)", d,
                            contrasts={"f": pd.read_csv(tmp_path / "cm.csv")})
    assert lf.X.colnames == ("(Intercept)", "Days", "fp", "fq")
