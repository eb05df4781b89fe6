"""R's ``model.matrix`` for a :class:`~pyreterms.formula.terms.Terms` over a model frame.

R equivalent: ``model.matrix.default`` (C ``modelmatrix`` in ``stats/src/model.c``): intercept
first, then each term's columns, the first variable of a term varying fastest; factors coded by
contrasts or indicators as ``terms()``'s coding matrix says, with the first factor of an
intercept-free model switched to indicators; names as R pastes them (``Sexmale``,
``recipeB:temperature.L``, ``poly(x, 2)1``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from pyreterms.design.contrasts import contrast_spec
from pyreterms.design.model import ModelFrame
from pyreterms.errors import DataError, LmeWarning
from pyreterms.formula.evaluate import make_factor
from pyreterms.formula.terms import Terms
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix


@dataclass(frozen=True)
class ModelMatrix:
    X: np.ndarray
    colnames: tuple[str, ...]
    assign: tuple[int, ...]
    contrasts: tuple[tuple[str, str], ...]


def _as_factor(v: object) -> Factor | None:
    if isinstance(v, Factor):
        return v
    if isinstance(v, Logical):
        f = make_factor(v)
        # R treats a logical as a factor with both levels FALSE, TRUE
        full = ("FALSE", "TRUE")
        codes = np.where(f.codes < 0, -1, np.array([full.index(lv) for lv in f.levels] or [0])[np.maximum(f.codes, 0)])
        return Factor(codes.astype(np.int64), full)
    if isinstance(v, Character):
        return make_factor(v)
    return None


def model_matrix(terms: Terms, fr: ModelFrame, contrasts: dict[str, object] | None = None) -> ModelMatrix:
    """R: ``model.matrix(terms, fr, contrasts.arg = contrasts)``.  A ``contrasts`` value is a contrast
    function name or a numeric matrix (levels x k, see :func:`pyreterms.design.contrasts.contrast_spec`); a factor
    without one uses its ``contrasts`` attribute (:class:`pyreterms.design.dataframe.ContrastsFactor`), as R does."""
    contrasts = dict(contrasts or {})
    n = fr.n
    cols: list[np.ndarray] = []
    names: list[str] = []
    assign: list[int] = []
    used_contrasts: dict[str, str] = {}
    if terms.intercept:
        cols.append(np.ones(n))
        names.append("(Intercept)")
        assign.append(0)
    codes = [dict(c) for c in terms.codes]
    _check_factor_levels(terms, fr)
    _check_contrasts_arg(terms, fr, contrasts)
    if not terms.intercept:
        _full_coding_of_first_factor(terms, fr, codes)
    for t, term in enumerate(terms.terms):
        block_cols: list[np.ndarray] = [np.ones(n)]
        block_names: list[str] = [""]
        for v in term:
            vname = terms.varnames[v]
            vcols, vnames = _variable_columns(vname, _lookup(fr, vname), codes[t][v], contrasts, used_contrasts)
            new_cols, new_names = [], []
            for c2, n2 in zip(vcols, vnames, strict=False):  # later variables vary slowest
                for c1, n1 in zip(block_cols, block_names, strict=False):
                    new_cols.append(c1 * c2)
                    new_names.append(n2 if n1 == "" else f"{n1}:{n2}")
            block_cols, block_names = new_cols, new_names
        cols.extend(block_cols)
        names.extend(block_names)
        assign.extend([t + 1] * len(block_cols))
    X = np.column_stack(cols) if cols else np.zeros((n, 0))
    return ModelMatrix(np.ascontiguousarray(X, dtype=np.float64), tuple(names), tuple(assign),
                       _contrasts_attribute(terms, fr, contrasts, used_contrasts))


def _contrasts_attribute(terms: Terms, fr: ModelFrame, contrasts: dict[str, object],
                         used: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """R: ``attr(X, "contrasts")``: ``model.matrix.default`` sets contrasts on every factor of the formula's
    variables (in their order), also one coded by indicators only, and lists them all."""
    out = []
    for v in sorted({v for term in terms.terms for v in term}):
        vname = terms.varnames[v]
        f = _as_factor(_lookup(fr, vname))
        if f is None:
            continue
        if vname not in used:
            spec = contrasts[vname] if vname in contrasts else getattr(f, "contrasts", None)
            used[vname] = contrast_spec(vname, spec if spec is not None else
                                        ("contr.poly" if f.ordered else "contr.treatment"), f.levels)[2]
        out.append((vname, used[vname]))
    return tuple(out)


def _check_factor_levels(terms: Terms, fr: ModelFrame) -> None:
    """R's ``model.matrix.default`` sets contrasts on every factor it uses, whatever the coding, and
    ``contrasts<-`` stops for a factor with fewer than 2 levels."""
    for v in sorted({v for term in terms.terms for v in term}):
        val = _lookup(fr, terms.varnames[v])
        if isinstance(val, (Factor, Character)) and _as_factor(val).nlevels < 2:  # type: ignore[union-attr]
            raise DataError("contrasts can be applied only to factors with 2 or more levels "
                            f"(variable '{terms.varnames[v]}' has {_as_factor(val).nlevels})")  # type: ignore[union-attr]


def _check_contrasts_arg(terms: Terms, fr: ModelFrame, contrasts: dict[str, object]) -> None:
    """R 4.2's ``model.matrix.default`` on ``contrasts.arg``, name by name: a name that is not a
    variable of the (fixed-effects) formula warns "variable 'v' is absent, its contrast will be
    ignored" and is dropped; for a variable, ``contrasts<-`` stops with "contrasts apply only to
    factors" unless it is a factor, a logical or a character vector (made a factor first)."""
    for name in list(contrasts):
        if name not in terms.varnames:
            warnings.warn(f"variable '{name}' is absent, its contrast will be ignored", LmeWarning, stacklevel=5)
            del contrasts[name]
        elif _as_factor(_lookup(fr, name)) is None:
            raise DataError("contrasts apply only to factors")


