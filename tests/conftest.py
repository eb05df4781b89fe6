"""Shared fixtures (for every folder: ``unit/``, ``golden/``, ``live/``).  Tests marked ``r`` talk to a
live R with lme4 (the live tier); the others run without R (the golden / pure tier).  R tests are never
skipped: without R they fail (the ``R`` fixture raises), and under CI (``CI`` set, as ``.ci/run`` does) a
live test that skips for any reason is reported as a failure, and a session that selects live tests stops at
once, in one line (``R is required under CI: ...``), when the embedded R cannot start.  The folder is the
tier: a test under ``unit/`` marked ``r``, using the ``R`` fixture or starting R fails, and so does a test
under ``live/`` not marked ``r``.

Under pytest-xdist (``bash dev.sh test`` runs ``pytest -n auto --dist loadscope``: a module's tests, and so
its module-scoped fixtures, stay on one worker) every worker is its own test process with its own embedded R
(the ``R`` fixture starts it on the worker's first live test), and the session fixtures that build something
(``built_site``, ``wheel``) are built once per session: the first worker to need one builds it under a file
lock and the others reuse it (tests/helpers/once.py).  Under CI the R check runs on every worker (before its first test).  Hypothesis
keeps no example database (the ``pyreterms-tests`` profile), so workers share no directory."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

from helpers.docs_site import build_site, fresh_site
from helpers.once import build_once
from helpers.wheel import build_wheel

#: starts the embedded R with lme4 as parity.r.session does (rpy2.robjects, then library(lme4))
_PROBE = "import rpy2.robjects as ro; ro.r('suppressPackageStartupMessages(library(lme4))')"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Under CI, a skipped live test (marker ``r``) fails: the live tier must have run."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and _in_ci() and item.get_closest_marker("r") is not None:
        rep.outcome = "failed"
        rep.longrepr = f"live test skipped under CI (the live tier needs R with lme4): {rep.longrepr}"


#: no Hypothesis example database by default: xdist workers (and concurrent CI runs) share no .hypothesis/
#: directory, and a run never replays examples another run stored (tests that want one say so in settings())
settings.register_profile("pyreterms-tests", database=None)
settings.load_profile("pyreterms-tests")


#: the tiers by folder: every test under ``unit/`` runs without R, every test under ``live/`` is marked ``r``
TESTS = Path(__file__).resolve().parent


def _tier(item: pytest.Item) -> str | None:
    """``unit`` or ``live`` for a test in that folder (None elsewhere)."""
    try:
        rel = Path(str(item.path)).resolve().relative_to(TESTS)
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 and rel.parts[0] in ("unit", "live") else None


def tier_problem(item: pytest.Item) -> str | None:
    """Why ``item`` sits in the wrong tier: a test under ``unit/`` marked ``r`` or using the ``R`` fixture
    (directly or through another fixture), or a test under ``live/`` not marked ``r``; None when it fits."""
    tier, marked = _tier(item), item.get_closest_marker("r") is not None
    uses_r = "R" in getattr(item, "fixturenames", ())
    if tier == "unit" and (marked or uses_r):
        return (f"{item.nodeid}: tests/unit is the no-R tier, but this test "
                f"{'is marked r' if marked else 'uses the R fixture'}: move it to tests/live")
    if tier == "live" and not marked:
        return f"{item.nodeid}: tests/live is the R tier, but this test is not marked r (pytestmark = pytest.mark.r)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test in the wrong tier fails (before it runs)."""
    problem = tier_problem(item)
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A test under ``unit/`` that starts the embedded R (without the fixture or the marker) fails."""
    session = sys.modules.get("parity.r.session")
    before = session is not None and session.is_started()
    outcome = yield
    session = sys.modules.get("parity.r.session")
    if _tier(item) == "unit" and not before and session is not None and session.is_started():
        outcome.force_exception(pytest.fail.Exception(
            f"{item.nodeid}: started the embedded R, but tests/unit is the no-R tier: move it to tests/live",
            pytrace=False))


def r_home_problem() -> str | None:
    """Why R_HOME cannot be R's home (None: it can or is not set), found without starting R: rpy2 embeds the R
    that R_HOME names, and a bogus one ends the process that embeds it (R's fatal error, no Python exception)."""
    home = os.environ.get("R_HOME")
    if home is None:
        return None if shutil.which("R") else "no R on the PATH and R_HOME is not set"
    if not os.path.isfile(os.path.join(home, "bin", "R")):
        return f"R_HOME={home} is not an R installation (no {os.path.join(home, 'bin', 'R')})"
    return None


def r_problem() -> str | None:
    """Why the embedded R with lme4 cannot start here (None: it can).  R is started in a child process, as
    parity.r.session starts it, so a broken installation ends the child, not this test session."""
    home = r_home_problem()
    if home is not None:
        return home
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "starting R with lme4 took longer than 600 s"
    if proc.returncode == 0:
        return None
    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    return f"R with lme4 does not start ({lines[-1] if lines else f'exit code {proc.returncode}'})"


#: the one line a session that needs R under CI stops with when R cannot start
R_REQUIRED = "R is required under CI: "


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Under CI, a session that selects live tests stops before the first test when R cannot start.  On an
    xdist worker (which may not end the session with pytest.exit: the controller would report a crash) the
    worker drops its tests before reporting its collection and asks the controller to stop with the line."""
    if not _in_ci() or not any(item.get_closest_marker("r") is not None for item in session.items):
        return
    problem = r_problem()
    if problem is None:
        return
    if hasattr(session.config, "workerinput"):
        session.items.clear()
        session.shouldstop = R_REQUIRED + problem
        return
    pytest.exit(R_REQUIRED + problem, returncode=pytest.ExitCode.TESTS_FAILED)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The xdist controller stopped by a worker's :data:`R_REQUIRED` line ends as a failed session (as without
    xdist), not as an interrupted one."""
    dsession = session.config.pluginmanager.getplugin("dsession")  # xdist's controller, when this is one
    stop = getattr(dsession, "shouldstop", None) if dsession is not None else None
    if isinstance(stop, str) and stop.startswith(R_REQUIRED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


#: R's default RNGkind(), the one pyreterms.rmath.rng.RRNG plays (``.Random.seed[1] == 10403``)
_R_RNG_KIND = ["Mersenne-Twister", "Inversion", "Rejection"]


@pytest.fixture(autouse=True)
def _r_rng_kind_guard(request: pytest.FixtureRequest):
    """R-state guard: a live test must leave R's ``RNGkind()`` as R's default, since every later test
    in the process shares the R session and compares seeded draws with RRNG.  A test that changes it
    fails (in teardown) and the kind is restored, so the tests after it are unaffected."""
    yield
    if request.node.get_closest_marker("r") is None:
        return
    from parity.r import session as rsession

    if not rsession.is_started():
        return
    kind = list(rsession.r_eval("RNGkind()"))
    if kind != _R_RNG_KIND:
        rsession.r_eval('invisible(RNGkind("Mersenne-Twister", "Inversion", "Rejection"))')
        pytest.fail(f"the test left R's RNGkind() as {kind} (restored to {_R_RNG_KIND}); restore it in the test",
                    pytrace=False)


@pytest.fixture(scope="session")
def R():
    """The embedded R session (started once per test process; raises, so the test fails, without R)."""
    from parity.r import session as rsession

    problem = r_home_problem()  # a bogus R_HOME would end this process inside rsession.start()
    if problem is not None:
        raise RuntimeError(f"the live tier needs R with lme4: {problem}")
    rsession.start()
    return rsession


@pytest.fixture(scope="session")
def sleepstudy() -> pd.DataFrame:
    from pyreterms.datasets import load_dataset

    return load_dataset("sleepstudy")


@pytest.fixture(scope="session")
def ss3(sleepstudy) -> pd.DataFrame:
    """The seed example: subjects 309, 330 and 371 (rows 11-20, 31-40, 161-170 in R)."""
    return sleepstudy[sleepstudy["Subject"].isin(["309", "330", "371"])]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site as CI builds it (tests/helpers/docs_site.py): ``site/`` when ``bash dev.sh docs``
    built it from the current inputs, else built once per session (shared by the xdist workers,
    tests/helpers/once.py)."""
    return fresh_site() or build_once(tmp_path_factory, "site", build_site)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pyreterms wheel built from this tree once per session (shared by the xdist workers; a second
    concurrent build would share setuptools' build/ in the checkout): tests/helpers/wheel.py."""
    return build_once(tmp_path_factory, "wheel", build_wheel)
