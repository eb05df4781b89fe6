"""Synthetic data for GLMMs with a vector term on many levels (the elimination-order tests): ``ns`` subjects
seen on 8 days, a binary ``y`` and a count ``cnt`` with random intercepts and slopes, a 5-level factor ``g``."""
from __future__ import annotations

import numpy as np
import pandas as pd


def vector_glmm_data(ns: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    nd = 8
    subj = np.repeat(np.arange(ns), nd)
    days = np.tile(np.arange(nd), ns).astype(float)
    grp = rng.integers(0, 5, subj.size)
    eta = -0.3 + 0.15 * days + rng.normal(0, 1, ns)[subj] + rng.normal(0, 0.2, ns)[subj] * days
    y = (rng.uniform(size=eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"y": y, "cnt": rng.poisson(np.exp(eta / 3)).astype(float), "Days": days,
                         "Subject": pd.Categorical([f"s{i:03d}" for i in subj]),
                         "g": pd.Categorical([f"g{i}" for i in grp])})
