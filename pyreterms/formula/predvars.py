"""The constants of a model frame's data-dependent variables (R: ``attr(terms, "predvars")``, built by
``makepredictcall``), which new data is evaluated with.

R: ``model.frame.default`` evaluates each variable on the data (all rows, before ``subset`` and
``na.action``) and replaces the variable's call by ``makepredictcall(value, call)``:

- ``stats:::makepredictcall.poly``: an orthogonal ``poly()`` / ``stats::poly()`` gets
  ``coefs = list(alpha =, norm2 =)`` (``raw = TRUE`` has no coefs: unchanged);
- ``splines:::makepredictcall.ns`` / ``.bs``: ``ns``/``bs``/``splines::ns``/``splines::bs`` become
  ``ns(x, knots =, Boundary.knots =, intercept =)`` (``bs``: ``degree =`` first);
- ``stats:::makepredictcall.default``: a call written ``scale(...)`` gets numeric ``center =`` /
  ``scale =`` (``as.character(call)[1L] == "scale"``, so ``base::scale(x)`` is not fixed).

Only the variable's own (outermost) call counts: ``I(scale(x))``, ``log(scale(x))`` and the inner
``scale`` of ``poly(scale(x), 2)`` are evaluated afresh on new data, as R does.  lme4 keeps these as
``predvars.fixed`` / ``predvars.random``; both come from the same data, so one mapping from the frame's
column name serves both here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyreterms.errors import FormulaError
from pyreterms.formula.allowlist import split_name
from pyreterms.formula.nodes import Call, Node


@dataclass(frozen=True)
class PolyCoefs:
    """``poly(x, degree, coefs = list(alpha = alpha, norm2 = norm2))`` (R: ``attr(poly(x), "coefs")``)."""

    alpha: tuple[float, ...]
    norm2: tuple[float, ...]


@dataclass(frozen=True)
class SplineKnots:
    """``ns(x, knots =, Boundary.knots =, intercept =)`` / ``bs(x, degree =, ...)`` (R: the basis'
    attributes); ``degree`` is None for ``ns``."""

    knots: tuple[float, ...]
    boundary: tuple[float, float]
    intercept: bool
    degree: int | None = None


@dataclass(frozen=True)
class ScaleConstants:
    """``scale(x, center =, scale =)`` (R: attributes ``scaled:center`` / ``scaled:scale``); None where
    the fit's call had ``FALSE`` (the call keeps it)."""

    center: float | None
    scale: float | None


Predvar = PolyCoefs | SplineKnots | ScaleConstants
#: the fit's predvars: (frame column name, constants), in frame column order
Predvars = tuple[tuple[str, Predvar], ...]


def fixed_by_r(node: Node) -> bool:
    """Whether R's ``makepredictcall`` rewrites this variable's call (see the module docstring)."""
    if not isinstance(node, Call):
        return False
    pkg, fn = split_name(node.fn)
    if fn == "scale":
        return pkg is None
    if fn == "poly":
        return pkg in (None, "stats")
    return fn in ("ns", "bs") and pkg in (None, "splines")


def poly_with_coefs(x: np.ndarray, degree: int, coefs: PolyCoefs) -> np.ndarray:
    """R: ``stats::poly(x, degree, coefs = coefs)``: the three-term recursion (NA stays NA)."""
    alpha, norm2 = coefs.alpha, coefs.norm2
    if len(alpha) < degree or len(norm2) < degree + 2:
        raise FormulaError(f"poly(): coefs hold degree {len(alpha)}, not {degree}")
    Z = np.ones((len(x), degree + 1))
    Z[:, 1] = x - alpha[0]
    for i in range(2, degree + 1):  # R: for(i in 2:degree) Z[, i+1] <- (x - alpha[i]) * Z[, i] - ...
        Z[:, i] = (x - alpha[i - 1]) * Z[:, i - 1] - (norm2[i] / norm2[i - 1]) * Z[:, i - 2]
    Z = Z / np.sqrt(np.asarray(norm2[1:degree + 2]))[None, :]
    return Z[:, 1:]


def scale_with(x: np.ndarray, consts: ScaleConstants) -> np.ndarray:
    """R: ``scale(x, center = <number>, scale = <number>)`` (``sweep``: ``x - center``, then ``/ scale``)."""
    out = np.asarray(x, dtype=np.float64)
    if consts.center is not None:
        out = out - consts.center
    if consts.scale is not None:
        out = out / consts.scale
    return out


__all__ = ["PolyCoefs", "SplineKnots", "ScaleConstants", "Predvar", "Predvars", "fixed_by_r",
           "poly_with_coefs", "scale_with"]
