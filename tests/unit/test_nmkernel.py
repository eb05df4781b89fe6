"""The compiled Nelder-Mead engine (pyreterms/lmm/nmkernel.py) against the reference Python engine
(pyreterms/lmm/neldermead.py's NelderMeadEngine): the same points evaluated, bit for bit, and the same result,
on random objectives with NaN regions, bounds, shrink steps and maxfun exits."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pyreterms.errors import LmeCheckError, LmeWarning
from pyreterms.lmm.neldermead import ALPHA, BETA, DELTA, GAMMA, NelderMeadEngine, nelder_mead


def _objective(rng: np.random.Generator, n: int):
    a = rng.normal(size=(n, n))
    h = a @ a.T + 0.1 * np.eye(n)
    x0 = rng.normal(size=n)
    kind = int(rng.integers(0, 4))
    nan_r = float(rng.uniform(0.5, 3.0))
    nan_c = rng.normal(size=n) * 2

    def f(x: np.ndarray) -> float:
        d = x - x0
        v = float(d @ h @ d)
        if kind == 1:  # rugged: forces contractions and shrinks
            v += float(np.sum(np.abs(np.sin(7 * x))))
        if kind == 2 and float(np.sum((x - nan_c) ** 2)) < nan_r:  # NaN region
            return float("nan")
        if kind == 3:  # flat plateau: exact ties between vertices
            v = float(np.floor(v * 4) / 4)
        return v

    return f


def _run(f, par, lower, upper, control, compiled):
    pts: list[np.ndarray] = []

    def rec(x: np.ndarray) -> float:
        pts.append(x.copy())
        return f(x)

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out = nelder_mead(rec, par, lower, upper, dict(control), compiled=compiled)
        except LmeCheckError as e:
            out = {"error": str(e)}
    return pts, out, [str(x.message) for x in w if issubclass(x.category, LmeWarning)]


def _case(seed: int) -> tuple:
    """Random case ``seed``: (objective, par, lower, upper, control)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    f = _objective(rng, n)
    par = rng.normal(size=n)
    lower = np.where(rng.random(n) < 0.5, par - rng.uniform(0.0, 0.1, n), -np.inf)
    upper = np.where(rng.random(n) < 0.3, par + rng.uniform(0.0, 0.1, n), np.inf)
    control: dict = {"xst": rng.uniform(0.01, 0.5, n) * rng.choice([-1.0, 1.0], n)}
    if seed % 4 == 0:
        control["maxfun"] = int(rng.integers(3, 40))
    if seed % 5 == 0:
        control["MinfMax"] = float(rng.uniform(0.0, 1.0))
    if seed % 6 == 0:
        control["warnOnly"] = True
    return f, par, lower, upper, control


@pytest.mark.parametrize("seed", range(60))
def test_compiled_engine_walks_the_reference_path(seed: int) -> None:
    f, par, lower, upper, control = _case(seed)
    ref_pts, ref, ref_w = _run(f, par, lower, upper, control, False)
    jit_pts, out, jit_w = _run(f, par, lower, upper, control, True)
    assert len(ref_pts) == len(jit_pts)
    for a, b in zip(ref_pts, jit_pts, strict=True):
        assert a.tobytes() == b.tobytes()
    assert ref.keys() == out.keys()
    for k in ref:
        if isinstance(ref[k], np.ndarray):
            assert ref[k].tobytes() == out[k].tobytes()
        else:
            assert ref[k] == out[k] or (ref[k] != ref[k] and out[k] != out[k])
    assert ref_w == jit_w


def test_random_cases_reach_every_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases above do exercise the maxfun, MinfMax and x-convergence exits, NaN values and every move of
    the simplex (reflect, expand, both contractions, shrink; else the comparison would miss paths)."""
    scales: set = set()
    orig = NelderMeadEngine._reflectpt

    def spy(self, c, scale, xold):  # type: ignore[no-untyped-def]
        scales.add(scale)
        return orig(self, c, scale, xold)

    monkeypatch.setattr(NelderMeadEngine, "_reflectpt", spy)
    seen: set = set()
    nan_seen = False
    for seed in range(60):
        f, par, lower, upper, control = _case(seed)
        _run(f, par, lower, upper, control, False)
        pts, out, _ = _run(f, par, lower, upper, control, True)
        nan_seen = nan_seen or any(np.isnan(f(p)) for p in pts)
        seen.add(out.get("NM.result", "error"))
    assert {1, 3, 4} <= seen
    assert nan_seen
    assert {ALPHA, GAMMA, BETA, -BETA, -DELTA} <= scales
