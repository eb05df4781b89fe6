"""The model frame (R: ``model.frame(subbars(formula), data, na.action = na.omit,
drop.unused.levels = TRUE)`` followed by lme4's ``factorize(..., char.only = TRUE)``).

Data columns are converted with explicit R semantics: pandas ``Categorical`` keeps its categories'
order (labels as R's ``as.character`` gives them), strings become factors in C collation (code-point
order, what ``parity`` sets in R with ``Sys.setlocale("LC_COLLATE", "C")``), booleans are logicals,
integers stay integers.  Variables are evaluated on the full data, then rows with any NA are dropped,
as R does.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from pyreterms.design.dataframe import (
    ContrastsFactor,
    check_strings,
    contrasts_attr,
    matrix_columns,
    object_numbers,
    r_integers,
)
from pyreterms.design.model import ModelFrame
from pyreterms.design.subsetindex import index_mask, index_value, is_index_expression, string_index
from pyreterms.errors import DataError, LmeCheckError, LmeWarning, PyretermsError
from pyreterms.formula.evaluate import Evaluator, check_allowlist, make_factor, na_mask, take
from pyreterms.formula.nodes import Call, Num, Str, walk
from pyreterms.formula.parser import Node, deparse, format_double, frame_name, parse
from pyreterms.formula.predvars import Predvar, fixed_by_r
from pyreterms.formula.terms import extract_vars
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix, Value

CONTRASTS_KEY = "contrasts"

_FLOAT64 = np.dtype(np.float64)
_OBJECT = np.dtype(object)  # ``dtype == object`` as numpy compares it (an extension dtype is never equal)


@functools.lru_cache(maxsize=4)
def _automatic_rownames(n: int) -> tuple[str, ...]:
    """R's automatic row names ``"1" .. "n"`` (an immutable tuple, shared by fits of the same data)."""
    return tuple(map(str, range(1, n + 1)))


def r_rownames(df: pd.DataFrame) -> tuple[str, ...]:
    """Row names R would give: the index labels, or ``1..n`` for a default RangeIndex."""
    idx = df.index
    if isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1:
        return _automatic_rownames(len(df))
    if isinstance(idx.dtype, pd.StringDtype) and not idx.hasnans:  # every label is a str already
        return tuple(idx.tolist())
    if idx.dtype.kind in "iu" or pd.api.types.infer_dtype(idx, skipna=False) == "string":
        return tuple(map(str, idx.tolist()))  # fast path, same labels
    return tuple(format_double(float(v)) if isinstance(v, float) else str(v) for v in idx)


def _category_label(v: object) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return format_double(float(v))
    return str(v)


def convert_column(name: str, s: pd.Series) -> Value:
    """One data column as an R vector (see module docstring)."""
    dtype = s.dtype
    if dtype == _FLOAT64:  # (the common cases first, without pandas' generic conversions)
        return s.to_numpy(dtype=np.float64, copy=False)
    if isinstance(dtype, pd.CategoricalDtype):
        cat = s.array  # the Categorical itself (``s.cat`` builds Series around each part)
        cats = cat.categories.tolist()
        if all(type(c) is str for c in cats):  # fast path: the labels are the strings themselves
            levels = tuple(cats)
        else:
            levels = tuple(_category_label(c) for c in cat.categories)
        if len(set(levels)) != len(levels):
            raise DataError(f"column '{name}': categories {list(cat.categories)} give duplicate level labels")
        check_strings(name, list(levels))
        return Factor(np.asarray(cat.codes, dtype=np.int64), levels, bool(cat.ordered))
    if pd.api.types.is_bool_dtype(dtype):
        na = np.asarray(s.isna(), dtype=bool)
        vals = np.asarray(s.fillna(False), dtype=bool)
        return Logical(vals, na)
    if pd.api.types.is_integer_dtype(dtype):
        if s.isna().any():
            r_integers(name, np.array(s.dropna().tolist()))  # refuses what a double cannot hold
            return np.asarray(s.astype("float64"), dtype=np.float64)
        # beyond R's integer range: an R double, as R has it
        vals = np.array(s.tolist()) if isinstance(dtype, pd.api.extensions.ExtensionDtype) else s.to_numpy()
        return r_integers(name, vals)
    if pd.api.types.is_float_dtype(dtype):
        return np.asarray(s, dtype=np.float64)
    if pd.api.types.is_string_dtype(dtype) or dtype == _OBJECT:
        values = s.tolist()
        if dtype == _OBJECT:
            nums = object_numbers(name, values)
            if nums is not None:
                return nums
        check_strings(name, values)
        out = np.empty(len(s), dtype=object)
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                out[i] = None
            elif isinstance(v, str):
                out[i] = v
            else:
                raise DataError(f"column '{name}' mixes strings with {type(v).__name__} values; "
                                "convert it to one type first")
        return Character(out)
    raise DataError(f"column '{name}' has unsupported type {dtype} (use numbers, strings, booleans or categoricals)")


