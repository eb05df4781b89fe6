"""The documentation site's walkthrough numbers are lme4's (live R) and typed nowhere in the sources (the
site build itself is checked in tests/unit/test_docs_site.py)."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.r


ROOT = Path(__file__).resolve().parents[2]


DOCS = ROOT / "docs"


SEED = "Reaction ~ Days + (Days | Subject)"


def _pages() -> dict[str, str]:
    return {str(p.relative_to(DOCS)): p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")}


def _code_blocks(page: Path) -> list[str]:
    """The text of every <pre> block of a built page (tags stripped, entities decoded)."""
    t = page.read_text(encoding="utf-8")
    return [html.unescape(re.sub(r"<[^>]+>", "", b)) for b in re.findall(r"<pre[^>]*>(.*?)</pre>", t, re.S)]


def test_walkthrough_numbers_are_lme4s_and_typed_nowhere(R, built_site) -> None:
    """The fitted numbers on the page are what R prints for lme4's fit at the theta pyreterms found
    (the optimum itself may differ in the last digits: README "Known differences" 1; that theta is
    judged by parity's theta rule in tests/live/test_explain_live.py)."""
    import pyreterms

    blocks = _code_blocks(built_site / "walkthrough" / "index.html")
    d = pyreterms.load_dataset("sleepstudy")
    theta = pyreterms.lmer(SEED, d[d.Subject.isin(["309", "330", "371"])]).theta
    th = ", ".join(repr(float(v)) for v in theta)
    R.r_eval(f"fm0 <- lme4::lmer({SEED}, subset(lme4::sleepstudy, Subject %in% c(309, 330, 371)), "
             f"start = c({th}), control = lme4::lmerControl(optimizer = NULL))")
    for expr in ("coef(fm0)$Subject", "fixef(fm0)", "lme4::getME(fm0, 'theta')"):
        printed = "\n".join(str(x) for x in R.r_eval(f"capture.output(print({expr}))"))
        assert any(printed.strip() in b for b in blocks), f"{expr} as R prints it is not on the page:\n{printed}"
    numbers = [f"{float(v):.4f}" for v in R.r_eval("coef(fm0)$Subject[, 1]")]
    sources = "\n".join(_pages().values()) + (DOCS / "_hooks" / "walkthrough.py").read_text()
    assert not any(n in sources for n in numbers)  # computed while building, never typed
    imgs = re.findall(r'<img[^>]*src="([^"]+)"', (built_site / "walkthrough" / "index.html").read_text())
    assert len(imgs) == 5 and all((built_site / "walkthrough" / s).stat().st_size > 1000 for s in imgs)
