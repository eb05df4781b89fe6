"""Shared fixtures (for every folder: ``unit/``, ``golden/``, ``live/``).  Tests marked ``r`` talk to a
live R with lme4 (the live tier); the others run without R (the golden / pure tier).  R tests are never
skipped: without R they fail (the ``R`` fixture raises), and under CI (``CI`` set, as ``.ci/run`` does) a
live test that skips for any reason is reported as a failure."""
from __future__ import annotations

import os

import pandas as pd
import pytest


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
