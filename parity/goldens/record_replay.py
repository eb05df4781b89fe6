"""Goldens: R's components for the case table, stored so that they can be replayed WITHOUT R.

``parity record CASES --out DIR [--level lformula|fit]`` runs ``pyreterms_reference()`` (R,
``r_scripts/reference.R``) for each case and stores the result; ``parity replay DIR [--impl m:f]
[--cases ...] [--json FILE]`` compares an implementation with the stored values using
:func:`parity.compare.tolerances.compare_components` (same tolerances and rules as ``parity check``).

Storage (per directory = one level):

* ``CASEID.npz``: the numeric arrays (``a0``, ``a1``, ...), raw float64/int64/int32/bool bytes, so
  NaN payloads (R's ``NA_real_`` vs ``NaN``), ``-Inf`` and signed zeros survive bit for bit;
* ``CASEID.json``: ``{"case": {...}, "level": ..., "data_hash": ..., "components": [[name,
  descriptor], ...]}`` where a descriptor is one of ``{"t": "sparse", "i", "p", "x", "dim",
  "rownames", "colnames"}``, ``{"t": "matrix", "kind", "x", "dim", ...}``, ``{"t": "vector", "kind",
  "x", "names"}``, ``{"t": "factor", "codes", "levels", "ordered"}``, ``{"t": "list", "items":
  [[name, descriptor], ...]}``, ``{"t": "null"}``, ``{"t": "error", "message", "kind"}``; array
  slots hold an npz key (string) or, for character / NA-logical data, an inline JSON list;
* components with arrays over :data:`MAX_COMPONENT_BYTES` are not stored (``"skipped"``);
* ``inputs/DATASET.json`` + ``inputs/DATASET.npz``: the exact input frame R was given, one per data
  set (:mod:`parity.goldens.frames`: dtypes, categories in order, ordered flags, NA, ints vs floats, row
  labels); replay hands the implementation this frame and never regenerates data
  (:mod:`parity.goldens.inputs`); weights/offset are columns of it;
* ``manifest.json``: versions (R, lme4, Matrix, rpy2, collation), the recording machine
  (:func:`parity.goldens.machine.environment`: numpy, scipy, pandas, BLAS, CPU model, numpy's SIMD dispatch),
  date, level, per data set the hash of its stored input, and per case its definition and the
  SHA-256 of its input data (:func:`parity.goldens.cases.data_hash`; replay checks it against the stored
  input: integrity, not regeneration).

Only :func:`record` needs R (rpy2 is imported there, through ``parity.r.session``).
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from parity.adapter.pyreterms_lformula import load_impl, pyreterms_impl
from parity.cli.args import BadInput, add_selection_args, contrasts_arg, load_data, selection_of
from parity.compare.check import equivalence_verdict, nothing_compared, r_components, required_components
from parity.compare.notcompared import NotCompared
from parity.compare.selection import ALL
from parity.compare.tolerances import ComponentResult, compare_components
from parity.compare.verdicts import BadFormula, Verdict, preflight, verdict_of
from parity.goldens.cases import CASES, Case, case_data, data_hash, run_case, select_cases
from parity.goldens.frames import FrameIntegrityError, write_npz
from parity.goldens.inputs import InputChanged, input_dir, record_input, replay_input, stored_input
from parity.goldens.machine import environment
from parity.goldens.valuestore import Writer, decode, identical
from parity.r import session as rsession
from parity.r.rcall import active
from parity.r.session import checked_formula
from parity.r.values import RValue, RVector
from pyreterms.errors import FormulaError

__all__ = ["save_golden", "load_golden", "load_manifest", "golden_case", "identical", "data_hash",
           "record", "record_model", "replay", "ReplayResult", "add_command", "MANIFEST", "FORMAT"]

MANIFEST = "manifest.json"
FORMAT = "parity-goldens/2"
#: a component whose arrays exceed this is not stored (listed in the case file's "skipped")
MAX_COMPONENT_BYTES = 2_000_000
THETA = 'getME(fit, "theta")'


# ------------------------------------------------------------------------------------------
# files

class StoredCase(Protocol):
    """What a golden stores of a case: its id, its data set's name and its definition as JSON
    (:class:`parity.goldens.cases.Case`, :class:`parity.goldens.glmm_cases.GlmmCase`)."""

    @property
    def id(self) -> str: ...

    @property
    def data(self) -> str: ...

    def as_json(self) -> dict: ...


def save_golden(dir: str | Path, case: StoredCase, components: dict[str, RValue], versions: dict,
                level: str = "lformula", data: pd.DataFrame | None = None, machine: dict | None = None) -> Path:
    """Write ``CASEID.npz`` + ``CASEID.json`` into ``dir`` and update ``manifest.json``.

    ``data`` is the frame R was given (default: the case table's); it is stored as the directory's
    input for ``case.data`` unless that input exists already, which must then be this very frame."""
    d = Path(dir)
    if data is None:
        assert isinstance(case, Case), "give the frame of a case outside the LMM case table"
        data = case_data(case)
    record_input(d, case.data, data)
    if data_hash(stored_input(d, case.data)) != data_hash(data):
        raise InputChanged(f"{case.id}: the input stored for data set {case.data!r} in {input_dir(d)} is not "
                           "the frame these components were computed from")
    d.mkdir(parents=True, exist_ok=True)
    w = Writer()
    comps, skipped = [], []
    for name, v in components.items():
        before = dict(w.arrays)
        desc = w.encode(v)
        if sum(a.nbytes for k, a in w.arrays.items() if k not in before) > MAX_COMPONENT_BYTES:
            w.arrays = before
            skipped.append(name)
            continue
        comps.append([name, desc])
    dh = data_hash(data)
    doc = {"format": FORMAT, "case": case.as_json(), "level": level, "data_hash": dh, "components": comps,
           "skipped": skipped}
    write_npz(d / f"{case.id}.npz", w.arrays)
    (d / f"{case.id}.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    man: dict[str, Any] = load_manifest(d) if (d / MANIFEST).is_file() else {"format": FORMAT, "cases": {}}
    man.update({"format": FORMAT, "level": level, "versions": dict(versions),
                "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    if machine is not None:
        man["machine"] = machine
    man.setdefault("inputs", {})[case.data] = {"data_hash": dh, "nrow": len(data), "ncol": data.shape[1]}
    man["inputs"] = dict(sorted(man["inputs"].items()))
    man["cases"][case.id] = {**case.as_json(), "data_hash": dh, "level": level,
                             "n_components": len(comps)}
    man["cases"] = dict(sorted(man["cases"].items()))
    (d / MANIFEST).write_text(json.dumps(man, ensure_ascii=False, indent=1), encoding="utf-8")
    return d / f"{case.id}.json"


def _read(p: Path, what: str) -> dict:
    if not p.is_file():
        raise FileNotFoundError(f"no {what} in {p.parent}")
    return json.loads(p.read_text(encoding="utf-8"))


def load_manifest(dir: str | Path) -> dict:
    """The ``manifest.json`` of a golden directory (versions, date, level, cases)."""
    return _read(Path(dir) / MANIFEST, MANIFEST)


def _doc(dir: str | Path, case_id: str) -> dict:
    return _read(Path(dir) / f"{case_id}.json", f"golden for case {case_id!r}")


def golden_case(dir: str | Path, case_id: str) -> Case:  # the case definition stored with a golden
    return Case.from_json(_doc(dir, case_id)["case"])


def load_golden(dir: str | Path, case_id: str) -> dict[str, RValue]:
    """The stored components of one case, exactly as saved (no R needed)."""
    doc = _doc(dir, case_id)
    with np.load(Path(dir) / f"{case_id}.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return {name: decode(desc, arrays) for name, desc in doc["components"]}


# ------------------------------------------------------------------------------------------
# record / replay

def _with_dependants(cases: list[Case], out: Path, refreshed: set[str]) -> list[Case]:
    """``cases`` plus every case already stored in ``out`` whose data set is being re-stored."""
    if not refreshed or not (out / MANIFEST).is_file():
        return cases
    by_id = {c.id: c for c in CASES}
    extra = [by_id.get(cid) or Case.from_json(c) for cid, c in load_manifest(out)["cases"].items()
             if c["data"] in refreshed and cid not in {x.id for x in cases}]
    return list(cases) + extra


def record(cases: list[Case], out: str | Path, level: str = "lformula", *, log=None,
           refresh_inputs: bool = False, missing_only: bool = False) -> list[str]:
    """Run R for each case and store its components; returns the recorded ids (needs R).

    R gets the directory's stored input frame of the case's data set when the case table still
    generates the same data (:func:`parity.goldens.inputs.record_input`), so re-recording on another
    machine gives R the same input.  ``refresh_inputs``: store the case table's current data instead
    and re-record every case of ``out`` that uses those data sets.  ``missing_only``: skip cases
    already recorded in ``out``."""
    out = Path(out)
    if level == "fit":
        cases = [c for c in cases if c.fit]
    if missing_only and (out / MANIFEST).is_file():
        have = set(load_manifest(out)["cases"])
        cases = [c for c in cases if c.id not in have]
    if refresh_inputs:
        cases = _with_dependants(cases, out, {c.data for c in cases})
    versions, machine = rsession.versions(), environment()
    frames: dict[str, pd.DataFrame] = {}
    for c in cases:  # resolve every input first: a changed data set stops before anything is written
        if c.data not in frames:
            frames[c.data] = record_input(out, c.data, case_data(c), refresh=refresh_inputs)
    done = []
    for case in cases:
        n = _record_one(out, case, frames[case.data], level, versions, machine)
        done.append(case.id)
        if log is not None:
            log(f"recorded {case.id} ({n} components)")
    return done


def _record_one(out: Path, case: Case, data: pd.DataFrame, level: str, versions: dict, machine: dict) -> int:
    """R's components for one case on its stored input frame, saved into ``out`` (needs R)."""
    with active(case.lmer_call()):
        comps = r_components(case.formula, data, level=level, **case.call_kwargs(data))
    # harness-internal inputs (e.g. the weights of the live conditioning bound) are not R's answers
    comps = {k: v for k, v in comps.items() if not k.startswith("harness: ")}
    save_golden(out, case, comps, versions, level, data=data, machine=machine)
    return len(comps)


def record_model(out: str | Path, formula: str, data: pd.DataFrame, *, case_id: str, data_name: str,
                 level: str = "fit", REML: bool = True, weights: str | None = None, offset: str | None = None,
                 contrasts: dict[str, str] | None = None, note: str = "") -> Case:
    """Record lme4's answers for YOUR model (R: ``lFormula()``/``lmer()`` on ``data``): the exact
    frame is stored under ``inputs/<data_name>`` and the components under ``<case_id>``, so
    :func:`replay` (and :func:`parity.testing.assert_replays`) needs no R afterwards.  A data set name
    already stored in ``out`` must hold the same data (else :class:`InputChanged`).  Needs R."""
    if level not in ("lformula", "fit"):
        raise ValueError(f"level must be 'lformula' or 'fit', not {level!r}")
    for what, col in (("weights", weights), ("offset", offset)):
        if col is not None and col not in data.columns:
            raise ValueError(f"{what} column {col!r} is not in the data")
    if contrasts and not all(isinstance(v, str) for v in contrasts.values()):
        raise ValueError("a golden records named contrasts (contr.sum, ...) only, not a matrix")
    if contrasts:
        rsession.checked_contrasts(contrasts)
    if not case_id or any(ch in case_id for ch in "/\\") or case_id.startswith("."):
        raise ValueError(f"case id {case_id!r}: use a plain name (letters, digits, - and _)")
    out = Path(out)
    if (out / MANIFEST).is_file():
        man = load_manifest(out)
        if man.get("level") not in (None, level):
            raise ValueError(f"{out} holds {man.get('level')}-level goldens; record level {level} elsewhere")
    case = Case(case_id, formula, data_name, REML, weights, offset, dict(contrasts) if contrasts else None,
                fit=level == "fit", note=note)
    frame = record_input(out, data_name, data)
    _record_one(out, case, frame, level, rsession.versions(), environment())
    return case


@dataclass(frozen=True)
class ReplayResult:
    case_id: str
    level: str
    components: tuple  # of parity.compare.tolerances.ComponentResult
    not_provided: tuple = ()  # components stored from lme4 that the implementation did not return

    @property
    def ok(self) -> bool:
        return bool(self.components) and all(c.ok for c in self.components)

    @property
    def verdict(self):
        """agree, disagree, both refused (for the same reason) or not compared (parity.compare.verdicts)."""
        return verdict_of(self.components)

    def failing(self) -> list[str]:
        return [c.name for c in self.components if not c.ok]

    def as_json(self) -> dict:
        return {"case": self.case_id, "level": self.level, "ok": self.ok, "verdict": self.verdict.value,
                "components": [c.as_json() for c in self.components], "not_provided": list(self.not_provided)}


def _theta_equivalence_offline(c, py: dict, gold: dict, REML: bool):
    """``parity.compare.check._theta_equivalence`` without R: the implementation's own criterion at its theta
    stands in for lme4's devfun there (trustworthy: ``devfun(theta)`` is compared to rtol 1e-10 at
    lme4's theta); passes if it is no worse than lme4's optimum by > 1e-8 absolute (the rule of
    ``parity.compare.rules.equivalence_verdict``)."""
    crit = "REMLcrit(fit)" if REML else "deviance(fit)"
    pv, rv = py.get(crit), gold.get("devfun(theta)")
    if not isinstance(pv, RVector) or not isinstance(rv, RVector) or len(pv) != 1 or len(rv) != 1:
        return c
    return equivalence_verdict(c, float(pv.x[0]), float(rv.x[0]),
                               f"this implementation's {crit} (judged offline)")


def replay_case(dir: str | Path, case_id: str, impl=None, *, only: set[str] | None = None,
                produced_only: bool = False, selection=None) -> ReplayResult:
    """Compare an implementation with one stored golden (same rules as ``parity.compare.check.check``).

    ``only``: compare just these components; ``produced_only``: just the components the
    implementation produced (for a fit side under construction; required components not enforced);
    ``selection`` (``--only``/``--ignore`` globs, :mod:`parity.compare.selection`): components the
    implementation does not provide are listed apart (``not_provided``), except for pyreterms."""
    fn = impl if callable(impl) else load_impl(impl)
    not_provided: list[str] | None = None
    if selection is not None and fn is not pyreterms_impl and not selection.strict:
        not_provided = []
    doc = _doc(dir, case_id)
    case, level = Case.from_json(doc["case"]), doc["level"]
    gold = load_golden(dir, case_id)
    nan = float("nan")
    pre: list = []
    data, why = replay_input(dir, case.data, doc["data_hash"])  # the frame R was given; never regenerated
    if data is None:
        return ReplayResult(case_id, level, (ComponentResult("input data", False, nan, nan, 0.0, 0.0, why),))
    th = gold.get(THETA)
    py = run_case(fn, case, level, theta=th.x if isinstance(th, RVector) and "error" not in gold else None,
                  data=data)
    for name in doc.get("skipped", ()):
        py.pop(name, None)
    if produced_only:
        only = {k for k in py if k != "error"} & (only if only is not None else set(py))
    comps = compare_components(py, gold, only=only, selection=selection, not_provided=not_provided)
    if level == "fit":
        comps = [_theta_equivalence_offline(c, py, gold, case.REML) if c.name == THETA and not c.ok else c
                 for c in comps]
    if "error" not in gold and "error" not in py and only is None:
        need = required_components(level) if selection is None else selection.required(required_components(level))
        pre += [ComponentResult(n, False, nan, nan, 0.0, 0.0,
                                "required component " + ("missing here" if n not in py else "missing in R"))
                for n in sorted(need) if n not in py or n not in gold]
    if not pre and not comps and "error" not in gold and "error" not in py:
        pre = [nothing_compared(selection or ALL)]
    np_ = tuple(n for n in (not_provided or ()) if n not in {c.name for c in pre})
    return ReplayResult(case_id, level, tuple(pre + comps), np_)


def replay(dir: str | Path, impl=None, case_ids: list[str] | None = None) -> list[ReplayResult]:
    """Replay every (or the selected) stored case of a golden directory."""
    ids = list(load_manifest(dir)["cases"]) if case_ids is None else case_ids
    return [replay_case(dir, cid, impl) for cid in ids]


# ------------------------------------------------------------------------------------------
# CLI

def _cmd_record_model(args) -> int:
    """``parity record --formula F --data D --out DIR``: your own model (see :func:`record_model`)."""
    if args.cases:
        raise BadInput("give either case ids of the case table or --formula/--data, not both")
    if not args.data:
        raise BadInput("--formula needs --data (a CSV file or r:PKG::NAME)")
    try:
        checked_formula(args.formula)  # deeper than R survives
        preflight(args.formula)  # parses, and uses allowlisted functions only
    except (FormulaError, BadFormula, NotCompared) as e:
        raise BadInput(str(e)) from None
    data = load_data(args.data)
    name = args.data_name or re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(args.data.split("::")[-1]).stem) or "data"
    contrasts = contrasts_arg(args.contrasts)
    try:
        case = record_model(args.out, args.formula, data, case_id=args.id or "model", data_name=name,
                            level=args.level, REML=not args.ml, weights=args.weights, offset=args.offset,
                            contrasts=contrasts, note=args.note or "")
    except (InputChanged, FrameIntegrityError, ValueError) as e:
        raise BadInput(str(e)) from None
    print(f"recorded {case.id} ({args.formula}, data {name}, level {args.level}) into {args.out}")
    return 0


