"""Synthetic benchmark data for ``parity bench``: a crossed users x items design shaped like
MovieLens-1M (1,000,209 ratings, 6,040 users, 3,706 items) or MovieLens-10M (10,000,054 ratings,
69,878 users, 10,677 items; ``ML10M``), generated with a fixed seed.

There is no R equivalent; the design follows the published ml-1m marginals: every user has at least
20 ratings, user and item counts are heavy-tailed (Zipf-like), each (user, item) pair occurs at
most once, and ratings 1..5 come from a latent model ``3.6 + a_user + b_item + e`` rounded and
clipped.  The generator is vectorised (Efraimidis-Spirakis weighted sampling without replacement by
exponential keys, a chunk of users at a time) and takes a few seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CrossedSpec:
    """Shape of the synthetic crossed design (defaults: MovieLens-1M)."""

    n: int = 1_000_209
    users: int = 6_040
    items: int = 3_706
    min_per_user: int = 20
    user_sigma: float = 1.05  # log-normal spread of the per-user counts
    max_per_user: int = 2_314  # ml-1m's most active user
    item_zipf: float = 0.8  # Zipf exponent of the item popularity weights
    seed: int = 20240601


#: the MovieLens-10M shape (its most active user rated 7,359 movies); the rest as for ml-1m
ML10M = CrossedSpec(n=10_000_054, users=69_878, items=10_677, max_per_user=7_359)
#: the synthetic data sets ``parity bench`` names (``synthetic:NAME``)
SPECS: dict[str, CrossedSpec] = {"ml1m": CrossedSpec(), "ml10m": ML10M}


def _user_counts(spec: CrossedSpec, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed per-user counts in [min_per_user, max_per_user], summing exactly to ``n``."""
    raw = rng.lognormal(0.0, spec.user_sigma, spec.users)
    extra = spec.n - spec.min_per_user * spec.users
    cap = min(spec.items, spec.max_per_user) - spec.min_per_user
    w = raw / raw.sum()
    cnt = np.minimum(np.floor(w * extra), cap)
    for _ in range(50):  # spread what the cap cut off over the uncapped users
        rest = extra - cnt.sum()
        if rest <= 0:
            break
        free = cnt < cap
        add = np.floor(w * free / (w * free).sum() * rest)
        cnt = np.minimum(cnt + add, cap)
        if add.sum() == 0:
            break
    rest = int(extra - cnt.sum())
    if rest > 0:  # the last few, one each to random uncapped users
        free = np.flatnonzero(cnt < cap)
        cnt[rng.choice(free, size=rest, replace=False)] += 1
    return (cnt + spec.min_per_user).astype(np.int64)


def crossed_ratings(spec: CrossedSpec = CrossedSpec()) -> pd.DataFrame:
    """The data frame ``rating, user, item`` (user/item categorical, level order = id order)."""
    rng = np.random.default_rng(spec.seed)
    counts = _user_counts(spec, rng)
    pop = 1.0 / np.arange(1, spec.items + 1) ** spec.item_zipf
    pop = pop[rng.permutation(spec.items)]  # popularity unrelated to item id
    users, items = [], []
    chunk = 512
    for s in range(0, spec.users, chunk):
        c = counts[s:s + chunk]
        keys = rng.exponential(size=(c.size, spec.items)) / pop[None, :]
        order = np.argsort(keys, axis=1)
        take = np.arange(spec.items)[None, :] < c[:, None]
        items.append(order[take])
        users.append(np.repeat(np.arange(s, s + c.size), c))
    user = np.concatenate(users)
    item = np.concatenate(items)
    a = rng.normal(0.0, 0.45, spec.users)
    b = rng.normal(0.0, 0.55, spec.items)
    latent = 3.6 + a[user] + b[item] + rng.normal(0.0, 0.9, user.size)
    rating = np.clip(np.rint(latent), 1, 5)
    perm = rng.permutation(user.size)  # rows in random order, as a ratings file would be
    uw, iw = max(4, len(str(spec.users))), max(4, len(str(spec.items)))  # (ml-1m: 4 digits each)
    ulev = [f"u{i + 1:0{uw}d}" for i in range(spec.users)]
    ilev = [f"m{i + 1:0{iw}d}" for i in range(spec.items)]
    return pd.DataFrame({
        "rating": rating[perm],
        "user": pd.Categorical.from_codes(user[perm], categories=ulev),
        "item": pd.Categorical.from_codes(item[perm], categories=ilev),
    })


@dataclass(frozen=True)
class PoissonSpec:
    """Shape of the synthetic Poisson GLMM data (``parity bench-glmm --case poisson_large``): counts over sites
    (many levels) crossed with years (few), an exposure offset, a covariate and a 3-level factor."""

    n: int = 100_000
    sites: int = 2_000
    years: int = 20
    site_sd: float = 0.6
    year_sd: float = 0.3
    seed: int = 20261127


def poisson_counts(spec: PoissonSpec = PoissonSpec()) -> pd.DataFrame:
    """The data frame ``y, x, f, expo, site, year``: ``y ~ Poisson(expo * exp(-1 + 0.3 x + f effect + a_site +
    b_year))``, sites drawn with Zipf-like frequencies (every site at least once), years uniformly."""
    rng = np.random.default_rng(spec.seed)
    w = 1.0 / np.arange(1, spec.sites + 1) ** 0.7
    site = np.concatenate([np.arange(spec.sites), rng.choice(spec.sites, spec.n - spec.sites, p=w / w.sum())])
    site = site[rng.permutation(spec.n)]
    year = rng.integers(0, spec.years, spec.n)
    x = np.round(rng.normal(0.0, 1.0, spec.n), 3)
    f = rng.integers(0, 3, spec.n)
    expo = np.round(rng.uniform(0.5, 3.0, spec.n), 2)
    a = rng.normal(0.0, spec.site_sd, spec.sites)
    b = rng.normal(0.0, spec.year_sd, spec.years)
    eta = -1.0 + 0.3 * x + np.array([0.0, 0.4, -0.3])[f] + a[site] + b[year] + np.log(expo)
    return pd.DataFrame({
        "y": rng.poisson(np.exp(eta)).astype(np.float64),
        "x": x,
        "f": pd.Categorical.from_codes(f, categories=["a", "b", "c"]),
        "expo": expo,
        "site": pd.Categorical.from_codes(site, categories=[f"s{i + 1:04d}" for i in range(spec.sites)]),
        "year": pd.Categorical.from_codes(year, categories=[str(2000 + i) for i in range(spec.years)]),
    })


#: the synthetic GLMM data sets ``parity bench-glmm`` names (``synthetic:NAME``)
GLMM_SPECS: dict[str, PoissonSpec] = {"poisson_large": PoissonSpec()}


__all__ = ["CrossedSpec", "ML10M", "SPECS", "crossed_ratings", "PoissonSpec", "poisson_counts", "GLMM_SPECS"]
