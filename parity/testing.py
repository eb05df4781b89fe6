"""Regression tests against lme4 without R: replay goldens recorded for your own models.

R equivalent: the stored answers of ``lme4::lFormula()``/``lmer()`` (``parity record --formula F --data
D --out DIR``).  In a library's test suite, three lines::

    from parity.testing import assert_replays

    def test_my_lmm_matches_lme4():
        assert_replays("tests/lme4-goldens", "mypkg.adapter:fit")

``impl`` is an implementation under parity's contract (``module:function`` or a callable; None is
pyreterms).  Every stored case is compared with the same rules as ``parity check`` (README
"Tolerances"); any disagreement, any required component missing on either side, or a changed input
fails with one line per failing component.  ``only`` restricts the comparison to named components
(for an implementation that returns a subset)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from parity.goldens.record_replay import ReplayResult, load_manifest, replay_case

__all__ = ["assert_replays", "replay_results"]


def replay_results(golden_dir: str | Path, impl: str | Callable[..., Any] | None = None, *,
                   cases: list[str] | None = None, only: set[str] | None = None) -> list[ReplayResult]:
    """The replay of every (or the listed) case stored in ``golden_dir`` (no R)."""
    man = load_manifest(golden_dir)
    ids = list(man["cases"]) if cases is None else list(cases)
    unknown = [c for c in ids if c not in man["cases"]]
    if unknown:
        raise KeyError(f"no case(s) {unknown} in {golden_dir} (it has {sorted(man['cases'])})")
    return [replay_case(golden_dir, cid, impl, only=only) for cid in ids]


def assert_replays(golden_dir: str | Path, impl: str | Callable[..., Any] | None = None, *,
                   cases: list[str] | None = None, only: set[str] | None = None) -> list[ReplayResult]:
    """Fail (AssertionError) unless ``impl`` agrees with every stored lme4 answer in ``golden_dir``."""
    results = replay_results(golden_dir, impl, cases=cases, only=only)
    if not results:
        raise AssertionError(f"{golden_dir} holds no recorded cases")
    bad = [(r.case_id, c) for r in results for c in r.components if not c.ok]
    if bad:
        lines = [f"{cid}: {c.name}: {c.detail}" for cid, c in bad[:20]]
        more = f"\n... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise AssertionError(f"{len(bad)} component(s) disagree with lme4 in {golden_dir}:\n" + "\n".join(lines) + more)
    return results
