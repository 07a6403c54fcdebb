"""``explore``: many seeds, any worker count, exact reproduction of every failure."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import slow_scale
from helpers_faults import SCENARIOS

from paxossim.cli import main
from paxossim.errors import UserError
from paxossim.experiments.explore import explore, parse_seeds, swarm_overrides
from paxossim.scenario.model import load_scenario

BUNDLED = ["dueling_proposers", "acceptor_crash_recovery", "minority_partition",
           "lossy_network", "clock_skew"]


def test_parse_seeds() -> None:
    assert parse_seeds("3..7") == range(3, 8)
    assert parse_seeds("5") == range(5, 6)
    for bad in ("7..3", "a..b", "1..", "-1..4"):
        with pytest.raises(UserError, match="--seeds"):
            parse_seeds(bad)


def test_bad_seeds_flag_exits_2() -> None:
    result = CliRunner().invoke(main, ["explore", "dueling_proposers", "--seeds", "9..2"])
    assert result.exit_code == 2 and "error: --seeds" in result.output


def test_swarm_draws_are_per_seed_and_valid() -> None:
    nodes = ["P1", "P2", "A1", "A2", "A3", "L1"]
    assert swarm_overrides(5, nodes) == swarm_overrides(5, nodes)
    drawn = {swarm_overrides(seed, nodes) for seed in range(1, 60)}
    assert len(drawn) == 59
    on = [sets for sets in drawn if "faults.random_crashes.enabled=true" in sets]
    assert 10 < len(on) < 50, "each fault is on for about half the seeds"
    for seed in range(1, 30):
        load_scenario(SCENARIOS / "dueling_proposers.toml", swarm_overrides(seed, nodes))


def test_results_do_not_depend_on_the_worker_count(tmp_path: Path) -> None:
    args = (SCENARIOS / "dueling_proposers.toml", range(1, 41), ('variant="accept-below-promise"',))
    one = explore(*args, swarm=True, workers=1, out_dir=tmp_path / "one")
    two = explore(*args, swarm=True, workers=2, out_dir=tmp_path / "two")
    assert [o.failed for o in one].count(True) > 0
    strip = [(o.seed, o.overrides, o.safe, o.liveness, o.problem) for o in one]
    assert strip == [(o.seed, o.overrides, o.safe, o.liveness, o.problem) for o in two]
    for outcome in one:
        if outcome.failed:
            kept = Path(outcome.log_dir or "") / "events.jsonl"
            twin = tmp_path / "two" / f"seed-{outcome.seed}" / "events.jsonl"
            assert kept.read_bytes() == twin.read_bytes()


def test_a_failing_seed_prints_a_command_that_reproduces_it(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, [
        "explore", str(SCENARIOS / "acceptor_crash_recovery.toml"), "--seeds", "1..20",
        "--swarm", "--variant", "ignore-accepted-values", "--out", str(tmp_path / "x"),
    ])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    command = next(line for line in lines if "reproduce: " in line).split("reproduce: ", 1)[1]
    log = Path(next(line for line in lines if "log: " in line).split("log: ", 1)[1])
    argv = shlex.split(command)
    assert argv[:2] == ["paxossim", "run"] and "--seed" in argv
    rerun = runner.invoke(main, [*argv[1:], "--no-plots", "--out", str(tmp_path / "again")])
    assert rerun.exit_code == 1, rerun.output
    assert (tmp_path / "again" / "events.jsonl").read_bytes() == (
        log / "events.jsonl").read_bytes()
    assert "seeds passed" in lines[-1] and "failed" in lines[-1]


def test_correct_paxos_explores_clean_and_exits_0(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["explore", "lossy_network", "--seeds", "1..50",
                                       "--workers", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "50 of 50 seeds passed, 0 failed" in result.output
    assert not list(tmp_path.iterdir())


def test_correct_paxos_survives_1000_random_faulty_seeds(tmp_path: Path) -> None:
    """The default suite's share of the proof: swarm faults over two fault models."""
    failed = []
    for name, seeds in (("acceptor_crash_recovery", range(1, 501)),
                        ("minority_partition", range(501, 1001))):
        outcomes = explore(SCENARIOS / f"{name}.toml", seeds, swarm=True, workers=2,
                           out_dir=tmp_path / name)
        failed += [(name, o.seed, o.problem) for o in outcomes if o.failed]
    assert failed == []


