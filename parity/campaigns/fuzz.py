"""``parity fuzz``: a Hypothesis campaign of generated designs against live lme4.

R equivalent of the oracle side: ``pyreterms_reference()`` of ``r_scripts/reference.R`` (lFormula,
and lmer at the fit level).  Two phases, both seeded with ``--seed`` (database off, deadline off):

1. *explore*: ``--examples`` designs from :func:`parity.campaigns.strategies.designs`, each compared component
   by component (``parity.compare.check``); a design *fails* when any component disagrees, and an
   exception anywhere in one design is recorded as a failed design (last traceback line), never a
   crash.  R refusals are ``lme4 refused: <message>`` decisions compared with the implementation's.
2. *shrink*: for every failure whose components are not yet covered, the same Hypothesis run is
   replayed with the shrink phase on, keeping designs that still fail on that component; the
   minimal design is written out as a reproducer (:mod:`parity.campaigns.reproducer`).  Results are cached,
   so a replayed design costs no R call; a shrink past ``--shrink-time`` stops calling R.
"""
from __future__ import annotations

import importlib
import itertools
import re
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.adapter.pyreterms_lformula import Impl, load_impl
from parity.campaigns.progress import Progress, SilentProgress
from parity.campaigns.reproducer import write_reproducer
from parity.campaigns.seeding import campaign_designs
from parity.campaigns.shrink import pin_theta, shrink_failure
from parity.campaigns.strategies import HAZARD_NAMES, Design, Hazards, design_key
from parity.campaigns.timelimit import _py_time_limit, _PyTimeout
from parity.campaigns.workers import ChunkJob, Runner, make_runner, ordered_outcomes
from parity.compare.check import CheckReport, check, not_compared_report, r_components
from parity.compare.notcompared import NotCompared
from parity.compare.selection import Selection
from parity.compare.verdicts import NOT_COMPARED, BadFormula, Verdict, preflight
from parity.r.verbvariant import active as verb_variant
from parity.report import tally

__all__ = ["FuzzConfig", "DesignOutcome", "ShrunkFailure", "FuzzResult", "run_design", "run_campaign",
           "fit_level_available", "KNOWN_ISSUES", "DesignKind", "LMM", "last_line"]

#: component -> why a disagreement there is a known, reported pyreterms issue (ignored with --known)
KNOWN_ISSUES: dict[str, str] = {
    "lme4:::mmList(formula, lFormula()$fr)":
        "R's mmList.formula orders terms by nlevels(factor(<grouping expr>)) evaluated with base R in "
        "lf$fr, where a:b with a numeric/integer/logical column is base ':' (a number sequence, "
        "usually 1 level); pyreterms uses the true level counts (reported, not fixed here)",
    'attr(lFormula()$X, "col.dropped")':
        "lme4's chkRank.drop.cols pairs the names of the dropped columns (column order) with "
        "qr(X)$pivot[(rank+1):p] (pivot order): when dqrdc2 moves zero columns first the values "
        "come out permuted; pyreterms gives sorted positions (reported, not fixed here)",
}


def fit_level_available() -> tuple[bool, str]:
    """Whether ``parity.adapter.pyreterms_lformula`` can produce pyreterms' fit components (it needs
    ``parity.adapter.pyreterms_fit.fit_components``); the reason when not."""
    try:
        mod = importlib.import_module("parity.adapter.pyreterms_fit")
    except ImportError as e:
        return False, f"fit level not available ({e}); comparing lFormula() only"
    if not callable(getattr(mod, "fit_components", None)):
        return False, ("fit level not available (parity.adapter.pyreterms_fit has no fit_components); "
                       "comparing lFormula() only")
    return True, ""


