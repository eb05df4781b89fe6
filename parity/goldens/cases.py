"""The case table: named (formula, data, options) designs that parity records, replays and checks.

Each :class:`Case` is one call ``lme4::lFormula(formula, data, REML, weights, offset, contrasts)``
(and, when ``fit`` is true, ``lme4::lmer(...)`` with the same arguments).  ``data`` names either a
shipped lme4 data set (:func:`pyreterms.datasets.load_dataset`) or a synthetic frame built here
deterministically with numpy (fixed seeds, default ``RangeIndex``, i.e. R's automatic row names).
"Deterministically" holds per machine only: numpy's SIMD kernels (``np.exp``) differ in the last
bit between CPUs, so goldens store the frame R was given (``parity.goldens.inputs``) and replay
never calls these generators; live runs (``parity check``, the live tier) use them freely, since
both sides then get the same frame.

The ``hazards`` frame (n = 120) collects the awkward inputs: tied level counts, unobserved
interaction cells, exact zeros, collinear columns, NA in several places, strings that collate
oddly, integer/logical/ordered groups, a badly scaled covariate, a single-level factor, a factor
with one level per row and a factor with so many levels that ``(x | gbig)`` has n <= q.
"""
from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from parity.adapter.pyreterms_lformula import run_impl
from parity.r.rcall import active, parse_lmer_call
from parity.r.values import RError, RValue
from pyreterms.datasets import load_dataset

__all__ = ["Case", "CASES", "KNOWN_VERB_GAPS", "only_known_gaps", "KNOWN_VERB_REFUSALS",
           "known_verb_refusals", "SYNTHETIC", "get_case", "case_data",
           "select_cases", "synthetic_data", "data_hash", "run_case"]

BUILTIN = ("sleepstudy", "Penicillin", "Pastes", "cake", "cbpp", "Dyestuff", "Dyestuff2")


@dataclass(frozen=True)
class Case:
    """One design (R: the arguments of ``lFormula()``/``lmer()``).

    ``weights``/``offset`` name a column of the data (passed as a numeric vector, R:
    ``weights = data$w``); ``contrasts`` maps factor names to ``contr.*`` names (fixed X only);
    ``fit`` says whether the fit level (``lmer()``) applies.
    """

    id: str
    formula: str
    data: str
    REML: bool = True
    weights: str | None = None
    offset: str | None = None
    contrasts: dict[str, str] | None = field(default=None, hash=False)
    fit: bool = False
    note: str = ""
    call: str = ""  # lmer's other arguments as R text, e.g. 'control = lmerControl(optimizer = NULL)' (rcall)

    def as_json(self) -> dict:
        return {"id": self.id, "formula": self.formula, "data": self.data, "REML": self.REML,
                "weights": self.weights, "offset": self.offset,
                "contrasts": dict(self.contrasts) if self.contrasts else None, "fit": self.fit,
                "note": self.note, **({"call": self.call} if self.call else {})}

    @classmethod
    def from_json(cls, d: dict) -> Case:
        return cls(d["id"], d["formula"], d["data"], bool(d["REML"]), d.get("weights"), d.get("offset"),
                   dict(d["contrasts"]) if d.get("contrasts") else None, bool(d.get("fit", False)),
                   d.get("note", ""), d.get("call", ""))

    def lmer_call(self):
        """The case's extra lmer arguments (:class:`parity.r.rcall.LmerCall`), or None."""

        return parse_lmer_call(f"lmer({self.formula}, data = d, {self.call})") if self.call else None

    def call_kwargs(self, data: pd.DataFrame) -> dict:
        """Keyword arguments for ``check()``/``run_impl()``/``oracle.reference()``."""
        return {"REML": self.REML,
                "weights": data[self.weights].to_numpy(float) if self.weights else None,
                "offset": data[self.offset].to_numpy(float) if self.offset else None,
                "contrasts": dict(self.contrasts) if self.contrasts else None}


# ------------------------------------------------------------------------------------------
# synthetic data

CHR_LEVELS = ("b", "B", "_x", "a-1", "a10", "a9", "\u00c9bc", "zz")


