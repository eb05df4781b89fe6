"""``parity bench``: lme4 and pyreterms timed side by side, in one run, on the same machine.

For every case it measures (medians over ``--repeat`` runs; fast steps are looped so one sample
lasts >= 50 ms and divided):

* building the terms: R ``lFormula()`` vs :func:`pyreterms.lformula`;
* one deviance evaluation at a fixed theta (pyreterms' fitted theta): R's ``devfun`` from
  ``lmer(..., devFunOnly = TRUE)`` vs :meth:`LmerProblem.deviance` (plus the build time of
  ``LmerProblem``, R: ``mkLmerDevfun``'s setup is inside ``lFormula``/``devFunOnly``);
* the whole fit: ``lmer()`` vs :func:`pyreterms.lmer` (BOBYQA evaluations: R ``optinfo$feval``);
* peak memory: Python, VmHWM minus VmRSS before the fit in a fresh child process per case; R, the
  ``max used`` of ``gc(reset = TRUE)`` around ``lmer()`` (R heap only, not CHOLMOD's C heap);
* agreement: deviance at the same theta (relative difference, pyreterms' fitted theta and the
  initial theta) and the fitted criterion (REML criterion or deviance).

Python timings run with BLAS pinned to 1 thread (threadpoolctl), except what ``lmer``'s default
``blas_threads="auto"`` does inside a fit (scipy's LAPACK on 2 threads for an evaluation of a large
dense factor only when a second core is free and that measures faster:
:class:`pyreterms.lmm.threads.ThreadTuner`); the fit is also timed with ``blas_threads=1`` beside it.
R uses its reference BLAS (1 thread).

``--background-load K [K ...]`` repeats the whole measurement beside K CPU-bound processes
(:mod:`parity.bench.bgload`: a Python loop and a BLAS loop alternately), one table per K.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import pyreterms
from parity.bench.bgload import background_load
from parity.bench.data import SPECS, crossed_ratings
from parity.bench.huge import format_huge, run_huge_case
from parity.cli.args import BadInput
from parity.r import convert
from parity.r import session as rsession
from parity.r.datasource import load_source
from pyreterms.lmm.deviance import LmerProblem


@dataclass(frozen=True)
class BenchCase:
    """One benchmark case: ``data`` is ``r:PKG::NAME`` or ``synthetic:ml1m``."""

    name: str
    data: str
    formula: str
    REML: bool
    big: bool = False  # excluded by default; R steps run once
    huge: bool = False  # each side in its own process, step by step under time limits (parity.bench.huge)


CASES: tuple[BenchCase, ...] = (
    BenchCase("sleepstudy", "r:lme4::sleepstudy", "Reaction ~ Days + (Days | Subject)", True),
    BenchCase("penicillin", "r:lme4::Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True),
    BenchCase("pastes", "r:lme4::Pastes", "strength ~ 1 + (1 | batch/cask)", True),
    BenchCase("insteval_dept", "r:lme4::InstEval", "y ~ service * dept + (1 | s) + (1 | d)", False),
    BenchCase("insteval_3re", "r:lme4::InstEval",
              "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)", False),
    BenchCase("ml1m", "synthetic:ml1m", "rating ~ 1 + (1 | user) + (1 | item)", True, big=True),
    BenchCase("ml10m", "synthetic:ml10m", "rating ~ 1 + (1 | user) + (1 | item)", True, big=True, huge=True),
)

_R_BENCH = r"""
local({
  e <- new.env(parent = globalenv())
  e$tm <- function(f, k, inner) vapply(seq_len(k), function(i) {
    t0 <- proc.time()[["elapsed"]]; for (j in seq_len(inner)) f()
    (proc.time()[["elapsed"]] - t0) / inner }, 0)
  e$calib <- function(f, target) {
    t0 <- proc.time()[["elapsed"]]; f(); t <- proc.time()[["elapsed"]] - t0
    max(1L, as.integer(ceiling(target / max(t, 1e-3))))
  }
  e$lf <- function(formula, data, REML, k, single) {
    fo <- as.formula(formula); f <- function() lFormula(fo, data = data, REML = REML)
    inner <- if (single) 1L else e$calib(f, 0.05)
    e$tm(f, k, inner)
  }
  e$dev <- function(formula, data, REML, k, single, thetas) {
    fo <- as.formula(formula)
    t0 <- proc.time()[["elapsed"]]
    df <- suppressWarnings(suppressMessages(lmer(fo, data = data, REML = REML, devFunOnly = TRUE)))
    tb <- proc.time()[["elapsed"]] - t0
    vals <- vapply(thetas, function(th) df(th), 0)
    th <- thetas[[1]]; f <- function() df(th)
    inner <- if (single) 1L else e$calib(f, 0.05)
    list(times = e$tm(f, k, inner), values = vals, build = tb)
  }
  e$fit <- function(formula, data, REML, k, single) {
    fo <- as.formula(formula)
    f <- function() suppressWarnings(suppressMessages(lmer(fo, data = data, REML = REML)))
    invisible(gc(reset = TRUE)); m0 <- sum(gc()[, 2])
    fit <- f()
    mem <- sum(gc()[, 6]) - m0
    inner <- if (single) 1L else e$calib(f, 0.05)
    times <- if (single) numeric(0) else e$tm(f, k, inner)
    cmp <- fit@devcomp$cmp
    list(times = times, feval = fit@optinfo$feval,
         crit = unname(if (REML) cmp[["REML"]] else cmp[["dev"]]),
         theta = unname(getME(fit, "theta")), mem = mem, first = NA_real_)
  }
  e$fit1 <- function(formula, data, REML) {
    t0 <- proc.time()[["elapsed"]]; r <- e$fit(formula, data, REML, 1L, TRUE)
    r$first <- proc.time()[["elapsed"]] - t0; r
  }
  e
})
"""

_CHILD = r"""
import json, sys, pickle, warnings
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024.0
df = pickle.load(open(sys.argv[1], "rb"))
import pyreterms
from threadpoolctl import threadpool_limits
rss0 = status("VmRSS")
with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fit = pyreterms.lmer(sys.argv[2], df, REML=sys.argv[3] == "1")
print(json.dumps({"rss_before_mb": rss0, "peak_mb": status("VmHWM")}))
"""


def machine_info() -> dict[str, Any]:
    """CPU model, cores and RAM from /proc (Linux), plus the Python stack versions."""
    import scipy

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor())
    mem_kb = next(int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 2 ** 20, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "python_blas_threads": 1,
            "python_fit_blas": ('lmer(blas_threads="auto"): scipy LAPACK on 2 threads for a large dense factor '
                                'only while a second core is free and 2 threads measure faster'),
            "r_blas": "R reference BLAS"}


def _time(f: Callable[[], Any], k: int, single: bool = False, target: float = 0.05) -> list[float]:
    """k samples of f's wall time (:func:`_time_each` of f alone)."""
    return _time_each([f], k, single, target)[0]


