"""Every mutant has the implementation contract of parity's adapter: it takes every keyword argument
``pyreterms_impl`` takes (``theta=`` included: a fit-level check passes lme4's fitted theta), so that a
campaign run at either level catches the mutant by a disagreement, never by a TypeError.  No R."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

from parity.adapter.pyreterms_lformula import pyreterms_impl
from parity.campaigns.mutants import MUTANTS, one_cell_scaled, shifted, without
from pyreterms.errors import PyretermsError

KW = [p for p in inspect.signature(pyreterms_impl).parameters if p not in ("formula", "data")]


@pytest.mark.parametrize("m", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_takes_every_adapter_argument(m, ss3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m.fn("Reaction ~ Days + (Days | Subject)", ss3, REML=True, level="fit", weights=None,
                 offset=None, contrasts=None, theta=np.array([0.9, 0.1, 0.3]))
        except PyretermsError:
            pass  # refusing a design is part of the contract (the harness's verdicts handle it)
    assert set(KW) == {"REML", "level", "weights", "offset", "contrasts", "theta"}


def test_one_component_mutants_change_exactly_that_component(ss3):
    f = "Reaction ~ Days + (Days | Subject)"
    base = pyreterms_impl(f, ss3)
    lind = "lFormula()$reTrms$Lind"
    assert lind not in without(lind)(f, ss3)
    np.testing.assert_array_equal(shifted(lind)(f, ss3)[lind].x, base[lind].x - 1)
    zt = "lFormula()$reTrms$Zt"
    got = one_cell_scaled(zt, 5)(f, ss3)[zt].x.tocsc()
    ref = base[zt].x.tocsc()
    got.sort_indices()
    ref.sort_indices()
    assert np.flatnonzero(got.data != ref.data).tolist() == [5]
