"""The R bridge: parity.r.values / rsession / convert / datasource, r_scripts/reference.R and the
shipped data sets, with a live R with lme4 (through rpy2); the checks without R are
tests/unit/test_rbridge_offline.py."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyreterms.datasets import list_datasets, load_dataset

from parity.r import frame as rframe
from parity.r import oracle

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rs(R):
    """The embedded R (the session fixture ``R``: a live test fails, never skips, without R)."""
    return R


# ------------------------------------------------------------------------------------------
# offline


# ------------------------------------------------------------------------------------------
# live R

DESCRIBE_R = """function(df) lapply(df, function(x) list(
  class = class(x), typeof = typeof(x),
  levels = if (is.factor(x)) levels(x) else NULL,
  na = is.na(x), nan = if (is.double(x)) is.nan(x) else NULL,
  chr = as.character(x),
  sortlev = if (is.character(x)) levels(factor(x)) else NULL))"""


def _describe(rs, df: pd.DataFrame):
    from parity.r import convert

    f = rs.r_eval(DESCRIBE_R)
    return convert.r_to_value(rs.r_call(f, convert.dataframe_to_r(df)))


AWKWARD = ["b", "B", "a", "_x", "é", "x,y", 'q"uote', None, "10", "9", "Zz", "a b"]


@pytest.mark.r
def test_versions(rs):
    v = rs.versions()
    assert v["R"] == "4.2.2" and v["lme4"] == "1.1.31" and v["Matrix"] == "1.5.3"
    assert v["collation"] == "C" and v["rpy2"].startswith("3.5")


@pytest.mark.r
def test_dataframe_round_trip(rs):
    from parity.r import convert

    n = len(AWKWARD)
    df = pd.DataFrame({
        "s": pd.Series(AWKWARD, dtype=object),
        "s_cat": pd.Categorical(AWKWARD, categories=sorted(x for x in AWKWARD if x is not None)),
        "i_cat": pd.Categorical([3, 1, 2, 10] * 3, categories=[3, 1, 2, 10]),
        "o_cat": pd.Categorical(["lo", "hi", "mid", None] * 3, categories=["lo", "mid", "hi"], ordered=True),
        "f_cat": pd.Categorical([0.1, 1e-20, 100000.0, 1.5] * 3),
        "x": [0.5, np.nan, 2.0, -np.inf] * 3,
        "k": np.arange(n, dtype=np.int64) - 5,
        "kn": pd.array([1, None, 3] * 4, dtype="Int64"),
        "b": [True, False, True] * 4,
        "bn": pd.array([True, None, False] * 4, dtype="boolean"),
        "pstr": pd.array(AWKWARD, dtype="str"),
    })
    d = _describe(rs, df)
    # strings: R character with NA_character_, in C collation
    s = d["s"]
    assert s["class"].x.tolist() == ["character"]
    assert s["chr"].x.tolist() == AWKWARD
    assert s["na"].x.tolist() == [v is None for v in AWKWARD]
    assert s["sortlev"].x.tolist() == sorted(x for x in AWKWARD if x is not None)
    assert d["pstr"]["chr"].x.tolist() == AWKWARD
    # factors with explicit levels
    assert d["s_cat"]["levels"].x.tolist() == sorted(x for x in AWKWARD if x is not None)
    assert d["s_cat"]["chr"].x.tolist() == AWKWARD
    assert d["i_cat"]["levels"].x.tolist() == ["3", "1", "2", "10"]
    assert d["i_cat"]["class"].x.tolist() == ["factor"]
    assert d["o_cat"]["class"].x.tolist() == ["ordered", "factor"]
    assert d["o_cat"]["levels"].x.tolist() == ["lo", "mid", "hi"]
    assert d["o_cat"]["na"].x.tolist() == [False, False, False, True] * 3
    # float categories spelled like R's as.character(<double>)
    r_chr = convert.r_to_value(rs.r_eval("as.character(c(1e-20, 0.1, 1.5, 1e5))")).x.tolist()
    assert d["f_cat"]["levels"].x.tolist() == r_chr == ["1e-20", "0.1", "1.5", "1e+05"]
    # NaN -> NA_real_ (is.na but not is.nan); Inf kept
    assert d["x"]["na"].x.tolist() == [False, True, False, False] * 3
    assert d["x"]["nan"].x.tolist() == [False] * n
    assert d["x"]["chr"].x.tolist()[3] == "-Inf"
    assert d["k"]["typeof"].x.tolist() == ["integer"]
    assert d["kn"]["typeof"].x.tolist() == ["integer"] and d["kn"]["na"].x.tolist() == [False, True, False] * 4
    assert d["b"]["typeof"].x.tolist() == ["logical"]
    assert d["bn"]["na"].x.tolist() == [False, True, False] * 4

    # and back to pandas
    back = rframe.r_dataframe_to_pandas(convert.dataframe_to_r(df))
    assert list(back.index) == [str(i + 1) for i in range(n)]
    pd.testing.assert_series_equal(back["s_cat"], df["s_cat"].astype(
        pd.CategoricalDtype(pd.Index(df["s_cat"].cat.categories, dtype="str"))), check_index=False)
    assert list(back["i_cat"].cat.categories) == ["3", "1", "2", "10"]
    assert back["o_cat"].cat.ordered and back["o_cat"].isna().tolist() == [False, False, False, True] * 3
    np.testing.assert_array_equal(back["x"].to_numpy(), df["x"].to_numpy())
    assert back["k"].dtype == np.int64 and back["k"].tolist() == df["k"].tolist()
    assert back["kn"].dtype == "Int64" and back["kn"].isna().tolist() == [False, True, False] * 4
    assert back["b"].dtype == bool and back["b"].tolist() == df["b"].tolist()
    assert [None if pd.isna(v) else v for v in back["s"]] == AWKWARD


@pytest.mark.r
def test_dataframe_refusals_and_rownames(rs):
    from parity.r import convert
    from parity.r.values import RVector

    from pyreterms.errors import DataError

    # R has no 64-bit integers: beyond R's integer range they become doubles (as R's read.csv gives
    # them), and a value a double cannot hold exactly is refused
    typeof = rs.r_eval("function(d) vapply(d, typeof, '')")
    big = pd.DataFrame({"big": np.array([1, 2**40], dtype=np.int64), "m": np.array([0, -(2**31)], dtype=np.int64)})
    assert convert.r_to_value(rs.r_call(typeof, convert.dataframe_to_r(big))).x.tolist() == ["double", "double"]
    with pytest.raises(DataError, match="no exact R representation"):
        convert.dataframe_to_r(pd.DataFrame({"big": np.array([1, 2**53 + 1], dtype=np.int64)}))
    with pytest.raises(DataError, match="NUL"):
        convert.dataframe_to_r(pd.DataFrame({"s": ["a", "b\x00c"]}))
    with pytest.raises(DataError, match="dtype"):
        convert.dataframe_to_r(pd.DataFrame({"t": pd.to_datetime(["2020-01-01"])}))
    with pytest.raises(DataError, match="object column"):
        convert.dataframe_to_r(pd.DataFrame({"o": pd.Series(["a", 1], dtype=object)}))
    with pytest.raises(ValueError, match="duplicate"):
        convert.dataframe_to_r(pd.DataFrame({"a": [1.0, 2.0]}, index=["r", "r"]))
    rn = rs.r_eval("function(d) rownames(d)")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    assert convert.r_to_value(rs.r_call(rn, convert.dataframe_to_r(df))).x.tolist() == ["1", "2", "3"]
    assert convert.r_to_value(rs.r_call(rn, convert.dataframe_to_r(df.iloc[1:]))).x.tolist() == ["1", "2"]
    df2 = pd.DataFrame({"a": [1.0, 2.0]}, index=[10, 20])
    v = convert.r_to_value(rs.r_call(rn, convert.dataframe_to_r(df2)))
    assert isinstance(v, RVector) and v.x.tolist() == ["10", "20"]


@pytest.mark.r
def test_load_source_equals_shipped(rs):
    from parity.r.datasource import load_source

    for name in list_datasets():
        pd.testing.assert_frame_equal(load_source(f"r:lme4::{name}"), load_dataset(name), check_exact=True)
    a = load_source("r:lme4::sleepstudy")
    b = load_dataset("sleepstudy")
    assert list(a.Subject.cat.categories) == list(b.Subject.cat.categories)
    assert a.Subject.cat.ordered is False and list(a.index) == list(b.index)
    pen = load_source("r:lme4::Penicillin")
    assert list(pen.columns) == ["diameter", "plate", "sample"]


@pytest.mark.r
def test_load_source_errors(rs, tmp_path):
    from parity.r.datasource import load_source

    for bad, pat in [("r:nosuchpkg::x", "not installed"), ("r:lme4::nosuch", "no data set"),
                     ("r:lme4", "expected r:PKG::NAME"), ("r:lme4::a;b", "expected"),
                     (str(tmp_path / "missing.csv"), "not found"), ("", "empty")]:
        with pytest.raises(ValueError, match=pat) as ei:
            load_source(bad)
        assert "\n" not in str(ei.value)
    p = tmp_path / "d.csv"
    p.write_text("y,g,x\n1.5,b,1\n2.5,B,2\n")
    df = load_source(str(p))
    assert df.g.tolist() == ["b", "B"] and df.x.dtype == np.int64
    assert isinstance(df.index, pd.RangeIndex)


@pytest.mark.r
def test_r_to_value_kinds(rs):
    from parity.r import convert
    from parity.r.values import RError, RFactor, RList, RMatrix, RNull, RSparse, RVector

    c = convert.r_to_value
    v = c(rs.r_eval("c(a = 1L, b = NA, c = 3L)"))
    assert isinstance(v, RVector) and v.kind == "integer" and v.names == ("a", "b", "c")
    assert np.isnan(v.x[1]) and v.x[2] == 3
    lg = c(rs.r_eval("c(TRUE, NA)"))
    assert lg.kind == "logical" and lg.x.tolist() == [True, None]
    assert c(rs.r_eval("c(TRUE, FALSE)")).x.dtype == bool
    assert c(rs.r_eval("NULL")) is RNull
    f = c(rs.r_eval('factor(c("b", NA, "a"), levels = c("b", "a"))'))
    assert isinstance(f, RFactor) and f.codes.tolist() == [0, -1, 1] and f.levels == ("b", "a")
    lst = c(rs.r_eval('list(a = 1, a = "x", 2)'))
    assert isinstance(lst, RList) and lst.names() == ("a", "a", None)
    m = c(rs.r_eval('matrix(1:6, 2, dimnames = list(c("r1", "r2"), NULL))'))
    assert isinstance(m, RMatrix) and m.x.tolist() == [[1, 3, 5], [2, 4, 6]] and m.rownames == ("r1", "r2")
    assert m.colnames is None
    with pytest.raises(TypeError):
        c(rs.r_eval("array(1:8, c(2, 2, 2))"))
    assert isinstance(c(rs.r_eval("function(x) x"), strict=False), RError)
    with pytest.raises(TypeError):
        c(rs.r_eval("new.env()"))
    # Matrix classes
    dge = c(rs.r_eval("Matrix::Matrix(c(1, 2, 3, 4), 2, 2, sparse = FALSE)"))
    assert isinstance(dge, RMatrix) and dge.x.tolist() == [[1, 3], [2, 4]]
    sym = c(rs.r_eval("Matrix::sparseMatrix(i = c(1, 2), j = c(2, 2), x = c(5, 7), symmetric = TRUE)"))
    assert isinstance(sym, RSparse) and sym.x.toarray().tolist() == [[0, 5], [5, 7]]
    pat = c(rs.r_eval("Matrix::sparseMatrix(i = c(1, 2), j = c(1, 3))"))
    assert isinstance(pat, RSparse) and pat.x.toarray().tolist() == [[1, 0, 0], [0, 0, 1]]


@pytest.mark.r
def test_dgcmatrix_conversion(rs):
    from parity.r import convert
    from parity.r.values import RSparse

    obj = rs.r_eval('Matrix::sparseMatrix(i = c(1, 3, 2, 1), j = c(1, 1, 3, 4), x = c(1.5, 2, -3, 0.25),'
                    ' dims = c(3, 4), dimnames = list(c("a", "b", "c"), NULL))')
    v = convert.r_to_value(obj)
    assert isinstance(v, RSparse)
    assert v.rownames == ("a", "b", "c") and v.colnames is None
    assert v.x.shape == (3, 4) and v.x.nnz == 4
    expected = np.array([[1.5, 0, 0, 0.25], [0, 0, -3, 0], [2, 0, 0, 0]])
    np.testing.assert_array_equal(v.x.toarray(), expected)
    assert v.x.indices.tolist() == [0, 2, 1, 0] and v.x.indptr.tolist() == [0, 2, 2, 3, 4]
    # copied out of R: no memory shared with the R vector
    xs = np.asarray(obj.do_slot("x"))
    assert not np.shares_memory(xs, v.x.data)
    del obj
    rs.r_eval("invisible(gc())")
    np.testing.assert_array_equal(v.x.toarray(), expected)


def _ss3() -> pd.DataFrame:
    ss = load_dataset("sleepstudy")
    return ss[ss.Subject.isin(["309", "330", "371"])]


@pytest.mark.r
def test_reference_lformula_ss3(rs):
    from parity.r.values import RFactor, RList, RSparse

    r = oracle.reference("Reaction ~ Days + (Days|Subject)", _ss3(), level="lformula")
    assert oracle.reference_error(r) is None
    zt = r["lFormula()$reTrms$Zt"]
    assert isinstance(zt, RSparse) and zt.shape == (6, 30)
    assert zt.rownames == ("309", "309", "330", "330", "371", "371")
    assert zt.x.nnz == 57
    assert zt.colnames[:3] == ("11", "12", "13")
    assert r["lFormula()$reTrms$theta"].x.tolist() == [1.0, 0.0, 1.0]
    assert r["lFormula()$reTrms$Lind"].x.tolist() == [1, 2, 3] * 3
    assert r["lFormula()$reTrms$Gp"].x.tolist() == [0, 6]
    fl = r["lFormula()$reTrms$flist"]
    assert isinstance(fl, RList) and isinstance(fl["Subject"], RFactor)
    assert fl["Subject"].levels == ("309", "330", "371")
    assert r["lFormula()$formula"].scalar() == "Reaction ~ Days + (Days | Subject)"
    assert r["lapply(reTrms$flist[assign], function(f) t(fac2sparse(f)))"]["Days | Subject"].shape == (30, 3)
    assert r["warnings"].x.tolist() == [] and r["messages"].x.tolist() == []


@pytest.mark.r
def test_reference_fit_ss3(rs):
    r = oracle.reference("Reaction ~ Days + (Days|Subject)", _ss3(), level="fit", thetas=[[1, 0, 1]])
    assert oracle.reference_error(r) is None
    assert r["REMLcrit(fit)"].scalar() == pytest.approx(265.958362151873, rel=1e-9)
    assert r["devfun(thetas[[1]])"].scalar() == pytest.approx(272.929238631118, rel=1e-12)
    assert r["devfun(theta)"].scalar() == pytest.approx(r["REMLcrit(fit)"].scalar(), rel=1e-12)
    assert r["ldL2(getME(fit, \"L\"))"].scalar() == pytest.approx(14.5787816083895, rel=1e-9)
    assert r["getME(fit, \"devcomp\")"]["cmp"].x[0] == pytest.approx(14.5787816083895, rel=1e-9)
    assert r["fit@optinfo$feval"].scalar() == 88
    assert r["getME(fit, \"b\")"].shape == (6, 1)
    assert len(r["extraction: warnings"]) == 1  # deviance() on a REML fit warns in 1.1-31


@pytest.mark.r
def test_reference_errors_and_messages(rs):
    r = oracle.reference("Reaction ~ Days + (1|Days)", _ss3().iloc[:3])
    e = oracle.reference_error(r)
    assert e is not None and e.kind == "error" and "grouping factor" in e.message
    df = pd.DataFrame({"y": np.arange(20.0) % 7, "x": np.arange(20.0), "g": pd.Categorical(list("ab") * 10)})
    df["x2"] = 2 * df["x"]
    r = oracle.reference("y ~ x + x2 + (1|g)", df)
    assert r["messages"].x.tolist() == ["fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"]
    cd = r["attr(lFormula()$X, \"col.dropped\")"]
    assert cd.names == ("x2",) and cd.x.tolist() == [3]


@pytest.mark.r
def test_allowlist_refuses_without_evaluating(rs, tmp_path):
    target = tmp_path / "pwned"
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [1.0, 2.0, 3.0]})
    for f in [f'y ~ x + system("touch {target}")', f'y ~ x + base::system("touch {target}")',
              f'y ~ x + I(system("touch {target}"))', f'y ~ x + (function() system("touch {target}"))()',
              f'y ~ eval(parse(text = "system(\'touch {target}\')"))']:
        r = oracle.reference(f, df)
        err = oracle.reference_error(r)
        assert err is not None and err.kind == "not-allowed", (f, err)
        assert r.names() == ("error",)
    assert oracle.reference("y ~ x + system(\"touch /tmp/pwned\")", df)["error"].scalar() == \
        "formula uses function 'system' which is not allowed"
    r = oracle.reference(f'y ~ x; system("touch {target}")', df)
    assert oracle.reference_error(r).kind == "parse"
    assert not target.exists()


@pytest.mark.r
def test_time_limit(rs):
    ie = rs.r_eval("lme4::InstEval")
    r = oracle.reference("y ~ service*dept + (1|s) + (1|d)", ie, level="fit", REML=False, time_limit=0.2)
    assert oracle.reference_error(r).kind == "timeout"
    r = oracle.reference("Reaction ~ Days + (Days|Subject)", _ss3())
    assert oracle.reference_error(r) is None


@pytest.mark.r
def test_time_limit_swallowed_by_a_handler_is_still_a_timeout(rs):
    """R clears setTimeLimit() when it fires: a try() inside the call used to swallow it, and the
    rest ran unlimited and came back as a value (a fit with a 0.05 s limit ran 47 s and its
    components were compared).  The call outlived its limit, so it is a timeout, and the next
    component (pyreterms_collect) stops at once instead of running on."""
    f = rs.r_eval("function() { try(repeat sum(1:10), silent = TRUE); "
                  "t <- proc.time()[[3]]; while (proc.time()[[3]] - t < 0.3) NULL; 'ran' }")
    with pytest.raises(rs.RCallError, match="reached elapsed time limit"):
        rs.r_call(f, time_limit=0.1)
    g = rs.r_eval("function() { try(repeat sum(1:10), silent = TRUE); "
                  "pyreterms_collect({t <- proc.time()[[3]]; while (proc.time()[[3]] - t < 20) NULL; 'ran'}, "
                  "pyreterms_conditions()) }")
    t0 = time.perf_counter()
    with pytest.raises(rs.RCallError, match="reached elapsed time limit"):
        rs.r_call(g, time_limit=0.1)
    assert time.perf_counter() - t0 < 10
    assert rs.r_call(rs.r_eval("function() 'ran'"), time_limit=5.0)[0] == "ran"


@pytest.mark.r
def test_reference_r_runs_standalone():
    assert shutil.which("Rscript") is not None, "the live tier needs Rscript on PATH"
    code = ('source("r_scripts/reference.R"); r <- pyreterms_reference("Reaction ~ Days + (Days|Subject)",'
            ' sleepstudy, level = "lformula"); stopifnot(nrow(r[["lFormula()$reTrms$Zt"]]) == 36);'
            ' cat(Sys.getlocale("LC_COLLATE"))')
    out = subprocess.run(["Rscript", "-e", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("C")
