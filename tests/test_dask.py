"""The dask executor gives the very table the local executor gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import write_spec

from paxossim.experiments.sweep import run_sweep
from paxossim.experiments.sweep_spec import load_spec
from paxossim.experiments.sweep_table import RESULTS, SUMMARY

distributed = pytest.importorskip("distributed")


def test_a_local_dask_cluster_gives_the_identical_table(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "spec"))
    run_sweep(spec, tmp_path / "local", workers=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        result = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert result.done == result.ran == 20
    for name in (RESULTS, SUMMARY):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_an_unreachable_scheduler_is_a_user_error_that_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paxossim.errors import UserError
    from paxossim.experiments import dask_executor

    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "0.5s")
    spec = load_spec(write_spec(tmp_path / "spec"))
    with pytest.raises(UserError, match="cannot reach the scheduler"):
        run_sweep(spec, tmp_path / "out", scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "out").exists()


def test_explore_on_a_local_dask_cluster_finds_the_same_failures(tmp_path: Path) -> None:
    from paxossim.experiments.explore import iter_outcomes, plan

    scenario = Path(__file__).resolve().parent / "scenarios" / "restart_between_phases.toml"
    overrides = ('variant="forget-promise-on-restart"', "network.loss=0.1")
    local = list(iter_outcomes(plan(scenario, range(1, 25), overrides,
                                    out_dir=tmp_path / "local")))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        remote = list(iter_outcomes(plan(scenario, range(1, 25), overrides,
                                         out_dir=tmp_path / "dask"),
                                    scheduler=cluster.scheduler_address))
    assert [o.seed for o in remote] == list(range(1, 25))
    strip = [(o.seed, o.safe, o.liveness, o.problem) for o in local]
    assert strip == [(o.seed, o.safe, o.liveness, o.problem) for o in remote]
    assert any(not o.safe for o in local) and any(o.safe for o in local)