@dataclass(frozen=True)
class FuzzConfig:
    """One campaign's settings (the ``parity fuzz`` options)."""

    examples: int = 100
    seed: int = 0
    level: str = "lformula"
    impl: str | None = None
    time_limit: float | None = 10.0
    py_time_limit: float | None = 60.0
    hazards: Hazards = field(default_factory=Hazards)
    shrink: bool = True
    shrink_seconds: float = 60.0
    max_failures: int = 8
    ignore: frozenset[str] = frozenset()  # glob patterns (parity.compare.selection): components not compared
    only: tuple[str, ...] = ()            # glob patterns: compare only these (parity.compare.selection)
    stop_at_first: bool = False     # stop exploring after the first failing design (mutant power)
    workers: int = 1                # processes exploring designs, each with its own R (parity.campaigns.workers)
    dask: str | None = None         # a Dask scheduler address: explore on that cluster instead


@dataclass(frozen=True, eq=False)
class DesignOutcome:
    """One design, both sides: ``status`` is ``agree``, ``both-refused`` (for the same reason),
    ``disagree``, ``not-compared`` (the harness declined: allowlist, unrepresentable data, R's time
    limit; never agreement) or ``error``."""

    design: Design
    status: str
    failing: tuple[str, ...]
    report: CheckReport | None
    r_seconds: float
    py_seconds: float
    error: str = ""

    def said(self) -> dict[str, str]:
        """What each side said on the failing components (for reports and reproducers)."""
        if self.report is None:
            return {"error": self.error}
        return {c.name: c.detail for c in self.report.components if not c.ok}


@dataclass(frozen=True, eq=False)
class ShrunkFailure:
    component: str
    first: DesignOutcome
    shrunk: DesignOutcome
    shrink_calls: int
    shrink_seconds: float
    reproducer: Path | None = None


@dataclass(frozen=True, eq=False)
class FuzzResult:
    config: FuzzConfig
    outcomes: tuple[DesignOutcome, ...]
    failures: tuple[ShrunkFailure, ...]
    note: str
    wall_seconds: float
    versions: dict = field(default_factory=dict)
    kind: str = "lmm"

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return not any(o.status in ("disagree", "error") for o in self.outcomes)

    def theta_rule(self) -> dict[str, int]:
        """Agreeing fit-level designs whose theta passed only by the theta rule (README: Known
        differences), by reason: equally good optima, or within lme4's own run-to-run spread."""
        rules = self.by_rule()
        return {"equally good optimum": rules["flat optimum"], "within lme4's own spread": rules["lme4 spread"]}

    def glmm_theta_rule(self) -> int:
        """Agreeing GLMM designs whose optimizer outputs passed only by the GLMM theta rule (lme4's devfun at
        the implementation's optimum within Nelder_Mead's FtolAbs of lme4's optimum)."""
        return sum(o.status == "agree" and o.report is not None
                   and any(c.ok and c.detail.startswith("GLMM theta rule") for c in o.report.components)
                   for o in self.outcomes)

    def by_rule(self) -> dict[str, int]:
        return tally.rule_counts(self.outcomes)

    def not_compared_by_kind(self) -> dict[str, int]:
        return tally.not_compared_kinds(self.outcomes)

    def by_component(self) -> dict[str, int]:
        return tally.component_counts(self.outcomes)

    def not_provided(self) -> dict[str, int]:
        """Components lme4 returned and the implementation did not, by number of designs
        (parity.compare.selection: not judged)."""
        out: dict[str, int] = {}
        for o in self.outcomes:
            for n in (o.report.not_provided if o.report is not None else ()):
                out[n] = out.get(n, 0) + 1
        return dict(sorted(out.items()))

    def as_json(self) -> dict:
        cfg = self.config
        n = max(len(self.outcomes), 1)
        rt, pt = sum(o.r_seconds for o in self.outcomes), sum(o.py_seconds for o in self.outcomes)
        return {
            "ok": self.ok, "kind": self.kind, "seed": cfg.seed, "examples": cfg.examples, "level": cfg.level,
            "impl": cfg.impl or "pyreterms", "note": self.note, "versions": self.versions,
            "excluded_hazards": [h for h in HAZARD_NAMES if not getattr(cfg.hazards, h)],
            "ignored_components": sorted(cfg.ignore), "only_components": list(cfg.only),
            "not_provided": len(self.not_provided()), "not_provided_components": self.not_provided(),
            "counts": {"designs": len(self.outcomes), "agree": self.count("agree"),
                       "both_refused": self.count("both-refused"), "disagree": self.count("disagree"),
                       "not_compared": self.count("not-compared"), "error": self.count("error")},
            "not_compared_by_kind": self.not_compared_by_kind(),
            "agreed_by_theta_rule": self.theta_rule(),
            "agreed_by_rule": self.by_rule(),
            **({"agreed_by_glmm_theta_rule": self.glmm_theta_rule()} if self.kind == "glmm" else {}),
            "disagreements_by_component": self.by_component(),
            "timing": {"wall_seconds": self.wall_seconds, "r_seconds": rt, "python_seconds": pt,
                       "r_per_design": rt / n, "python_per_design": pt / n},
            "failures": [{"component": f.component, "formula": f.shrunk.design.formula, "n": f.shrunk.design.n,
                          "bars": f.shrunk.design.n_bars, "description": f.shrunk.design.description,
                          "said": f.shrunk.said(), "original_formula": f.first.design.formula,
                          "original_n": f.first.design.n, "shrink_calls": f.shrink_calls,
                          "shrink_seconds": f.shrink_seconds,
                          "reproducer": None if f.reproducer is None else str(f.reproducer)}
                         for f in self.failures],
            "designs": [{"formula": o.design.formula, "n": o.design.n, "status": o.status,
                         **_glmm_args(o.design),
                         "failing": list(o.failing), "r_seconds": o.r_seconds, "python_seconds": o.py_seconds,
                         "expect_refusal": o.design.expect_refusal, "description": o.design.description,
                         "decision": _decision(o), "error": o.error} for o in self.outcomes],
        }


