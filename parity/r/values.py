"""Plain, immutable Python values for R objects, shared by the R side and the Python side.

Both the R bridge (``parity.r.convert.r_to_value``) and the Python implementation produce these, so a
comparer can match them structurally without knowing where they came from.  The R equivalents:

============  ==========================================================================
``RSparse``   a ``Matrix`` sparse matrix (``dgCMatrix``; other classes are coerced in R first)
``RMatrix``   a base ``matrix`` (or ``dgeMatrix``/other dense ``Matrix``) with ``dimnames``
``RVector``   an atomic vector (``double``, ``integer``, ``logical``, ``character``) with ``names``;
              R scalars are length-1 vectors
``RFactor``   a ``factor`` / ``ordered`` (codes are 0-based, ``-1`` = ``NA``)
``RList``     a ``list`` (ordered; names may be ``None`` or repeat)
``RNull``     ``NULL``
``RError``    R refused: the ``conditionMessage()`` of a ``stop()``
============  ==========================================================================

No module here imports rpy2.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = [
    "RSparse", "RMatrix", "RVector", "RFactor", "RList", "RNull", "RError", "RValue", "R_NULL",
    "VECTOR_KINDS", "as_rvector",
]

Names = tuple[str, ...] | None

#: the RVector.kind values (R's ``typeof``); element dtypes are described in RVector's docstring
VECTOR_KINDS: frozenset[str] = frozenset({"double", "integer", "logical", "character"})


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class RSparse:
    """A sparse ``Matrix`` (R: ``dgCMatrix`` slots ``i, p, x, Dim, Dimnames``)."""

    x: sp.csc_matrix
    rownames: Names = None
    colnames: Names = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape

    def __repr__(self) -> str:
        return f"RSparse({self.shape[0]}x{self.shape[1]}, nnz={self.x.nnz})"


@dataclass(frozen=True, eq=False)
class RMatrix:
    """A dense matrix (R: ``matrix`` with ``dimnames``; ``dim(x)`` = ``x.shape``)."""

    x: np.ndarray
    rownames: Names = None
    colnames: Names = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape

    def __repr__(self) -> str:
        return f"RMatrix({self.shape[0]}x{self.shape[1]}, dtype={self.x.dtype})"


@dataclass(frozen=True, eq=False)
class RVector:
    """An atomic R vector (R: ``double``/``integer``/``logical``/``character`` with ``names``).

    Element types: ``double`` -> float64 with NA as ``nan``; ``integer`` -> int64 when there is no
    NA, otherwise float64 with NA as ``nan``; ``logical`` -> bool when there is no NA, otherwise
    object (True/False/None); ``character`` -> object (str or None for ``NA_character_``).
    """

    x: np.ndarray
    names: Names = None
    kind: str = "double"

    def __post_init__(self) -> None:
        if self.kind not in VECTOR_KINDS:
            raise ValueError(f"RVector kind must be one of {sorted(VECTOR_KINDS)}, not {self.kind!r}")
        if np.ndim(self.x) != 1:
            raise ValueError("RVector.x must be 1-d")

    def __len__(self) -> int:
        return len(self.x)

    def scalar(self) -> object:
        """The single element of a length-1 vector (R: ``x[[1]]``)."""
        if len(self.x) != 1:
            raise ValueError(f"not a scalar: length {len(self.x)}")
        v = self.x[0]
        return v.item() if isinstance(v, np.generic) else v

    def __repr__(self) -> str:
        body = repr(self.x.tolist()) if len(self.x) <= 8 else f"<{len(self.x)} values>"
        return f"RVector({self.kind}, {body}{', named' if self.names else ''})"


@dataclass(frozen=True, eq=False)
class RFactor:
    """An R factor (R: ``factor``/``ordered``; ``codes`` = ``as.integer(f) - 1``, NA = -1)."""

    codes: np.ndarray
    levels: tuple[str, ...]
    ordered: bool = False

    def __len__(self) -> int:
        return len(self.codes)

    def labels(self) -> list[str | None]:
        """``as.character(f)`` (None for NA)."""
        return [self.levels[c] if c >= 0 else None for c in self.codes.tolist()]

    def __repr__(self) -> str:
        more = "..." if len(self.levels) > 6 else ""
        return f"RFactor(n={len(self.codes)}, levels={self.levels[:6]}{more}, ordered={self.ordered})"


@dataclass(frozen=True, eq=False)
class RList:
    """An R ``list``: ordered ``(name, value)`` pairs; names may be ``None`` or repeat."""

    items: tuple[tuple[str | None, RValue], ...]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[str | None, RValue]]:
        return iter(self.items)

    def names(self) -> tuple[str | None, ...]:
        return tuple(k for k, _ in self.items)

    def values(self) -> tuple[RValue, ...]:
        return tuple(v for _, v in self.items)

    def get(self, name: str, default: RValue | None = None) -> RValue | None:
        """First component called ``name`` (R: ``x[[name]]`` with exact matching)."""
        for k, v in self.items:
            if k == name:
                return v
        return default

    def __getitem__(self, key: str | int) -> RValue:
        if isinstance(key, int):
            return self.items[key][1]
        for k, v in self.items:
            if k == key:
                return v
        raise KeyError(key)

    def __contains__(self, name: object) -> bool:
        return any(k == name for k, _ in self.items)

    def as_dict(self) -> dict[str, RValue]:
        """Name -> value (first occurrence wins; unnamed components are skipped)."""
        out: dict[str, RValue] = {}
        for k, v in self.items:
            if k is not None and k not in out:
                out[k] = v
        return out

    def __repr__(self) -> str:
        return f"RList({list(self.names())})"


@dataclass(frozen=True)
class _RNullType:
    """R's ``NULL``."""

    def __repr__(self) -> str:
        return "RNull"


RNull = _RNullType()
R_NULL = RNull


@dataclass(frozen=True)
class RError:
    """R refused: ``conditionMessage(e)`` of the error, and a short ``kind`` (e.g. ``"error"``,
    ``"not-allowed"`` for the formula allowlist, ``"timeout"``)."""

    message: str
    kind: str = "error"


RValue = RSparse | RMatrix | RVector | RFactor | RList | _RNullType | RError


def as_rvector(values: object, kind: str | None = None, names: Names = None) -> RVector:
    """Build an ``RVector`` from Python data (R: ``c(...)``), guessing ``kind`` when not given."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if kind is None:
        if arr.dtype == bool:
            kind = "logical"
        elif np.issubdtype(arr.dtype, np.integer):
            kind = "integer"
        elif np.issubdtype(arr.dtype, np.floating):
            kind = "double"
        else:
            kind = "character"
    if kind == "double":
        arr = arr.astype(np.float64)
    elif kind == "integer" and np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.int64)
    elif kind == "character":
        arr = arr.astype(object)
    return RVector(_readonly(np.array(arr, copy=True)), tuple(names) if names is not None else None, kind)
