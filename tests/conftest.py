"""Shared fixtures.  Tests marked ``r`` talk to a live R with lme4 (the live tier); the others run
without R (the golden / pure tier).  R tests are never skipped: without R they fail."""
from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def R():
    """The embedded R session (started once per test process)."""
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
