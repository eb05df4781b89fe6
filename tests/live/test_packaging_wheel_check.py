"""The installed wheel runs `parity check` against live lme4 (the packaging checks without R are
tests/unit/test_packaging.py; the wheel is built once per session by the ``wheel`` fixture of
tests/conftest.py, tests/helpers/wheel.py)."""
from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest
import tomllib

from helpers.wheel import clean_env

pytestmark = pytest.mark.r


REPO = Path(__file__).resolve().parents[2]


FORMULA = "Reaction ~ Days + (Days | Subject)"


def test_installed_wheel_runs_parity_check(wheel, tmp_path):
    """A fresh venv, ``pip install 'pyreterms-X.whl[parity]'`` (not editable), then from an empty
    directory: both --version flags, a built-in data set, and parity check on sleepstudy against live
    lme4 (exit 0: every component agrees)."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / "bin"
    env = clean_env()
    for attempt in range(2):  # the package index may drop a connection; a second try tells that from a bad wheel
        pip = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", f"{wheel}[parity]"],
                             capture_output=True, text=True, env=env, timeout=600)
        if pip.returncode == 0:
            break
    assert pip.returncode == 0, pip.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, cwd=work,
                              timeout=300)

    where = run(bindir / "python", "-c", "import parity, pyreterms; print(parity.__file__, pyreterms.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(Path(p).is_relative_to(env_dir) for p in where.stdout.split()), where.stdout
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert run(bindir / "pyreterms", "--version").stdout.strip() == f"pyreterms {version}"
    assert run(bindir / "parity", "--version").stdout.strip() == f"parity {version} (pyreterms)"
    lf = run(bindir / "pyreterms", "lformula", FORMULA, "--data", "sleepstudy")
    assert lf.returncode == 0 and "n = 180" in lf.stdout, lf.stderr
    chk = run(bindir / "parity", "check", FORMULA, "--data", "r:lme4::sleepstudy")
    assert chk.returncode == 0, chk.stdout[-2000:] + chk.stderr
    assert "verdict: agree" in chk.stdout
