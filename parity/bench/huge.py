"""``parity bench`` for designs too large for the bench process (``ml10m``: 10M rows): lme4 and
pyreterms each run in a process of their own, step by step (terms, deviance function, one deviance,
the fit), every step under a time limit; a step that runs out is killed and reported with how far it
got (the fit: the optimizer evaluations reached), and each side reports its process's peak RSS.

R equivalent: the same calls as the in-process bench (:mod:`parity.bench.run`): ``lFormula``,
``lmer(..., devFunOnly = TRUE)``, ``devfun(theta0)``, ``lmer()`` (lme4 1.1-31), run by ``Rscript``
so that a step stuck in C code (CHOLMOD) can be stopped; the data goes over as binary columns.  The two
processes run at the same time (:func:`run_huge_case`).
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

#: the steps of one side, in order
STEPS = ("terms", "build", "deviance", "fit")

_R_CHILD = r"""
suppressMessages(library(lme4))
a <- commandArgs(TRUE); dir <- a[1]; fo <- as.formula(a[2]); REML <- a[3] == "1"
peak <- function() { s <- readLines("/proc/self/status"); l <- s[startsWith(s, "VmHWM")]
  as.numeric(strsplit(trimws(sub("VmHWM:", "", l)), " +")[[1]][1]) / 1024 }
emit <- function(step, status, extra = "") {
  cat(sprintf('{"step": "%s", "status": "%s", "t": %.6f, "peak_mb": %.1f%s}\n', step, status,
              proc.time()[["elapsed"]], peak(), extra)); flush(stdout()) }
n <- as.integer(readLines(file.path(dir, "n.txt")))
lev <- function(f) readLines(file.path(dir, f))
fac <- function(f, l) structure(readBin(file.path(dir, f), "integer", n) + 1L, levels = l, class = "factor")
d <- data.frame(rating = readBin(file.path(dir, "rating.f64"), "double", n),
                user = fac("user.i32", lev("user.txt")), item = fac("item.i32", lev("item.txt")))
emit("data", "done")
emit("terms", "start"); lf <- lFormula(fo, data = d, REML = REML); emit("terms", "done")
emit("build", "start")
df <- suppressWarnings(suppressMessages(lmer(fo, data = d, REML = REML, devFunOnly = TRUE)))
emit("build", "done")
th <- lf$reTrms$theta
emit("deviance", "start"); v <- df(th); emit("deviance", "done", sprintf(', "value": %.17g', v))
emit("fit", "start")
fit <- suppressWarnings(suppressMessages(lmer(fo, data = d, REML = REML)))
cmp <- fit@devcomp$cmp
emit("fit", "done", sprintf(', "feval": %d, "crit": %.17g, "theta": [%s]', fit@optinfo$feval,
     if (REML) cmp[["REML"]] else cmp[["dev"]], paste(sprintf("%.17g", getME(fit, "theta")), collapse = ", ")))
"""

_PY_CHILD = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
d, formula, reml = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024.0
def emit(step, status, **kw):
    print(json.dumps({"step": step, "status": status, "t": time.perf_counter(), "peak_mb": peak(), **kw}), flush=True)
n = int(open(d + "/n.txt").read())
lev = lambda f: open(d + "/" + f).read().splitlines()
cat = lambda f, l: pd.Categorical.from_codes(np.fromfile(d + "/" + f, dtype=np.int32, count=n), categories=l)
df = pd.DataFrame({"rating": np.fromfile(d + "/rating.f64", dtype=np.float64, count=n),
                   "user": cat("user.i32", lev("user.txt")), "item": cat("item.i32", lev("item.txt"))})
import pyreterms
from pyreterms.lmm.deviance import LmerProblem
from threadpoolctl import threadpool_limits
emit("data", "done")
evals = [0, time.perf_counter()]
plain = LmerProblem._deviance
def counted(self, theta, M=None):  # progress of the fit: one line per evaluation
    v = plain(self, theta, M)
    evals[0] += 1
    emit("fit", "progress", evals=evals[0], s=time.perf_counter() - evals[1])
    return v
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    emit("terms", "start"); lf = pyreterms.lformula(formula, df, REML=reml); emit("terms", "done")
    rt = lf.reTrms
    with threadpool_limits(limits=1, user_api="blas"):
        emit("build", "start")
        prob = LmerProblem.build(lf.X.X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, lf.weights, lf.offset, lf.REML,
                                 nc=tuple(len(cn) for _, cn in rt.cnms))
        emit("build", "done")
        emit("deviance", "start"); v = prob.deviance_nocache(np.asarray(rt.theta, dtype=np.float64))
        emit("deviance", "done", value=float(v))
    del prob, lf, rt  # the fit builds its own (the peak RSS is then the fit's)
    LmerProblem._deviance = counted
    emit("fit", "start"); evals[1] = time.perf_counter()
    fit = pyreterms.lmer(formula, df, REML=reml)
    emit("fit", "done", feval=int(fit.opt.feval), crit=float(fit.state.dev),
         theta=[float(x) for x in fit.state.theta])
"""