class DataColumns(Mapping[str, Value]):
    """Lazy view of a DataFrame as R vectors (only the columns a formula uses are converted)."""

    def __init__(self, df: pd.DataFrame) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"data must be a pandas DataFrame, not {type(df).__name__}")
        if df.columns.duplicated().any():
            raise DataError(f"data has duplicated column names: {sorted(set(df.columns[df.columns.duplicated()]))}")
        self.df = df
        self.cache: dict[str, Value] = {}
        self.matrices = matrix_columns(df)  # the documented convention (pyreterms.design.dataframe)
        self.hidden = {c for cols, _ in self.matrices.values() for c in cols}
        self.names = [c for c in df.columns if c not in self.hidden] + list(self.matrices)

    def __getitem__(self, key: str) -> Value:
        if key not in self.cache:
            if key in self.matrices:
                self.cache[key] = self._matrix(key)
            elif key not in self.df.columns or key in self.hidden:
                raise KeyError(key)
            else:
                val = convert_column(key, self.df[key])
                if isinstance(val, Factor):
                    attr = contrasts_attr(self.df, key, val.levels)
                    if attr is not None:
                        val = ContrastsFactor(val.codes, val.levels, val.ordered, attr)
                elif CONTRASTS_KEY in self.df.attrs and key in (self.df.attrs[CONTRASTS_KEY] or {}):
                    raise DataError(f"contrasts given for column '{key}', which is not a factor")
                self.cache[key] = val
        return self.cache[key]

    def _matrix(self, key: str) -> NumMatrix:
        cols, colnames = self.matrices[key]
        parts = []
        for c in cols:
            v = convert_column(c, self.df[c])
            if isinstance(v, (Factor, Character, Logical)):
                raise DataError(f"matrix column '{key}': member column '{c}' is not numeric")
            parts.append(np.asarray(v, dtype=np.float64))
        return NumMatrix(np.column_stack(parts), colnames)

    def __contains__(self, key: object) -> bool:
        return key in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _as_vector(name: str, v: str | npt.ArrayLike | None, data: DataColumns, n: int,
               ev: Evaluator | None = None) -> np.ndarray | None:
    """weights=/offset= given as a column name, R expression text over the columns (evaluated with
    the formula allowlist, as R evaluates ``weights = Days + 1`` in ``data``), or an array."""
    if v is None:
        return None
    if isinstance(v, str):
        if v in data:
            col = data[v]
        elif ev is None:
            raise DataError(f"{name}: no column '{v}' in the data")
        else:
            try:
                tree = parse(v)
            except PyretermsError as e:
                raise DataError(f"{name}: no column '{v}' in the data and not an expression ({e})") from None
            if isinstance(tree, Call) and tree.fn == "c" and all(isinstance(a.value, Num) for a in tree.args):
                if len(tree.args) != n:  # a vector of constants: R's model.frame checks its length
                    raise DataError(f"variable lengths differ (found for '({name})')")
            check_allowlist(tree)
            if isinstance(tree, (Num, Str)) and n != 1:  # one value in R (the evaluator would recycle it)
                raise DataError(f"variable lengths differ (found for '({name})')")
            col = ev(tree)
            if isinstance(col, Logical):  # R: TRUE/FALSE weights are 1/0 (NA stays NA)
                col = np.where(col.na, np.nan, col.values.astype(np.float64))
    else:
        try:
            col = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{name} must be numeric") from None
    if isinstance(col, Factor) and name == "weights":
        # R: model.frame keeps a factor; lmer's mkRespMod then tests `weights >= 0` on it
        warnings.warn("‘>=’ not meaningful for factors", LmeWarning, stacklevel=4)
        raise LmeCheckError("all(weights >= 0) is not TRUE", check="mkRespMod")
    if isinstance(col, Factor) and name == "offset":
        raise DataError("'offset' must be numeric")  # R: model.offset
    if isinstance(col, (Factor, Character, Logical, NumMatrix)):
        raise DataError(f"{name} must be numeric")
    col = np.asarray(col, dtype=np.float64)
    if col.ndim != 1 or len(col) != n:
        raise DataError(f"variable lengths differ (found for '({name})')")
    return col


