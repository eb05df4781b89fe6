"""``pyreterms compile``: the numba kernels a fit uses are compiled (or loaded from the cache) by one lmer and
one glmer fit on built-in data; afterwards both kernels' dispatchers hold compiled code."""
from __future__ import annotations

import pytest

from pyreterms.cli import main
from pyreterms.glmm import pirlsjit
from pyreterms.lmm import densekernel


def test_compile_leaves_the_kernels_compiled(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pyreterms: kernels ready in ")
    compiled = [d for mod in (pirlsjit, densekernel) for d in vars(mod).values()
                if hasattr(d, "signatures") and d.signatures]
    assert {getattr(d, "__module__", "") for d in compiled} >= {"pyreterms.glmm.pirlsjit", "pyreterms.lmm.densekernel"}