def _hazards() -> pd.DataFrame:
    """The ``hazards`` frame (n = 120, seed 20240605)."""
    rng = np.random.default_rng(20240605)
    n = 120
    gi = rng.permutation(np.repeat(np.arange(10), 12))
    hi = rng.permutation(np.repeat(np.arange(10), 12))
    ki = rng.permutation(np.repeat(np.arange(5), 24))
    cells = [(a, b) for a in range(3) for b in range(4) if (a, b) not in ((0, 1), (2, 3))]
    ab = np.array(cells)[rng.permutation(np.repeat(np.arange(len(cells)), 12))]
    x = np.round(rng.normal(0, 1, n), 2)
    x[rng.choice(n, 15, replace=False)] = 0.0
    z = rng.normal(0, 1, n)
    u, v = rng.normal(0, 0.4, 10), rng.normal(0, 0.3, 10)
    y = np.exp(1.0 + 0.3 * x + 0.2 * z + u[gi] + v[hi] + rng.normal(0, 0.3, n))
    y_na = y.copy()
    y_na[rng.choice(n, 5, replace=False)] = np.nan
    x_na = x.copy()
    x_na[rng.choice(n, 6, replace=False)] = np.nan
    g_na_codes = gi.copy()
    g_na_codes[rng.choice(n, 4, replace=False)] = -1
    x_inf = x.copy()
    x_inf[7] = np.inf
    glev = [f"g{k:02d}" for k in range(1, 11)]
    df = pd.DataFrame({
        "y": y, "y_na": y_na, "x": x, "z": z, "x2": 2 * x, "x_na": x_na, "x_inf": x_inf,
        "all_na": np.full(n, np.nan),
        "g": pd.Categorical.from_codes(gi, categories=glev),
        "h": pd.array([f"h{k + 1}" for k in hi], dtype="str"),
        "k": pd.array([f"k{k + 1}" for k in ki], dtype="str"),
        "a": pd.Categorical.from_codes(ab[:, 0], categories=["a1", "a2", "a3"]),
        "b": pd.array([f"b{k + 1}" for k in ab[:, 1]], dtype="str"),
        "c": pd.array([f"c{k + 1}" for k in rng.integers(0, 2, n)], dtype="str"),
        "g_na": pd.Categorical.from_codes(g_na_codes, categories=glev),
        "chr": pd.array([CHR_LEVELS[k] for k in rng.permutation(np.repeat(np.arange(8), 15))], dtype="str"),
        "ig": rng.permutation(np.repeat(np.arange(1, 13), 10)).astype(np.int64),
        "lg": rng.integers(0, 2, n).astype(bool),
        "ord": pd.Categorical.from_codes(rng.integers(0, 3, n), categories=["low", "mid", "high"], ordered=True),
        "f": pd.Categorical.from_codes(rng.integers(0, 3, n), categories=["q", "c", "m"]),
        "o": np.round(rng.normal(0, 0.1, n), 3),
        "w": np.round(rng.uniform(0.5, 2.0, n), 3),
        "big": rng.normal(0, 1e5, n),
        "single": pd.array(["only"] * n, dtype="str"),
        "id": pd.array([f"r{k:03d}" for k in range(1, n + 1)], dtype="str"),
        "gbig": pd.array([f"G{k:02d}" for k in rng.permutation(np.repeat(np.arange(1, 61), 2))], dtype="str"),
    })
    return df


SYNTHETIC = {"hazards": _hazards}


@functools.cache
def _dataset(name: str) -> pd.DataFrame:
    if name in SYNTHETIC:
        return SYNTHETIC[name]()

    return load_dataset(name)


def synthetic_data(name: str) -> pd.DataFrame:
    """A fresh copy of a synthetic data set (``hazards``)."""
    if name not in SYNTHETIC:
        raise ValueError(f"unknown synthetic data set {name!r}; available: {', '.join(SYNTHETIC)}")
    return _dataset(name).copy()


def case_data(case: Case | str) -> pd.DataFrame:
    """The data frame of a case (a copy: callers may modify it)."""
    name = case.data if isinstance(case, Case) else case
    if name not in SYNTHETIC and name not in BUILTIN:
        raise ValueError(f"unknown data set {name!r}")
    return _dataset(name).copy()