def _glmm_args(d: Design) -> dict[str, Any]:
    """family, link and nAGQ of a GLMM design (nothing for an LMM design)."""
    return {k: getattr(d, k) for k in ("family", "link", "nAGQ") if hasattr(d, k)}


def _decision(o: DesignOutcome) -> str | None:
    """The accept/refuse detail when either side refused (R: the lFormula()/lmer() error message)."""
    if o.report is None:
        return None
    return next((c.detail for c in o.report.components if c.name.startswith("decision")), None)


def last_line(e: BaseException) -> str:
    """The last line of an exception's traceback (what an ``error`` outcome records)."""
    lines = [ln for ln in traceback.format_exception(type(e), e, e.__traceback__) if ln.strip()]
    return lines[-1].strip() if lines else type(e).__name__


#: lme4's answers by design (shared by campaigns of several implementations and by shrinking)
_R_CACHE: OrderedDict[tuple, dict] = OrderedDict()
R_CACHE_SIZE = 3000


def _r_side(design: Design, level: str, time_limit: float | None) -> dict:
    """``r_components`` for a design, memoised (R: one ``pyreterms_reference()`` call)."""
    key = (design_key(design), level)
    hit = _R_CACHE.get(key)
    if hit is not None:
        _R_CACHE.move_to_end(key)
        return hit
    r = r_components(design.formula, design.data, REML=design.REML, level=level, time_limit=time_limit,
                     **design.arrays())
    err = r.get("error")
    if not (err is not None and getattr(err, "kind", "") == "timeout"):  # a timeout may not repeat
        _R_CACHE[key] = r
        if len(_R_CACHE) > R_CACHE_SIZE:
            _R_CACHE.popitem(last=False)
    return r


