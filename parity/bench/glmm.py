"""``parity bench-glmm``: lme4's ``glmer()`` and :func:`pyreterms.glmm.glmer.glmer` timed side by side, in
one run, on the same machine (issue 18 item 5's bench rows).

For every case: the whole fit (medians over ``--repeat`` fits; elapsed time, R ``proc.time()`` elapsed and
Python ``perf_counter``, and process CPU time, R ``user.self + sys.self`` and Python ``process_time``, which a
shared machine disturbs less), the number of stage-2 deviance evaluations (R ``optinfo$feval``) and the CPU
time per evaluation (fit CPU time / evaluations), and agreement: the optimized criterion (R ``devcomp$cmp[["dev"]]``)
as a relative difference.  Python timings run with BLAS pinned to 1 thread (threadpoolctl, as
:mod:`parity.bench.run`); R uses its reference BLAS.  The load average of the machine before and after the
run is printed with the table (the machine may be shared).  ``--background-load K [K ...]`` repeats the whole
measurement beside K CPU-bound processes (:mod:`parity.bench.bgload`, as ``parity bench``): one table each.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from parity.bench.bgload import background_load
from parity.bench.data import GLMM_SPECS, poisson_counts
from parity.bench.run import machine_info
from parity.cli.args import BadInput
from parity.r import convert
from parity.r import session as rsession
from parity.r.datasource import load_source
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.glmer import glmer

__all__ = ["GlmmBenchCase", "GLMM_BENCH_CASES", "run_glmm_case", "format_glmm_table", "add_command"]


@dataclass(frozen=True)
class GlmmBenchCase:
    """One GLMM benchmark: ``data`` is ``r:PKG::NAME`` or ``synthetic:NAME`` (:data:`parity.bench.data.GLMM_SPECS`,
    generated in Python and handed to R as a data.frame); R: ``glmer(formula, data, family, nAGQ = nAGQ)``."""

    name: str
    data: str
    formula: str
    family: str
    nAGQ: int = 1
    big: bool = False  # one fit per side, whatever --repeat says


GLMM_BENCH_CASES: tuple[GlmmBenchCase, ...] = (
    GlmmBenchCase("cbpp", "r:lme4::cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial"),
    GlmmBenchCase("cbpp_agq9", "r:lme4::cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                  "binomial", 9),
    GlmmBenchCase("grouseticks", "r:lme4::grouseticks", "TICKS ~ YEAR + (1 | BROOD)", "poisson"),
    GlmmBenchCase("verbagg", "r:lme4::VerbAgg", "r2 ~ (Anger + Gender + btype + situ)^2 + (1 | id) + (1 | item)",
                  "binomial", big=True),
    GlmmBenchCase("poisson_large", "synthetic:poisson_large",
                  "y ~ x + f + offset(log(expo)) + (1 | site) + (1 | year)", "poisson", big=True),
    GlmmBenchCase("grouseticks_nested", "r:lme4::grouseticks",
                  "TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", "poisson"),
    # vector terms (Lambda not diagonal: the kernel runs on U = Z Lambda)
    GlmmBenchCase("sleepstudy_slopes", "r:lme4::sleepstudy", "I(Reaction > 280) ~ Days + (Days | Subject)",
                  "binomial"),
    GlmmBenchCase("verbagg_slopes", "r:lme4::VerbAgg",
                  "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 + btype | item)", "binomial", big=True),
)

_R_GFIT = r"""
function(formula, data, family, nAGQ, k) {
  fo <- as.formula(formula)
  fam <- get(family, mode = "function", envir = asNamespace("stats"))()
  times <- numeric(k)
  cpu <- numeric(k)
  for (i in seq_len(k)) {
    t0 <- proc.time()
    fit <- suppressWarnings(suppressMessages(lme4::glmer(fo, data = data, family = fam, nAGQ = nAGQ)))
    t1 <- proc.time()
    times[i] <- t1[["elapsed"]] - t0[["elapsed"]]
    cpu[i] <- (t1[["user.self"]] + t1[["sys.self"]]) - (t0[["user.self"]] + t0[["sys.self"]])
  }
  list(times = times, cpu = cpu, feval = fit@optinfo$feval, dev = unname(fit@devcomp$cmp[["dev"]]))
}
"""


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "-"


def _frames(case: GlmmBenchCase) -> tuple[Any, Any]:
    """(pandas data, R data.frame) for a case."""
    import rpy2.rinterface as ri  # rpy2 is the parity extra, loaded with R

    if case.data.startswith("synthetic:"):
        df = poisson_counts(GLMM_SPECS[case.data.split(":", 1)[1]])
        return df, convert.dataframe_to_r(df)
    pkg, name = case.data[2:].split("::")
    rdf = rsession.r_call(rsession.helper("get_data"), ri.StrSexpVector([pkg]), ri.StrSexpVector([name]))
    return load_source(case.data), rdf


def _python_side(case: GlmmBenchCase, df: Any, k: int) -> dict[str, Any]:
    times, cpu, fit = [], [], None
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(k):
            t0, c0 = time.perf_counter(), time.process_time()
            fit = glmer(case.formula, df, case.family, nAGQ=case.nAGQ)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    assert isinstance(fit, GlmerFit)
    return {"fit_s": float(np.median(times)), "samples": times, "cpu_s": float(np.median(cpu)), "cpu_samples": cpu,
            "feval": int(fit.feval), "dev": float(fit.fval), "n": len(df)}


def _r_side(case: GlmmBenchCase, rdf: Any, k: int, limit: float) -> dict[str, Any]:
    import rpy2.rinterface as ri  # rpy2 is the parity extra, loaded with R

    fn = rsession.r_eval(_R_GFIT)
    try:
        r = rsession.r_call(fn, ri.StrSexpVector([case.formula]), rdf, ri.StrSexpVector([case.family]),
                            ri.IntSexpVector([case.nAGQ]), ri.IntSexpVector([k]), time_limit=limit)
    except rsession.RCallError as e:
        return {"error": str(e).splitlines()[0]}
    d = dict(zip(r.names, r, strict=True))
    times = [float(t) for t in d["times"]]
    cpu = [float(t) for t in d["cpu"]]
    return {"fit_s": float(np.median(times)), "samples": times, "cpu_s": float(np.median(cpu)), "cpu_samples": cpu,
            "feval": int(d["feval"][0]), "dev": float(d["dev"][0])}


def run_glmm_case(case: GlmmBenchCase, k: int, limit: float) -> dict[str, Any]:
    """Time one case on both sides (R first) and compare the optimized criterion."""
    k = 1 if case.big else k
    df, rdf = _frames(case)
    r = _r_side(case, rdf, k, limit)
    py = _python_side(case, df, k)
    rel = abs(py["dev"] - r["dev"]) / abs(r["dev"]) if "dev" in r else None
    ratio = r["fit_s"] / py["fit_s"] if "fit_s" in r and py["fit_s"] > 0 else None
    cpu_ratio = r["cpu_s"] / py["cpu_s"] if "cpu_s" in r and py["cpu_s"] > 0 else None
    return {"name": case.name, "data": case.data, "formula": case.formula, "family": case.family,
            "nAGQ": case.nAGQ, "fits": k, "lme4": r, "pyreterms": py, "ratio": ratio, "cpu_ratio": cpu_ratio,
            "criterion_rel_diff": rel}


def _t(x: float | None) -> str:
    return "-" if x is None else (f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s")


def format_glmm_table(result: dict[str, Any]) -> str:
    """The markdown table (times are medians; ratio = lme4 / pyreterms: above 1, pyreterms is faster; "cpu":
    process CPU time, R's user + system, which a shared machine disturbs less than elapsed time)."""
    rows = ["| case | n | family, nAGQ | fits | fit lme4 | fit py | x | cpu lme4 | cpu py | x cpu | feval lme4/py "
            "| cpu per eval lme4 / py | crit rel diff |", "|" + "---|" * 13]
    for c in result["cases"]:
        r, p = c["lme4"], c["pyreterms"]
        per_r = r["cpu_s"] / r["feval"] if r.get("feval") and "cpu_s" in r else None
        per_p = p["cpu_s"] / p["feval"] if p.get("feval") else None
        rows.append(f"| {c['name']} | {p['n']:,} | {c['family']}, {c['nAGQ']} | {c['fits']} | "
                    f"{_t(r.get('fit_s')) if 'error' not in r else 'failed: ' + r['error'][:40]} | {_t(p['fit_s'])} | "
                    f"{'-' if c['ratio'] is None else format(c['ratio'], '.2f') + 'x'} | {_t(r.get('cpu_s'))} | "
                    f"{_t(p.get('cpu_s'))} | "
                    f"{'-' if c.get('cpu_ratio') is None else format(c['cpu_ratio'], '.2f') + 'x'} | "
                    f"{r.get('feval', '-')}/"
                    f"{p['feval']} | {_t(per_r)} / {_t(per_p)} | "
                    f"{'-' if c['criterion_rel_diff'] is None else format(c['criterion_rel_diff'], '.1e')} |")
    return "\n".join(rows)


def cmd_bench_glmm(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise BadInput("--repeat must be >= 1")
    if any(k < 0 for k in args.background_load):
        raise BadInput("--background-load must be >= 0")
    known = {c.name: c for c in GLMM_BENCH_CASES}
    bad = [n for n in args.case or () if n not in known]
    if bad:
        raise BadInput(f"unknown case(s) {bad}; known: {sorted(known)}")
    cases = [c for c in GLMM_BENCH_CASES if not args.case or c.name in args.case]
    result: dict[str, Any] = {"machine": machine_info(), "versions": rsession.versions(), "repeat": args.repeat,
                              "background_load": args.background_load, "loadavg_before": _loadavg(), "cases": []}
    tables = []
    for k in args.background_load:
        with background_load(k) as load:
            described = load.describe()
            print(f"[bench-glmm] background load: {described}", file=sys.stderr, flush=True)
            rows = []
            for case in cases:
                print(f"[bench-glmm] {case.name} (load {_loadavg()}) ...", file=sys.stderr, flush=True)
                res = run_glmm_case(case, args.repeat, args.time_limit)
                res["background_load"] = {"k": k, "kinds": list(load.kinds), "described": described}
                rows.append(res)
        result["cases"] += rows
        tables.append((described, format_glmm_table({"cases": rows})))
    result["loadavg_after"] = _loadavg()
    m = result["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB; R {result['versions']['R']}, lme4 "
          f"{result['versions']['lme4']} (reference BLAS); Python {m['python']}, numpy {m['numpy']} (BLAS 1 thread). "
          f"Medians of {args.repeat}; ratio = lme4/pyreterms. Load average (1, 5, 15 min) before "
          f"{result['loadavg_before']}, after {result['loadavg_after']}.")
    for described, table in tables:
        print(f"\nBackground load during the measurement: {described}\n")
        print(table)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    """Register ``parity bench-glmm``."""
    b = sub.add_parser("bench-glmm", help="time lme4's glmer and pyreterms' glmer side by side")
    b.add_argument("--case", nargs="+", default=None, help=f"cases: {', '.join(c.name for c in GLMM_BENCH_CASES)}")
    b.add_argument("--repeat", type=int, default=3, help="fits per side (median reported; verbagg: 1)")
    b.add_argument("--json", default=None, help="write the full results here")
    b.add_argument("--time-limit", type=float, default=3600.0, help="R elapsed-time limit per case (s)")
    b.add_argument("--background-load", type=int, nargs="+", default=[0], metavar="K",
                   help="run K CPU-bound processes (python and BLAS loops alternately) during the measurement, "
                        "as parity bench does; several values: one table each (e.g. 0 1)")
    b.set_defaults(func=cmd_bench_glmm)
