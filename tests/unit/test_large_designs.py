"""Large crossed designs (ml1m / ml10m): the synthetic generator's shape, the rank-update build paths
(the equal-products pair build gives the general build's matrix bit for bit; the sparse heavy update
agrees with the dense one to rounding), the prefetch's free-core rule and the huge bench's per-step
time limit.  No R."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from parity.bench import huge
from parity.bench.data import ML10M, SPECS, CrossedSpec, crossed_ratings
from pyreterms.lmm import deviance as devmod
from pyreterms.lmm import rankupdate as ru
from pyreterms.lmm.deviance import LmerProblem


def test_generator_shape_scaled_down() -> None:
    spec = CrossedSpec(n=30_000, users=400, items=300, max_per_user=250, seed=5)
    df = crossed_ratings(spec)
    assert len(df) == spec.n
    assert list(df.columns) == ["rating", "user", "item"]
    per_user = np.bincount(df["user"].cat.codes, minlength=spec.users)
    assert per_user.min() >= spec.min_per_user and per_user.max() <= spec.max_per_user
    assert len(df["user"].cat.categories) == spec.users and len(df["item"].cat.categories) == spec.items
    pairs = df["user"].cat.codes.to_numpy().astype(np.int64) * spec.items + df["item"].cat.codes.to_numpy()
    assert np.unique(pairs).size == spec.n  # each (user, item) at most once
    assert set(np.unique(df["rating"])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert df.equals(crossed_ratings(spec))  # fixed seed


def test_ml10m_spec_is_the_movielens_10m_shape() -> None:
    assert (ML10M.n, ML10M.users, ML10M.items) == (10_000_054, 69_878, 10_677)
    assert SPECS["ml1m"] == CrossedSpec() and SPECS["ml10m"] is ML10M


def _crossed(seed: int, nu: int = 300, ni: int = 120) -> sp.csc_matrix:
    """items x users, one entry per rated pair (value 1: an unweighted crossed design)."""
    rng = np.random.default_rng(seed)
    cnt = rng.integers(1, ni // 2, nu)
    rows = np.concatenate([rng.choice(ni, c, replace=False) for c in cnt])
    cols = np.repeat(np.arange(nu), cnt)
    A = sp.csc_matrix((np.ones(rows.size), (rows, cols)), shape=(ni, nu))
    A.sort_indices()
    return A


@pytest.mark.parametrize("chunk", [50, 5_000, 10 ** 9])
def test_equal_products_build_is_the_general_build_bit_for_bit(chunk: int) -> None:
    A = _crossed(1)
    a0 = np.asarray(A.sum(axis=0)).ravel()
    light = np.arange(A.shape[1])
    gvals, ginv = np.unique(a0[light], return_inverse=True)
    pos, g, val = ru._pairs_sym(A, light, ginv)
    C_ref, pos_ref = ru._compress(sp.csr_matrix((val, (pos, g)), shape=(A.shape[0] ** 2, gvals.size)), 0)
    C, p = ru._light_sym_equal(A, light, ginv, gvals.size, chunk)
    assert np.array_equal(p, pos_ref)
    assert np.array_equal(C.indptr, C_ref.indptr) and np.array_equal(C.indices, C_ref.indices)
    assert C.data.tobytes() == C_ref.data.tobytes()
    w = np.random.default_rng(2).uniform(0.1, 1.0, gvals.size)
    assert (C @ w).tobytes() == (C_ref @ w).tobytes()


def test_equal_products_path_needs_equal_values() -> None:
    A = _crossed(3)
    assert ru._all_equal(A)
    A2 = A.copy()
    A2.data[0] = 2.0  # a pair of levels seen twice
    assert not ru._all_equal(A2)


def test_sparse_heavy_update_agrees_with_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    A = _crossed(4)
    a0 = np.asarray(A.sum(axis=0)).ravel()
    dense = ru.build_block0_rank_update(A, A, a0, upper=True, cap=2_000)
    monkeypatch.setattr(ru, "_dense_heavy_pays", lambda *a: False)
    sparse = ru.build_block0_rank_update(A, A, a0, upper=True, cap=2_000)
    assert dense.Dj is not None and sparse.Sj is not None and sparse.Dj is None
    for s in (0.3, 1.7):
        D, S = np.triu(dense.product(s)), np.triu(sparse.product(s))
        assert np.max(np.abs(D - S)) <= 1e-13 * np.max(np.abs(D))
        full = A.multiply(s / np.sqrt(a0 * s * s + 1.0)).tocsc()
        ref = np.triu((full @ full.T).toarray())
        assert np.max(np.abs(S - ref)) <= 1e-13 * np.max(np.abs(ref))


def _problem(pair_cap: int) -> tuple[LmerProblem, np.ndarray]:
    rng = np.random.default_rng(7)
    A = _crossed(5, nu=260, ni=150)
    items, users = A.nonzero()
    n = items.size
    Zt = sp.vstack([sp.csr_matrix((np.ones(n), (users, np.arange(n))), shape=(260, n)),
                    sp.csr_matrix((np.ones(n), (items, np.arange(n))), shape=(150, n))]).tocsr()
    y = 3.0 + rng.normal(0, 0.5, 260)[users] + rng.normal(0, 0.5, 150)[items] + rng.normal(0, 1, n)
    prob = LmerProblem.build(np.ones((n, 1)), y, Zt, sp.identity(410, format="csc"),
                             np.repeat([0, 1], [260, 150]), np.array([0, 260, 410]), pair_cap=pair_cap)
    return prob, np.array([0.6, 0.8])


def test_heavy_levels_give_the_light_deviance_to_rounding(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(ru, "_GEMM_PAIRS_PER_ENTRY", 1.0)  # every level light
        light, th = _problem(10 ** 9)
    heavy, _ = _problem(3_000)
    assert light.gram.rank_updates[(1, 1)].Dj is None and heavy.gram.rank_updates[(1, 1)].Dj is not None
    ref = light.deviance_nocache(th)
    assert abs(heavy.deviance_nocache(th) - ref) <= 1e-12 * abs(ref)
    monkeypatch.setattr(ru, "_dense_heavy_pays", lambda *a: False)
    sparse, _ = _problem(3_000)
    assert sparse.gram.rank_updates[(1, 1)].Sj is not None
    assert abs(sparse.deviance_nocache(th) - ref) <= 1e-12 * abs(ref)
    s_heavy, s_sparse = heavy.solve(th), sparse.solve(th)
    assert np.max(np.abs(s_heavy.b - s_sparse.b)) <= 1e-10 * np.max(np.abs(s_heavy.b))


def test_prefetch_of_a_large_factor_waits_for_a_free_core(monkeypatch: pytest.MonkeyPatch) -> None:
    prob, th = _problem(10 ** 9)
    pts = [th * 1.1, th * 0.9]
    monkeypatch.setattr(devmod, "PREFETCH_FREE_CORE_Q", 1)
    monkeypatch.setattr(devmod, "second_core_free", lambda: False)
    prob.prefetch(pts)
    assert not prob.ws.cache  # nothing evaluated ahead on a busy machine
    monkeypatch.setattr(devmod, "second_core_free", lambda: True)
    prob.prefetch(pts)
    assert len(prob.ws.cache) == 2
    assert prob.ws.cache[pts[0].tobytes()] == prob.deviance_nocache(pts[0])


def test_huge_bench_step_over_its_limit_is_killed_and_reported(tmp_path) -> None:
    script = tmp_path / "child.py"
    script.write_text(
        "import json, time\n"
        "def e(step, st, **k): print(json.dumps({'step': step, 'status': st, 't': time.perf_counter(), 'peak_mb': 1.0, **k}), flush=True)\n"
        "e('terms', 'start'); e('terms', 'done', value=1.5)\n"
        "e('fit', 'start'); e('fit', 'progress', evals=3, s=0.1)\n"
        "time.sleep(60)\n")
    out = huge.run_steps([sys.executable, str(script)], limit=1.0)
    assert isinstance(out["steps"]["terms"], float) and out["terms_value"] == 1.5
    assert out["steps"]["fit"] == "not finished in 1 s"
    assert out["progress"]["evals"] == 3
    table = huge.format_huge("x", 10, {"pyreterms": out, "lme4": out})
    assert "not finished in 1 s (3 deviance evaluations done)" in table


def test_write_columns_round_trip(tmp_path) -> None:
    df = crossed_ratings(CrossedSpec(n=2_000, users=60, items=50, max_per_user=40, seed=3))
    huge.write_columns(df, str(tmp_path))
    n = int((tmp_path / "n.txt").read_text())
    codes = np.fromfile(tmp_path / "user.i32", dtype=np.int32, count=n)
    assert np.array_equal(codes, df["user"].cat.codes.to_numpy())
    assert (tmp_path / "item.txt").read_text().splitlines() == list(df["item"].cat.categories)
    assert np.array_equal(np.fromfile(tmp_path / "rating.f64"), df["rating"].to_numpy())
    assert isinstance(df, pd.DataFrame)


def test_sparse_heavy_update_in_slabs_is_the_same_bit_for_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    A = _crossed(6)
    a0 = np.asarray(A.sum(axis=0)).ravel()
    monkeypatch.setattr(ru, "_dense_heavy_pays", lambda *a: False)
    U = ru.build_block0_rank_update(A, A, a0, upper=True, cap=2_000)
    whole = U.product(0.9)
    monkeypatch.setattr(ru, "_SPARSE_BLOCK_ENTRIES", 7 * A.shape[0])  # slabs of 7 rows
    assert U.product(0.9).tobytes() == whole.tobytes()
