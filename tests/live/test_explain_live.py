"""``pyreterms explain`` against live lme4: the objects a walkthrough shows (J_i, X_i, Z_i, Zt, Lambdat,
Lind, theta, lower, Gp; with a fit u, b, beta, coef) are lme4's, the matrices print as R's Matrix
prints them, --subset keeps R's rows, and the caterpillar plot's conditional variances are lme4's."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from parity.compare.tolerances import OPTIMUM
from parity.r.convert import r_to_value

pytestmark = pytest.mark.r

SEED = "Reaction ~ Days + (Days | Subject)"
SEED_SUBSET = "Subject %in% c(309, 330, 371)"

#: (formula, data set, subset): the seed, crossed, nested, `||` and a factor slope
DESIGNS = [
    (SEED, "sleepstudy", SEED_SUBSET),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", None),
    ("strength ~ 1 + (1 | batch/cask)", "Pastes", None),
    ("Reaction ~ Days + (Days || Subject)", "sleepstudy", None),
    ("angle ~ temp + (recipe | replicate)", "cake", None),
]


def _r(R, code: str):
    return r_to_value(R.r_eval(code))


def _setup(R, formula: str, data: str, subset: str | None, fit: bool = False):
    d = f"subset(lme4::{data}, {subset})" if subset else f"lme4::{data}"
    R.r_eval(f"suppressMessages(library(lme4)); f <- {formula}; d <- {d}; lf <- lFormula(f, d)")
    if fit:
        R.r_eval("fit <- lmer(f, d)")
    return pyreterms.explain(formula, data, subset=subset, fit=fit)


def _sparse_equal(ours, theirs) -> None:
    a, b = ours.tocsc(), theirs.x.tocsc()
    a.sort_indices()
    b.sort_indices()
    assert a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)


@pytest.mark.parametrize("formula,data,subset", DESIGNS)
def test_lformula_objects_are_lme4s(R, formula, data, subset):
    ex = _setup(R, formula, data, subset)
    rt = ex.lf.reTrms
    bars = ex.step("bars").obj
    assert bars == list(_r(R, "vapply(findbars(f), deparse1, '')").x)
    for i in range(1, len(bars) + 1):
        t_name = bars[i - 1]
        grp = rt.flist[rt.assign[[t.name for t in rt.terms].index(t_name)]][0]
        R.r_eval(f'J_{i} <- t(Matrix::fac2sparse(lf$reTrms$flist[["{grp}"]])); '
                 f'X_{i} <- model.matrix(~ {t_name.rsplit(" | ", 1)[0]}, lf$fr); '
                 f'Z_{i} <- t(KhatriRao(t(J_{i}), t(X_{i})))')
        J = _r(R, f"J_{i}")
        _sparse_equal(ex.step(f"J[{i}]").obj, J)
        Xi = _r(R, f"X_{i}")
        assert np.array_equal(ex.step(f"X[{i}]").obj, np.asarray(Xi.x))
        _sparse_equal(ex.step(f"Z[{i}]").obj, _r(R, f"as(Z_{i}, 'CsparseMatrix')"))
    _sparse_equal(ex.step("Zt").obj, _r(R, "lf$reTrms$Zt"))
    assert names_of(_r(R, "lf$reTrms$Zt").rownames) == list(rt.Zt_rownames)
    lam = ex.step("Lambdat").obj
    _sparse_equal(lam["Lambdat"], _r(R, "lf$reTrms$Lambdat"))
    assert np.array_equal(lam["Lind"], np.asarray(_r(R, "lf$reTrms$Lind").x))  # printed 1-based, as R's
    th = ex.step("theta").obj
    assert np.array_equal(th["theta"], np.asarray(_r(R, "lf$reTrms$theta").x))
    assert np.array_equal(th["lower"], np.asarray(_r(R, "lf$reTrms$lower").x))
    assert np.array_equal(ex.step("Gp").obj, np.asarray(_r(R, "lf$reTrms$Gp").x))
    assert list(ex.step("order").obj) == [bars.index(n) for n in _r(R, "names(lf$reTrms$Ztlist)").x]


def names_of(x) -> list[str]:
    return [str(v) for v in x]


@pytest.mark.parametrize("formula,data,subset", [DESIGNS[0], DESIGNS[1], DESIGNS[4]])
def test_printed_matrices_are_Rs_print(R, formula, data, subset):
    """Every sparse matrix the walkthrough prints is, line for line, R's print of the R code shown
    (the ``[[ suppressing ... ]]`` line is R's message() and goes to stderr in R)."""
    ex = _setup(R, formula, data, subset, fit=True)
    R.r_eval("J_1 <- t(Matrix::fac2sparse(lf$reTrms$flist[[1]]))")
    checked = 0
    for key in ("J[1]", "Z[1]", "Zt", "Lambdat", "Lambdat_hat", "L"):
        s = ex.step(key)
        if key == "J[1]":
            grp = ex.lf.reTrms.flist[ex.lf.reTrms.assign[list(ex.lf.reTrms.formula_order).index(0)]][0]
            R.r_eval(f'J_1 <- t(Matrix::fac2sparse(lf$reTrms$flist[["{grp}"]])); '
                     f'X_1 <- model.matrix(~ {ex.step("bars").obj[0].rsplit(" | ", 1)[0]}, lf$fr); '
                     'Z_1 <- t(KhatriRao(t(J_1), t(X_1)))')
        if key in ("Lambdat_hat", "L"):
            continue  # at pyreterms' theta: lme4's optimum differs in the last digits (see the fit test)
        show = s.r_code.splitlines()[-1]
        if key == "Lambdat":
            show = s.r_code.splitlines()[0]
        ours = [ln for ln in s.text.splitlines() if not ln.startswith("  [[ suppressing")]
        if key == "Z[1]":
            ours = ours[ours.index("") + 1:]
        if key == "Lambdat":
            ours = ours[:ours.index("Lind (1-based, as in R)")]
        theirs = list(R.r_eval(f"capture.output(print({show}))"))
        assert ours == theirs, (key, show)
        checked += 1
    assert checked == 4


def test_printed_L_is_Rs_print_at_the_same_theta(R):
    """The L step's R code, run on lme4's Lambdat at pyreterms' theta, prints what explain prints."""
    ex = _setup(R, SEED, "sleepstudy", SEED_SUBSET, fit=True)
    theta = ", ".join(repr(float(v)) for v in ex.fit.theta)
    R.r_eval(f'fit2 <- fit; Lt <- getME(fit, "Lambdat"); Lt@x <- c({theta})[getME(fit, "Lind")]')
    code = ex.step("L").r_code.splitlines()
    R.r_eval(code[0].replace('getME(fit, "Lambdat")', "Lt"))
    ours = ex.step("L").text.splitlines()
    assert ours == list(R.r_eval(f"capture.output(print({code[1]}))"))


def test_printed_numbers_are_Rs_format(R):
    """Non-integer, negative, scientific and wide matrices, and vectors, print as R prints them."""
    from pyreterms.explainer.rprint import print_dense, print_sparse, print_vector

    R.r_eval("M <- Matrix::Matrix(c(0, 1.5, -2, 0, 0, 3e-5, 0, 0, 1234.5, 0, 0, 0, 1e10, 0, 0), 3, sparse = TRUE)")
    M = _r(R, "M")
    assert print_sparse(M.x) == list(R.r_eval("capture.output(print(M))"))
    R.r_eval("W <- lFormula(Reaction ~ Days + (Days | Subject), sleepstudy)$reTrms$Zt[1:6, 1:60]")
    W = _r(R, "W")
    ours = [ln for ln in print_sparse(W.x, list(W.rownames), list(W.colnames)) if "suppressing" not in ln]
    assert ours == list(R.r_eval("capture.output(print(W))"))
    x = [-21.685096, -7.431545, 16.138575, 1e-3, 123456.7, 0.5] * 4
    R.r_eval("x <- " + "c(" + ", ".join(repr(v) for v in x) + ")")
    assert print_vector(x) == list(R.r_eval("capture.output(print(x))"))
    R.r_eval("v <- c(a = 1.25, `Subject.Days.(Intercept)` = -0.5, b = 100)")
    assert print_vector([1.25, -0.5, 100], ["a", "Subject.Days.(Intercept)", "b"]) == \
        list(R.r_eval("capture.output(print(v))"))
    R.r_eval("D <- cbind(a = c(1, 22.5, -3), b = c(1e-8, 2, 3)); rownames(D) <- c('x', 'yy', 'z')")
    assert print_dense(np.array([[1, 1e-8], [22.5, 2], [-3, 3]]), ["x", "yy", "z"], ["a", "b"]) == \
        list(R.r_eval("capture.output(print(D))"))


def _theta_ok(R, theta) -> None:
    """parity's theta rule: equal to 1e-6, or lme4's own criterion at our theta within lme4's ftol_abs
    (1e-8 absolute) of lme4's optimum (the flat-optimum rule, parity.compare.rules.FLAT_OPTIMUM_ATOL)."""
    from parity.compare.rules import FLAT_OPTIMUM_ATOL

    th_r = np.asarray(_r(R, 'getME(fit, "theta")').x)
    if np.max(np.abs(theta - th_r)) <= OPTIMUM.atol:
        return
    here = float(R.r_eval(f'getME(fit, "devfun")(c({", ".join(repr(float(v)) for v in theta)}))')[0])
    best = float(R.r_eval('getME(fit, "devfun")(getME(fit, "theta"))')[0])
    assert here - best <= FLAT_OPTIMUM_ATOL, (here, best)


def _lme4_at(R, theta) -> None:
    """``fit0``: lme4's fit at ``theta`` (R: ``lmer(f, d, start = theta, control =
    lmerControl(optimizer = NULL))``), where every component is compared at 1e-10 (README tolerances)."""
    th = ", ".join(repr(float(v)) for v in np.ravel(theta))
    R.r_eval(f"fit0 <- lmer(f, d, start = c({th}), control = lmerControl(optimizer = NULL))")


def _close(ours, theirs, rtol: float = 1e-10) -> None:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape
    assert np.max(np.abs(ours - theirs)) <= rtol * max(1.0, float(np.max(np.abs(theirs)))), (ours, theirs)


def test_fit_numbers_are_lme4s(R):
    """The seed example with --fit: theta by parity's theta rule (equal to 1e-6 or equally good in
    lme4's own criterion, see :func:`_theta_ok`); u, b, beta and coef() equal lme4's at that theta to
    1e-10 (lme4 evaluated there with ``optimizer = NULL``); coef's layout is lme4's; the walkthrough's
    numbers are pyreterms.lmer's exactly."""
    ex = _setup(R, SEED, "sleepstudy", SEED_SUBSET, fit=True)
    theta = ex.step("theta_hat").obj
    _theta_ok(R, theta)
    _lme4_at(R, theta)
    b = ex.step("b").obj
    _close(b, _r(R, 'as.numeric(getME(fit0, "b"))').x)
    _close(ex.step("u").obj, _r(R, 'as.numeric(getME(fit0, "u"))').x)
    _close(ex.step("beta").obj.to_numpy(), _r(R, "fixef(fit0)").x)
    assert list(ex.step("beta").obj.index) == list(_r(R, "names(fixef(fit))").x)
    co = ex.step("coef[Subject]").obj
    co_r = _r(R, "as.matrix(coef(fit0)$Subject)")
    assert list(co.index) == list(co_r.rownames) and list(co.columns) == list(co_r.colnames)
    _close(co.to_numpy(), co_r.x)
    fit = pyreterms.lmer(SEED, pyreterms.load_dataset("sleepstudy").pipe(
        lambda d: d[d.Subject.isin(["309", "330", "371"])]))
    assert np.array_equal(b, np.asarray(fit.getME("b")).ravel())


@pytest.mark.parametrize("formula,data", [(DESIGNS[1][0], "Penicillin"), (DESIGNS[4][0], "cake")])
def test_fit_theta_other_designs(R, formula, data):
    ex = _setup(R, formula, data, None, fit=True)
    _theta_ok(R, ex.step("theta_hat").obj)
    assert list(ex.step("beta").obj.index) == list(_r(R, "names(fixef(fit))").x)


def test_condvar_is_lme4s(R):
    """The caterpillar plot's conditional variances (computed from L, Lambdat, sigma) equal lme4's
    postVar at the same theta (lme4 evaluated at pyreterms' fitted theta), to 1e-10."""
    from pyreterms.explainer.condvar import post_var

    ex = _setup(R, SEED, "sleepstudy", SEED_SUBSET, fit=True)
    _lme4_at(R, ex.step("theta_hat").obj)
    ours = post_var(ex.fit)["Subject"]
    theirs = np.array(R.r_eval('attr(ranef(fit0, condVar = TRUE)$Subject, "postVar")')).reshape(ours.shape, order="F")
    assert ours.shape == (2, 2, 3)
    _close(ours, theirs)


@pytest.mark.parametrize("expr", ["Subject %in% c(309, 330, 371)", "Days < 5", "Days >= 2 & !(Subject == 308)",
                                  "Subject == '372' | Days == 0", "Subject %in% c('309', 350)", "log(Days) > 1"])
def test_subset_keeps_Rs_rows(R, expr):
    from pyreterms.explainer.subset import subset_rows

    ours = subset_rows(pyreterms.load_dataset("sleepstudy"), expr)
    theirs = list(R.r_eval(f"rownames(subset(lme4::sleepstudy, {expr}))"))
    assert [str(i) for i in ours.index] == theirs


@pytest.mark.parametrize("subset", [SEED_SUBSET, None, "Subject %in% c('309', 350)", "log(Days) > 1"])
def test_csv_data_keeps_Rs_row_names(R, tmp_path, subset):
    """``--data ss.csv`` (sleepstudy written by R's write.csv): the model frame and X carry R's row
    names (read.csv's 1..n, and after ``--subset`` the kept rows' names), and print as R prints them;
    the condition goes through lformula(subset=)'s evaluator (a CSV's Subject is an integer column)."""
    path = str(tmp_path / "ss.csv")
    R.r_eval(f'write.csv(lme4::sleepstudy, "{path}", row.names = FALSE)')
    ex = pyreterms.explain(SEED, path, subset=subset)
    assert ex.data_r.startswith(f'{"subset(" if subset else ""}read.csv("{path}", stringsAsFactors = TRUE)')
    R.r_eval(f"suppressMessages(library(lme4)); f <- {SEED}; d <- {ex.data_r}; lf <- lFormula(f, d)")
    assert list(ex.lf.fr.rownames) == names_of(R.r_eval("rownames(lf$fr)"))
    assert list(ex.lf.fr.rownames) == names_of(R.r_eval("rownames(lf$X)"))
    for key in ("fr", "X"):
        s = ex.step(key)
        assert s.text.splitlines() == list(R.r_eval(f"capture.output(print({s.r_code.splitlines()[-1]}))")), key
