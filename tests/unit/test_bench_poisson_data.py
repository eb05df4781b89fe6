"""``parity bench-glmm --case poisson_large``'s synthetic data (parity.bench.data.poisson_counts): the shape the
bench row states, every site observed, counts that are Poisson draws around the stated model, and the same
frame for the same seed.  No R."""
from __future__ import annotations

import numpy as np
import pandas as pd

from parity.bench.data import GLMM_SPECS, PoissonSpec, poisson_counts
from parity.bench.glmm import GLMM_BENCH_CASES

SMALL = PoissonSpec(n=20_000, sites=300, years=8, seed=5)


def test_shape_levels_and_determinism() -> None:
    df = poisson_counts(SMALL)
    assert list(df.columns) == ["y", "x", "f", "expo", "site", "year"] and len(df) == SMALL.n
    assert df["site"].cat.categories.size == SMALL.sites and df["site"].nunique() == SMALL.sites
    assert df["year"].nunique() == SMALL.years and list(df["f"].cat.categories) == ["a", "b", "c"]
    assert (df["y"] >= 0).all() and (df["y"] == np.floor(df["y"])).all() and (df["expo"] > 0).all()
    pd.testing.assert_frame_equal(df, poisson_counts(SMALL))
    assert not poisson_counts(PoissonSpec(n=20_000, sites=300, years=8, seed=6))["y"].equals(df["y"])


def test_counts_follow_the_exposure_and_covariate() -> None:
    """A Poisson GLM of the draws (site and year effects averaged out) recovers the slope 0.3 of x and the
    exposure's coefficient 1 (log scale): the data are what the docstring says."""
    df = poisson_counts(SMALL)
    X = np.column_stack([np.ones(len(df)), df["x"], np.log(df["expo"])])
    beta = np.zeros(3)
    for _ in range(50):  # IRLS
        mu = np.exp(X @ beta)
        beta = np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (mu * (X @ beta) + df["y"] - mu))
    assert abs(beta[1] - 0.3) < 0.05 and abs(beta[2] - 1.0) < 0.1, beta


def test_the_bench_case_uses_it() -> None:
    case = {c.name: c for c in GLMM_BENCH_CASES}["poisson_large"]
    assert case.data == "synthetic:poisson_large" and case.family == "poisson" and case.big
    assert GLMM_SPECS["poisson_large"].n == 100_000 and GLMM_SPECS["poisson_large"].sites == 2_000
