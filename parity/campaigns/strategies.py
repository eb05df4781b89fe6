"""Hypothesis strategies for lme4 designs: ``(formula, data)`` pairs lme4 accepts or must refuse.

R equivalent of what is exercised: ``lme4::lFormula(formula, data, REML, weights, offset)`` (and
``lmer`` at the fit level) of lme4 1.1-31.  Public API:

* :class:`Design` -- one generated design (formula, data, weights/offset column, REML, hints);
* :func:`designs` -- the strategy (``hazards=`` switches hazards off, ``refusals=`` forces/forbids
  designs lme4 must refuse); :func:`valid_designs` and :func:`refused_designs` are shortcuts;
* :class:`Hazards` -- one flag per hazard, all on by default (``Hazards.without("na_groups")``).

Hazards generated (``Design.tags`` names those present): 1-4 bar terms; ``|`` and ``||``;
nested (``g/h``, and implicitly nested labels), crossed and partially crossed factors; ``a:b``
with unobserved combinations; numeric slopes with exact zeros, factor and logical slopes;
balanced/unbalanced/singleton groups; tied level counts (lme4's ``rev(order(nl))``); awkward
level strings (case, punctuation, digits, unicode, ``:``) as strings and as Categoricals (with a
non-sorted category order and unused categories); integer-coded groups (``1..12``, so ``"10"``
sorts after ``"9"``); NA in response, covariates and groups; rank-deficient X (duplicated and
collinear columns, ``f:f2`` without main effects); weights and offsets; badly scaled covariates;
and, each at the probability stated in :data:`parity.campaigns.hazards.FREQUENCIES` (tag ``hz:<name>``):
ordered factors (``contr.poly``), the ``contrasts =`` argument, allowlisted function terms,
integer grouping variables with 10-200 levels, mixed-case and non-ASCII level strings.  Each design
also carries the variant of the verb components (``re.form`` among ``NULL``/``NA``/``~0``/one bar term,
and whether the new data add a row of new levels; :mod:`parity.r.verbvariant`), used at the fit level.
Data have n in 10..200 rows (up to ~420 with a 10-200-level integer group) and a default
RangeIndex; everything shrinks toward small n, one ``(1 | g)`` term and letters as labels.
Designs are generated in campaign order by :mod:`parity.campaigns.seeding` (the same for a seed at every level).
"""
from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from parity.campaigns.approxterms import approx_terms as _approx_terms
from parity.campaigns.hazards import (
    CONTRASTS,
    FREQUENCIES,
    FUNCTIONS_PER_DESIGN,
    coin,
    function_terms,
    mixed_case_labels,
    permutation,
    pick,
    unicode_labels,
)
from parity.r.verbvariant import VerbVariant, variant_for

__all__ = ["Design", "Hazards", "designs", "valid_designs", "refused_designs", "HAZARD_NAMES", "hazards_on",
           "focus_hazards"]

#: level strings that stress collation, quoting and parsing; R compares them in C (byte) order
AWKWARD = ("a", "A", "b", "B", "Z", "_z", "z_", "x.1", "x-1", "x 1", "a,b", "(q)", "'q'", "10", "9",
           "01", "1e3", "TRUE", "é", "É", "ß", "Ω", "日本", "a:b", "b:", ":c")
LHS = ("1", "x", "0 + x", "1 + x", "x + z", "f", "0 + f", "lg", "x + f")
GROUPS = ("g", "h", "k", "g:h", "g/h", "h:g", "h/g", "g:k", "k/g")
FIXED = ("x", "z", "f", "x2", "x3", "f:f2", "lg", "offset(o)", "x:f")
#: rows of a design with an integer grouping factor of 10-200 levels are at most this (+20)
MAX_MANY_ROWS = 400
REFUSALS = ("singleton_factor", "nlev_ge_n", "one_double_bar", "negative_weights", "all_na_group")


