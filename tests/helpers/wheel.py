"""The wheel as a user gets it, built from this tree: shared by tests/unit/test_packaging.py (its contents) and
tests/live/test_packaging_wheel_check.py (installed into a fresh venv, run against live lme4), built at most
once per test process (the ``wheel`` fixture of tests/conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    """The environment without anything that would import this checkout instead of the wheel, and
    without what the embedded R of earlier tests put there (rpy2 sets LD_LIBRARY_PATH to R's and the
    system's library directories, and a Python built elsewhere then loads the wrong libssl: pip fails
    with "the SSL module is not available")."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "R_HOME", "LD_LIBRARY_PATH", "KMP_DUPLICATE_LIB_OK")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def build_wheel(out: Path) -> Path:
    """``pip wheel REPO --no-deps -w out``: the path of the one pyreterms wheel built."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, text=True, env=clean_env(), timeout=300)
    (whl,) = out.glob("pyreterms-*.whl")
    return whl
