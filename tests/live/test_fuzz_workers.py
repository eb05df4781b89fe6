"""``parity fuzz --workers N`` / ``--dask``: the same seed gives the same report (outcomes, shrunk
failures, reproducers) for 1 worker, 2 spawned workers and a Dask ``LocalCluster``."""
from __future__ import annotations

from pathlib import Path

import pytest

from parity.campaigns.fuzz import FuzzConfig, run_campaign
from parity.campaigns.strategies import Hazards
from parity.campaigns.workers import make_runner, spawn_environment
from parity.cli.main import main

pytestmark = [pytest.mark.r, pytest.mark.slow]  # campaigns: a minute

#: a campaign with a failure to shrink: a mutant that keeps explicit zeros in Zt (parity.campaigns.mutants)
MUTANT = "parity.campaigns.mutants:zeros_kept_in_zt"
CFG = dict(examples=24, seed=1, level="lformula", impl=MUTANT, shrink_seconds=120.0, max_failures=1,
           hazards=Hazards().without("negative_weights", "i_comparisons"))
TIMING = {"timing", "r_seconds", "python_seconds", "shrink_seconds", "reproducer"}


def _strip(x: object) -> object:
    """The report without its timings and the reproducer's directory (which differ from run to run)."""
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k not in TIMING}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def _files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def one_worker(R, tmp_path_factory) -> tuple[dict, dict[str, str]]:
    out = tmp_path_factory.mktemp("w1")
    res = run_campaign(FuzzConfig(workers=1, **CFG), out_dir=out)
    assert res.failures, "the mutant campaign should find its failure (else this test proves nothing)"
    return _strip(res.as_json()), _files(out)


def test_two_workers_give_the_same_report(one_worker, tmp_path) -> None:
    rep1, files1 = one_worker
    res = run_campaign(FuzzConfig(workers=2, **CFG), out_dir=tmp_path)
    assert _strip(res.as_json()) == rep1
    assert _files(tmp_path) == files1  # reproducers byte for byte


def test_dask_local_cluster_gives_the_same_report(one_worker, tmp_path) -> None:
    import dask
    import distributed  # the [dask] extra (bash dev.sh setup installs it)

    # the cluster's processes start as before this process's R started, and may start their R process
    with spawn_environment(), dask.config.set({"distributed.worker.daemon": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        runner = make_runner(dask=client)
        res = run_campaign(FuzzConfig(**CFG), out_dir=tmp_path, runner=runner)
    rep1, files1 = one_worker
    assert _strip(res.as_json()) == rep1
    assert _files(tmp_path) == files1


def test_stop_at_first_is_the_same_for_any_worker_count(R) -> None:
    cfg = dict(CFG, examples=40, shrink=False)
    a = run_campaign(FuzzConfig(workers=1, stop_at_first=True, **cfg))
    b = run_campaign(FuzzConfig(workers=2, stop_at_first=True, **cfg))
    assert a.outcomes[-1].failing and len(a.outcomes) < 40
    assert _strip(a.as_json()) == _strip(b.as_json())


def test_cli_refuses_zero_workers(capsys) -> None:
    assert main(["fuzz", "--examples", "3", "--workers", "0", "--quiet"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