@dataclass(frozen=True)
class Hazards:
    """Which hazards :func:`designs` may generate (R: the lme4 code paths they reach)."""

    double_bar: bool = True         # `||` (expandDoubleVerts)
    nested: bool = True             # g/h and implicitly nested labels (expandSlash)
    interactions: bool = True       # g:h grouping (`%i%`), unobserved combinations
    factor_slopes: bool = True      # (f | g), (0 + f | g), (lg | g)
    awkward_levels: bool = True     # punctuation / mixed case / digits in level strings
    unicode_levels: bool = True     # non-ASCII level strings (C collation = code points)
    colon_in_levels: bool = True    # ':' inside level strings (`%i%` label collisions)
    categoricals: bool = True       # pandas Categoricals (level order, unused categories)
    int_groups: bool = True         # integer / float coded grouping variables
    na_response: bool = True
    na_covariates: bool = True
    na_groups: bool = True
    rank_deficient: bool = True     # duplicated / collinear X columns, f:f2 without mains
    weights: bool = True
    offsets: bool = True
    scale_warning: bool = True      # a covariate with sd > 1000 (checkScaleX warning)
    refusals: bool = True           # designs lme4 must refuse
    negative_weights: bool = True   # lFormula() accepts them, lmer() refuses: a refusal hazard
    single_level_factors: bool = True  # a 1-level factor covariate (model.matrix's contrasts check)
    ordered_factors: bool = True    # f an ordered Categorical (contr.poly), parity.campaigns.hazards.FREQUENCIES
    contrasts_arg: bool = True      # contrasts = list(f = "contr.sum"|...) (model.matrix contrasts.arg)
    functions: bool = True          # scale / poly / log / I() / factor / as.numeric terms (+ ns, bs, ...
                                    # once pyreterms allows them)
    i_comparisons: bool = True      # I(x > 0), I(x == 1) among the function terms
    many_int_levels: bool = True    # an integer grouping variable with 10-200 levels
    mixed_case_levels: bool = True  # level strings "a" and "B" (C order vs case-insensitive order)

    def without(self, *names: str) -> Hazards:
        """A copy with the named hazards switched off (ValueError for an unknown name)."""
        bad = [n for n in names if n not in HAZARD_NAMES]
        if bad:
            raise ValueError(f"unknown hazard(s) {bad}; known: {', '.join(HAZARD_NAMES)}")
        return replace(self, **{n: False for n in names})


HAZARD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Hazards))


@dataclass(frozen=True, eq=False)
class Design:
    """One generated design: the arguments of ``lFormula(formula, data, REML, weights = data[[weights]],
    offset = data[[offset]])``.  ``expect_refusal`` is a heuristic hint (lme4's checks approximated
    in pandas), not an oracle; ``tags`` names the hazards present."""

    formula: str
    data: pd.DataFrame
    weights: str | None = None
    offset: str | None = None
    REML: bool = True
    expect_refusal: bool = False
    description: str = ""
    tags: frozenset[str] = frozenset()
    contrasts: tuple[tuple[str, str], ...] = ()
    #: the verb components' variant (re.form, new-level row) at the fit level (parity.r.verbvariant)
    verb_variant: VerbVariant | None = None

    @property
    def n(self) -> int:
        return len(self.data)

    @property
    def n_bars(self) -> int:
        return self.formula.count("|") - self.formula.count("||")

    def arrays(self) -> dict[str, Any]:
        """``weights``/``offset`` as float arrays and ``contrasts`` as a dict (keyword arguments of
        ``parity.compare.check.check``, ``pyreterms.lformula`` and ``pyreterms.lmer``)."""
        return {"weights": None if self.weights is None else self.data[self.weights].to_numpy(float),
                "offset": None if self.offset is None else self.data[self.offset].to_numpy(float),
                "contrasts": dict(self.contrasts) or None}

    def extra_key(self) -> tuple:
        """What :func:`design_key` adds for a kind of design with more arguments (GLMM: family, link, nAGQ)."""
        return ()


def _chance(draw: Callable, percent: int) -> bool:
    """True with about ``percent``% probability; shrinks to False."""
    return percent > 0 and draw(st.integers(0, 99)) >= 100 - percent


def _rng(draw: Callable) -> np.random.Generator:
    """A numpy generator from one drawn seed: per-row data cost one choice, so examples stay short
    and shrink fast (shrinking moves the seed toward 0 and the structural choices toward simple)."""
    return np.random.default_rng(draw(st.integers(0, 2**20)))