def _cmd_record(args) -> int:
    if args.formula:
        args.level = args.level or "fit"
        return _cmd_record_model(args)
    args.level = args.level or "lformula"
    if not args.cases:
        raise BadInput("give case ids of the case table (\"all\", ids, globs) or --formula and --data")
    try:
        cases = select_cases(args.cases)
    except ValueError as e:
        raise BadInput(str(e)) from None
    if args.level == "fit":
        skipped = [c.id for c in cases if not c.fit]
        if skipped:
            print(f"parity record: level fit does not apply to {len(skipped)} selected case(s) "
                  f"(fit=False), e.g. {', '.join(skipped[:3])}", file=sys.stderr)
    try:
        done = record(cases, args.out, args.level, log=None if args.quiet else print,
                      refresh_inputs=args.refresh_inputs, missing_only=args.missing)
    except (InputChanged, FrameIntegrityError) as e:
        raise BadInput(str(e)) from None
    print(f"{len(done)} case(s) recorded into {args.out} (level {args.level})")
    return 0


def _cmd_replay(args) -> int:
    try:
        man, impl = load_manifest(args.dir), load_impl(args.impl)
    except (FileNotFoundError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise BadInput(str(e)) from None
    ids = list(man["cases"])
    if args.cases:
        try:
            ids = [c.id for c in select_cases(args.cases, tuple(Case.from_json(c) for c in man["cases"].values()))]
        except ValueError as e:
            raise BadInput(f"{e} in {args.dir}") from None
    sel = selection_of(args)
    results = [replay_case(args.dir, cid, impl, selection=sel) for cid in ids]
    _print_summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"dir": str(args.dir), "level": man.get("level"),
                                               "versions": man.get("versions"), "ok": all(r.ok for r in results),
                                               "cases": [r.as_json() for r in results]}, indent=1))
    return 0 if all(r.ok for r in results) else 1