def _full_coding_of_first_factor(terms: Terms, fr: ModelFrame, codes: list[dict[int, int]]) -> None:
    """Without an intercept, the first factor of the first term that has one is coded by indicators
    (R: ``model.matrix`` on ``attr(terms, "factors")`` with ``intercept = 0``)."""
    for t, term in enumerate(terms.terms):
        for v in term:
            if _as_factor(_lookup(fr, terms.varnames[v])) is not None:
                codes[t][v] = 2
                return


def _variable_columns(vname: str, val: object, coding: int, contrasts: dict[str, object],
                      used_contrasts: dict[str, str]) -> tuple[list[np.ndarray], list[str]]:
    """The columns of one variable in a term and their names: a factor coded by contrasts
    (``coding == 1``) or by indicators, a matrix variable's columns, or a numeric vector."""
    f = _as_factor(val)
    if f is not None:
        if coding == 1:
            # contrasts.arg first, then the factor's own attribute (R: contrasts(x)), then the default
            spec = contrasts[vname] if vname in contrasts else getattr(f, "contrasts", None)
            if spec is None:
                spec = "contr.poly" if f.ordered else "contr.treatment"
            cm, cn, used_contrasts[vname] = contrast_spec(vname, spec, f.levels)
            labels = cn if cn is not None else tuple(str(k + 1) for k in range(cm.shape[1]))
        else:
            cm = np.eye(f.nlevels)
            labels = f.levels
        return [cm[f.codes, j] for j in range(cm.shape[1])], [vname + lab for lab in labels]
    if isinstance(val, NumMatrix):
        k = val.values.shape[1]
        vcols = [val.values[:, j] for j in range(k)]
        if val.colnames is not None:
            return vcols, [vname + c for c in val.colnames]
        return vcols, [vname] if k == 1 else [vname + str(j + 1) for j in range(k)]
    return [np.asarray(val, dtype=np.float64)], [vname]


def _lookup(fr: ModelFrame, name: str) -> object:
    try:
        return fr.get(name)
    except KeyError:
        raise DataError(f"model frame and formula mismatch: no variable '{name}'") from None
