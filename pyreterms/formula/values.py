"""The R values that formula evaluation produces: factor, logical, character, numeric matrix.

R equivalent: the vector types of R's ``SEXP`` (``INTSXP`` with a ``levels`` attribute, ``LGLSXP``,
``STRSXP``, ``REALSXP`` with ``dim``) as far as model frames hold them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyreterms.errors import DataError


@dataclass(frozen=True)
class Factor:
    """An R factor: integer codes (``-1`` = NA) into ``levels``; ``ordered`` as ``is.ordered``."""

    codes: np.ndarray
    levels: tuple[str, ...]
    ordered: bool = False

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    def __len__(self) -> int:
        return len(self.codes)

    def labels(self) -> np.ndarray:
        """``as.character(f)`` (None for NA)."""
        lv = np.array(self.levels + (None,), dtype=object)
        return lv[np.where(self.codes < 0, len(self.levels), self.codes)]

    def take(self, rows: np.ndarray) -> Factor:
        return Factor(self.codes[rows], self.levels, self.ordered)

    def drop_unused(self) -> Factor:
        """``factor(f, exclude = NA)`` / ``droplevels``: keep used levels in their order."""
        used = np.zeros(len(self.levels) + 1, dtype=bool)
        used[self.codes[self.codes >= 0]] = True
        used = used[: len(self.levels)]
        if used.all():
            return self
        remap = np.full(len(self.levels), -1, dtype=np.int64)
        remap[used] = np.arange(int(used.sum()))
        codes = np.where(self.codes >= 0, remap[np.maximum(self.codes, 0)], -1)
        return Factor(codes, tuple(lv for lv, u in zip(self.levels, used, strict=False) if u), self.ordered)


@dataclass(frozen=True)
class Logical:
    """An R logical vector: ``values`` with ``na`` marking NA."""

    values: np.ndarray
    na: np.ndarray


@dataclass(frozen=True)
class Character:
    """An R character vector (object array, ``None`` = NA)."""

    values: np.ndarray


@dataclass(frozen=True)
class NumMatrix:
    """A numeric matrix variable such as ``poly(x, 2)`` or ``scale(x)``; ``colnames`` may be None."""

    values: np.ndarray
    colnames: tuple[str, ...] | None


Value = object  # np.ndarray (float64 / int64) | Logical | Character | NumMatrix | Factor


def as_numeric(x: Value, what: str) -> np.ndarray:
    """R's ``as.numeric`` as a function argument sees it: logical -> 0/1/NA, a matrix its values;
    a factor or character vector is refused (``non-numeric argument to <what>``)."""
    if isinstance(x, Logical):
        out = x.values.astype(np.float64)
        out[x.na] = np.nan
        return out
    if isinstance(x, (Factor, Character)):
        raise DataError(f"non-numeric argument to {what}")
    if isinstance(x, NumMatrix):
        return x.values
    return np.asarray(x, dtype=np.float64)