def frame_variables(frame_formula: Node) -> list[Node]:
    """The model frame's variable expressions, response first (R: ``ExtractVars`` of each side)."""
    out: list[Node] = []
    for side in frame_formula.argv:  # type: ignore[union-attr]
        extract_vars(side, out)
    return out


def model_frame(frame_formula: Node, data: pd.DataFrame, *, weights: str | npt.ArrayLike | None = None,
                offset: str | npt.ArrayLike | None = None,
                lhs_vars_char_only: bool = True, subset: str | None = None,
                na_action: str = "na.omit", variables: list[Node] | None = None) -> tuple[ModelFrame, list[Node]]:
    """R: ``model.frame(subbars(formula), data, subset, weights, offset, na.action,
    drop.unused.levels = TRUE)`` then ``factorize(char.only = TRUE)``.

    ``subset`` is R expression text, read and evaluated with the formula allowlist (R: evaluated in
    ``data``; the variables are evaluated on all rows and the frame is subset afterwards, as
    ``model.frame.default`` does).  ``na_action``: one of :data:`NA_ACTIONS` (R's functions by name).
    Returns the frame and the variable expressions (response first) in frame column order;
    ``variables``: those expressions when the caller has them already (R's ``ExtractVars`` of
    ``frame_formula``: a formula's are the same for every data set).
    """
    if na_action not in NA_ACTIONS:  # R: model.frame calls the function of that name
        raise DataError(f'could not find function "{na_action}"' if na_action.replace(".", "").replace("_", "")
                        .isalnum() else f"na.action must be one of {', '.join(NA_ACTIONS)}, not {na_action!r}")
    cols = DataColumns(data)
    n = len(data)
    variables = frame_variables(frame_formula) if variables is None else list(variables)
    ev = Evaluator(cols, n)  # type: ignore[arg-type]
    values: list[tuple[str, Value]] = []
    predvars: list[tuple[str, Predvar]] = []  # R: makepredictcall(variables[[i]], vars[[i + 1]])
    for v in variables:
        val = ev(v)
        if fixed_by_r(v) and v in ev.made:
            predvars.append((frame_name(v), ev.made[v]))
        length = len(val.values) if isinstance(val, (Logical, Character, NumMatrix)) else len(val)  # type: ignore[arg-type]
        if length != n:
            raise DataError(f"variable lengths differ (found for '{deparse(v)}')")
        values.append((frame_name(v), val))  # R's column names (no backquotes on names)
    w = _as_vector("weights", weights, cols, n, ev)
    o = _as_vector("offset", offset, cols, n, ev)
    if w is not None:
        values.append(("(weights)", w))
    if o is not None:
        values.append(("(offset)", o))
    rownames = r_rownames(data)
    rows = np.ones(n, dtype=bool) if subset is None else subset_mask(subset, ev, rownames)
    bad = np.zeros(n, dtype=bool)
    for _, val in values:
        bad |= na_mask(val)
    bad &= rows
    if na_action == "na.fail" and bad.any():
        raise DataError("missing values in object")  # R: na.fail.default
    if na_action in ("na.fail", "na.pass"):
        bad[:] = False
    keep = np.flatnonzero(rows & ~bad)
    dropped = tuple(rownames[i] for i in np.flatnonzero(bad))
    out: list[tuple[str, object]] = []
    for k, (name, val) in enumerate(values):
        val = take(val, keep)
        if isinstance(val, Factor):
            had = isinstance(val, ContrastsFactor)
            val = val.drop_unused()
            if had and not isinstance(val, ContrastsFactor):  # R: model.frame(drop.unused.levels = TRUE)
                warnings.warn(f"contrasts dropped from factor {name} due to missing levels", LmeWarning, stacklevel=3)
        elif isinstance(val, Character) and (k > 0 or not lhs_vars_char_only):
            val = make_factor(val)  # lme4's factorize(fr.form, fr, char.only = TRUE)
        out.append((name, val))
    kept = rownames if keep.size == n else tuple(map(rownames.__getitem__, keep.tolist()))
    fr = ModelFrame(tuple(out), kept, dropped, na_action="exclude" if na_action == "na.exclude" else "omit",
                    predvars=tuple(predvars))
    return fr, variables


