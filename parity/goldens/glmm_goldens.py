"""GLMM goldens: lme4's ``glFormula()`` / ``glmer()`` components for every case of the GLMM case table
(:mod:`parity.goldens.glmm_cases`), stored so that they replay WITHOUT R.

The storage is the LMM goldens' (:mod:`parity.goldens.record_replay`: ``save_golden`` / ``load_golden``,
the value store, the stored input frames of :mod:`parity.goldens.inputs`, ``manifest.json`` with the R,
lme4, Matrix versions and the recording machine), at level ``glmer``.  Unlike the LMM goldens, the
harness values ``"harness: pars"`` (lme4's ``opt$par``), ``"harness: lp0"`` (its PIRLS start),
``"harness: fval"`` and ``"harness: Hessian"`` are stored too: replay evaluates the implementation at
lme4's own parameters as ``parity check`` does, and judges ``vcov`` by the same Hessian bound.

Replay applies the rules of :func:`parity.compare.glmm_check.judge_glmm`; the GLMM theta rule, which asks
lme4's devfun at the implementation's optimum, is applied offline with the implementation's own
criterion there (``-2 logLik``: trustworthy since ``gdevfun(pars)`` is compared tightly at lme4's
parameters), and ``deviance(gfit)`` is then still judged by its tolerance (no offline stand-in).  Every
component of the glmer level (:func:`parity.components.names`) must be stored: one missing fails.

Commands: ``parity record-glmm all --out tests/goldens/glmm`` (needs R) and ``parity replay-glmm DIR``.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parity import components
from parity.adapter.pyreterms_glmm import pyreterms_glmm_impl
from parity.adapter.pyreterms_lformula import load_impl
from parity.cli.args import BadInput
from parity.compare.glmm_check import judge_glmm, run_glmm_impl
from parity.compare.selection import ALL
from parity.compare.tolerances import ComponentResult
from parity.goldens.glmm_cases import GLMM_CASES, GlmmCase, glmm_case_data
from parity.goldens.inputs import InputChanged, record_input, replay_input
from parity.goldens.machine import environment
from parity.goldens.record_replay import (
    MANIFEST,
    ReplayResult,
    _doc,
    _print_summary,
    load_golden,
    load_manifest,
    save_golden,
)
from parity.r import session as rsession
from parity.r.glmm_oracle import glmm_r_components
from parity.r.values import RValue, RVector

__all__ = ["LEVEL", "select_glmm_cases", "record_glmm", "replay_glmm_case", "replay_glmm", "add_command"]

#: the level GLMM goldens are recorded at (it holds the glformula level's components too)
LEVEL = "glmer"


def select_glmm_cases(spec: str) -> list[GlmmCase]:
    """``"all"`` or a comma list of case ids (ValueError naming an unknown one)."""
    if spec.strip() == "all":
        return list(GLMM_CASES)
    by_id = {c.id: c for c in GLMM_CASES}
    ids = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [i for i in ids if i not in by_id]
    if unknown or not ids:
        raise ValueError(f"no GLMM case {', '.join(unknown) or repr(spec)}; known: {', '.join(by_id)}")
    return [by_id[i] for i in ids]


def _column(data: pd.DataFrame, name: str | None) -> np.ndarray | None:
    return None if name is None else data[name].to_numpy(float)


def _args(case: GlmmCase, data: pd.DataFrame) -> dict[str, Any]:
    return {"family": case.family, "link": case.link, "nAGQ": case.nAGQ, "level": LEVEL,
            "weights": _column(data, case.weights), "offset": _column(data, case.offset)}


def record_glmm(cases: list[GlmmCase], out: str | Path, *, log: Any = None, refresh_inputs: bool = False,
                missing_only: bool = False) -> list[str]:
    """Run lme4 for each case on the directory's stored input frame of its data set and store every
    component (needs R).  ``missing_only``: skip cases recorded already; ``refresh_inputs``: store the case
    table's current data (else a changed data set stops with :class:`InputChanged` before anything is written)."""
    out = Path(out)
    if missing_only and (out / MANIFEST).is_file():
        have = set(load_manifest(out)["cases"])
        cases = [c for c in cases if c.id not in have]
    frames = {c.data: record_input(out, c.data, glmm_case_data(c.data), refresh=refresh_inputs) for c in cases}
    versions, machine = rsession.versions(), environment()
    done = []
    for case in cases:
        data = frames[case.data]
        call = case.glmer_call()
        comps = glmm_r_components(case.formula, data, **_args(case, data),
                                  extra=call.r_args() if call is not None else None)
        save_golden(out, case, comps, versions, LEVEL, data=data, machine=machine)
        done.append(case.id)
        if log is not None:
            log(f"recorded {case.id} ({len(comps)} components)")
    return done


def _offline_here(py: dict[str, RValue]) -> Any:
    """The GLMM theta rule's input without R: the implementation's own criterion at its optimum."""
    ll = py.get("logLik(gfit)")
    own = -2 * float(ll.x[0]) if isinstance(ll, RVector) and len(ll) == 1 else math.nan

    def here(pars: np.ndarray) -> dict[str, RValue]:
        return {"gdevfun(pars[[1]])": RVector(np.array([own]), None, "double")}
    return here


