"""Report details without R: the differ panel, R's (1-based) cell names for dense, sparse and vector
components, sparse cells kept sparse (the live half is tests/live/test_report_rough_edges.py)."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
import scipy.sparse as sp

from parity.compare.tolerances import EXACT, Diff, compare_values, plain
from parity.r.values import RMatrix, RSparse, RVector

ZT = "lFormula()$reTrms$Zt"


def _red_pixels_right_third(png: bytes) -> int:
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png), format="png")
    third = img[:, 2 * img.shape[1] // 3:, :3]
    return int(((third[..., 0] > 0.6) & (third[..., 1] < 0.25) & (third[..., 2] < 0.25)).sum())


def test_one_differing_cell_is_visible_in_the_differ_panel() -> None:
    from parity.report.html import figure_png

    rng = np.random.default_rng(1)
    a = sp.random(36, 180, density=0.05, random_state=rng, format="csc")
    b = a.copy()
    b.data[7] += 1.0
    png = figure_png(RSparse(b), RSparse(a), ZT)
    assert png is not None and _red_pixels_right_third(png) > 20
    same = figure_png(RSparse(a), RSparse(a.copy()), ZT)
    assert same is None or _red_pixels_right_third(same) == 0


@pytest.mark.parametrize("shape", [(4, 7), (9, 3)])
def test_dense_and_sparse_details_name_rs_cell(shape) -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(size=shape)
    i, j = shape[0] - 2, shape[1] - 1  # 0-based here; R's is (i + 1, j + 1)
    m2 = m.copy()
    m2[i, j] += 0.5
    d = Diff()
    compare_values(RMatrix(m2), RMatrix(m), EXACT, d)
    assert d.problems == [f"1 value(s) differ, first at [{i + 1}, {j + 1}]: {plain(m2[i, j])} vs R {plain(m[i, j])}"]
    s1, s2 = sp.csc_matrix(m), sp.csc_matrix(m2)
    d = Diff()
    compare_values(RSparse(s2), RSparse(s1), EXACT, d)
    assert d.problems[0].startswith(f"1 value(s) differ, first at [{i + 1}, {j + 1}]: ")


def test_vector_and_nan_details_are_one_based_and_plain() -> None:
    a = np.array([1.0, 2.0, np.nan, 4.0])
    b = np.array([1.0, 2.0, 3.0, 4.5])
    d = Diff()
    compare_values(RVector(a, kind="double"), RVector(b, kind="double"), EXACT, d)
    assert d.problems == ["NA/NaN at [3] on one side only (NaN vs R 3)", "1 value(s) differ, first at [4]: 4 vs R 4.5"]
    assert not any(re.search(r"np\.|float64", p) for p in d.problems)


def test_sparse_cells_stay_sparse_and_count_stored_zeros() -> None:
    """A stored zero against a structural one is a differing cell (R: a dgCMatrix's @i/@p), found
    without making a large matrix dense."""
    from parity.report.html import _cell_rows

    n = 200_000  # dense, this would be 8 * 50 * 200000 bytes = 80 MB per side
    rows_, cols_ = np.array([0, 10, 49]), np.array([5, 70_000, n - 1])
    a = sp.csc_matrix((np.array([1.0, 2.0, 3.0]), (rows_, cols_)), shape=(50, n))
    b = sp.csc_matrix((np.array([1.0, 2.0, 3.5, 0.0]), (np.append(rows_, 20), np.append(cols_, 3))), shape=(50, n))
    assert b.nnz == 4 and b[20, 3] == 0  # an explicitly stored zero
    rows, total = _cell_rows(RSparse(a), RSparse(b))
    assert total == 2
    assert [(r["i"], r["j"], r["here"], r["lme4"]) for r in rows] == [(21, 4, "0", "0"), (50, n, "3", "3.5")]
