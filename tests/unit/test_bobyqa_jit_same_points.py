"""The numba-compiled BOBYQA port (:func:`pyreterms.jitcache.jit_numpy_errors`) evaluates exactly the points of its
pure-Python code: the same kernels run uncompiled in a subprocess with ``NUMBA_DISABLE_JIT=1`` on many
random quadratics (convex, indefinite, with and without bounds, starts on a bound, non-finite values,
several NPT, MAXFUN stops) and on RESCUE after PRELIM with degenerate points, and every point, value,
count, exit code and work array must agree bit for bit. That pure-Python code is the port that
tests/live/test_bobyqa_minqa.py checks against R's points.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pyreterms.lmm.bobyqa_minqa import bobyqa
from pyreterms.lmm.bobyqa_prelim import prelim
from pyreterms.lmm.bobyqa_rescue import rescue
from pyreterms.lmm.bobyqa_trsbox import trsbox

N_CASES = 72
N_RESCUES = 24


def _case(seed: int) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Case ``seed``: (objective, par, lower, upper, control), all drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    n = 1 + seed % 6
    kind = (seed // 6) % 6
    m = rng.standard_normal((n, n))
    if kind == 2:  # indefinite: the box stops it
        a = m + m.T
    else:
        a = m @ m.T + 0.1 * np.eye(n)
    b = rng.standard_normal(n)
    par = rng.uniform(-1.0, 1.0, n)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    if kind in (1, 2, 3, 4):  # a box, the minimum often outside it
        lower = par - rng.uniform(0.05, 1.0, n)
        upper = par + rng.uniform(0.05, 1.0, n)
    if kind == 3:  # the start on a bound
        lower[0] = par[0]
    if kind == 4:  # one-sided bounds
        upper[:] = np.inf
    npt = [n + 2, 2 * n + 1, (n + 1) * (n + 2) // 2][(seed // 36) % 3]
    control: dict[str, Any] = {"npt": npt}
    if seed % 5 == 0:
        control["maxfun"] = npt + 3 * n
    if seed % 7 == 0:
        control["rhoend"] = 1e-3
    cut = par[0] + 0.3

    def fn(x: np.ndarray) -> float:
        if kind == 5 and x[0] > cut:
            return np.inf  # minqa's DBL_MAX replacement
        return float(0.5 * x @ a @ x + b @ x + 1.0)

    return fn, par, lower, upper, control


def _rescue_case(seed: int) -> np.ndarray:
    """PRELIM on a random smooth function, one interpolation point made nearly coincident with XOPT
    (and given an explicit curvature term), then RESCUE: every array and evaluated point, flattened."""
    rng = np.random.default_rng(1000 + seed)
    n = 1 + seed % 4
    npt = [n + 2, 2 * n + 1, (n + 1) * (n + 2) // 2][(seed // 4) % 3]
    ndim = npt + n
    c = rng.standard_normal(3 * n)
    x = np.concatenate([[0.0], rng.uniform(-1.0, 1.0, n)])
    xl = x - rng.uniform(0.7, 3.0, n + 1)
    xu = x + rng.uniform(0.7, 3.0, n + 1)
    sl, su = xl - x, xu - x
    xbase, xpt, fval = np.zeros(n + 1), np.zeros((npt + 1, n + 1)), np.zeros(npt + 1)
    gopt, hq, pq = np.zeros(n + 1), np.zeros(n * (n + 1) // 2 + 1), np.zeros(npt + 1)
    bmat, zmat = np.zeros((ndim + 1, n + 1)), np.zeros((npt + 1, npt - n))
    seen: list[np.ndarray] = []

    def f(p: np.ndarray) -> float:
        seen.append(np.array(p))
        return float(np.sum(c[:n] * p ** 3) + np.sum(c[n:2 * n] * p) + np.sum(p * p) + np.exp(0.3 * c[2 * n] * p[0]))

    nf, kopt, _ = prelim(n, npt, x, xl, xu, 0.3, 200, xbase, xpt, fval, gopt, hq, pq, bmat, zmat, ndim, sl, su, f)
    for kd in [k for k in range(1, npt + 1) if k != kopt][:1 + seed % 3]:
        xpt[kd, 1:] = xpt[kopt, 1:] + 1e-9 * kd * np.eye(n)[0]
        fval[kd] = f(xbase[1:] + xpt[kd, 1:])
        pq[kd] = 0.7
    xopt = xpt[kopt].copy()
    vlag, ptsaux, ptsid, w = np.zeros(ndim + 1), np.zeros((3, n + 1)), np.zeros(npt + 1), np.zeros(ndim + npt + 1)
    nf2, kopt2, f2 = rescue(n, npt, xl, xu, nf + seed % 5, xbase, xpt, fval, xopt, gopt, hq, pq, bmat, zmat,
                            ndim, sl, su, nf, 0.2, kopt, vlag, ptsaux, ptsid, w, f)
    return np.concatenate([[nf, kopt, nf2, kopt2, f2], *seen, xbase, xpt.ravel(), fval, xopt, gopt, hq, pq,
                           bmat.ravel(), zmat.ravel(), sl, su, vlag, ptsaux.ravel(), ptsid, w])


def run_cases() -> dict[str, np.ndarray]:
    """Every case's evaluated points and values, ``par``, ``fval``, ``feval`` and ``ierr``."""
    out: dict[str, np.ndarray] = {}
    for seed in range(N_CASES):
        fn, par, lower, upper, control = _case(seed)
        xs: list[np.ndarray] = []
        fs: list[float] = []

        def rec(x: np.ndarray, fn: Any = fn, xs: list[np.ndarray] = xs, fs: list[float] = fs) -> float:
            xs.append(np.array(x))
            fs.append(fn(x))
            return fs[-1]

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = bobyqa(rec, par, lower, upper, control)
        out[f"x{seed}"] = np.array(xs)
        out[f"f{seed}"] = np.array(fs)
        out[f"r{seed}"] = np.concatenate([r["par"], [r["fval"], r["feval"], r["ierr"]]])
    for seed in range(N_RESCUES):
        out[f"rescue{seed}"] = _rescue_case(seed)
    return out


def test_compiled_and_pure_python_evaluate_the_same_points(tmp_path: Path) -> None:
    path = tmp_path / "pure.npz"
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
              "import numpy as np, numba, test_bobyqa_jit_same_points as t; "
              "assert numba.config.DISABLE_JIT; "
              "from pyreterms.lmm.bobyqa_trsbox import trsbox; assert not hasattr(trsbox, 'py_func'); "
              f"np.savez({str(path)!r}, **t.run_cases())")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=600)
    assert hasattr(trsbox, "py_func")  # this process runs the compiled kernels
    compiled = run_cases()
    pure = dict(np.load(path))
    assert sorted(pure) == sorted(compiled)
    exits = set()
    for key, value in compiled.items():
        assert value.shape == pure[key].shape, key
        assert value.tobytes() == pure[key].tobytes(), key  # bit for bit, NaN payloads included
        if key.startswith("r") and not key.startswith("rescue"):
            exits.add(int(value[-1]))
    assert {0, 1} <= exits  # normal exits and MAXFUN stops both reached
    assert sum(len(v) for k, v in compiled.items() if k.startswith("f")) > 2000
    rescues = [compiled[f"rescue{seed}"] for seed in range(N_RESCUES)]
    assert any(r[2] > r[0] + 1 for r in rescues)  # RESCUE evaluated several new points
    assert any(r[2] == -1 for r in rescues)  # and MAXFUN stopped it