def _time_each(fs: list[Callable[[], Any]], k: int, single: bool = False,
               target: float = 0.05) -> list[list[float]]:
    """k samples of each callable's wall time, the callables sampled in turn (f, g, f, g, ...) so that
    none gets the quieter minute of a shared machine; after one warm-up call each, fast calls are looped
    (like R's side) and divided.  ``single``: the one (warm-up) call each is the sample."""
    firsts = []
    for f in fs:
        t0 = time.perf_counter()
        f()
        firsts.append(time.perf_counter() - t0)
    if single:
        return [[t] for t in firsts]
    inners = [max(1, int(np.ceil(target / max(t, 1e-6)))) for t in firsts]
    out: list[list[float]] = [[] for _ in fs]
    for _ in range(k):
        for f, inner, acc in zip(fs, inners, out, strict=True):
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            acc.append((time.perf_counter() - t0) / inner)
    return out


def _load(case: BenchCase) -> tuple[Any, Any]:
    """(pandas data, R data.frame) for a case."""

    if case.data.startswith("synthetic:"):
        df = crossed_ratings(SPECS[case.data.split(":", 1)[1]])
        return df, (None if case.huge else convert.dataframe_to_r(df))
    pkg, name = case.data[2:].split("::")
    import rpy2.rinterface as ri

    rdf = rsession.r_call(rsession.helper("get_data"), ri.StrSexpVector([pkg]), ri.StrSexpVector([name]))
    return load_source(case.data), rdf


