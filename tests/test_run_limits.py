"""Runs cannot run away (issue 13 item 4): limits stop them cleanly, and inputs that
would make them run away are refused before they start."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from paxossim.cli import main


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("limit", "value"), [("events", 3000), ("in_flight", 3),
                                               ("timers", 50)])
def test_a_run_past_a_limit_stops_keeps_its_log_and_says_how_to_raise_it(
    tmp_path: Path, limit: str, value: int
) -> None:
    code, out, err = invoke("run", "replicated_cluster", "--no-plots", "--out", str(tmp_path),
                            "--set", f"limits.{limit}={value}")
    assert code == 2
    assert f"its {limit} limit ({value}) was reached" in err
    assert f"--set limits.{limit}=N" in err and "Traceback" not in err
    assert "wrote: " in out  # the account and the files come first
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    last_event = orjson.loads(lines[-2])
    assert last_event["ev"] == "stopped" and last_event["limit"] == limit
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert summary["stopped"]["limit"] == limit
    replayed, _, _ = invoke("replay", str(tmp_path / "events.jsonl"))
    assert replayed == 0


def test_bundled_scenarios_stay_far_from_the_default_limits(tmp_path: Path) -> None:
    code, _, err = invoke("run", "replicated_cluster", "--no-plots", "--out", str(tmp_path))
    assert code == 0, err
    header = orjson.loads((tmp_path / "events.jsonl").read_bytes().split(b"\n")[0])
    assert "limits" not in header["scenario"]  # defaults are not written: logs unchanged


@pytest.mark.parametrize(("args", "message"), [
    (("--set", "multipaxos.heartbeat_interval=1e-3"),
     "multipaxos.heartbeat_interval: 0.001 would fire 3,000,000 times"),
    (("--set", "multipaxos.heartbeat_interval=0.003"), None),
])
def test_a_period_below_the_time_resolution_is_refused_before_the_run(
    args: tuple[str, ...], message: str | None
) -> None:
    code, _, err = invoke("validate", "replicated_cluster", *args)
    if message is None:
        assert code == 0, err
    else:
        assert code == 2 and message in err and err.count("\n") == 1


def test_random_faults_far_below_the_horizon_are_refused() -> None:
    code, _, err = invoke("validate", "faulty_cluster", "--set",
                          "faults.random_crashes.enabled=true", "--set",
                          "faults.random_crashes.mean_up=1e-4")
    assert code == 2 and "across 5 nodes" in err


def test_a_sweep_too_large_for_memory_is_refused(tmp_path: Path) -> None:
    code, _, err = invoke("sweep", "sweep_loss", "--seeds-per-point", "1000000",
                          "--out", str(tmp_path))
    assert code == 2 and "33,000,000 runs; at most 10,000,000" in err
    spec = tmp_path / "spec.toml"
    spec.write_text('scenario = "' + str(Path(__file__).parent.parent / "scenarios" /
                    "lossy_cluster.toml") + '"\nbootstrap = 10000000\n[grid]\n'
                    '"network.loss" = [0.0]\n')
    code, _, err = invoke("validate", str(spec))
    assert code == 2 and "bootstrap" in err and "100000" in err
