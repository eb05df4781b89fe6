"""The command lines' set-up failures (issue 15): a missing 'parity' extra (one line naming it, exit 2,
every sub-command still listed), ``--version`` from the package metadata, and ``--impl module:function``
found in the current directory and imported before R starts (a typo: one line, exit 2, R never started).

The missing packages are simulated in a subprocess by an import hook that answers "No module named"
for them, as an environment without them does.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HINT = "pip install 'pyreterms[parity]'"
FORMULA = "Reaction ~ Days + (Days | Subject)"

# Runs parity's main with some top-level packages made unimportable; then reports whether R started.
SHIM = textwrap.dedent("""
    import sys
    block, argv = set(filter(None, sys.argv[1].split(","))), sys.argv[2:]

    class Missing:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in block:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Missing())
    from parity.cli.main import main
    rc = main(argv)
    from parity.r import session as rsession
    print(f"R started: {rsession.is_started()}", file=sys.stderr)
    sys.exit(rc)
""")


def parity_without(block: str, *argv: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SHIM, block, *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if not ln.startswith("R started:")]


@pytest.mark.parametrize("block, argv, missing", [
    ("rpy2", ["check", FORMULA, "--data", "r:lme4::sleepstudy"], "rpy2"),
    ("rpy2", ["check", FORMULA, "--data", "no-such.csv", "--level", "lformula"], "rpy2"),
    ("rpy2", ["record", "all", "--out", "golden-out"], "rpy2"),
    ("rpy2", ["bench", "--case", "sleepstudy"], "rpy2"),
    ("rpy2", ["fuzz", "--examples", "3"], "rpy2"),
    ("hypothesis", ["fuzz", "--examples", "3", "--seed", "1"], "hypothesis"),
    ("hypothesis", ["fuzz", "--help"], "hypothesis"),
    ("rich", ["fuzz", "--examples", "3"], "rich"),
    ("matplotlib", ["check", FORMULA, "--data", "r:lme4::sleepstudy", "--html", "out.html"], "matplotlib"),
])
def test_missing_extra_is_one_line_exit_2(block, argv, missing, tmp_path):
    proc = parity_without(block, *argv, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert error_lines(proc) == [f"parity: error: parity {argv[0]} needs {missing} (the 'parity' extra, "
                                 f"not installed): {HINT}"]
    assert "R started: False" in proc.stderr
    assert proc.stdout == ""


def test_fuzz_listed_without_hypothesis():
    """Without hypothesis every sub-command is still listed (fuzz with what it needs)."""
    proc = parity_without("hypothesis", "--help")
    assert proc.returncode == 0
    listed = proc.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert listed == ["check", "fuzz", "record", "replay", "bench", "init-impl", "audit", "record-glmm", "replay-glmm",
                      "bench-glmm"]
    assert f"(needs hypothesis: {HINT})" in proc.stdout


def test_bad_arguments_still_rejected_when_fuzz_unavailable(tmp_path):
    """Only the unavailable sub-command takes any arguments; the others still refuse unknown ones."""
    proc = parity_without("hypothesis", "check", FORMULA, "--data", "x.csv", "--bogus", cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc) == ["parity: error: unrecognized arguments: --bogus (see --help)"]


def test_replay_needs_no_extra():
    """Replaying goldens needs neither R nor any package of the extra (plain-text table)."""
    proc = parity_without("rpy2,hypothesis,rich,matplotlib", "replay", str(REPO / "tests/goldens/lformula"),
                          "--cases", "ss-*")
    assert proc.returncode == 0, proc.stderr
    assert "case(s):" in proc.stdout and "0 disagree" in proc.stdout
    assert "R started: False" in proc.stderr


def _exe(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_versions_from_metadata():
    expected = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert version("pyreterms") == expected
    import pyreterms

    assert pyreterms.__version__ == expected
    for cmd, out in ((["pyreterms", "--version"], f"pyreterms {expected}"),
                     (["parity", "--version"], f"parity {expected} (pyreterms)")):
        proc = subprocess.run([_exe(cmd[0]), *cmd[1:]], capture_output=True, text=True, timeout=120)
        assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, out, "")


IMPL = textwrap.dedent("""
    from parity.adapter.pyreterms_lformula import pyreterms_impl

    def impl(formula, data, **kw):
        return pyreterms_impl(formula, data, **kw)
""")


NOPE = "parity: error: cannot load implementation 'myimpl:nope': module 'myimpl' has no attribute 'nope'"


@pytest.mark.parametrize("command, spec, message", [
    ("check", "myimpl:nope", NOPE),
    ("check", "mimpl:impl", "parity: error: cannot load implementation 'mimpl:impl': No module named 'mimpl'"),
    ("check", "broken:impl",
     "parity: error: cannot load implementation 'broken:impl': ZeroDivisionError: division by zero"),
    ("check", "myimpl", "parity: error: --impl must look like 'module:function', not 'myimpl'"),
    ("fuzz", "myimpl:nope", NOPE),
    ("replay", "myimpl:nope", NOPE),
])
def test_impl_typo_fails_before_r(command, spec, message, tmp_path):
    (tmp_path / "myimpl.py").write_text(IMPL)
    (tmp_path / "broken.py").write_text("x = 1 / 0\n")
    argv = {"check": ["check", FORMULA, "--data", "r:lme4::sleepstudy"],
            "fuzz": ["fuzz", "--examples", "2", "--quiet"],
            "replay": ["replay", str(REPO / "tests/goldens/lformula")]}[command]
    proc = parity_without("", *argv, "--impl", spec, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert error_lines(proc) == [message]
    assert "R started: False" in proc.stderr


def test_audit_without_hypothesis_is_one_line_exit_2(tmp_path):
    """parity audit needs the fuzz machinery (hypothesis): one line naming the extra, exit 2."""
    proc = parity_without("hypothesis", "audit", "formulae", "--examples", "2", cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc) == [f"parity: error: parity audit needs hypothesis (the 'parity' extra, not installed): {HINT}"]
