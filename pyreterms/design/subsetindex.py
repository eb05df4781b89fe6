"""``subset =`` given as row indices or row names, as R's ``[.data.frame`` takes them.

R equivalent: ``model.frame.default`` hands a non-logical ``subset`` to ``[.data.frame``
(``data[subset, , drop = FALSE]``): numbers index rows (1-based, truncated towards zero, zeros
ignored, all-negative drops those rows, an index past the last row gives an all-NA row that
``na.omit`` removes), character strings select rows by row name (an unknown name gives an all-NA
row).  ``:`` (R's ``seq``, ``from:to``), unary minus and ``c(...)`` of numbers are evaluated here
(they are not formula operators); everything else goes through the formula allowlist.

pyreterms keeps the data's row order: an index vector that repeats rows or reorders them (R's
``data[c(3, 1), ]``) is refused with a one-line :class:`~pyreterms.errors.UnsupportedInput`.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pyreterms.errors import DataError, UnsupportedInput
from pyreterms.formula.nodes import Call, Node, Num, Str, walk
from pyreterms.formula.values import Character, Value

__all__ = ["is_index_expression", "index_value", "index_mask", "string_index"]


def is_index_expression(node: Node) -> bool:
    """True when ``node`` uses R's ``:`` (an integer sequence), which formulas do not evaluate, or
    is a constant index (a number, ``-number``, ``c(numbers)``), which the formula evaluator would
    recycle to every row."""
    if any(isinstance(n, Call) and n.fn == ":" for n in walk(node)):
        return True
    return all(isinstance(n, Num) or (isinstance(n, Call) and n.fn in ("-", "+", "(", "c")) for n in walk(node))


def string_index(node: Node) -> Character | None:
    """``subset = "name"`` or ``c("a", "b")``: row names (R's ``[.data.frame``), else None."""
    if isinstance(node, Str):
        return Character(np.array([node.value], dtype=object))
    if isinstance(node, Call) and node.fn == "c" and node.args and all(
            a.name is None and isinstance(a.value, Str) for a in node.args):
        return Character(np.array([a.value.value for a in node.args], dtype=object))  # type: ignore[union-attr]
    return None


def index_value(node: Node, ev: Callable[[Node], Value]) -> np.ndarray:
    """A numeric index expression: numbers, ``a:b``, unary ``-``/``+``, ``(...)``, ``c(...)``;
    other parts (no ``:`` inside) through the formula evaluator ``ev``."""
    if isinstance(node, Num):
        return np.array([float(node.value)])
    if isinstance(node, Call) and node.fn == "(" and len(node.args) == 1:
        return index_value(node.args[0].value, ev)
    if isinstance(node, Call) and node.fn in ("-", "+") and len(node.args) == 1:
        v = index_value(node.args[0].value, ev)
        return -v if node.fn == "-" else v
    if isinstance(node, Call) and node.fn == "c" and all(a.name is None for a in node.args):
        parts = [index_value(a.value, ev) for a in node.args]
        return np.concatenate(parts) if parts else np.zeros(0)
    if isinstance(node, Call) and node.fn == ":" and len(node.args) == 2:
        a, b = (index_value(x.value, ev) for x in node.args)
        if a.size == 0 or b.size == 0:
            raise DataError("argument of length 0")  # R: seq.int's message for 1:integer(0)
        lo, hi = float(a[0]), float(b[0])
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise DataError("NA/NaN argument")
        count = int(np.floor(abs(hi - lo) + 1e-10))  # R: seq_colon, n = |to - from| + FLT_EPSILON
        step = 1.0 if hi >= lo else -1.0
        return lo + step * np.arange(count + 1, dtype=np.float64)
    if is_index_expression(node):
        raise DataError(f"subset: cannot use ':' inside {node.fn if isinstance(node, Call) else node}")
    val = ev(node)
    arr = np.asarray(val, dtype=np.float64) if isinstance(val, np.ndarray) else None
    if arr is None or arr.ndim != 1:
        raise DataError("subset: an index must be numbers")
    return arr


def index_mask(val: np.ndarray | Character, n: int, rownames: tuple[str, ...]) -> np.ndarray:
    """The rows ``data[val, ]`` keeps, as a mask over the ``n`` rows (see the module docstring)."""
    if isinstance(val, Character):
        names = {str(v) for v in val.values if v is not None}
        # unknown names give all-NA rows, which na.omit removes
        return np.array([r in names for r in rownames], dtype=bool)
    idx = np.trunc(np.asarray(val, dtype=np.float64))
    if np.isnan(idx).any():
        raise UnsupportedInput("subset: NA row indices (R makes all-NA rows) are not supported")
    idx = idx[idx != 0]
    mask = np.zeros(n, dtype=bool)
    if idx.size == 0:
        return mask
    if (idx < 0).all():
        mask[:] = True
        drop = (-idx).astype(np.int64) - 1
        mask[drop[drop < n]] = False
        return mask
    if (idx < 0).any():
        raise DataError("only 0's may be mixed with negative subscripts")  # R's `[` message
    inside = idx[idx <= n].astype(np.int64) - 1
    if np.any(np.diff(inside) <= 0):
        raise UnsupportedInput("subset: row indices that repeat or reorder rows are not supported "
                               "(pyreterms keeps the data's row order)")
    mask[inside] = True  # indices past the last row: all-NA rows, removed by na.omit
    return mask