def _rel(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b):
        return None
    return float(abs(a - b) / max(abs(b), 1e-300))


def _med(xs: list[float] | None) -> float | None:
    return float(np.median(xs)) if xs else None


def _python_side(case: BenchCase, df: Any, k: int) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits


    single = case.big
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_lf = _time(lambda: pyreterms.lformula(case.formula, df, REML=case.REML), k, single)
        lf = pyreterms.lformula(case.formula, df, REML=case.REML)
        rt, y = lf.reTrms, lf.y
        if y is None:  # lFormula keeps a non-numeric response; lmer (and so the benchmark) cannot fit it
            raise ValueError(f"bench case {case.name}: the response of {case.formula} is not numeric")

        def build() -> LmerProblem:
            return LmerProblem.build(lf.X.X, y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, lf.weights, lf.offset,
                                     lf.REML, nc=tuple(len(cn) for _, cn in rt.cnms))

        t_build = _time(build, k, single)
        prob = build()
        last: list = [None]

        def fit_once() -> None:  # keeps only the newest fit: a list of every fit made the garbage
            # collector's passes grow through the measurement (sleepstudy: 3.1 -> 4.0 ms per fit after
            # 120 kept fits), a cost only the "auto" column paid
            last[0] = pyreterms.lmer(case.formula, df, REML=case.REML)

        # the single-thread path, for the "default never slower than 1 thread" check; the two are
        # timed alternately, sample by sample, so that neither gets the quieter minute
        t_fit, t_fit1 = _time_each(
            [fit_once, lambda: pyreterms.lmer(case.formula, df, REML=case.REML, control={"blas_threads": 1})],
            k, single)
        fit = last[0]
        theta = np.asarray(fit.state.theta, dtype=np.float64)
        theta0 = np.asarray(rt.theta, dtype=np.float64)
        # uncached: LmerProblem.deviance memoises theta -> value (R re-evaluates repeated points)
        dev_eval = getattr(prob, "deviance_nocache", prob.deviance)
        t_dev = _time(lambda: dev_eval(theta), k, single)
        devs = [float(prob.deviance(theta)), float(prob.deviance(theta0))]
    return {"lformula_s": _med(t_lf), "problem_build_s": _med(t_build), "deviance_s": _med(t_dev),
            "fit_s": _med(t_fit), "fit_1thread_s": _med(t_fit1), "feval": int(fit.opt.feval),
            "n_devfun": int(fit.opt.n_devfun),
            "fit_criterion": float(fit.state.dev), "deviance": devs, "theta": theta.tolist(),
            "theta0": theta0.tolist(), "n": int(prob.n), "p": int(prob.p), "q": int(prob.q),
            "samples": {"lformula": t_lf, "problem_build": t_build, "deviance": t_dev, "fit": t_fit,
                        "fit_1thread": t_fit1}}


def _r_side(case: BenchCase, rdf: Any, k: int, thetas: list[list[float]], limit: float) -> dict[str, Any]:
    import rpy2.rinterface as ri


    env = rsession.r_eval(_R_BENCH)
    single = case.big
    args = (ri.StrSexpVector([case.formula]), rdf, ri.BoolSexpVector([case.REML]))
    out: dict[str, Any] = {"errors": {}}

    def call(name: str, *extra: Any) -> Any:
        try:
            return rsession.r_call(env[name], *args, *extra, time_limit=limit)
        except rsession.RCallError as e:
            out["errors"][name] = str(e).splitlines()[0]
            return None

    kk, one = ri.IntSexpVector([k]), ri.BoolSexpVector([single])
    r = call("lf", kk, one)
    out["lformula_s"] = _med(list(r)) if r is not None else None
    th = ri.ListSexpVector([convert.py_to_r([float(v) for v in t]) for t in thetas])
    r = call("dev", kk, one, th)
    if r is not None:
        out["deviance_s"], out["deviance"] = _med(list(r[0])), [float(v) for v in r[1]]
        out["devfun_build_s"] = float(r[2][0])
    r = call("fit1") if single else call("fit", kk, one)
    if r is not None:
        d = dict(zip(r.names, r, strict=True))
        out["fit_s"] = float(d["first"][0]) if single else _med(list(d["times"]))
        out["feval"] = int(d["feval"][0])
        out["fit_criterion"] = float(d["crit"][0])
        out["theta"] = [float(v) for v in d["theta"]]
        out["gc_max_used_mb"] = float(d["mem"][0])
    return out