def data_hash(df: pd.DataFrame) -> str:
    """SHA-256 over column names, R-relevant types and exact values (and the row labels)."""
    h = hashlib.sha256()

    def put(tag: str, b: bytes = b"") -> None:
        h.update(tag.encode("utf-8") + b"\x00" + len(b).to_bytes(8, "little") + b)

    put("index", "\x1f".join(map(str, df.index.tolist())).encode("utf-8")
        if not isinstance(df.index, pd.RangeIndex) else f"range{len(df)}".encode())
    for name in df.columns:
        s = df[name]
        put("col", str(name).encode("utf-8"))
        if isinstance(s.dtype, pd.CategoricalDtype):
            put("cat", json.dumps([str(c) for c in s.cat.categories], ensure_ascii=False).encode("utf-8"))
            put("ordered", b"1" if s.cat.ordered else b"0")
            put("codes", np.asarray(s.cat.codes, dtype=np.int64).tobytes())
        elif pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
            put(str(s.dtype), json.dumps([None if pd.isna(v) else int(v) for v in s]).encode())
        elif pd.api.types.is_float_dtype(s.dtype):
            put("float", s.to_numpy(dtype=np.float64, na_value=np.nan).tobytes())
        else:
            put("str", json.dumps([None if pd.isna(v) else str(v) for v in s], ensure_ascii=False).encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------
# the table

def _c(id: str, formula: str, data: str = "hazards", note: str = "", **kw) -> Case:
    return Case(id, formula, data, note=note, **kw)


_BUILTIN_CASES = [
    _c("ss-seed", "Reaction ~ Days + (Days | Subject)", "sleepstudy", "the seed example", fit=True),
    _c("ss-seed-ml", "Reaction ~ Days + (Days | Subject)", "sleepstudy", "ML fit", REML=False, fit=True),
    _c("ss-diag", "Reaction ~ Days + (Days || Subject)", "sleepstudy", "|| expansion", fit=True),
    _c("ss-same-factor", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy",
       "same factor in two terms", fit=True),
    _c("ss-intercept-only", "Reaction ~ 1 + (1 | Subject)", "sleepstudy", "intercept-only fixed part", fit=True),
    _c("ss-fixed-0", "Reaction ~ 0 + Days + (Days | Subject)", "sleepstudy", "no fixed intercept", fit=True),
    _c("ss-log-resp", "log(Reaction) ~ Days + (1 | Subject)", "sleepstudy", "log() response", fit=True),
    _c("ss-poly", "Reaction ~ poly(Days, 2) + (1 | Subject)", "sleepstudy", "poly() in X", fit=True),
    _c("ss-I-bar", "Reaction ~ Days + (1 + I(Days/10) | Subject)", "sleepstudy", "I() in bar LHS", fit=True),
    _c("ss-factor-days", "Reaction ~ factor(Days) + (1 | Subject)", "sleepstudy", "factor() in X", fit=True),
    _c("pen-crossed", "diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", "crossed factors", fit=True),
    _c("pastes-nested", "strength ~ 1 + (1 | batch/cask)", "Pastes", "a/b nesting", fit=True),
    _c("pastes-sample", "strength ~ 1 + (1 | batch) + (1 | sample)", "Pastes", "explicit nested factor", fit=True),
    _c("pastes-colon", "strength ~ 1 + (1 | batch:cask)", "Pastes", "a:b grouping"),
    _c("cake-ordered", "angle ~ recipe * temperature + (1 | recipe:replicate)", "cake",
       "ordered factor -> contr.poly", fit=True),
    _c("cake-temp-num", "angle ~ recipe + temp + (1 | replicate)", "cake", "numeric temp", fit=True),
    _c("cake-dup-terms", "angle ~ temp + (1 | replicate) + (0 + recipe | replicate) + (0 + recipe | replicate)",
       "cake", "one factor, repeated random-only columns (the fit is non-identified: coef() is pinned live "
       "in tests/live/test_fitted_theta_equivalence.py)"),
    _c("cbpp-int", "incidence ~ period + (1 | herd)", "cbpp", "integer response", fit=True),
    _c("cbpp-offset-fn", "incidence ~ period + offset(log(size)) + (1 | herd)", "cbpp", "offset(log())", fit=True),
    _c("dye", "Yield ~ 1 + (1 | Batch)", "Dyestuff", "one-way", fit=True),
    _c("dye-ml", "Yield ~ 1 + (1 | Batch)", "Dyestuff", "one-way ML", REML=False, fit=True),
    _c("dye2-singular", "Yield ~ 1 + (1 | Batch)", "Dyestuff2", "singular fit (theta = 0)", fit=True),
]

_HAZARD_CASES = [
    _c("hz-basic", "y ~ x + (1 | g)", fit=True),
    _c("hz-tie-reorder", "y ~ x + (1 | h) + (1 | g) + (1 | k)", note="terms reordered by nlevels, g/h tie",
       fit=True),
    _c("hz-tie-reorder-slopes", "y ~ x + (x | k) + (1 | h) + (1 | g)", note="reorder with ties and slopes"),
    _c("hz-same-factor-3", "y ~ x + (1 | g) + (0 + x | g) + (0 + z | g)", note="same factor in 3 terms"),
    _c("hz-diag-x", "y ~ x + (x || g)", fit=True),
    _c("hz-diag-factor", "y ~ x + (f || g)", note="|| with a factor LHS"),
    _c("hz-diag-interaction", "y ~ x + (x * z || g)", note="|| with an interaction LHS"),
    _c("hz-diag-noint", "y ~ x + (0 + x + z || g)", note="|| without intercept"),
    _c("hz-diag-1", "y ~ x + (1 || g)", note="(1||g)"),
    _c("hz-nest-ab", "y ~ x + (1 | a/b)", note="a/b with unobserved cells"),
    _c("hz-nest-abc", "y ~ x + (1 | a/b/c)", note="a/b/c"),
    _c("hz-colon-ab", "y ~ x + (1 | a:b)"),
    _c("hz-bar-star", "y ~ x + (1 | a * b)", note="a*b as grouping"),
    _c("hz-bar-in", "y ~ x + (1 | b %in% a)", note="%in% as grouping"),
    _c("hz-in-fixed", "y ~ x + b %in% a + (1 | g)", note="%in% in the fixed part"),
    _c("hz-in-bar-lhs", "y ~ x + (0 + x %in% a | g)", note="%in% in a bar LHS"),
    _c("hz-bar-noint", "y ~ x + (0 + x | g)"),
    _c("hz-bar-minus1", "y ~ x + (x - 1 | g)"),
    _c("hz-fixed-minus1", "y ~ x - 1 + (1 | g)"),
    _c("hz-fixed-0-factor", "y ~ 0 + f + (1 | g)", note="0 + factor: full dummy coding"),
    _c("hz-fixed-empty", "y ~ 0 + (1 | g)", note="X with no columns"),
    _c("hz-intercept-only", "y ~ 1 + (1 | g)", fit=True),
    _c("hz-factor-slope", "y ~ x + (0 + f | g)"),
    _c("hz-factor-slope-int", "y ~ x + (f | k)"),
    _c("hz-xz-bar", "y ~ x + (x * z | g)"),
    _c("hz-log-resp", "log(y) ~ x + (1 | g)", fit=True),
    _c("hz-exp", "y ~ exp(z) + (1 | g)"),
    _c("hz-sqrt-resp", "sqrt(y) ~ x + (1 | g)"),
    _c("hz-I", "y ~ I(x^2) + I(x * z) + (1 | g)"),
    _c("hz-poly", "y ~ poly(x, 2) + (1 | g)"),
    _c("hz-scale", "y ~ scale(x) + (1 | g)"),
    _c("hz-scale-bar", "y ~ x + (scale(z) | g)"),
    _c("hz-log-bar", "y ~ x + (log(w) | k)"),
    _c("hz-poly-bar", "y ~ x + (poly(x, 2) | k)", note="matrix column in bar LHS"),
    _c("hz-offset-fn", "y ~ x + offset(o) + (1 | g)", fit=True),
    _c("hz-offset-arg", "y ~ x + (1 | g)", offset="o", fit=True),
    _c("hz-weights", "y ~ x + (1 | g)", weights="w", fit=True),
    _c("hz-weights-offset", "log(y) ~ x + (x | k)", weights="w", offset="o"),
    _c("hz-factor-fn", "y ~ factor(ig) + (1 | g)"),
    _c("hz-factor-group", "y ~ x + (1 | factor(ig))", note="factor() on the grouping side"),
    _c("hz-zero-slope", "y ~ x + (x | g)", note="exact zeros in the slope column", fit=True),
    _c("hz-zero-slope-noint", "y ~ x + (0 + x | k)", note="zeros: explicit zeros in Zt"),
    _c("hz-na-response", "y_na ~ x + (1 | g)", note="NA rows dropped"),
    _c("hz-na-covariate", "y ~ x_na + (1 | g)"),
    _c("hz-na-group", "y ~ x + (1 | g_na)"),
    _c("hz-na-bar-lhs", "y ~ x + (x_na | g)"),
    _c("hz-na-several", "y_na ~ x_na + (1 | g_na)", fit=True),
    _c("hz-chr-group", "y ~ x + (1 | chr)", note="awkward string levels"),
    _c("hz-chr-fixed", "y ~ chr + (1 | g)"),
    _c("hz-chr-bar-lhs", "y ~ x + (0 + chr | k)"),
    _c("hz-str-h-group", "y ~ x + (1 | h)", note="h1, h10, h2 collation"),
    _c("hz-int-group", "y ~ x + (1 | ig)", note="integer grouping"),
    _c("hz-int-fixed", "y ~ ig + (1 | g)"),
    _c("hz-lgl-group", "y ~ x + (1 | lg)", note="logical grouping"),
    _c("hz-lgl-fixed", "y ~ lg + (1 | g)"),
    _c("hz-ord-fixed", "y ~ ord + (1 | g)", note="ordered -> contr.poly"),
    _c("hz-ord-group", "y ~ x + (1 | ord)"),
    _c("hz-ord-slope", "y ~ x + (ord | k)", note="ordered factor in bar LHS"),
    _c("hz-f-unsorted", "y ~ f + (1 | g)", note="categories not sorted"),
    _c("hz-f-unsorted-group", "y ~ x + (1 | f)"),
    _c("hz-contr-sum", "y ~ f + a + (1 | g)", contrasts={"f": "contr.sum"}),
    _c("hz-contr-helmert", "y ~ a * x + (1 | g)", contrasts={"a": "contr.helmert"}),
    _c("hz-contr-poly", "y ~ f + (1 | g)", contrasts={"f": "contr.poly"}),
    _c("hz-contr-treatment-ord", "y ~ ord + (1 | g)", contrasts={"ord": "contr.treatment"}),
    _c("hz-contr-bar-unaffected", "y ~ f + (f | k)", contrasts={"f": "contr.sum"},
       note="contrasts apply to X only"),
    _c("hz-rank-x2", "y ~ x + x2 + (1 | g)", note="collinear: x2 dropped"),
    _c("hz-rank-ab", "y ~ a:b + (1 | g)", note="interaction without main effects"),
    _c("hz-rank-ab-full", "y ~ a * b + (1 | g)", note="unobserved cells -> dropped columns"),
    _c("hz-big-scale", "y ~ big + (1 | g)", note="scale warning"),
    _c("hz-gbig", "y ~ x + (1 | gbig)", note="60 levels, n = 120"),
    _c("hz-interaction-fixed", "y ~ x * z + (1 | g)", fit=True),
    _c("hz-x-by-factor", "y ~ x * f + (1 | g)"),
    _c("hz-crossed-slopes", "log(y) ~ x + (x | g) + (1 | h)", REML=False, fit=True),
    # refusals
    _c("hz-refuse-single", "y ~ x + (1 | single)", note="single-level factor"),
    _c("hz-refuse-nlev-id", "y ~ x + (1 | id)", note="nlevels >= n"),
    _c("hz-refuse-n-le-q", "y ~ x + (x | gbig)", note="n <= q"),
    _c("hz-refuse-system", 'y ~ x + system("touch /tmp/x")', note="disallowed function"),
    _c("hz-refuse-import", 'y ~ x + __import__("os")', note="not R syntax"),
    _c("hz-refuse-paren", "y ~ x + (1 | g", note="unbalanced parentheses"),
    _c("hz-refuse-empty-bar", "y ~ x + (| g)", note="(|g)"),
    _c("hz-refuse-no-rhs", "y ~ ", note="no right-hand side"),
    _c("hz-refuse-unknown-var", "y ~ nosuch + (1 | g)", note="unknown variable"),
    _c("hz-chr-response", "chr ~ x + (1 | g)", note="character response (lFormula accepts it)"),
    _c("hz-factor-response", "f ~ x + (1 | g)", note="factor response (lFormula accepts it)"),
    _c("hz-refuse-inf", "y ~ x_inf + (1 | g)", note="Inf in a covariate"),
    _c("hz-refuse-all-na", "y ~ all_na + (1 | g)", note="empty frame after NA removal"),
    _c("hz-refuse-no-re", "y ~ x", note="no random-effects term"),
]

# Issue 10 item 3: the functions lme4 users write (allowlist: pyreterms/formula/allowlist.py).  Unqualified
# ns()/bs() are evaluated in R as by a user who wrote library(splines) (see reference.R).
_FUNCTION_CASES = [
    _c("fn-ns", "Reaction ~ ns(Days, 3) + (1 | Subject)", "sleepstudy", "natural spline, df", fit=True),
    _c("fn-ns-knots", "Reaction ~ ns(Days, knots = c(3, 6)) + (1 | Subject)", "sleepstudy", "ns knots"),
    _c("fn-ns-bk", "Reaction ~ 0 + ns(Days, df = 4, intercept = TRUE, Boundary.knots = c(1, 8)) + (1 | Subject)",
       "sleepstudy", "ns intercept, Boundary.knots inside the data"),
    _c("fn-splines-ns", "Reaction ~ splines::ns(Days, df = 2) + (Days | Subject)", "sleepstudy", "splines::ns",
       fit=True),
    _c("fn-bs", "Reaction ~ bs(Days, df = 5) + (1 | Subject)", "sleepstudy", "B-spline, df"),
    _c("fn-bs-knots", "Reaction ~ splines::bs(Days, knots = c(2.5, 5), degree = 2) + (1 | Subject)", "sleepstudy",
       "splines::bs knots, degree"),
    _c("fn-ns-bar", "Reaction ~ Days + (ns(Days, 2) | Subject)", "sleepstudy", "ns in a bar LHS"),
    _c("fn-cut", "Reaction ~ cut(Days, 3) + (1 | Subject)", "sleepstudy", "cut, breaks = one number"),
    _c("fn-cut-breaks", "Reaction ~ cut(Days, breaks = c(-1, 2, 5, 9), right = FALSE) + (1 | Subject)",
       "sleepstudy", "cut, right = FALSE"),
    _c("fn-cut-lowest", "Reaction ~ cut(Days, c(0, 2.5, 4.75, 9), include.lowest = TRUE) + (1 | Subject)",
       "sleepstudy", "cut, include.lowest"),
    _c("fn-cut-labels", "Reaction ~ cut(Days, c(-1, 4.5, 9), labels = c(\"early\", \"late\")) + (1 | Subject)",
       "sleepstudy", "cut with labels"),
    _c("fn-pmin-pmax", "Reaction ~ pmin(Days, 5) + pmax(Days, 2) + (1 | Subject)", "sleepstudy", "pmin/pmax",
       fit=True),
    _c("fn-base-log", "Reaction ~ base::log(Days + 1, base = 2) + base::exp(Days/10) + (1 | Subject)",
       "sleepstudy", "base::log with base, base::exp"),
    _c("fn-stats-poly", "Reaction ~ stats::poly(Days, 2) + (1 | Subject)", "sleepstudy", "stats::poly"),
    _c("fn-I-eq", "Reaction ~ I(Days == 1) + (1 | Subject)", "sleepstudy", "comparison in I()"),
    _c("fn-I-and", "Reaction ~ I(Days > 0 & Days < 5) + (1 | Subject)", "sleepstudy", "& in I()"),
    _c("fn-I-not", "Reaction ~ I(!(Days >= 5)) + (Days | Subject)", "sleepstudy", "! in I()"),
    _c("fn-cut-cake", "angle ~ cut(temp, 4) + (1 | recipe:replicate)", "cake", "cut of a numeric column"),
    # issue 13: base R functions added to the allowlist (pyreterms.formula.base_functions)
    _c("fn-round", "Reaction ~ round(Days / 3) + round(Days * 0.15, 1) + (1 | Subject)", "sleepstudy",
       "round, R 4's ties"),
    _c("fn-trig", "Reaction ~ sin(Days) + cos(Days) + tan(Days / 10) + (1 | Subject)", "sleepstudy", "sin/cos/tan"),
    _c("fn-as-integer", "Reaction ~ as.integer(Days / 2) + (1 | Subject)", "sleepstudy", "as.integer truncates"),
    _c("fn-ifelse", "Reaction ~ ifelse(Days > 4, 1, 0) + ifelse(Days == 2, Days, -1) + (1 | Subject)", "sleepstudy",
       "ifelse with comparisons"),
    _c("fn-relevel", 'Reaction ~ Days + relevel(Subject, ref = "333") + (1 | Subject)', "sleepstudy",
       "relevel(f, ref =)"),
    _c("fn-interaction", "Reaction ~ Days + interaction(Days > 4, Days > 6) + (1 | Subject)", "sleepstudy",
       "interaction(a, b): first factor fastest"),
]

def _arg(id: str, formula: str, data: str = "hazards", note: str = "", *, control: str | None = None,
         **kw) -> Case:
    """An argument case (issue 13); ``control="..."`` is the inside of ``control = lmerControl(...)``,
    alone in the call."""
    if control is not None:
        kw["call"] = f"control = lmerControl({control})"
    return _c(id, formula, data, note, **kw)


def _ss(id: str, note: str, **kw) -> Case:
    """An argument case on sleepstudy's seed model, ``Reaction ~ Days + (Days | Subject)``."""
    return _arg(id, "Reaction ~ Days + (Days | Subject)", "sleepstudy", note, **kw)


# Issue 13: lmer's other arguments (control, start, subset, na.action, '.'), run on both sides (parity.r.rcall)
_ARGUMENT_CASES = [
    _ss("arg-nelder-mead", "lme4's Nelder_Mead", fit=True, control='optimizer = "Nelder_Mead"'),
    _arg("arg-nelder-mead-crossed", "diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", "Nelder_Mead, crossed",
       fit=True, control='optimizer = "Nelder_Mead"'),
    _ss("arg-nlopt-sbplx", "nloptwrap with NLOPT_LN_SBPLX",
       REML=False, fit=True, control='optCtrl = list(algorithm = "NLOPT_LN_SBPLX")'),
    _ss("arg-optimizer-null", "optimizer = NULL at a start",
       fit=True, call="control = lmerControl(optimizer = NULL), start = list(theta = c(0.9, 0.02, 0.2))"),
    _ss("arg-subset", "subset", fit=True, call="subset = Days > 1 & Subject %in% c(308, 309, 330, 331, 332, 333, 334)"),
    _arg("arg-dot", "Reaction ~ . - Subject + (Days | Subject)", "sleepstudy", "'.' expanded against the data",
       fit=True),
    _arg("arg-dot-frame", "y ~ . - g - h - k - a - b - c - chr - g_na - ig - lg - ord - f - y_na - x_na - x_inf "
       "- all_na - x2 - w + (1 | g)", note="'.' puts every column in the frame: all_na leaves 0 cases (R too)"),
    _arg("arg-check-ignore", "y ~ x + (1 | c) + (1 | g)", note="check.nlev.gtreq.5 = \"warning\"",
       control='check.nlev.gtreq.5 = "warning", check.scaleX = "ignore"'),
    _arg("arg-na-pass", "y ~ x + (1 | g)", note="na.action = na.pass, complete columns", fit=True,
       call="na.action = na.pass"),
    _arg("arg-na-exclude", "y_na ~ x + (1 | g)", note="na.action = na.exclude: fitted/residuals NA-padded", fit=True,
       call="na.action = na.exclude"),
    # issue 13 part B: every other argument of lmer/lmerControl once with a non-default value
    _ss("arg-start-vector", "start = c(...), default optimizer", fit=True, call="start = c(0.5, 0.1, 0.3)"),
    _ss("arg-start-list", "start = list(theta = ...)", fit=True, call="start = list(theta = c(2, -0.5, 1))"),
    _ss("arg-bobyqa", "optimizer = \"bobyqa\"", fit=True, control='optimizer = "bobyqa"'),
    _ss("arg-nlminbwrap", "optimizer = \"nlminbwrap\"", fit=True, control='optimizer = "nlminbwrap"'),
    _arg("arg-na-fail", "y_na ~ x + (1 | g)", note="na.action = na.fail with NA: both refuse", fit=True,
       call="na.action = na.fail"),
    _arg("arg-na-fail-complete", "y ~ x + (1 | g)", note="na.action = na.fail without NA", fit=True,
       call="na.action = na.fail"),
    _arg("arg-na-pass-na", "y_na ~ x + (1 | g)", note="na.action = na.pass with NA in y: both refuse", fit=True,
       call="na.action = na.pass"),
    _arg("arg-ml-weights-offset", "log(y) ~ x + (1 | g)", note="REML = FALSE with weights and offset",
       REML=False, weights="w", offset="o", fit=True),
    _arg("arg-check-nlev-gtr1", "y ~ x + (1 | single)", note="check.nlev.gtr.1 = \"ignore\"",
       control='check.nlev.gtr.1 = "ignore"'),
    _arg("arg-check-nobs-vs-nlev", "y ~ x + (1 | id)", note="check.nobs.vs.nlev/nRE = \"ignore\"",
       control='check.nobs.vs.nlev = "ignore", check.nobs.vs.nRE = "ignore"'),
    _arg("arg-check-nobs-vs-nre-warning", "y ~ x + (x | gbig)", note="check.nobs.vs.nRE = \"warning\"",
       control='check.nobs.vs.nRE = "warning"'),
    _arg("arg-check-nobs-vs-rankz", "y ~ x + (1 | gbig) + (1 | g)", note="check.nobs.vs.rankZ = \"warning\"",
       fit=True, control='check.nobs.vs.rankZ = "warning"'),
    _arg("arg-check-nobs-vs-rankz-fires", "y ~ x + (1 | id)", note="check.nobs.vs.rankZ = \"warning\" where "
       "rank(Z) = n", call='control = lmerControl(check.nobs.vs.nlev = "ignore", check.nobs.vs.nRE = "ignore", '
                           'check.nobs.vs.rankZ = "warning")'),
    _arg("arg-check-nlev-gtreq5-stop", "y ~ x + (1 | c) + (1 | g)", note="check.nlev.gtreq.5 = \"stop\": both refuse",
       control='check.nlev.gtreq.5 = "stop"'),
    _arg("arg-check-rankx-stop", "y ~ x + x2 + (1 | g)", note="check.rankX = \"stop.deficient\": both refuse",
       control='check.rankX = "stop.deficient"'),
    _arg("arg-check-rankx-silent", "y ~ x + x2 + (1 | g)", note="check.rankX = \"silent.drop.cols\"", fit=True,
       control='check.rankX = "silent.drop.cols"'),
    _arg("arg-check-rankx-warn", "y ~ a * b + (1 | g)", note="check.rankX = \"warn+drop.cols\"",
       control='check.rankX = "warn+drop.cols"'),
    _arg("arg-check-scalex-stop", "y ~ big + (1 | g)", note="check.scaleX = \"stop\": both refuse",
       control='check.scaleX = "stop"'),
    _arg("arg-check-rankx-ignore", "y ~ x + x2 + (1 | g)", note="check.rankX = \"ignore\": X keeps both columns",
       control='check.rankX = "ignore"'),
    _arg("arg-check-scalex-rescale", "y ~ big + (1 | g)", fit=False,
       note="check.scaleX = \"message+rescale\" (lFormula level: lme4 1.1-31's rescaled fit is unfinished, it "
       "warns 'auto(un)scaling not yet finished/tested' and returns fixef with a spurious NA)",
       control='check.scaleX = "message+rescale"'),
    _arg("arg-check-scalex-silent", "y ~ big + x + (1 | g)", note="check.scaleX = \"silent.rescale\"",
       control='check.scaleX = "silent.rescale"'),
    _arg("arg-check-formula-lhs", "~ x + (1 | g)", note="check.formula.LHS = \"ignore\": a one-sided formula",
       control='check.formula.LHS = "ignore"'),
    _arg("arg-check-conv-strings", "Yield ~ 1 + (1 | Batch)", "Dyestuff2",
       "check.conv.* as action strings (singular as a warning)", fit=True,
       call='control = lmerControl(check.conv.grad = "message", check.conv.singular = "warning", '
            'check.conv.hess = "ignore")'),
    _ss("arg-check-conv-makecc", "check.conv.* as .makeCC lists "
       "(tolerances chosen so that no printed gradient depends on the optimizer's last digits)",
       fit=True, call='control = lmerControl(check.conv.grad = .makeCC("stop", tol = 1e-3, relTol = NULL), '
                      'check.conv.singular = .makeCC("ignore", tol = 1e-4), check.conv.hess = .makeCC("message", '
                      'tol = 1e-8))'),
    _arg("arg-check-conv-makecc-singular", "Yield ~ 1 + (1 | Batch)", "Dyestuff2",
       ".makeCC singular as a warning, grad as a message", fit=True,
       call='control = lmerControl(check.conv.singular = .makeCC("warning", tol = 1e-4), '
            'check.conv.grad = .makeCC("message", tol = 1e-3, relTol = NULL))'),
    _ss("arg-calc-derivs", "calc.derivs = FALSE", fit=True, control="calc.derivs = FALSE"),
    _arg("arg-restart-edge", "Yield ~ 1 + (1 | Batch)", "Dyestuff2", "restart_edge = FALSE (a boundary fit)", fit=True,
       control="restart_edge = FALSE"),
    _arg("arg-boundary-tol", "Yield ~ 1 + (1 | Batch)", "Dyestuff2", "boundary.tol = 0.01", fit=True,
       control="boundary.tol = 0.01"),
    _ss("arg-use-last-params", "use.last.params = TRUE", fit=True, control="use.last.params = TRUE"),
    _ss("arg-optctrl-nlopt", "optCtrl maxeval / xtol_abs for nloptwrap", fit=True,
       control="optCtrl = list(maxeval = 500, xtol_abs = 1e-4, ftol_abs = 1e-4)"),
    _ss("arg-devfunonly", "devFunOnly = TRUE: the function's values at lme4's theta and three other points", fit=True,
       call="devFunOnly = TRUE"),
    _arg("arg-devfunonly-ml-weights", "log(y) ~ x + (x | k)", note="devFunOnly = TRUE, ML with weights and offset",
       REML=False, weights="w", offset="o", fit=True, call="devFunOnly = TRUE"),
    _ss("arg-verbose", "verbose = 1: nloptwrap's printed iterations, line by line", fit=True, call="verbose = 1"),
    _arg("arg-verbose-nm", "Yield ~ 1 + (1 | Batch)", "Dyestuff", "verbose = 2 with Nelder_Mead: its (NM) lines",
       fit=True, call='control = lmerControl(optimizer = "Nelder_Mead"), verbose = 2'),
    _ss("arg-optctrl-nm", "optCtrl maxfun for Nelder_Mead",
       fit=True, control='optimizer = "Nelder_Mead", optCtrl = list(maxfun = 40)'),
    # issue 13 part A: script-line arguments and bad values (both sides refuse with lme4's message)
    _arg("arg-weights-expr", "Reaction ~ Days + (1 | Subject)", "sleepstudy", "weights = Days + 1", fit=True,
       call="weights = Days + 1"),
    _ss("arg-subset-index", "subset = -(1:10)", fit=True, call="subset = -(1:10)"),
    _arg("arg-reml-string", "Reaction ~ Days + (1 | Subject)", "sleepstudy", 'REML = "FALSE" (as if(REML) reads it)',
       fit=True, call='REML = "FALSE"'),
    _arg("arg-contrasts-absent", "Reaction ~ Days + (1 | Subject)", "sleepstudy",
       "contrasts for a variable not in X: model.matrix's warning", fit=True, contrasts={"Subject": "contr.sum"}),
    _arg("arg-bad-reml", "Reaction ~ Days + (1 | Subject)", "sleepstudy", 'REML = "yes": both refuse', fit=True,
       call='REML = "yes"'),
    _arg("arg-optimizer-foo", "Reaction ~ Days + (1 | Subject)", "sleepstudy", "an unknown optimizer: both refuse",
       fit=True, control='optimizer = "foo"'),
]

CASES: tuple[Case, ...] = tuple(_BUILTIN_CASES + _HAZARD_CASES + _FUNCTION_CASES + _ARGUMENT_CASES)

_BY_ID = {c.id: c for c in CASES}
assert len(_BY_ID) == len(CASES), "duplicate case ids"

#: known gaps of pyreterms on the fit cases, each a refusal by pyreterms where lme4 answers (none today:
#: the last ones, predict(newdata = ) with poly/ns/bs/scale and with '.', closed).
#: case id -> (components, text in each failing component's detail).  The live and golden tests fail
#: when a gap closes, so that its entry is removed.
KNOWN_VERB_GAPS: dict[str, tuple[tuple[str, ...], str]] = {}


#: the known differences of predict(newdata = ) met by the fit campaign (any design), as (side, text)
#: of the refusal (none today).
KNOWN_VERB_REFUSALS: tuple[tuple[str, str], ...] = ()


def known_verb_refusals(bad: list[tuple[str, str]]) -> bool:
    """True when every failing component ``bad`` (name, detail) is a ``predict(fit, newdata = ...)``
    refused by one side with one of :data:`KNOWN_VERB_REFUSALS` (and there is at least one)."""
    return bool(bad) and all(n.startswith("predict(fit, newdata = ") and any(
        d.startswith(f"one side refused ({side}: ") and k in d for side, k in KNOWN_VERB_REFUSALS) for n, d in bad)


def only_known_gaps(case_id: str, bad: list[tuple[str, str]]) -> bool:
    """True when the failing components ``bad`` (name, detail) of a fit case are exactly its known gaps
    (:data:`KNOWN_VERB_GAPS`), each with the stated detail; else ``not bad``."""
    if case_id not in KNOWN_VERB_GAPS:
        return not bad
    names, why = KNOWN_VERB_GAPS[case_id]
    return sorted(n for n, _ in bad) == sorted(names) and all(why in d for _, d in bad)


_NOT_BUILT = ("ModuleNotFoundError", "ImportError", "NotImplementedError")


def run_case(impl, case: Case, level: str, theta=None, data: pd.DataFrame | None = None) -> dict[str, RValue]:
    """Run an implementation on a case (R: the ``lFormula()``/``lmer()`` call of the case).

    ``data``: the input frame (replay passes the golden's stored frame); default the case table's.
    At the fit level ``theta`` (lme4's fitted theta, as ``parity.compare.check.check`` passes it) is where
    ``devfun(theta)`` and the PLS state are evaluated.  An implementation whose fit part does not
    exist yet (ImportError/NotImplementedError) is run at the lformula level instead, so that the fit
    components show up as "missing in this implementation"."""
    if data is None:
        data = case_data(case)

    extra = {"theta": np.asarray(theta, dtype=np.float64)} if level == "fit" and theta is not None else {}
    with active(case.lmer_call()):
        py = run_impl(impl, case.formula, data, level=level, **case.call_kwargs(data), **extra)
        err = py.get("error")
        if level == "fit" and isinstance(err, RError) and err.kind in _NOT_BUILT:
            py = run_impl(impl, case.formula, data, level="lformula", **case.call_kwargs(data))
    return py


def get_case(id: str) -> Case:
    """The case called ``id`` (KeyError with the known ids otherwise)."""
    try:
        return _BY_ID[id]
    except KeyError:
        raise KeyError(f"unknown case {id!r}") from None


def select_cases(spec: str, cases: tuple[Case, ...] = CASES) -> list[Case]:
    """``"all"``, a comma list of ids, or globs (``"hz-*"``; may be mixed in a comma list).

    Raises ValueError naming the first item that matches nothing."""
    if spec.strip() == "all":
        return list(cases)
    out: list[Case] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        hits = [c for c in cases if fnmatch.fnmatchcase(c.id, item)]
        if not hits:
            raise ValueError(f"no case matches {item!r}")
        out.extend(c for c in hits if c not in out)
    if not out:
        raise ValueError("no cases selected")
    return out