def _labels(draw: Callable, k: int, style: str, hz: Hazards) -> list[str]:
    if style == "digits":
        return [str(i + 1) for i in range(k)]
    if style == "awkward":
        pool = [s for s in AWKWARD if (hz.unicode_levels or s.isascii()) and (hz.colon_in_levels or ":" not in s)]
        pool = permutation(draw, pool)
        out = list(pool[:k])
        return out + [f"L{i}" for i in range(k - len(out))]
    return [chr(ord("a") + i) if i < 26 else f"a{i}" for i in range(k)]


def _codes(draw: Callable, n: int, k: int, pattern: str, parent: np.ndarray | None) -> np.ndarray:
    i = np.arange(n)
    if pattern == "balanced" or k == 1:
        return i % k
    if pattern == "blocked":
        return (i * k) // n
    if pattern == "singleton":  # level k-1 occurs exactly once
        return np.where(i == n - 1, k - 1, i % max(k - 1, 1))
    if pattern == "nested" and parent is not None:  # labels recycled inside each parent group
        occ = pd.Series(parent).groupby(parent).cumcount().to_numpy()
        return occ % k
    return _rng(draw).integers(0, k, n)


def _na_rows(draw: Callable, n: int) -> list[int]:
    m = draw(st.integers(1, max(1, n // 8)))
    return sorted(_rng(draw).choice(n, size=m, replace=False).tolist())


def _label_column(draw: Callable, codes: np.ndarray, k: int, kind: str, hz: Hazards, na_at: list[int],
                  tags: set[str], force: str) -> tuple[pd.Series, str]:
    """A grouping column of string labels (``kind`` "str", "object" or "cat": a Categorical) and its label
    style; draws the style, the labels, then (a Categorical) the category order and an unused category."""
    styles = ["letters", "digits"] + (["awkward"] if hz.awkward_levels else [])
    style = force if force in ("mixed_case", "unicode") else draw(st.sampled_from(styles))
    if style != "letters":
        tags.add(f"{style}_levels")
    labels = (mixed_case_labels(draw, k) if style == "mixed_case" else
              unicode_labels(draw, k) if style == "unicode" else _labels(draw, k, style, hz))
    if any(":" in s for s in labels):
        tags.add("colon_levels")
    if any(not s.isascii() for s in labels):
        tags.add("unicode_levels")
    vals = [labels[c] for c in codes]
    for r in na_at:
        vals[r] = None
    if kind != "cat":
        return pd.Series(vals, dtype=object if kind == "object" else "str"), style
    cats = permutation(draw, labels)
    if cats != sorted(labels):
        tags.add("categorical_order")
    if _chance(draw, 30) or force == "unused_category":
        cats.append("zz unused")
        tags.add("unused_category")
    tags.add("categorical")
    return pd.Series(pd.Categorical(vals, categories=cats)), style


def _int_column(draw: Callable, codes: np.ndarray, k: int, kind: str, na_at: list[int], tags: set[str]) -> pd.Series:
    """A grouping column of integers 1..k (``kind`` "int": int64, or Int64 with missing values; "cat_int": a
    Categorical of integers, whose category order is drawn)."""
    if k >= 10:
        tags.add("int_groups_ge10")
    vals_i = (codes + 1).astype(np.int64)
    tags.add("int_groups")
    if kind == "cat_int":
        cats = permutation(draw, list(range(1, k + 1)))
        cv = pd.Categorical(vals_i, categories=cats)
        if na_at:
            cv[na_at] = np.nan
        tags.add("categorical")
        return pd.Series(cv)
    if na_at:
        s = pd.Series(pd.array(vals_i, dtype="Int64"))
        s[na_at] = pd.NA
        return s
    return pd.Series(vals_i)


# one grouping column's draws, in a fixed order (seeded samples depend on it): kind, pattern, codes, missing rows,
# then the column's own (_label_column, _int_column)
def _group_column(
    draw: Callable, n: int, k: int, hz: Hazards, parent: np.ndarray | None, tags: set[str], na: bool,
    force: str = "",
) -> tuple[pd.Series, np.ndarray, str]:
    """One grouping column; ``force`` is "" or a hazard of parity.campaigns.hazards: "int_groups_10_200"
    (an int64/Int64 column), "mixed_case" or "unicode" (a string column with those labels), or
    "unused_category" (a Categorical with a category no row has)."""
    kinds = ["str", "object"] + (["int", "float"] if hz.int_groups else []) + \
            (["cat"] if hz.categoricals else []) + (["cat_int"] if hz.categoricals and hz.int_groups else [])
    if force == "int_groups_10_200":
        kinds = ["int"]
    elif force == "unused_category":  # a Categorical with a category no row has
        kinds = ["cat"]
    elif force:
        kinds = ["str", "object"]  # a Categorical would fix the level order: no collation involved
    kind = draw(st.sampled_from(kinds))
    patterns = ["balanced", "random", "blocked", "singleton"] + (["nested"] if parent is not None and hz.nested else [])
    pattern = draw(st.sampled_from(patterns))
    codes = _codes(draw, n, k, pattern, parent)
    if pattern == "singleton" and k >= 2:
        tags.add("singleton_group")
    if pattern == "nested" and parent is not None:
        tags.add("implicit_nesting")
    na_at = _na_rows(draw, n) if na else []
    if na_at:
        tags.add("na_group")
    style = "letters"
    if kind in ("str", "object", "cat"):
        s, style = _label_column(draw, codes, k, kind, hz, na_at, tags, force)
    elif kind in ("int", "cat_int"):
        s = _int_column(draw, codes, k, kind, na_at, tags)
    else:  # float codes 0.5, 1, 1.5, ...
        v = (codes + 1) / 2.0
        v[na_at] = np.nan
        s = pd.Series(v)
        tags.add("float_groups")
    return s, codes, f"{kind}/{style}/{pattern}(k={k})"


def _numeric(draw: Callable, n: int, base: np.ndarray, lo: int, hi: int) -> np.ndarray:
    amp = draw(st.integers(0, 2))  # 0: the base pattern only
    d = np.zeros(n) if amp == 0 else _rng(draw).integers(lo, hi + 1, n).astype(float) / amp
    return base + d


def _factor_cov(draw: Callable, n: int, k: int, hz: Hazards, prefix: str, na: bool) -> pd.Series:
    codes = _codes(draw, n, k, draw(st.sampled_from(["balanced", "random"])), None)
    labels = [f"{prefix}{chr(ord('a') + i)}" for i in range(k)]
    vals: list[str | None] = [labels[c] for c in codes]
    for r in (_na_rows(draw, n) if na else []):
        vals[r] = None
    if hz.categoricals and draw(st.booleans()):
        return pd.Series(pd.Categorical(vals, categories=permutation(draw, labels)))
    return pd.Series(vals, dtype="str")


def hazards_on(hz: Hazards) -> dict[str, bool]:
    """Which hazards of :data:`parity.campaigns.hazards.FREQUENCIES` ``hz`` lets designs carry."""
    return {"ordered_factor": hz.ordered_factors and hz.categoricals, "contrasts": hz.contrasts_arg,
            "function": hz.functions, "int_groups_10_200": hz.int_groups and hz.many_int_levels,
            "mixed_case": hz.mixed_case_levels, "unicode": hz.unicode_levels}


def focus_hazards(hz: Hazards) -> tuple[str, ...]:
    """The hazards a campaign's focus streams cycle through (:mod:`parity.campaigns.seeding`): those of
    FREQUENCIES that ``hz`` allows, each function term on its own (``fn:<name>``), and an unused
    category of a Categorical grouping column."""
    on = hazards_on(hz)
    out = [h for h in FREQUENCIES if h != "function" and on[h]]
    if on["function"]:
        out += [f"fn:{name}" for name, _, _ in function_terms(hz.i_comparisons)]
    if hz.categoricals:
        out.append("unused_category")
    return tuple(out)


_NC_MAX = {"1": 1, "x": 2, "0 + x": 1, "1 + x": 2, "x + z": 3, "f": 4, "0 + f": 4, "lg": 2, "x + f": 5}
@st.composite
# one draw per part of a design, in the order of README "Hazards"; splitting it would scatter the draws
def _design(  # noqa: C901 - one Hypothesis strategy: the order and number of its draws are fixed (seeded samples, mutants)
    draw: Callable, hz: Hazards, refusal_mode: str, focus: str | None = None,
) -> Design:
    tags: set[str] = {f"focus:{focus}"} if focus else set()
    lhs_pool = [s for s in LHS if hz.factor_slopes or not (("f" in s) or s == "lg")]
    grp_pool = [s for s in GROUPS if (hz.nested or "/" not in s) and (hz.interactions or ":" not in s)]
    bar = st.tuples(st.sampled_from(lhs_pool), st.integers(0, 99), st.sampled_from(grp_pool))
    bars = [(a, "||" if hz.double_bar and a != "1" and c >= 80 else "|", g)
            for a, c, g in draw(st.lists(bar, min_size=1, max_size=4))]
    fixed = draw(st.lists(st.sampled_from([s for s in FIXED if (hz.rank_deficient or s not in ("x2", "x3", "f:f2"))
                                           and (hz.offsets or s != "offset(o)")
                                           and (hz.factor_slopes or s not in ("f", "f:f2", "lg", "x:f"))]),
                          max_size=3, unique=True))
    refusal = "none"
    if refusal_mode == "force" or (refusal_mode == "allow" and _chance(draw, 12)):
        allowed = {"one_double_bar": hz.double_bar, "negative_weights": hz.negative_weights and hz.weights,
                   "all_na_group": hz.na_groups}
        refusal = draw(st.sampled_from([r for r in REFUSALS if allowed.get(r, True)]))
    if refusal == "one_double_bar":
        bars[0] = ("1", "||", bars[0][2])
    # the hazards of parity.campaigns.hazards, each drawn with its stated probability
    on = hazards_on(hz)
    forced = "function" if focus and focus.startswith("fn:") else focus  # a focus stream's hazard: always
    drawn = [h for h in FREQUENCIES if on[h] and (coin(draw, FREQUENCIES[h]) or h == forced)]
    tags |= {f"hz:{h}" for h in drawn}
    response = "y"
    contrasts: tuple[tuple[str, str], ...] = ()
    if "function" in drawn:  # 1-3 function terms (FUNCTIONS_PER_DESIGN), each term equally likely
        pool = list(function_terms(hz.i_comparisons))
        first = [t for t in pool if focus == f"fn:{t[0]}"]  # a focused term comes first, then 0-2 others
        pool = [t for t in pool if t not in first]
        for j in range(pick(draw, FUNCTIONS_PER_DESIGN)):
            fname, where, text = first[0] if first and j == 0 else pool.pop(int(pick(draw, tuple(range(len(pool))))))
            tags.add(f"fn:{fname}")
            if where == "response":
                response = text
            elif text not in fixed:
                fixed.append(text)
    if ("ordered_factor" in drawn or "contrasts" in drawn) and "f" not in fixed:
        fixed.append("f")
    if "contrasts" in drawn:
        # a focus stream draws only contrasts that change the design (contr.treatment is the default)
        choices = CONTRASTS if forced != "contrasts" else tuple(c for c in CONTRASTS if c != "contr.treatment")
        contrasts = (("f", pick(draw, choices)),)
    # grouping variables carrying a forced column hazard (one each; a (1 | v) bar is added if needed)
    forced_cols = [h for h in ("int_groups_10_200", "mixed_case", "unicode") if h in drawn]
    in_bars = [v for v in ("g", "h", "k") if any(v in re.split("[:/]", g) for _, _, g in bars)]
    for v in (v for v in ("g", "h", "k") if v not in in_bars):
        if len(in_bars) >= len(forced_cols):
            break
        bars.append(("1", "|", v))
        in_bars.append(v)
    force_of = dict(zip(in_bars, forced_cols, strict=False))
    n = draw(st.integers(10, 200))
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", " ".join(fixed + [f"{a} {g}" for a, _, g in bars])))
    used = names.__contains__
    # every candidate column is drawn, used or not, in a fixed order: deleting a bar while shrinking
    # then does not shift the draws of the other columns
    gvars = [v for v in ("g", "h", "k") if used(v)]
    inter = {v for _, _, g in bars if ":" in g or "/" in g for v in re.split("[:/]", g)}
    ncmax = max(_NC_MAX[a] for a, _, _ in bars)
    many_k = draw(st.integers(10, 200)) if "int_groups_10_200" in drawn else 0
    if many_k:  # enough rows for nc * nl < n (interactions: up to 3 levels per partner)
        mult = 3 if next(v for v, h in force_of.items() if h == "int_groups_10_200") in inter else 1
        many_k = min(many_k, max(10, MAX_MANY_ROWS // ((ncmax + 1) * mult)))
        n = max(n, (ncmax + 1) * many_k * mult + draw(st.integers(1, 20)))
    cols: dict[str, pd.Series] = {}
    desc: list[str] = [f"n={n}"]
    codes_of: dict[str, np.ndarray] = {}
    i = np.arange(n)
    na_grp = hz.na_groups and _chance(draw, 15)
    # keep q = nc * nl below n for most designs: lme4 refuses n <= q (checkZdims)
    budget = n // (ncmax + 1)
    for v in ("g", "h", "k"):
        kmax = max(2, min(12 if not many_k else 3, math.isqrt(budget) if v in inter else budget))
        k = draw(st.integers(10, kmax)) if kmax >= 10 and _chance(draw, 30) else draw(st.integers(2, min(kmax, 9)))
        first_group = bool(gvars) and v == gvars[0]
        force = force_of.get(v, "") or ("unused_category" if focus == "unused_category" and first_group else "")
        k = many_k if force == "int_groups_10_200" else k
        k = 1 if refusal == "singleton_factor" and first_group else (n if refusal == "nlev_ge_n" and first_group else k)
        ctags: set[str] = set()
        s, codes, d = _group_column(draw, n, k, hz, codes_of.get("g") if v != "g" else None, ctags,
                                    na=na_grp and v == gvars[-1] and not force, force=force)
        if refusal == "all_na_group" and first_group:
            s = pd.Series([None] * n, dtype=object)
        codes_of[v] = codes
        if v in gvars:
            cols[v] = s
            tags |= ctags
            desc.append(f"{v}:{d}")
    na_cov = hz.na_covariates and _chance(draw, 30)
    scale = 5000.0 if hz.scale_warning and coin(draw, 0.08) else 1.0
    div = draw(st.sampled_from([1.0, 2.0, 4.0]))
    x = _numeric(draw, n, (i % 5) - 2.0, -3, 3) / div * scale
    x_na = _na_rows(draw, n) if na_cov else []
    x[x_na] = np.nan
    if used("x") or used("x2") or used("x3"):
        tags |= {"scale_warning"} if scale != 1.0 else set()
        tags |= {"zeros_in_x"} if (x == 0).any() else set()
        tags |= {"na_covariate"} if x_na else set()
        cols["x"] = pd.Series(x)
        if used("x2"):
            cols["x2"] = pd.Series(x.copy())
        if used("x3"):
            cols["x3"] = pd.Series(2 * x + 1)
    z = _numeric(draw, n, (i % 3).astype(float), -2, 2) / div
    z_na = _na_rows(draw, n) if na_cov and draw(st.booleans()) else []
    z[z_na] = np.nan
    if used("z"):
        cols["z"] = pd.Series(z)
        tags |= {"na_covariate"} if z_na else set()
    for v, pre in (("f", ""), ("f2", "u")):
        kf = 1 if hz.single_level_factors and _chance(draw, 8) else draw(st.integers(2, 4))
        ordered = v == "f" and "ordered_factor" in drawn
        kf = draw(st.integers(3, 5)) if ordered else kf
        fv = _factor_cov(draw, n, kf, hz, pre, na_cov and v == "f")
        if ordered:  # contr.poly: the level order is the category order (possibly not sorted)
            cats = permutation(draw, [f"{pre}{chr(ord('a') + j)}" for j in range(kf)])
            fv = pd.Series(pd.Categorical(fv.astype(object), categories=cats, ordered=True))
        tags |= {"single_level_factor"} if used(v) and kf == 1 else set()
        if used(v):
            cols[v] = fv
    m = _rng(draw).integers(1, draw(st.integers(2, 12)) + 1, n)  # factor(m): numeric level order
    if used("m"):
        cols["m"] = pd.Series(m.astype(np.int64))
    lg = pd.Series((i % 3) == 0) if not draw(st.booleans()) else \
        pd.Series(_rng(draw).random(n) < 0.5)
    if used("lg"):
        cols["lg"] = lg
    y = _numeric(draw, n, 0.1 * (i % 7), -40, 40) / 4.0
    if hz.na_response and _chance(draw, 15):
        y[_na_rows(draw, n)] = np.nan
        tags.add("na_response")
    data = pd.DataFrame({"y": y, **cols})
    weights = offset = None
    if (hz.weights and _chance(draw, 15)) or refusal == "negative_weights":
        w = _rng(draw).choice([1.0, 2.0, 0.5, 3.0], size=n)
        if refusal == "negative_weights":
            w[draw(st.integers(0, n - 1))] = -1.0
        data["w"], weights = w, "w"
        tags.add("weights")
    if used("o") or (hz.offsets and _chance(draw, 10)):
        data["o"] = _numeric(draw, n, np.zeros(n), -4, 4) / 2.0
        if not used("o"):
            offset = "o"
        tags.add("offset")
    REML = not _chance(draw, 25)
    rhs = [f"({a} {op} {g})" for a, op, g in bars]
    formula = f"{response} ~ " + " + ".join(fixed + rhs)
    tags |= {t for t, cond in (
        ("double_bar", any(op == "||" for _, op, _ in bars)),
        ("nested", any("/" in g for *_, g in bars) or "implicit_nesting" in tags),
        ("interaction_group", any(":" in g for *_, g in bars)),
        ("factor_slope", any(a in ("f", "0 + f", "lg", "x + f") for a, *_ in bars)),
        ("zeros_in_slope", any(a != "1" and "x" in a for a, *_ in bars) and "zeros_in_x" in tags),
        ("rank_deficient", bool(set(fixed) & {"x2", "x3", "f:f2"})),
        ("crossed_or_nested_factors", len(gvars) >= 2)) if cond}
    nl, expect = _approx_terms(data, bars, names, weights, offset, tags)
    if refusal != "none":
        tags.add(f"refusal:{refusal}")
    desc.append(f"{len(nl)} terms, nl~{nl}")
    expect = expect or refusal != "none"
    # derived from the formula, not drawn: a draw would move Hypothesis' later choices, and so every
    # design after the first at every level (the seeded samples the mutant and campaign tests rely on)
    h = zlib.crc32(formula.encode("utf-8"))
    vv = variant_for(formula, h % 100, bool(h >> 31))
    desc.append(f"re.form={vv.re_form}" + (", new level" if vv.new_level else ""))
    return Design(formula, data, weights, offset, REML, expect, "; ".join(desc), frozenset(tags), contrasts, vv)


def designs(hazards: Hazards | None = None, *, refusals: bool | None = None,
            focus: str | None = None) -> st.SearchStrategy[Design]:
    """Designs lme4 accepts and (unless ``refusals=False``) designs it must refuse; with
    ``refusals=True`` every design carries one deliberate refusal hazard.  ``focus`` (one of
    :func:`parity.campaigns.hazards.focus_hazards`) makes every design carry that hazard (tag ``focus:<name>``):
    the stratified streams of :mod:`parity.campaigns.seeding`."""
    hz = hazards or Hazards()
    mode = "force" if refusals else ("allow" if (refusals is None and hz.refusals) else "never")
    return _design(hz, mode, focus)


def valid_designs(hazards: Hazards | None = None) -> st.SearchStrategy[Design]:
    """Designs without deliberate refusal hazards (lme4 may still refuse some, e.g. n <= q)."""
    return designs(hazards, refusals=False)


def refused_designs(hazards: Hazards | None = None) -> st.SearchStrategy[Design]:
    """Designs carrying one deliberate refusal hazard (singleton factor, nlevels >= n, ``(1 || g)``,
    negative weights, an all-NA grouping factor)."""
    return designs(hazards, refusals=True)


def design_key(d: Design) -> tuple:
    """A hashable identity of a design (formula, options, column types, category order and values)."""
    df = d.data
    cats = tuple(tuple(map(repr, df[c].cat.categories)) for c in df.columns
                 if isinstance(df[c].dtype, pd.CategoricalDtype))
    try:
        vals = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    except TypeError:
        vals = df.to_csv().encode()
    return (d.formula, d.weights, d.offset, d.REML, d.contrasts, tuple(df.columns), tuple(map(str, df.dtypes)),
            cats, vals, *d.extra_key())