def _python_memory(case: BenchCase, df: Any) -> dict[str, Any]:
    """Peak RSS of a fresh child process running pyreterms.lmer on the case (Linux /proc)."""
    import pickle

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.pkl")
        with open(path, "wb") as fh:
            pickle.dump(df, fh)
        res = subprocess.run([sys.executable, "-c", _CHILD, path, case.formula, "1" if case.REML else "0"],
                             capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        return {"error": (res.stderr.strip().splitlines() or ["child failed"])[-1]}
    d = json.loads(res.stdout.strip().splitlines()[-1])
    return {"peak_rss_mb": d["peak_mb"], "rss_before_fit_mb": d["rss_before_mb"],
            "fit_delta_mb": d["peak_mb"] - d["rss_before_mb"]}


def run_case(case: BenchCase, k: int, limit: float, memory: bool = True) -> dict[str, Any]:
    """Time and compare one case (Python first: its fitted theta is the fixed theta for devfun)."""
    df, rdf = _load(case)
    py = _python_side(case, df, k)
    r = _r_side(case, rdf, k, [py["theta"], py["theta0"]], limit)
    if memory:
        py.update(_python_memory(case, df))

    def ratio(key: str) -> float | None:
        a, b = r.get(key), py.get(key)
        return float(a / b) if a and b else None

    rdev = r.get("deviance") or [None, None]
    agree = {"theta": py["theta"],
             "deviance_rel_diff": _rel(py["deviance"][0], rdev[0]),
             "deviance_rel_diff_theta0": _rel(py["deviance"][1], rdev[1]),
             "criterion_rel_diff": _rel(py["fit_criterion"], r.get("fit_criterion"))}
    return {"name": case.name, "data": case.data, "formula": case.formula, "REML": case.REML,
            "lme4": r, "pyreterms": py,
            "ratios": {"lformula": ratio("lformula_s"), "deviance": ratio("deviance_s"), "fit": ratio("fit_s")},
            "agreement": agree}


def _fmt_t(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def _fmt_r(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}x"


def _fmt_e(x: float | None) -> str:
    return "-" if x is None else f"{x:.1e}"


def format_table(result: dict[str, Any]) -> str:
    """The markdown table ``parity bench`` prints (times are medians; ratio = lme4 / pyreterms)."""
    head = ("| case | n | terms lme4 | terms py | x | devfun lme4 | deviance py | x | Problem build py "
            "| fit lme4 | fit py | x | fit py 1 thread | feval lme4/py | mem lme4 / py | dev rel diff "
            "| crit rel diff |")
    rows = [head, "|" + "---|" * 17]
    for c in result["cases"]:
        r, p, q, a = c["lme4"], c["pyreterms"], c["ratios"], c["agreement"]
        fit_r = _fmt_t(r.get("fit_s")) if r.get("fit_s") is not None else "failed: " + "; ".join(
            r["errors"].values())[:60]
        mem_r = f"{r['gc_max_used_mb']:.0f}" if r.get("gc_max_used_mb") is not None else "-"
        mem_p = f"{p['fit_delta_mb']:.0f}" if p.get("fit_delta_mb") is not None else "-"
        rows.append(
            f"| {c['name']} | {p['n']:,} | {_fmt_t(r.get('lformula_s'))} | {_fmt_t(p['lformula_s'])} "
            f"| {_fmt_r(q['lformula'])} | {_fmt_t(r.get('deviance_s'))} | {_fmt_t(p['deviance_s'])} "
            f"| {_fmt_r(q['deviance'])} | {_fmt_t(p['problem_build_s'])} | {fit_r} | {_fmt_t(p['fit_s'])} "
            f"| {_fmt_r(q['fit'])} | {_fmt_t(p.get('fit_1thread_s'))} | {r.get('feval', '-')}/{p['feval']} "
            f"| {mem_r} / {mem_p} MB "
            f"| {_fmt_e(a['deviance_rel_diff'])} | {_fmt_e(a['criterion_rel_diff'])} |")
    return "\n".join(rows)


def select_cases(names: list[str] | None, everything: bool) -> list[BenchCase]:
    """``--case`` names (in table order), else all but the big ones (``--all``: all but the huge ones,
    which run only when named)."""
    if names:
        known = {c.name: c for c in CASES}
        bad = [n for n in names if n not in known]
        if bad:

            raise BadInput(f"unknown case(s) {bad}; known: {sorted(known)}")
        return [c for c in CASES if c.name in names]
    return [c for c in CASES if (everything and not c.huge) or not c.big]


def cmd_bench(args: argparse.Namespace) -> int:

    if args.repeat < 1:
        raise BadInput("--repeat must be >= 1")
    cases = select_cases(args.case, args.all)
    result: dict[str, Any] = {"machine": machine_info(), "versions": rsession.versions(),
                              "repeat": args.repeat, "time_limit_s": args.time_limit,
                              "memory": ("python: VmHWM - VmRSS before the fit, fresh child process; "
                                         "R: gc(reset=TRUE) max used (R heap)"), "cases": []}
    loads = args.background_load
    if any(k < 0 for k in loads):
        raise BadInput("--background-load must be >= 0")
    result["background_load"] = loads
    tables = []
    for k in loads:
        with background_load(k) as load:
            print(f"[bench] background load: {load.describe()}", file=sys.stderr, flush=True)
            cases_k = []
            for case in cases:
                print(f"[bench] {case.name} ...", file=sys.stderr, flush=True)
                if case.huge:
                    df, _ = _load(case)
                    hres = run_huge_case(case.formula, case.REML, df, args.time_limit, args.py_time_limit)
                    hres.update(name=case.name, data=case.data, formula=case.formula, REML=case.REML, n=len(df),
                                background_load={"k": k, "kinds": list(load.kinds), "described": load.describe()})
                    result["cases"].append(hres)
                    tables.append((load.describe(), format_huge(case.name, len(df), hres)))
                    continue
                res = run_case(case, args.repeat, args.time_limit, memory=not args.no_memory)
                res["background_load"] = {"k": k, "kinds": list(load.kinds), "described": load.describe()}
                cases_k.append(res)
        result["cases"] += cases_k
        if cases_k:
            tables.append((load.describe(), format_table({"cases": cases_k})))
    m = result["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB; R {result['versions']['R']}, "
          f"lme4 {result['versions']['lme4']} (reference BLAS); Python {m['python']}, numpy {m['numpy']}, "
          f"scipy {m['scipy']} (OpenBLAS pinned to 1 thread; inside fits lmer's blas_threads=\"auto\" decides). "
          f"Medians of {args.repeat}; ratio = lme4/pyreterms.")
    for described, table in tables:
        print(f"\nBackground load during the measurement: {described}\n")
        print(table)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Register ``parity bench`` (called by parity.cli_more)."""
    b = sub.add_parser("bench", help="time lme4 and pyreterms side by side (terms, deviance, fit, memory)")
    b.add_argument("--case", nargs="+", default=None, help=f"cases: {', '.join(c.name for c in CASES)}")
    b.add_argument("--all", action="store_true", help="include the 1M-row synthetic case (ml1m; ml10m only by --case)")
    b.add_argument("--repeat", type=int, default=3, help="samples per measurement (median reported)")
    b.add_argument("--json", default=None, help="write the full results here")
    b.add_argument("--time-limit", type=float, default=600.0, help="R elapsed-time limit per step (s)")
    b.add_argument("--background-load", type=int, nargs="+", default=[0], metavar="K",
                   help="run K CPU-bound processes (python and BLAS loops alternately) during the measurement; "
                        "several values: one table each (e.g. 0 1 2)")
    b.add_argument("--no-memory", action="store_true", help="skip the per-case memory child process")
    b.add_argument("--py-time-limit", type=float, default=3600.0,
                   help="pyreterms elapsed-time limit per step (s), huge cases (ml10m) only")
    b.set_defaults(func=cmd_bench)


__all__ = ["BenchCase", "CASES", "run_case", "format_table", "select_cases", "machine_info", "add_command"]
