"""`parity check --impl` with an implementation module found in the current directory, checked against
live lme4 (the optional-extras checks without R are tests/unit/test_cli_extras.py)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.r


FORMULA = "Reaction ~ Days + (Days | Subject)"


def _exe(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


IMPL = textwrap.dedent("""
    from parity.adapter.pyreterms_lformula import pyreterms_impl

    def impl(formula, data, **kw):
        return pyreterms_impl(formula, data, **kw)
""")


def test_impl_from_current_directory(tmp_path):
    """The console script (whose sys.path[0] is its bin directory) finds a module of the current
    directory; the impl is pyreterms behind a user module, so live lme4 agrees (exit 0)."""
    (tmp_path / "myimpl.py").write_text(IMPL)
    proc = subprocess.run([_exe("parity"), "check", FORMULA, "--data", "r:lme4::sleepstudy", "--level",
                           "lformula", "--impl", "myimpl:impl"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "verdict: agree" in proc.stdout