def run_design(design: Design, impl: Impl, *, level: str = "lformula", time_limit: float | None = None,
               ignore: frozenset[str] = frozenset(), py_time_limit: float | None = 60.0,
               only: tuple[str, ...] = ()) -> DesignOutcome:
    """``parity.compare.check.check`` for one design, timed per side, never raising (R: one
    ``pyreterms_reference()`` call).  ``ignore``/``only``: glob patterns (parity.compare.selection)."""
    sel = Selection.of(only, sorted(ignore))
    t0 = time.perf_counter()
    r_s = py_s = 0.0
    try:
        preflight(design.formula)  # nothing runs for a formula outside the allowlist
        kw = design.arrays()
        with verb_variant(design.verb_variant):  # the same re.form/new-level variant on both sides
            r = _r_side(design, level, time_limit)
        t1 = time.perf_counter()
        r_s = t1 - t0
        tm: dict = {}
        # the Python limit guards the implementation only: check's own R follow-ups (lme4 against
        # itself) have R's limit, and a SIGALRM inside R would be swallowed by rpy2's callbacks
        with verb_variant(design.verb_variant):
            report = check(design.formula, design.data, REML=design.REML, level=level, impl=impl,
                           data_label=design.description, time_limit=time_limit, r=r, timings=tm,
                           impl_guard=lambda: _py_time_limit(py_time_limit), selection=sel, **kw)
        py_s = tm.get("py", time.perf_counter() - t1)
    except (Exception, _PyTimeout) as e:  # one design never kills a campaign
        return design_failed(design, e, level, design.REML, t0, r_s, py_s)
    return design_outcome(design, report, sel, r_s, py_s)


def design_failed(design: Design, e: BaseException, level: str, REML: bool, t0: float, r_s: float,
                  py_s: float) -> DesignOutcome:
    """The outcome of a design whose check raised ``e`` (LMM and GLMM designs alike): "not-compared" for
    :class:`NotCompared`, else an "error" naming the side."""
    if isinstance(e, NotCompared):
        rep = not_compared_report(design.formula, level, REML, design.description, e)
        return DesignOutcome(design, "not-compared", (), rep, r_s, time.perf_counter() - t0 - r_s,
                             f"{e.kind}: {e.reason}")
    if isinstance(e, BadFormula):  # a generated formula must parse: a generator bug, never agreement
        return DesignOutcome(design, "error", ("formula does not parse",), None, 0.0, 0.0, str(e))
    if isinstance(e, _PyTimeout):
        return DesignOutcome(design, "error", ("timeout (Python side)",), None, r_s, time.perf_counter() - t0 - r_s,
                             str(e))
    kind = "R side" if r_s == 0.0 else "Python side"
    return DesignOutcome(design, "error", (f"exception ({kind})",), None, r_s or time.perf_counter() - t0,
                         py_s, last_line(e))


def design_outcome(design: Design, report: Any, sel: Selection, r_s: float, py_s: float) -> DesignOutcome:
    """The outcome of a checked design from its report (LMM and GLMM reports alike)."""
    if report.verdict is Verdict.NOT_COMPARED:
        why = next(c.detail for c in report.components if c.name == NOT_COMPARED)
        return DesignOutcome(design, "not-compared", (), report, r_s, py_s, why)
    failing = tuple(c.name for c in report.components if not c.ok and sel.selects(c.name))
    refused = any(c.name.startswith("decision") for c in report.components)
    status = "disagree" if failing else ("both-refused" if refused else "agree")
    return DesignOutcome(design, status, failing, report, r_s, py_s)


@dataclass(frozen=True)
class DesignKind:
    """What a campaign explores: the levels, how one design is run (``run``: the signature of
    :func:`run_design`), the designs of a seed in campaign order, the default implementation (None: the
    ``cfg.impl`` spec through ``load_impl``) and the reproducer writer.  :data:`LMM` (lFormula/lmer) and
    ``parity.campaigns.glmm_fuzz.GLMM`` (glFormula/glmer)."""

    name: str
    levels: tuple[str, ...]
    run: Callable[..., DesignOutcome]
    designs: Callable[[int, Hazards], Iterator[Design]]
    default_impl: Impl | None
    write_reproducer: Callable[..., Path]


#: the LMM kind (lme4's lFormula() and lmer()): the default of run_campaign
LMM = DesignKind(name="lmm", levels=("lformula", "fit"), run=run_design, designs=campaign_designs,
                 default_impl=None, write_reproducer=write_reproducer)


