"""``parity audit PEER``: a campaign against live lme4, restricted to what the peer claims to support.

R equivalent of the oracle side: ``pyreterms_reference()`` (r_scripts/reference.R).  The designs are
a fuzz campaign's (:func:`parity.campaigns.seeding.campaign_designs`, stratified streams); each is first shown
to the peer's translation (:data:`PEERS`): a design it cannot express is *not compared*, with the
reason, and costs no R call; at the fit level every other compared design is fitted by ML
(``REML = FALSE``), the others as generated.  ``examples`` counts compared designs (at most ``scan`` designs are
looked at).  Every disagreeing design gets a *cause* (:func:`cause_of`: which components differ and
how -- structure, accept/refuse, the likelihood at lme4's theta, a worse optimum, or the optimizer's
stopping point on a flat criterion); designs are grouped by cause and the smallest design of each
group is shrunk (:func:`parity.campaigns.shrink.reduce_design`) while it keeps that cause.
"""
from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from parity.adapter.impl import Unsupported
from parity.audit.formulae_adapter import check_supported
from parity.audit.statsmodels_adapter import translate
from parity.campaigns.fuzz import DesignOutcome, _r_side, run_design
from parity.campaigns.seeding import campaign_designs
from parity.campaigns.shrink import reduce_design, size_key
from parity.campaigns.strategies import Design
from parity.compare.verdicts import refusal_class
from parity.r import session as rsession

__all__ = ["Peer", "PEERS", "AuditResult", "Finding", "run_audit", "cause_of", "supported"]


@dataclass(frozen=True)
class Peer:
    """A Python peer: its adapter (parity.audit.<module>:fit), the level it is compared at, the
    components it provides (``--only`` patterns) and its distribution name (for the version)."""

    name: str
    module: str
    level: str
    only: tuple[str, ...]
    distribution: str
    check: Callable[[str, Any], Any]

    def impl(self) -> Callable:
        return importlib.import_module(f"parity.audit.{self.module}").fit

    def version(self) -> str:
        from importlib.metadata import version

        return version(self.distribution)


# the adapters import their peer library (statsmodels, formulae: the optional 'audit' extra) only inside the
# functions that call it, so importing the adapters at the top works without the extra
def _sm_check(formula: str, data: Any) -> Any:
    return translate(formula, data)


def _fm_check(formula: str, data: Any) -> Any:
    return check_supported(formula, data)


PEERS: dict[str, Peer] = {
    "statsmodels": Peer("statsmodels", "statsmodels_adapter", "fit",
                        ("lFormula()$X", "fixef(fit)", "sigma(fit)", "as.data.frame(VarCorr(fit))", "ranef(fit)",
                         "logLik(fit)", "lFormula()$reTrms$Zt", "devfun(theta)*"), "statsmodels", _sm_check),
    "formulae": Peer("formulae", "formulae_adapter", "lformula", ("lFormula()$X", "lFormula()$reTrms$Zt"),
                     "formulae", _fm_check),
}


def supported(peer: Peer, d: Design) -> str | None:
    """None if the peer claims the design, else the reason it is not compared."""
    if d.weights is not None or d.offset is not None or d.contrasts:
        return "weights, offsets or contrasts= (not modelled by the adapter)"
    try:
        peer.check(d.formula, d.data)
    except Unsupported as e:
        return str(e)
    return None


_X = r"(?:np\.float64\()?(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|-?inf)\)?"
_NUM = re.compile(_X + " vs R " + _X)
_STRUCT = ("dim ", "names differ", "sparsity pattern", "length ", "type ", "levels", "component names")


def _struct(detail: str) -> str | None:
    for k in _STRUCT:
        if k in detail:
            return k.strip()
    return None


def cause_of(o: DesignOutcome, r: dict | None = None) -> str:
    """A short, stable description of why a design disagrees (groups the findings)."""
    if o.report is None:
        return f"exception: {o.error.split(':')[0]}"
    bad = [c for c in o.report.components if not c.ok]
    dec = next((c for c in bad if c.name.startswith("decision")), None)
    if dec is not None:
        if dec.detail.startswith("lme4 refused"):
            msg = dec.detail.split("(", 1)[1] if "(" in dec.detail else dec.detail
            return f"accepts a design lme4 refuses ({refusal_class(msg) or 'lme4 error'})"
        if dec.detail.startswith("refused here"):
            m = re.search(r"refused here \(([^)]*)\)", dec.detail)
            return f"refuses a design lme4 fits ({(m.group(1) if m else dec.detail)[:60]})"
        return "refuses for another reason than lme4"
    structural = sorted({f"{c.name}: {_struct(c.detail)}" for c in bad if _struct(c.detail)})
    if structural:
        return "structure differs: " + "; ".join(structural)
    names = {c.name for c in bad}
    singular = ""
    if r is not None:
        s = r.get("isSingular(fit)")
        if s is not None and bool(getattr(s, "x", [False])[0]):
            singular = " (lme4's optimum is on the boundary: a zero variance)"
    ll = next((c for c in bad if c.name == "logLik(fit)"), None)
    if ll is not None:
        m = _NUM.search(ll.detail)
        if m and float(m.group(1)) < float(m.group(2)):
            return "stops at a worse optimum (lower log-likelihood than lme4's)" + singular
        return "reports a higher log-likelihood than lme4's optimum" + singular
    dv = next((c for c in bad if c.name == "devfun(theta)"), None)
    if dv is not None:
        if "infinite" in dv.detail:
            return "its criterion is infinite at lme4's optimum" + singular
        return "its criterion at lme4's theta differs from lme4's (a different objective function)" + singular
    if "devfun(theta); pp$beta(1)" in names:
        return "its GLS fixed effects at lme4's theta differ" + singular
    worst = max((c.max_rel_diff for c in bad if c.max_rel_diff == c.max_rel_diff), default=float("nan"))
    if worst < 1e-3:
        return ("the same optimum within the optimizer's tolerance (log-likelihood agrees; estimates differ by "
                "< 1e-3 relative)" + singular)
    return "estimates differ at an equally good optimum (log-likelihood agrees; a flat criterion)" + singular


