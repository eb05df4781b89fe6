"""The compiled small-model evaluation (pyreterms/lmm/densekernel.py) against the Python path it replaces.

(No R: both sides are pyreterms; the kernel exists for speed only.  Parity with lme4 is checked by the
fit goldens and the live tier.)  The Python path is ``LmerProblem.build(..., kernel=False)``: numpy's
products and scipy's dpotrf/dtrsv.  Claim checked here: at any theta the kernel's deviance, beta, u, b,
mu, ldL2, ldRX2, pwrss and factor equal the Python path's to 1e-12 relative (on this machine they are
bit-identical for the shapes of the bench models, which the test also states where it holds by
construction: the diagonal-Lambda path makes the same elementwise products)."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import warnings
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pyreterms
from pyreterms.datasets import load_dataset
from pyreterms.jitcache import fallback_dir
from pyreterms.lmm import jitblas
from pyreterms.lmm.deviance import LmerProblem, PLSState, Workspace
from pyreterms.lmm.jitblas import pairwise_sum

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-12


def _synthetic(seed: int, n_groups: int, per: int, weights: bool = False, offset: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_groups * per
    g = np.repeat([f"g{i:03d}" for i in range(n_groups)], per)
    h = np.tile([f"h{i}" for i in range(per)], n_groups)
    x, z = rng.normal(size=n), rng.uniform(-1, 1, n)
    b = rng.normal(size=(n_groups, 3)) * [1.0, 0.5, 0.3]
    gi = np.repeat(np.arange(n_groups), per)
    y = 1.0 + 0.5 * x - z + b[gi, 0] + b[gi, 1] * x + b[gi, 2] * z + rng.normal(scale=0.7, size=n)
    d = pd.DataFrame({"y": y, "x": x, "z": z, "g": g, "h": h})
    if weights:
        d["w"] = rng.uniform(0.5, 2.0, n)
    if offset:
        d["o"] = rng.normal(scale=0.3, size=n)
    return d


#: (label, formula, data, REML, lformula keywords): vector-valued terms (sparse FMA products), scalar terms
#: (the diagonal path), nc = 3, q near the dense-Lambda limit, weights + offset, ML, no fixed effects
DESIGNS = [
    ("sleepstudy-slope", "Reaction ~ Days + (Days | Subject)", load_dataset("sleepstudy"), True, {}),
    ("sleepstudy-ml-uncorr", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", load_dataset("sleepstudy"),
     False, {}),
    ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", load_dataset("Penicillin"), True, {}),
    ("pastes", "strength ~ 1 + (1 | batch/cask)", load_dataset("Pastes"), True, {}),
    ("nc3-weights-offset", "y ~ x + z + (x + z | g)", _synthetic(1, 12, 6, weights=True, offset=True), True,
     {"weights": "w", "offset": "o"}),
    ("q110-crossed", "y ~ x + (x | g) + (1 | h)", _synthetic(2, 52, 5), True, {}),
    ("no-fixed", "y ~ 0 + (1 | g)", _synthetic(3, 9, 4), True, {}),
    ("scalar-weights", "y ~ x + (1 | g) + (1 | h)", _synthetic(4, 10, 5, weights=True), False, {"weights": "w"}),
]


def _problems(formula: str, data: pd.DataFrame, REML: bool, kw: dict[str, str]) -> tuple[LmerProblem, LmerProblem]:
    args = {k: data[v].to_numpy() for k, v in kw.items()}
    lf = pyreterms.lformula(formula, data, REML=REML, **args)
    rt = lf.reTrms
    assert lf.y is not None

    def build(kernel: bool) -> LmerProblem:
        return LmerProblem.build(lf.X.X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, lf.weights, lf.offset, lf.REML,
                                 nc=tuple(len(cn) for _, cn in rt.cnms), kernel=kernel)

    return build(True), build(False)


def _thetas(prob: LmerProblem, rng: np.random.Generator, k: int) -> list[np.ndarray]:
    """Random thetas: lme4's scale (0-3 on the diagonal, +-2 off it), one component on the boundary now
    and then, small and large scales."""
    lower = np.zeros(prob.ntheta)
    for t in prob.terms:
        lower[t.tmpl_theta[t.tmpl_rows != t.tmpl_cols]] = -np.inf
    out = []
    for i in range(k):
        th = np.where(lower == 0.0, rng.uniform(0.0, 3.0, lower.size), rng.uniform(-2.0, 2.0, lower.size))
        if i % 5 == 1:
            th[rng.integers(th.size)] = 0.0
        if i % 7 == 2:
            th = th * 1e-4
        if i % 11 == 3:
            th = th * 30.0
        out.append(th)
    return out


def _rel(a: np.ndarray | float, b: np.ndarray | float) -> float:
    a, b = np.atleast_1d(np.asarray(a, dtype=float)), np.atleast_1d(np.asarray(b, dtype=float))
    assert a.shape == b.shape
    if not a.size:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))


def _compare(s: PLSState, r: PLSState) -> float:
    worst = 0.0
    for name in ("dev", "ldL2", "ldRX2", "pwrss", "wrss", "ussq", "beta", "u", "b", "mu", "RX", "RZX", "cu"):
        d = _rel(getattr(s, name), getattr(r, name))
        assert d <= RTOL, f"{name}: relative difference {d:.2e} > {RTOL}"
        worst = max(worst, d)
    return worst


@pytest.mark.parametrize(("label", "formula", "data", "REML", "kw"), DESIGNS, ids=[d[0] for d in DESIGNS])
def test_kernel_equals_python_path(label: str, formula: str, data: pd.DataFrame, REML: bool,
                                   kw: dict[str, str]) -> None:
    pk, pr = _problems(formula, data, REML, kw)
    assert pk.kern is not None and pr.kern is None, "the design must take the kernel path (and the reference not)"
    rng = np.random.default_rng(zlib.crc32(label.encode()))
    for th in _thetas(pk, rng, 60):
        with np.errstate(all="ignore"):
            dk, dr = pk.deviance_nocache(th), pr.deviance_nocache(th)
            assert abs(dk - dr) <= RTOL * abs(dr), f"theta {th}: deviance {dk!r} vs {dr!r}"
            _compare(pk.solve(th), pr.solve(th))


def test_kernel_bits_on_the_bench_shapes() -> None:
    """Bit-identical where the kernel makes the Python path's own operations: the diagonal-Lambda path
    (Penicillin, Pastes: the same elementwise products, dpotrf, dtrsv, dgemv, ddot)."""
    for label in ("penicillin", "pastes"):
        _, formula, data, REML, kw = next(d for d in DESIGNS if d[0] == label)
        pk, pr = _problems(formula, data, REML, kw)
        rng = np.random.default_rng(7)
        for th in _thetas(pk, rng, 20):
            s, r = pk.solve(th), pr.solve(th)
            for name in ("beta", "u", "b", "mu"):
                np.testing.assert_array_equal(getattr(s, name), getattr(r, name))
            # (ldL2/ldRX2 sum the C library's log where numpy uses its SIMD log: 1e-12 in the test above)
            assert (s.wrss, s.ussq) == (r.wrss, r.ussq)


def test_dgemm_fallback_and_non_finite_inputs() -> None:
    """G with an infinite entry keeps the two dgemm (0 * inf must give dgemm's NaN); NaN and infinite
    thetas give what the Python path gives (both fall back to the blocked path or both give NaN)."""
    d = load_dataset("sleepstudy")
    lf = pyreterms.lformula("Reaction ~ Days + (Days | Subject)", d)
    rt = lf.reTrms
    X = lf.X.X.copy()
    X[3, 1] = 1e200  # X^T X overflows: G not finite
    assert lf.y is not None
    with np.errstate(all="ignore"):
        mk = [LmerProblem.build(X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, kernel=k) for k in (True, False)]
    assert mk[0].kern is not None and mk[0].kern.idata[9] == 0, "non-finite G must keep the dgemm products"
    pk, pr = _problems("Reaction ~ Days + (Days | Subject)", d, True, {})
    for th in (np.array([1.0, 0.1, 0.5]), np.array([np.nan, 0.0, 1.0]), np.array([np.inf, 0.0, 1.0])):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for a, b in ((mk[0], mk[1]), (pk, pr)):
                try:
                    va = a.deviance_nocache(th)
                except Exception as e:  # noqa: BLE001 - both sides must fail the same way
                    with pytest.raises(type(e)):
                        b.deviance_nocache(th)
                    continue
                vb = b.deviance_nocache(th)
                assert (np.isnan(va) and np.isnan(vb)) or va == vb or abs(va - vb) <= RTOL * abs(vb), (th, va, vb)


def test_kernel_follows_a_replaced_criterion() -> None:
    """refitML and ml_version replace ``REML`` on a built problem: the objective must follow (p > 0, so
    REML and ML differ); and it stays ``LmerProblem.objective`` (the mutation harness patches it there)."""
    pk, pr = _problems("Reaction ~ Days + (Days | Subject)", load_dataset("sleepstudy"), True, {})
    mk, mr = (dataclasses.replace(p, REML=False, ws=Workspace()) for p in (pk, pr))
    assert mk.kern is not None
    th = np.array([0.9, 0.02, 0.2])
    assert mk.deviance_nocache(th) == mr.deviance_nocache(th) != pk.deviance_nocache(th)
    _compare(mk.solve(th), mr.solve(th))
    orig = LmerProblem.objective
    try:
        LmerProblem.objective = lambda self, ldL2, ldRX2, pwrss: orig(self, ldL2, 0.0, pwrss)  # type: ignore[method-assign]
        assert pk.deviance_nocache(th) == pr.deviance_nocache(th) != orig(pr, *_pieces(pr, th))
    finally:
        LmerProblem.objective = orig  # type: ignore[method-assign]


def _pieces(prob: LmerProblem, th: np.ndarray) -> tuple[float, float, float]:
    s = prob.solve(th)
    return s.ldL2, s.ldRX2, s.pwrss


def test_best_solution_and_fit_through_the_kernel() -> None:
    """A whole fit: the kernel keeps the best evaluation in its buffer and ``solve`` at the optimum reads
    it (no refactorization); the state equals the Python path's solve at the same theta."""
    d = load_dataset("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pyreterms.lmer("Reaction ~ Days + (Days | Subject)", d)
    prob = fit.problem
    assert prob.kern is not None and prob.best_solved(fit.theta)
    _, pr = _problems("Reaction ~ Days + (Days | Subject)", d, True, {})
    _compare(fit.state, pr.solve(fit.theta))
    assert fit.state.dev == fit.opt.fval


def test_pairwise_sum_is_numpys() -> None:
    rng = np.random.default_rng(11)
    for n in list(range(0, 300)) + [511, 1024, 1031, 4099]:
        a = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
        assert pairwise_sum(a) == np.add.reduce(a), n
        if n > 3:
            assert jitblas.pairwise_sum_range(a, 2, n - 3) == np.add.reduce(a[2:n - 1]), n


def test_fma_rounds_once() -> None:
    """``fma(x, y, z)`` is the exact ``x * y + z`` rounded once (checked with rationals)."""
    probe = jitblas.jit(lambda x, y, z: jitblas.fma(x, y, z))
    rng = np.random.default_rng(5)
    for _ in range(300):
        x, y, z = (float(v) for v in rng.standard_normal(3) * 10.0 ** rng.uniform(-5, 5, 3))
        exact = Fraction(x) * Fraction(y) + Fraction(z)
        got = probe(x, y, z)
        assert got == float(exact), (x, y, z)  # float(Fraction) rounds to nearest


# ------------------------------------------------------------------------------------------
# the cache: read-only installs and concurrent processes

_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import jitblas
    a = np.arange(300.0)
    v = jitblas.pairwise_sum(a)
    print(json.dumps({"value": v, "hits": sum(jitblas.pairwise_sum.stats.cache_hits.values()),
                      "path": jitblas.pairwise_sum.stats.cache_path}))
""")


def _run_child(moddir: Path, env: dict[str, str]) -> dict[str, object]:
    res = subprocess.run([sys.executable, "-c", _CHILD, str(moddir)], capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out: dict[str, object] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def test_cache_falls_back_when_nothing_is_writable(tmp_path: Path) -> None:
    """A read-only install (no writable ``__pycache__`` beside the module) with no writable user cache
    directory: :func:`pyreterms.jitcache.jit` caches in ``<tempdir>/pyreterms-numba-<uid>``, and a second process
    loads from there.  (Run as root, permissions do not stop writes, so "not writable" is made a path
    under a regular file.)"""
    moddir = tmp_path / "pkg"
    moddir.mkdir()
    (moddir / "jitblas.py").write_text((ROOT / "pyreterms" / "lmm" / "jitblas.py").read_text())
    (moddir / "__pycache__").write_text("not a directory")  # numba's in-tree cache: impossible
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(blocker / "cache"), HOME=str(blocker / "home"), TMPDIR=str(tmpdir))
    first = _run_child(moddir, env)
    expected = Path(str(tmpdir)) / f"pyreterms-numba-{os.getuid()}"
    assert str(first["path"]).startswith(str(expected)), first
    assert first["value"] == float(np.add.reduce(np.arange(300.0)))
    second = _run_child(moddir, env)
    assert second["hits"] == 1, "the second process must load the cached function"
    assert fallback_dir().endswith(f"pyreterms-numba-{os.getuid()}")


def test_cache_written_by_concurrent_processes(tmp_path: Path) -> None:
    """Two processes compiling into one empty cache directory at once (pytest-xdist workers on a fresh
    checkout) both succeed, and a third loads the result."""
    moddir = tmp_path / "pkg"
    moddir.mkdir()
    (moddir / "jitblas.py").write_text((ROOT / "pyreterms" / "lmm" / "jitblas.py").read_text())
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(moddir)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
    third = _run_child(moddir, env)
    assert third["hits"] == 1 and str(third["path"]).startswith(str(tmp_path / "cache"))
