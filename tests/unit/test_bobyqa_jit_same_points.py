"""The numba-compiled BOBYQA port (:mod:`pyreterms.lmm.bobyqa_jit`) evaluates exactly the points of its
pure-Python code: the same kernels run uncompiled in a subprocess with ``NUMBA_DISABLE_JIT=1`` on many
random quadratics (convex, indefinite, with and without bounds, starts on a bound, non-finite values,
several NPT, MAXFUN stops), and every point, value, count and exit code must agree bit for bit. That
pure-Python code is the port that tests/live/test_bobyqa_minqa.py checks against R's points.
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
from pyreterms.lmm.bobyqa_trsbox import trsbox

N_CASES = 72


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
        if key.startswith("r"):
            exits.add(int(value[-1]))
    assert {0, 1} <= exits  # normal exits and MAXFUN stops both reached
    assert sum(len(v) for k, v in compiled.items() if k.startswith("f")) > 2000