def write_columns(df: pd.DataFrame, path: str) -> None:
    """``rating``, ``user``, ``item`` as binary columns (float64, 0-based int32 codes) plus the level
    labels, for either child."""
    n = len(df)
    with open(os.path.join(path, "n.txt"), "w") as fh:
        fh.write(str(n))
    np.ascontiguousarray(df["rating"].to_numpy(dtype=np.float64)).tofile(os.path.join(path, "rating.f64"))
    for col in ("user", "item"):
        c = df[col].cat
        np.ascontiguousarray(c.codes.to_numpy(dtype=np.int32)).tofile(os.path.join(path, f"{col}.i32"))
        with open(os.path.join(path, f"{col}.txt"), "w") as fh:
            fh.write("".join(f"{x}\n" for x in c.categories))


def run_steps(cmd: list[str], limit: float) -> dict[str, Any]:
    """Run a child that prints one JSON line per step event; kill it when a step runs longer than
    ``limit`` seconds.  Returns per step its seconds (or ``"not finished in N s"``), the values the
    child reported, its peak RSS (MB) and the last progress line of an unfinished fit."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    out: dict[str, Any] = {"steps": {}, "peak_rss_mb": None}
    started: dict[str, float] = {}
    current: str | None = None
    deadline = float("inf")
    while True:
        try:
            line = lines.get(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
        except queue.Empty:
            line = ""
        if line is None:
            break
        if line.strip().startswith("{"):
            ev = json.loads(line)
            out["peak_rss_mb"] = ev.get("peak_mb", out["peak_rss_mb"])
            step, status = ev["step"], ev["status"]
            if status == "start":
                started[step], current, deadline = ev["t"], step, time.monotonic() + limit
            elif status == "progress":
                out["progress"] = {k: ev[k] for k in ev if k not in ("step", "status", "t")}
            elif status == "done":
                if step in started:
                    out["steps"][step] = ev["t"] - started[step]
                out.update({f"{step}_{k}": v for k, v in ev.items() if k not in ("step", "status", "t", "peak_mb")})
                current, deadline = None, float("inf")
        if current is not None and time.monotonic() > deadline:
            proc.kill()
            out["steps"][current] = f"not finished in {limit:.0f} s"
            break
    proc.wait()
    if proc.returncode not in (0, None) and not any(isinstance(v, str) for v in out["steps"].values()):
        err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
        if proc.returncode < 0:  # stopped from outside (e.g. to free memory): say so, not its last warning
            out["error"] = f"killed by signal {-proc.returncode} during {current or 'start-up'}"
        else:
            out["error"] = err[-1] if err else f"exit {proc.returncode}"
    return out


def run_huge_case(formula: str, REML: bool, df: pd.DataFrame, r_limit: float, py_limit: float) -> dict[str, Any]:
    """Both sides of a huge case side by side in time (two processes started together, one core each
    on an idle 2-core machine: each side's steps can take an hour), each with its own limit."""
    with tempfile.TemporaryDirectory() as tmp:
        write_columns(df, tmp)
        reml = "1" if REML else "0"
        script = os.path.join(tmp, "bench.R")
        with open(script, "w") as fh:
            fh.write(_R_CHILD)
        res: dict[str, Any] = {}
        jobs = {"pyreterms": ([sys.executable, "-c", _PY_CHILD, tmp, formula, reml], py_limit),
                "lme4": (["Rscript", "--vanilla", script, tmp, formula, reml], r_limit)}
        threads = [threading.Thread(target=lambda k=k, c=c, lim=lim: res.__setitem__(k, run_steps(c, lim)))
                   for k, (c, lim) in jobs.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {"pyreterms": res["pyreterms"], "lme4": res["lme4"]}


def format_huge(name: str, n: int, res: dict[str, Any]) -> str:
    """One markdown table of a huge case: per step both sides' seconds, then peak RSS."""

    def cell(side: dict[str, Any], step: str) -> str:
        v = side["steps"].get(step)
        if v is None:
            return "-" if "error" not in side else "failed"
        if isinstance(v, str):
            prog = side.get("progress") if step == "fit" else None
            return v + (f" ({prog['evals']} deviance evaluations done)" if prog else "")
        return f"{v:.3g} s"

    py, r = res["pyreterms"], res["lme4"]
    rows = [f"{name} (n = {n:,})", "", "| step | lme4 | pyreterms |", "|---|---|---|"]
    rows += [f"| {s} | {cell(r, s)} | {cell(py, s)} |" for s in STEPS]
    rss_r, rss_py = r.get("peak_rss_mb") or 0, py.get("peak_rss_mb") or 0
    rows.append(f"| peak RSS of the process | {rss_r:.0f} MB | {rss_py:.0f} MB |")
    rows.append(f"| fit evaluations (optimizer) | {r.get('fit_feval', '-')} | {py.get('fit_feval', '-')} |")
    for key, label in (("deviance_value", "deviance at theta0"), ("fit_crit", "criterion at the optimum")):
        a, b = py.get(key), r.get(key)
        if a is not None and b is not None:
            rows.append(f"| {label}: relative difference | {abs(a - b) / max(abs(b), 1e-300):.1e} | |")
    for side, d in (("lme4", r), ("pyreterms", py)):
        if "error" in d:
            rows.append(f"| {side} error | {d['error'][:120]} | |")
    return "\n".join(rows)


__all__ = ["STEPS", "run_huge_case", "run_steps", "write_columns", "format_huge"]