#: the glformula level's components (stored in a golden whose glmer() call refused, beside the refusal)
_GLF = frozenset(components.names("glformula", None)) - {"error"}
_GLMER_CONDITIONS = frozenset({"glmer(): warnings", "glmer(): messages"})


def _stored_completely(gold: dict[str, RValue], nAGQ: int) -> list[ComponentResult]:
    """A failing result for each component of the glmer level the golden lacks (a refusal of glmer(): the
    error, its conditions and the glformula level's components; of glFormula()/mkRespMod(): the error;
    nAGQ = 0: lme4 computes no Hessian, so ``"harness: Hessian"`` is NULL and not stored)."""
    nan = float("nan")
    if "error" in gold:
        need = {"error"} | (_GLF | _GLMER_CONDITIONS if _GLMER_CONDITIONS & set(gold) else set())
    else:
        need = set(components.names(LEVEL, None)) - {"error"}
    if nAGQ == 0:
        need.discard("harness: Hessian")
    return [ComponentResult(n, False, nan, nan, 0.0, 0.0, "component missing in the stored golden")
            for n in sorted(need - set(gold))]


def replay_glmm_case(dir: str | Path, case_id: str, impl: Any = None) -> ReplayResult:
    """Compare an implementation (default pyreterms; ``module:function`` or a callable of the GLMM level's
    signature) with one stored GLMM golden, without R."""
    fn = impl if callable(impl) else (pyreterms_glmm_impl if impl is None else load_impl(impl))
    doc = _doc(dir, case_id)
    case = GlmmCase.from_json(doc["case"])
    gold = load_golden(dir, case_id)
    nan = float("nan")
    data, why = replay_input(dir, case.data, doc["data_hash"])  # the frame R was given; never regenerated
    if data is None:
        return ReplayResult(case_id, LEVEL, (ComponentResult("input data", False, nan, nan, 0.0, 0.0, why),))
    call = case.glmer_call()
    extra = {"call": call} if call is not None else {}
    py = run_glmm_impl(fn, case.formula, data, gold, **_args(case, data), **extra)
    comps = judge_glmm(py, gold, level=LEVEL, nAGQ=case.nAGQ, selection=ALL, here=_offline_here(py))
    if "error" in gold and _GLMER_CONDITIONS & set(gold):  # glmer() refused after glFormula(): that level too
        args = {**_args(case, data), "level": "glformula"}
        glf = {k: v for k, v in gold.items() if k in _GLF}
        comps += judge_glmm(run_glmm_impl(fn, case.formula, data, glf, **args, **extra), glf, level="glformula",
                            nAGQ=case.nAGQ, selection=ALL, here=None)
    return ReplayResult(case_id, LEVEL, tuple(_stored_completely(gold, case.nAGQ) + comps))


def replay_glmm(dir: str | Path, impl: Any = None) -> list[ReplayResult]:
    """Replay every stored case of a GLMM golden directory."""
    return [replay_glmm_case(dir, cid, impl) for cid in load_manifest(dir)["cases"]]


# ------------------------------------------------------------------------------------------
# CLI

def _cmd_record(args: argparse.Namespace) -> int:
    try:
        cases = select_glmm_cases(args.cases)
        done = record_glmm(cases, args.out, log=None if args.quiet else print, refresh_inputs=args.refresh_inputs,
                           missing_only=args.missing)
    except (ValueError, InputChanged) as e:
        raise BadInput(str(e)) from None
    print(f"{len(done)} GLMM case(s) recorded into {args.out} (level {LEVEL})")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    try:
        man = load_manifest(args.dir)
        impl = None if args.impl is None else load_impl(args.impl)
    except (FileNotFoundError, ValueError) as e:
        raise BadInput(str(e)) from None
    if man.get("level") != LEVEL:
        raise BadInput(f"{args.dir} holds {man.get('level')}-level goldens: use parity replay")
    results = replay_glmm(args.dir, impl)
    _print_summary(results)
    return 0 if all(r.ok for r in results) else 1


def add_command(sub: argparse._SubParsersAction) -> None:
    """Register ``record-glmm`` and ``replay-glmm`` with the ``parity`` CLI."""
    r = sub.add_parser("record-glmm", help="record lme4's glmer components for cases of the GLMM case table")
    r.add_argument("cases", help='"all" or a comma list of GLMM case ids')
    r.add_argument("--out", required=True, help="golden directory to write")
    r.add_argument("--missing", action="store_true", help="only cases not yet recorded in --out")
    r.add_argument("--refresh-inputs", action="store_true", help="store the case table's current data as the inputs")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=_cmd_record)
    p = sub.add_parser("replay-glmm", help="compare an implementation with stored GLMM goldens (no R)")
    p.add_argument("dir", help="GLMM golden directory (with manifest.json)")
    p.add_argument("--impl", default=None, help="module:function of the GLMM level's signature (default pyreterms)")
    p.set_defaults(func=_cmd_replay)
