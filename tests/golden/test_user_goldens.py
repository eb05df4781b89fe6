"""Issue 15 item 3: goldens for your own models.  ``parity record --formula F --data my.csv --out DIR``
stores lme4's answers with the exact input; ``parity.testing.assert_replays(DIR, impl)`` replays them
without R (three lines in a library's test suite)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parity.cli.main import main as parity_main
from pyreterms.datasets import load_dataset

REPO = Path(__file__).resolve().parents[2]


def _csv(tmp_path: Path) -> Path:
    d = load_dataset("sleepstudy")
    d = d[d["Subject"].astype(str).isin(["308", "309", "330", "331", "371", "372"])].copy()
    d["w"] = np.tile([1.0, 2.0, 0.5], len(d) // 3 + 1)[: len(d)]
    p = tmp_path / "my_sleep.csv"
    d.to_csv(p, index=False)
    return p


@pytest.fixture(scope="module")
def golden(tmp_path_factory, R) -> Path:
    tmp = tmp_path_factory.mktemp("user-goldens")
    csv = _csv(tmp)
    out = tmp / "goldens"
    assert parity_main(["record", "--formula", "Reaction ~ Days + (Days | Subject)", "--data", str(csv),
                        "--out", str(out), "--id", "ss6"]) == 0
    assert parity_main(["record", "--formula", "Reaction ~ Days + (1 | Subject)", "--data", str(csv),
                        "--out", str(out), "--id", "ss6-ml-w", "--ml", "--weights", "w"]) == 0
    return out


@pytest.mark.r
def test_three_lines_replay_without_r(golden: Path) -> None:
    """The library author's test, run in a fresh interpreter where rpy2 cannot be imported."""
    code = ("import sys; sys.modules['rpy2'] = None\n"
            "from parity.testing import assert_replays\n"
            f"res = assert_replays({str(golden)!r})\n"
            "assert 'rpy2.robjects' not in sys.modules\n"
            "print(len(res), sum(len(r.components) for r in res))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    n_cases, n_comp = map(int, p.stdout.split())
    assert n_cases == 2 and n_comp > 100


@pytest.mark.r
def test_the_golden_holds_the_exact_input_and_the_options(golden: Path) -> None:
    from parity.goldens.record_replay import golden_case, load_manifest

    man = load_manifest(golden)
    assert man["level"] == "fit" and set(man["cases"]) == {"ss6", "ss6-ml-w"}
    c = golden_case(golden, "ss6-ml-w")
    assert (c.formula, c.data, c.REML, c.weights) == ("Reaction ~ Days + (1 | Subject)", "my_sleep", False, "w")
    assert (golden / "inputs" / "my_sleep.json").is_file()


@pytest.mark.r
def test_a_wrong_implementation_fails_the_replay(golden: Path) -> None:
    from parity.testing import assert_replays

    with pytest.raises(AssertionError, match="disagree with lme4"):
        assert_replays(golden, "parity.campaigns.mutants:weights_ignored", cases=["ss6-ml-w"])
    with pytest.raises(AssertionError, match="sigma"):
        assert_replays(golden, "parity.campaigns.mutants:reml_ml_swapped", cases=["ss6"])
    with pytest.raises(KeyError, match="no case"):
        assert_replays(golden, None, cases=["nope"])


@pytest.mark.r
def test_changed_data_under_the_same_name_is_refused(golden: Path, tmp_path: Path, capsys) -> None:
    d = pd.read_csv(_csv(tmp_path))
    d.loc[0, "Reaction"] += 1.0
    p = tmp_path / "sub" / "my_sleep.csv"
    p.parent.mkdir()
    d.to_csv(p, index=False)
    rc = parity_main(["record", "--formula", "Reaction ~ Days + (1 | Subject)", "--data", str(p),
                      "--out", str(golden), "--id", "other"])
    assert rc == 2
    assert "differs from the input stored" in capsys.readouterr().err


@pytest.mark.parametrize("argv,msg", [
    (["--formula", "y ~ (1 | g)"], "--formula needs --data"),
    ([], "give case ids"),
    (["all", "--formula", "y ~ (1 | g)", "--data", "x.csv"], "not both"),
    (["--formula", "y ~ (1 | g", "--data", "x.csv"], "formula"),
])
def test_record_refuses_bad_arguments_in_one_line(argv, msg, tmp_path, capsys) -> None:
    rc = parity_main(["record", *argv, "--out", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