def check_subset(node: Node) -> None:
    """The allowlist for a subset condition: ``|`` connectives (R's or; a bar in formulas) and
    parentheses/``&``/``!`` around them here, every other part through the formula allowlist."""
    if is_index_expression(node):  # row indices (R's `[`): `:`, unary minus, c() of numbers
        for n in walk(node):
            if isinstance(n, Call) and n.fn not in (":", "-", "+", "(", "c"):
                check_allowlist(n)
        return
    if isinstance(node, Call) and (node.fn in ("(", "&", "|", "!")) and \
            any(isinstance(n, Call) and n.fn == "|" for n in walk(node)):
        for a in node.args:
            check_subset(a.value)
        return
    check_allowlist(node)


def _subset_value(node: Node, ev: Evaluator) -> Value:
    """A subset condition: ``|`` (R's vectorised or, a bar in formulas) and parentheses around it
    here, everything else through the formula allowlist and evaluator."""
    if isinstance(node, Call) and node.fn == "(" and len(node.args) == 1:
        return _subset_value(node.args[0].value, ev)
    if isinstance(node, Call) and node.fn in ("|", "&") and len(node.args) == 2 and \
            any(isinstance(n, Call) and n.fn == "|" for n in walk(node)):
        a, b = (_subset_value(x.value, ev) for x in node.args)
        if not (isinstance(a, Logical) and isinstance(b, Logical)):
            raise DataError(f"subset: the operands of '{node.fn}' must be conditions")
        if node.fn == "|":  # TRUE | NA is TRUE
            true = (a.values & ~a.na) | (b.values & ~b.na)
            return Logical(true, (a.na | b.na) & ~true)
        false = (~a.values & ~a.na) | (~b.values & ~b.na)
        na = (a.na | b.na) & ~false
        return Logical(a.values & b.values & ~na & ~false, na)
    if isinstance(node, Call) and node.fn == "!" and len(node.args) == 1 and \
            any(isinstance(n, Call) and n.fn == "|" for n in walk(node)):
        v = _subset_value(node.args[0].value, ev)
        if not isinstance(v, Logical):
            raise DataError("subset: the operand of '!' must be a condition")
        return Logical(~v.values, v.na.copy())
    check_allowlist(node)
    return ev(node)


#: R's na.action functions lme4 accepts (by name)
NA_ACTIONS = ("na.omit", "na.exclude", "na.fail", "na.pass")


def subset_mask(expr: str, ev: Evaluator, rownames: tuple[str, ...] | None = None) -> np.ndarray:
    """R: ``model.frame(subset = expr)``: rows where ``expr`` is TRUE (NA drops the row, as the NA
    row model.frame makes is then removed by na.omit).  Evaluated with the formula allowlist.
    Numbers (``1:100``, ``-(1:10)``) and strings index rows as R's ``[.data.frame`` does
    (:mod:`pyreterms.design.subsetindex`)."""
    try:
        tree = parse(expr)
    except PyretermsError as e:
        raise DataError(f"subset {expr!r}: cannot read it: {e}") from None
    if rownames is None:
        rownames = tuple(str(i + 1) for i in range(ev.n))
    if (names := string_index(tree)) is not None:
        return index_mask(names, ev.n, rownames)
    if is_index_expression(tree):
        check_subset(tree)
        return index_mask(index_value(tree, ev), ev.n, rownames)
    val = _subset_value(tree, ev)
    if isinstance(val, Logical):
        return np.asarray(val.values & ~val.na, dtype=bool)
    if isinstance(val, (np.ndarray, Character)) and np.ndim(val.values if isinstance(val, Character) else val) == 1 \
            and (isinstance(val, Character) or val.dtype.kind in "iuf"):
        return index_mask(val, ev.n, rownames)
    raise DataError(f"subset {expr!r} must be a logical condition, row numbers or row names")