@dataclass(frozen=True, eq=False)
class Finding:
    cause: str
    designs: int
    components: tuple[str, ...]
    first: DesignOutcome
    shrunk: DesignOutcome
    shrink_calls: int


@dataclass(frozen=True, eq=False)
class AuditResult:
    peer: str
    version: str
    seed: int
    examples: int
    outcomes: tuple[DesignOutcome, ...]
    refused: tuple[tuple[Design, str], ...]
    findings: tuple[Finding, ...]
    wall_seconds: float
    versions: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return not any(o.status in ("disagree", "error") for o in self.outcomes)

    def refused_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, why in self.refused:
            key = re.sub(r"'[^']*'", "'…'", why)
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def component_agreement(self) -> dict[str, list[int]]:
        """component -> [designs agreeing, designs disagreeing] over the compared designs."""
        out: dict[str, list[int]] = {}
        for o in self.outcomes:
            for c in (o.report.components if o.report is not None else ()):
                if c.name.startswith("decision") or c.name == "not compared":
                    continue
                out.setdefault(c.name, [0, 0])[0 if c.ok else 1] += 1
        return out

    def as_json(self) -> dict:
        return {"peer": self.peer, "version": self.version, "seed": self.seed, "examples": self.examples,
                "ok": self.ok, "versions": self.versions, "wall_seconds": self.wall_seconds,
                "counts": {"compared": len(self.outcomes), "agree": self.count("agree"),
                           "both_refused": self.count("both-refused"), "disagree": self.count("disagree"),
                           "error": self.count("error"), "not_compared": len(self.refused)
                           + self.count("not-compared")},
                "not_compared_by_reason": self.refused_by_reason(),
                "components": self.component_agreement(),
                "findings": [{"cause": f.cause, "designs": f.designs, "components": list(f.components),
                              "formula": f.shrunk.design.formula, "REML": f.shrunk.design.REML,
                              "n": f.shrunk.design.n, "data_csv": f.shrunk.design.data.to_csv(index=False),
                              "said": f.shrunk.said(), "original_formula": f.first.design.formula,
                              "original_n": f.first.design.n, "shrink_calls": f.shrink_calls}
                             for f in self.findings]}


def run_audit(peer: Peer, *, examples: int = 30, seed: int = 0, scan: int | None = None,
              shrink_seconds: float = 30.0, max_findings: int = 8, time_limit: float | None = 10.0,
              progress: Callable[[str], None] | None = None) -> AuditResult:
    """Compare ``examples`` designs the peer supports (module docs); shrink one design per cause."""
    t0 = time.perf_counter()
    rsession.start()
    fn = peer.impl()
    scan = scan if scan is not None else 40 * examples
    outcomes: list[DesignOutcome] = []
    refused: list[tuple[Design, str]] = []

    def run(d: Design) -> DesignOutcome:
        return run_design(d, fn, level=peer.level, time_limit=time_limit, only=peer.only)

    for k, d in enumerate(campaign_designs(seed)):
        if len(outcomes) >= examples or k >= scan:
            break
        why = supported(peer, d)
        if why is not None:
            refused.append((d, why))
            continue
        if peer.level == "fit" and len(outcomes) % 2 == 1:
            d = replace(d, REML=False)  # every other compared design by ML (REML = FALSE)
        o = run(d)
        outcomes.append(o)
        if progress is not None:
            progress(f"{len(outcomes)}/{examples} {o.status:13s} {d.formula}")
    groups: dict[str, list[DesignOutcome]] = {}
    for o in outcomes:
        if o.status in ("disagree", "error"):
            groups.setdefault(cause_of(o, _r(o, peer, time_limit)), []).append(o)
    findings: list[Finding] = []
    for cause, members in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:max_findings]:
        first = min(members, key=lambda o: size_key(o.design))
        calls = [0]

        def same_cause(d: Design, calls: list[int] = calls, cause: str = cause) -> bool:
            if supported(peer, d) is not None:
                return False
            calls[0] += 1
            o2 = run(d)
            return o2.status in ("disagree", "error") and cause_of(o2, _r(o2, peer, time_limit)) == cause

        if progress is not None:
            progress(f"shrinking: {cause}")
        best = reduce_design(first.design, same_cause, time.perf_counter() + shrink_seconds)
        shrunk = run(best)
        if shrunk.status not in ("disagree", "error"):
            shrunk = first
        comps = tuple(sorted({c for m in members for c in m.failing}))
        findings.append(Finding(cause, len(members), comps, first, shrunk, calls[0]))
    return AuditResult(peer.name, peer.version(), seed, examples, tuple(outcomes), tuple(refused), tuple(findings),
                       time.perf_counter() - t0, rsession.versions())


def _r(o: DesignOutcome, peer: Peer, time_limit: float | None) -> dict | None:
    """lme4's components of a design (cached by parity.campaigns.fuzz), for the cause (isSingular)."""
    if peer.level != "fit":
        return None
    try:
        return _r_side(o.design, "fit", time_limit)
    except Exception:  # noqa: BLE001 - only used to annotate a cause
        return None