def _print_summary(results: list[ReplayResult]) -> None:
    """The replay table (one row per case, its verdict) and the counts of the four verdicts."""
    rows = [(r.case_id, r.verdict.value, str(len(r.components)),
             ", ".join(r.failing()[:4]) + (" ..." if len(r.failing()) > 4 else "")) for r in results]
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        print("\n".join("  ".join(row) for row in rows))
    else:
        t = Table("case", "verdict", "n components", "failing components", title="replay")
        for row in rows:
            t.add_row(*(escape(x) for x in row))
        Console(width=160).print(t)
    n = {v: sum(r.verdict is v for r in results) for v in Verdict}
    print(f"{len(results)} case(s): {n[Verdict.AGREE]} agree, {n[Verdict.BOTH_REFUSED]} both refused for the same "
          f"reason, {n[Verdict.DISAGREE]} disagree, {n[Verdict.NOT_COMPARED]} not compared")
    np_ = sorted({n for r in results for n in r.not_provided})
    if np_:
        print(f"{len(np_)} component(s) not provided by this implementation (not judged): "
              + ", ".join(np_[:8]) + (" ..." if len(np_) > 8 else ""))


def add_command(sub) -> None:
    """Register ``record`` and ``replay`` with the ``parity`` CLI."""
    r = sub.add_parser("record", help="record R's components for cases of the case table, or for your own model "
                                      "(--formula, --data)")
    r.add_argument("cases", nargs="?", default=None, help='"all", a comma list of case ids, or globs like "hz-*"')
    r.add_argument("--out", required=True, help="golden directory to write")
    r.add_argument("--level", choices=["lformula", "fit"], default=None,
                   help="default: lformula for case ids, fit for --formula")
    r.add_argument("--formula", default=None, help="your model's lme4 formula (with --data)")
    r.add_argument("--data", default=None, help="a CSV file or r:PKG::NAME (stored with the golden)")
    r.add_argument("--id", default=None, help="the case id to store your model under (default 'model')")
    r.add_argument("--data-name", default=None, help="the name the data are stored under (default: the file's stem)")
    r.add_argument("--ml", action="store_true", help="REML = FALSE")
    r.add_argument("--weights", default=None, help="column of prior weights")
    r.add_argument("--offset", default=None, help="column of offsets")
    r.add_argument("--contrasts", nargs="*", default=None, help="NAME=contr.sum ... (named contrasts only)")
    r.add_argument("--note", default=None, help="a note stored with the case")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--missing", action="store_true", help="only cases not yet recorded in --out")
    r.add_argument("--refresh-inputs", action="store_true",
                   help="store the case table's current data as the inputs and re-record every case of --out "
                        "using them")
    r.set_defaults(func=_cmd_record)
    p = sub.add_parser("replay", help="compare an implementation with stored goldens (no R)")
    p.add_argument("dir", help="golden directory (with manifest.json)")
    p.add_argument("--impl", default=None, help="module:function (default pyreterms)")
    p.add_argument("--cases", default=None, help="comma list of ids or globs")
    p.add_argument("--json", default=None, help="write the JSON report here")
    add_selection_args(p)
    p.set_defaults(func=_cmd_replay)
