"""The audit kit against live lme4: the init-impl skeleton through `parity check` / replay / fuzz with
--only and --ignore, not-provided components counted and never judged (the pure half is
tests/unit/test_audit_kit.py)."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from parity.cli.main import main as parity_main
from parity.compare.selection import Selection

pytestmark = pytest.mark.r


REPO = Path(__file__).resolve().parents[2]


FIT = "Reaction ~ Days + (Days | Subject)"


ONLY = ["lFormula()$X", "lFormula()$reTrms$Zt", "lFormula()$reTrms$flist", "lFormula()$reTrms$cnms"]


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("impl")
    assert parity_main(["init-impl", "audit_skeleton", "--dir", str(d)]) == 0
    sys.path.insert(0, str(d))
    importlib.invalidate_caches()
    return "audit_skeleton:fit"


def test_skeleton_passes_check_with_only(R, skeleton: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton, "--only", *ONLY,
                      "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 0, j
    assert sorted(c["name"] for c in j["components"]) == sorted(ONLY)
    assert j["not_provided"] == 0  # nothing outside --only is listed


def test_not_provided_is_counted_never_judged(R, skeleton: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    # a wildcard selects more than the skeleton provides: those are counted, the rest judged
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton,
                      "--only", "lFormula()$*", "--ignore", "lFormula()$fr", "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 0 and j["verdict"] == "agree"
    assert j["not_provided"] == len(j["not_provided_components"]) > 5
    assert "lFormula()$reTrms$Lambdat" in j["not_provided_components"]
    assert "lFormula()$fr" not in j["not_provided_components"]  # ignored: neither judged nor counted
    assert {c["name"] for c in j["components"]} == set(ONLY)
    # without --only the level's required components must be provided: the skeleton fails on them
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton, "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 1 and j["verdict"] == "disagree"
    missing = {c["name"] for c in j["components"] if c["detail"].startswith("required component missing")}
    assert {'getME(fit, "theta")', "lFormula()$reTrms$Lambdat", "devfun(theta)"} <= missing
    assert not any(c["detail"].startswith("missing in this implementation") for c in j["components"])
    # naming a component the implementation lacks is a claim: it fails
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton,
                      "--only", "lFormula()$X", "fixef(fit)", "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 1 and [c["name"] for c in j["components"] if not c["ok"]] == ["fixef(fit)"]


def test_pyreterms_itself_is_judged_strictly(R, sleepstudy) -> None:
    from parity.compare.check import check

    rep = check(FIT, sleepstudy, level="lformula", selection=Selection.of(["lFormula()$X", "lFormula()$nothing*"]))
    assert rep.ok and rep.not_provided == ()


def test_unsupported_input_is_not_compared(R, skeleton: str, sleepstudy) -> None:
    from parity.adapter.pyreterms_lformula import load_impl
    from parity.compare.check import check
    from parity.compare.verdicts import Verdict

    rep = check("Reaction ~ log(Days + 1) + (1 | Subject)", sleepstudy, level="lformula",
                impl=load_impl(skeleton), selection=Selection.of(ONLY))
    assert rep.verdict is Verdict.NOT_COMPARED
    assert "numeric (double) columns only" in rep.components[0].detail


def test_replay_with_only_counts_not_provided(R, skeleton: str, tmp_path: Path, capsys) -> None:
    golden = REPO / "tests" / "goldens" / "fit"
    out = tmp_path / "replay.json"
    rc = parity_main(["replay", str(golden), "--impl", skeleton, "--cases", "ss-intercept-only",
                      "--only", "lFormula()$X", "lFormula()$reTrms$Zt", "lFormula()$reTrms$cnms", "fixef*",
                      "--json", str(out)])
    case = json.loads(out.read_text())["cases"][0]
    assert rc == 0, case
    assert case["not_provided"] == ["fixef(fit)"]
    assert "not provided by this implementation" in capsys.readouterr().out


def test_fuzz_design_with_only_and_ignore(R, skeleton: str) -> None:
    from parity.adapter.pyreterms_lformula import load_impl
    from parity.campaigns.fuzz import run_design
    from parity.campaigns.strategies import Design
    from pyreterms.datasets import load_dataset

    d = Design(FIT, load_dataset("sleepstudy"))
    o = run_design(d, load_impl(skeleton), level="lformula", only=tuple(ONLY) + ("lFormula()$reTrms$L*",),
                   ignore=frozenset({"lFormula()$reTrms$cnms"}))
    assert o.status == "agree"
    assert {c.name for c in o.report.components} == set(ONLY) - {"lFormula()$reTrms$cnms"}
    # globs are case-sensitive: L* takes Lambdat and Lind, not lower
    assert set(o.report.not_provided) == {"lFormula()$reTrms$Lambdat", "lFormula()$reTrms$Lind"}
