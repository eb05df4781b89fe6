"""The suite under pytest-xdist as ``bash dev.sh test`` runs it (no R needed): with dev.sh's xdist options
(``XDIST=(...)`` in dev.sh) a module's tests, and so its module-scoped fixture, stay on one worker, and a
session fixture built with tests/helpers/once.py (``built_site``, ``wheel``) is built once per session
although tests on both workers use it.  Checked in a child pytest over a small test tree in a temporary
directory (tests/conftest.py and tests/helpers/ copied beside it)."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
DEV_SH = TESTS.parent / "dev.sh"

#: eight tests sharing a module-scoped fixture; six modules whose tests use a once-built session fixture
#: (each test sleeps a little, so both workers take some); each test records its worker and what it saw
MOD_TEST = '''
import os, pytest

BUILT = []


@pytest.fixture(scope="module")
def fitted():
    BUILT.append(os.environ.get("PYTEST_XDIST_WORKER"))
    return 1


@pytest.mark.parametrize("i", range(8))
def test_uses_module_fixture(fitted, i, record):
    record("mod", i, len(BUILT))
'''
SHARED_TEST = '''
import time


def test_uses_shared(shared, record):
    time.sleep(0.5)
    record("shared", {k}, shared.read_text())
'''

#: appended to the copied tests/conftest.py: a session fixture built with build_once, and the recorder
EXTRA_CONFTEST = '''
import json

from helpers.once import build_once


def _build(out):
    out.mkdir()
    with open(os.environ["GROUPS_LOG"], "a") as f:
        f.write(json.dumps(["build", 0, os.environ.get("PYTEST_XDIST_WORKER"), ""]) + "\\n")
    (out / "thing.txt").write_text(f"built by {os.environ.get('PYTEST_XDIST_WORKER')}")
    return out / "thing.txt"


@pytest.fixture(scope="session")
def shared(tmp_path_factory):
    return build_once(tmp_path_factory, "thing", _build)


@pytest.fixture
def record():
    def put(kind, i, seen):
        with open(os.environ["GROUPS_LOG"], "a") as f:
            f.write(json.dumps([kind, i, os.environ.get("PYTEST_XDIST_WORKER"), seen]) + "\\n")
    return put
'''


def dev_sh_xdist_options() -> list[str]:
    """The pytest-xdist options ``bash dev.sh test`` passes (its ``XDIST=(...)`` line)."""
    m = re.search(r"^XDIST=\((.*)\)$", DEV_SH.read_text(encoding="utf-8"), re.M)
    assert m is not None, "dev.sh has no XDIST=(...) line"
    return shlex.split(m.group(1))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[list]:
    d = tmp_path_factory.mktemp("xdist_tree")
    shutil.copytree(TESTS / "helpers", d / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    (d / "conftest.py").write_text((TESTS / "conftest.py").read_text(encoding="utf-8") + EXTRA_CONFTEST,
                                   encoding="utf-8")
    (d / "test_mod.py").write_text(MOD_TEST, encoding="utf-8")
    for k in range(6):
        (d / f"test_shared_{k}.py").write_text(SHARED_TEST.replace("{k}", str(k)), encoding="utf-8")
    (d / "pytest.ini").write_text("[pytest]\nmarkers =\n    r: live\n", encoding="utf-8")
    log = d / "groups.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    env["GROUPS_LOG"] = str(log)
    opts = [("2" if o == "auto" else o) for o in dev_sh_xdist_options()]  # two workers on any machine
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *opts], cwd=d, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "14 passed" in proc.stdout, proc.stdout
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_dev_sh_runs_xdist() -> None:
    opts = dev_sh_xdist_options()
    assert opts[:2] == ["-n", "auto"] and "--dist" in opts


def test_module_fixture_users_share_one_worker_and_one_build(runs: list[list]) -> None:
    mod = [r for r in runs if r[0] == "mod"]
    assert len(mod) == 8 and len({r[2] for r in mod}) == 1 and mod[0][2] in ("gw0", "gw1")
    assert all(r[3] == 1 for r in mod)  # the module fixture was built once, on that worker


def test_once_built_fixture_is_built_once_for_both_workers(runs: list[list]) -> None:
    builds = [r for r in runs if r[0] == "build"]
    shared = [r for r in runs if r[0] == "shared"]
    assert len(builds) == 1 and len(shared) == 6
    assert {r[2] for r in shared} == {"gw0", "gw1"}  # used on both workers ...
    assert {r[3] for r in shared} == {f"built by {builds[0][2]}"}  # ... and both saw the one build
