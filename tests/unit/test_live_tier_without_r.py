"""The live tier without R (no R needed): under CI a session selecting live tests stops at collection with one
line, ``R is required under CI: ...``, instead of dying inside the first test (a bogus R_HOME makes R end the
process that embeds it, silently); outside CI the ``R`` fixture fails the test with the reason.  Each case runs
tests/conftest.py in a child pytest over a one-test file, in a temporary directory."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
#: the shared test helpers tests/conftest.py imports (tests/helpers/)
HELPERS = CONFTEST.parent / "helpers"
LIVE_TEST = '''
import pytest


@pytest.mark.r
def test_live(R):
    assert R.is_started()


def test_pure():
    assert True
'''


def run_tier(tmp_path: Path, r_home: str, ci: bool, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copytree(HELPERS, tmp_path / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "test_tier.py").write_text(LIVE_TEST, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    r: live\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env.update({"R_HOME": r_home, **({"CI": "1"} if ci else {})})
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)


def _exit_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """pytest's report of pytest.exit (``! _pytest.outcomes.Exit: ... !``), without its frame."""
    return [ln.strip("! ").removeprefix("_pytest.outcomes.Exit: ") for ln in proc.stdout.splitlines()
            if "_pytest.outcomes.Exit" in ln]


def test_ci_bogus_r_home_stops_at_collection(tmp_path: Path) -> None:
    proc = run_tier(tmp_path, "/nonexistent-r-home", ci=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _exit_lines(proc) == ["R is required under CI: R_HOME=/nonexistent-r-home is not an R installation "
                                 "(no /nonexistent-r-home/bin/R)"], proc.stdout
    assert "no tests ran" in proc.stdout


def test_ci_broken_r_stops_at_collection(tmp_path: Path) -> None:
    """An R_HOME that looks like R's but cannot start: the child R's last words are the reason."""
    home = tmp_path / "fake-r"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "R").write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    (home / "bin" / "R").chmod(0o755)
    (tmp_path / "run").mkdir()
    proc = run_tier(tmp_path / "run", str(home), ci=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [line] = _exit_lines(proc)
    assert line.startswith("R is required under CI: R with lme4 does not start ("), line
    assert "no tests ran" in proc.stdout


def test_ci_without_live_tests_needs_no_r(tmp_path: Path) -> None:
    proc = run_tier(tmp_path, "/nonexistent-r-home", True, "-m", "not r")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 deselected" in proc.stdout


def test_ci_bogus_r_home_stops_under_xdist(tmp_path: Path) -> None:
    """The same stop under pytest-xdist (``-n 2``, as ``bash dev.sh test`` runs): each worker finds R missing
    before its first test, the controller stops with the one line and the session fails (not a crash report)."""
    proc = run_tier(tmp_path, "/nonexistent-r-home", True, "-n", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln.strip("! ").split("Interrupted: ", 1)[1] for ln in proc.stdout.splitlines() if "Interrupted: " in ln]
    assert lines == ["R is required under CI: R_HOME=/nonexistent-r-home is not an R installation "
                     "(no /nonexistent-r-home/bin/R)"], proc.stdout
    assert "no tests ran" in proc.stdout and "INTERNALERROR" not in proc.stdout + proc.stderr


def test_ci_without_live_tests_needs_no_r_under_xdist(tmp_path: Path) -> None:
    proc = run_tier(tmp_path, "/nonexistent-r-home", True, "-n", "2", "-m", "not r")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_outside_ci_the_live_test_errors_with_the_reason(tmp_path: Path) -> None:
    """Not under CI the session runs; the live test errors in its R fixture (no silent end of the process)."""
    proc = run_tier(tmp_path, "/nonexistent-r-home", ci=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 passed, 1 error" in proc.stdout
    assert ("RuntimeError: the live tier needs R with lme4: R_HOME=/nonexistent-r-home is not an R installation "
            "(no /nonexistent-r-home/bin/R)") in proc.stdout
