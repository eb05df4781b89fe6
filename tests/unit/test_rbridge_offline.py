"""The R bridge without R: importing it starts no R, datasets load offline, the R value types (the live half
is tests/live/test_rbridge.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pyreterms.datasets import list_datasets, load_dataset

REPO = Path(__file__).resolve().parents[2]


def test_import_does_not_start_r():
    code = ("import sys, parity.r.values, parity.r.session, parity.r.convert, parity.r.datasource, "
            "pyreterms.datasets; assert 'rpy2.robjects' not in sys.modules, 'R started'; "
            "assert not parity.r.session.is_started()")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_datasets_offline():
    assert set(list_datasets()) >= {"sleepstudy", "Dyestuff", "Dyestuff2", "Penicillin", "Pastes", "cake", "cbpp"}
    ss = load_dataset("sleepstudy")
    assert ss.shape == (180, 3)
    assert list(ss.index[:3]) == ["1", "2", "3"]
    assert list(ss.Subject.cat.categories[:3]) == ["308", "309", "310"]
    assert ss.Reaction.iloc[0] == 249.56
    cake = load_dataset("cake")
    assert cake.temperature.cat.ordered and list(cake.temperature.cat.categories) == ["175", "185", "195", "205", "215", "225"]
    assert cake.angle.dtype == np.int64
    with pytest.raises(ValueError):
        load_dataset("nosuch")


def test_rvalues_basics():
    from parity.r.values import RList, RNull, RVector, as_rvector

    v = as_rvector([1, 2, 3])
    assert v.kind == "integer" and v.x.dtype == np.int64
    assert as_rvector(2.5).scalar() == 2.5
    lst = RList((("a", v), ("a", RNull), (None, as_rvector("x"))))
    assert lst["a"] is v and lst.names() == ("a", "a", None) and "a" in lst
    with pytest.raises(ValueError):
        RVector(np.zeros(2), kind="float")