def run_campaign(cfg: FuzzConfig, *, impl: Impl | None = None, out_dir: str | Path | None = None,
                 progress: Progress | bool | None = None, runner: Runner | None = None,
                 kind: DesignKind = LMM) -> FuzzResult:
    """Explore ``cfg.examples`` designs, shrink each distinct failure, write reproducers to ``out_dir``.

    ``runner`` (:mod:`parity.campaigns.workers`; default: this process, or ``cfg.workers`` spawned
    processes, or the Dask scheduler ``cfg.dask``) runs the exploration; outcomes are merged in design
    order and shrinking runs here, so the report is the same for any number of workers.

    ``progress`` is told of every design (a :class:`parity.campaigns.progress.Progress`, e.g. the
    ``parity fuzz`` progress bar); None or a bool: no display.  ``kind``: the designs explored
    (:data:`LMM`, or ``parity.campaigns.glmm_fuzz.GLMM``); ``cfg.level`` must be one of its levels."""
    if cfg.level not in kind.levels:
        raise ValueError(f"level {cfg.level!r} is not a level of {kind.name} designs ({', '.join(kind.levels)})")
    own_impl = impl is None and cfg.impl in (None, "pyreterms") and kind.default_impl is not None
    fn: Any = impl if impl is not None else (kind.default_impl if own_impl else load_impl(cfg.impl))
    spec = cfg.impl if impl is None else impl
    note = ""
    level = cfg.level
    if kind is LMM and level == "fit" and impl is None and cfg.impl in (None, "pyreterms"):
        ok, why = fit_level_available()
        if not ok:
            level, note = "lformula", why
    cache: dict[tuple, DesignOutcome] = {}
    order: list[tuple] = []
    t_start = time.perf_counter()

    def evaluate(d: Design, at: str | None = None) -> DesignOutcome:
        """One design at ``at`` (default the campaign's level; "fit-pinned": the fit level with the
        implementation's theta pinned to lme4's, used by shrinking, see parity.campaigns.shrink.pin_theta)."""
        k = (design_key(d), at or level)
        if k not in cache:
            cache[k] = kind.run(d, pin_theta(fn) if at == "fit-pinned" else fn,
                                  level="fit" if at == "fit-pinned" else at or level, time_limit=cfg.time_limit,
                                  ignore=cfg.ignore, py_time_limit=cfg.py_time_limit, only=cfg.only)
        return cache[k]

    outcomes: list[DesignOutcome] = []
    prog: Progress = SilentProgress() if progress is None or isinstance(progress, bool) else progress
    own = runner is None
    run = make_runner(cfg.workers, cfg.dask) if runner is None else runner
    job = ChunkJob(kind.run, fn if impl is not None or own_impl else cfg.impl, level, cfg.time_limit,
                   cfg.py_time_limit, cfg.ignore, cfg.only)
    explored = itertools.islice(kind.designs(cfg.seed, cfg.hazards), cfg.examples)  # parity.campaigns.seeding
    try:
        with prog:
            for o in ordered_outcomes(run, job, explored, stop=lambda o: cfg.stop_at_first and bool(o.failing)):
                cache.setdefault((design_key(o.design), level), o)
                outcomes.append(o)
                order.append(design_key(o.design))
                prog.step(o)
        versions = run.versions()  # the workers' R (this process starts its own only to shrink)
    finally:
        if own:
            run.close()
    failures: list[ShrunkFailure] = []
    covered: set[str] = set()
    for _idx, o in enumerate(outcomes):
        todo = [c for c in o.failing if c not in covered]
        if not todo or len(failures) >= cfg.max_failures:
            continue
        target = todo[0]
        shrunk, calls, secs = (shrink_failure(cfg, target, level, o, evaluate, cache, prog) if cfg.shrink
                               else (o, 0, 0.0))
        covered |= {target, *shrunk.failing, *o.failing}
        rep = None
        if out_dir is not None:
            slug = re.sub(r"[^A-Za-z0-9]+", "_", target).strip("_")[:40] or "failure"
            rep = kind.write_reproducer(Path(out_dir) / f"{len(failures) + 1:02d}-{slug}", shrunk.design,
                                   component=target, impl=spec, level=level, said={"said": shrunk.said()})
        failures.append(ShrunkFailure(target, o, shrunk, calls, secs, rep))
    return FuzzResult(cfg, tuple(outcomes), tuple(failures), note, time.perf_counter() - t_start, versions,
                      kind.name)
