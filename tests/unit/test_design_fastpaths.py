"""The direct CSC constructions and formula memoisation of term building (no R): each must give what
the generic scipy route / an unmemoised parse gives, array for array."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import pyreterms
from pyreterms.design.lformula import formula_parts
from pyreterms.design.reterms import indicator, khatri_rao_t, vstack_csc
from pyreterms.errors import FormulaError
from pyreterms.formula.values import Factor


def _same_csc(a: sp.csc_matrix, b: sp.csc_matrix) -> None:
    assert a.format == b.format == "csc" and a.shape == b.shape
    assert a.indices.dtype == b.indices.dtype and a.indptr.dtype == b.indptr.dtype
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes()
    assert a.has_sorted_indices and b.has_sorted_indices


@pytest.mark.parametrize("seed", range(6))
def test_indicator_is_scipys_coo_construction(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, nl = int(rng.integers(1, 60)), int(rng.integers(1, 8))
    codes = rng.integers(-1 if seed % 2 else 0, nl, n)  # odd seeds: NA rows (-1)
    ff = Factor(codes.astype(np.int64), tuple(f"l{k}" for k in range(nl)))
    ok = codes >= 0
    ref = sp.csc_matrix((np.ones(int(ok.sum())), (np.flatnonzero(ok), codes[ok])), shape=(n, nl))
    _same_csc(indicator(ff), ref)


@pytest.mark.parametrize("seed", range(6))
def test_khatri_rao_keeps_only_nonzeros(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, nl, p = int(rng.integers(1, 40)), int(rng.integers(1, 6)), int(rng.integers(1, 4))
    codes = rng.integers(-1 if seed % 2 else 0, nl, n).astype(np.int64)
    Xi = rng.normal(size=(n, p))
    Xi[rng.random((n, p)) < 0.2] = 0.0  # exact zeros are not stored
    ff = Factor(codes, tuple(f"l{k}" for k in range(nl)))
    dense = np.zeros((nl * p, n))
    for j in range(n):
        if codes[j] >= 0:
            dense[codes[j] * p:(codes[j] + 1) * p, j] = Xi[j]
    ref = sp.csc_matrix(dense)
    got = khatri_rao_t(ff, Xi)
    _same_csc(got, ref)


@pytest.mark.parametrize("seed", range(6))
def test_vstack_csc_is_scipys_vstack(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    blocks = [sp.random(int(rng.integers(1, 9)), n, density=0.3, format="csc", random_state=seed + k)
              for k in range(int(rng.integers(1, 4)))]
    for b in blocks:
        b.sort_indices()
    ref = sp.vstack(blocks, format="csc")
    ref.sort_indices()
    _same_csc(vstack_csc(blocks), ref)


def test_formula_parts_memoised_but_errors_repeat() -> None:
    a = formula_parts("y ~ x + (1 | g)")
    assert formula_parts("y ~ x + (1 | g)") is a
    for _ in range(2):  # a formula that fails is not remembered: it fails every time
        with pytest.raises(FormulaError):
            formula_parts("y ~ system('ls')")


def test_lformula_twice_gives_equal_terms() -> None:
    """The second lformula of a formula (memoised parts) builds the same objects as the first."""
    d = pyreterms.load_dataset("sleepstudy")
    f = "Reaction ~ Days + (Days | Subject) + (1 | Days)"
    one, two = pyreterms.lformula(f, d), pyreterms.lformula(f, d)
    _same_csc(one.reTrms.Zt, two.reTrms.Zt)
    _same_csc(one.reTrms.Lambdat, two.reTrms.Lambdat)
    assert one.formula == two.formula and np.array_equal(one.X.X, two.X.X)
    ref = sp.vstack([t.Zt for t in one.reTrms.terms], format="csc")
    ref.sort_indices()
    _same_csc(one.reTrms.Zt, ref)