@pytest.mark.slow
def test_correct_paxos_survives_20000_random_faulty_seeds(tmp_path: Path) -> None:
    per_scenario = max(1, int(20_000 * slow_scale()) // len(BUNDLED))
    failed = []
    for index, name in enumerate(BUNDLED):
        start = 10_000 + index * per_scenario
        outcomes = explore(SCENARIOS / f"{name}.toml", range(start, start + per_scenario),
                           swarm=name != "clock_skew", workers=2, out_dir=tmp_path / name)
        failed += [(name, o.seed, o.problem) for o in outcomes if o.failed]
    assert failed == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variant", "nope"], "variant: must be one of correct"),
        (["--set", "faults.random_crashes.max_down=99"],
         "faults.random_crashes.max_down: is 99 but only 8 node(s) can crash"),
        (["--set", "network.duplicate=2"], "network.duplicate: is a probability"),
    ],
)
def test_bad_explore_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["explore", "dueling_proposers", "--seeds", "1..3", *args])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and message in result.output
    assert result.output.count("\n") == 1


def test_a_simulator_error_costs_one_seed_not_the_batch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from paxossim.experiments import explore as exploring

    real = exploring.execute

    def flaky(scenario, seed=None, *args, **options):  # type: ignore[no-untyped-def]
        if seed == 3:
            raise OverflowError("math range error")
        return real(scenario, seed, *args, **options)

    monkeypatch.setattr(exploring, "execute", flaky)
    outcomes = exploring.explore(SCENARIOS / "dueling_proposers.toml", range(1, 6),
                                 out_dir=tmp_path)
    failed = [o for o in outcomes if o.failed]
    assert [(o.seed, o.liveness, o.problem) for o in failed] == [
        (3, "error", "simulator error: OverflowError: math range error")]
    assert len(outcomes) == 5


def test_backoff_is_capped_however_many_attempts() -> None:
    from paxossim.protocols.backoff import Backoff

    backoff = Backoff(base=20.0, multiplier=2.0, max=1000.0, jitter=0.5)
    assert backoff.delay(5000, 0.5) == 1000.0
    assert backoff.delay(1, 0.5) == 20.0


def test_swarm_draws_on_the_scenario_s_time_scale(tmp_path: Path) -> None:
    """Issue 13 item 7: clock_skew runs in minutes (latency 0.1); swarm used to draw
    1-15 whatever the unit, and correct Paxos 'failed' liveness on most seeds."""
    outcomes = explore(SCENARIOS / "clock_skew.toml", range(1, 31), swarm=True,
                       out_dir=tmp_path)
    assert [o.seed for o in outcomes if o.failed] == []
    sets = dict(s.split("=", 1) for s in outcomes[0].overrides)
    latency = sets["network.latency"]
    mean = float(latency.split("mean=")[1].split(",")[0].rstrip("}")) if "mean=" in latency \
        else float(latency.split("high=")[1].rstrip("}")) if "high=" in latency else 0.0
    assert mean < 0.2, latency


def test_explorations_of_different_variants_keep_their_seeds_apart() -> None:
    from paxossim.experiments.explore import default_explore_dir

    plain = default_explore_dir("s", (), False)
    variant = default_explore_dir("s", ('variant="forget-promise-on-restart"',), False)
    swarm = default_explore_dir("s", ('variant="forget-promise-on-restart"',), True)
    assert plain == Path("results/explore/s")
    assert variant == plain / "forget-promise-on-restart"
    assert swarm == plain / "forget-promise-on-restart+swarm"
    assert default_explore_dir("s", ("network.loss=0.1",), False) != \
        default_explore_dir("s", ("network.loss=0.2",), False)


def test_a_huge_seed_range_is_planned_lazily_and_runs_from_the_start(root: Path) -> None:
    import itertools

    from paxossim.experiments.explore import plan, run_seed
    from paxossim.experiments.pool import ordered_map

    jobs = plan(root / "scenarios" / "late_arriving_proposal.toml", range(0, 1_000_000_001))
    assert len(jobs) == 1_000_000_001
    assert [job.seed for job in jobs[5:8]] == [5, 6, 7]
    first = list(itertools.islice(ordered_map(run_seed, jobs, workers=2, chunk=2), 3))
    assert [outcome.seed for outcome in first] == [0, 1, 2]


def test_seeds_past_the_seed_range_are_one_clear_line() -> None:
    from paxossim.errors import UserError
    from paxossim.experiments.explore import parse_seeds

    with pytest.raises(UserError, match="<= 9223372036854775807"):
        parse_seeds("1..9223372036854775808")
