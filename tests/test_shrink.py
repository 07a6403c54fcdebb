"""``shrink``: a smaller run that fails the same way, deterministically, within a budget."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers_faults import SCENARIOS

from paxossim.cli import main
from paxossim.errors import UserError
from paxossim.experiments.origin import explicit, load_origin, signature
from paxossim.experiments.shrink import Budget, ddmin, shrink
from paxossim.runs import execute, save
from paxossim.scenario import bundled
from paxossim.scenario.model import load_scenario, scenario_from_dict, scenario_to_dict
from paxossim.scenario.toml_out import dumps

FAILING = ("paxossim run acceptor_crash_recovery --seed 5 "
           "--set 'variant=\"forget-promise-on-restart\"'")


@pytest.fixture(scope="module")
def failing_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of a broken variant that violates agreement, as explore keeps it."""
    scenario = load_scenario(SCENARIOS / "acceptor_crash_recovery.toml",
                             ['variant="forget-promise-on-restart"'])
    target = tmp_path_factory.mktemp("failing") / "seed-5"
    result = execute(scenario, 5, log_path=target / "events.jsonl")
    save(result, target, render=False)
    assert signature(result.summary) == "agreement"
    return target / "events.jsonl"


def test_ddmin_finds_the_elements_that_matter() -> None:
    calls: list[list[int]] = []

    def fails(subset: list[int]) -> bool:
        calls.append(subset)
        return {3, 11}.issubset(subset)

    assert ddmin(list(range(20)), fails) == [3, 11]
    assert ddmin(list(range(5)), lambda subset: True) == []
    assert len(calls) < 60


def test_the_explicit_scenario_runs_the_same_events(failing_log: Path) -> None:
    origin = load_origin(str(failing_log))
    original = execute(origin.scenario, origin.seed, origin.schedule, keep=True)
    raw = explicit(origin.scenario, origin.schedule, origin.seed)
    assert raw["requests"] == [] and "random_crashes" not in raw["faults"]
    again = execute(scenario_from_dict(raw), keep=True)
    assert again.lines == original.lines


def test_shrunk_run_fails_the_same_invariant_and_is_smaller(failing_log: Path,
                                                           tmp_path: Path) -> None:
    result = shrink(load_origin(str(failing_log)), tmp_path, render=False)
    assert result.target == "agreement" and result.stopped == "fixpoint"
    # Replayed from the file, as `paxossim run shrunk.toml` does.
    replayed = execute(load_scenario(tmp_path / "shrunk.toml"), keep=True)
    assert signature(replayed.summary) == "agreement"
    assert result.after.inputs < result.before.inputs
    assert result.after.events < result.before.events
    assert result.after.horizon < result.before.horizon
    assert len(replayed.lines) == result.after.events
    items = tomllib.loads((tmp_path / "shrunk.toml").read_text())["schedule"]["items"]
    assert len(items) == sum(result.after.items.values())


def test_shrinking_is_deterministic(failing_log: Path, tmp_path: Path) -> None:
    origin = load_origin(str(failing_log))
    first = shrink(origin, tmp_path / "a", render=False)
    second = shrink(origin, tmp_path / "b", render=False)
    assert first.runs == second.runs and first.after == second.after
    assert (tmp_path / "a" / "events.jsonl").read_bytes() == \
        (tmp_path / "b" / "events.jsonl").read_bytes()


def test_the_budget_stops_it_with_a_run_that_still_fails(failing_log: Path,
                                                        tmp_path: Path) -> None:
    result = shrink(load_origin(str(failing_log)), tmp_path, Budget(runs=2), render=False)
    assert result.runs == 2 and result.stopped == "run budget (2)"
    replayed = execute(load_scenario(tmp_path / "shrunk.toml"))
    assert signature(replayed.summary) == "agreement"
    assert result.after.inputs <= result.before.inputs


def test_a_command_a_folder_and_a_log_name_the_same_run(failing_log: Path) -> None:
    by_log = load_origin(str(failing_log))
    by_dir = load_origin(str(failing_log.parent))
    by_command = load_origin(FAILING)
    assert by_log.schedule == by_dir.schedule == by_command.schedule
    assert by_log.seed == by_command.seed == 5
    assert scenario_to_dict(by_log.scenario) == scenario_to_dict(by_command.scenario)


def test_shrink_command_writes_the_scenario_log_and_diagram(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["shrink", FAILING, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "still fails 'agreement'" in result.output
    assert "input items (total)" in result.output
    for name in ("shrunk.toml", "events.jsonl", "summary.json", "sequence.png"):
        assert (tmp_path / name).is_file()
    rerun = CliRunner().invoke(main, ["run", str(tmp_path / "shrunk.toml"), "--no-plots",
                                      "--out", str(tmp_path / "rerun")])
    assert rerun.exit_code == 1 and "agreement" in rerun.output


@pytest.mark.parametrize("spec", [
    "no/such/log.jsonl",
    "paxossim run acceptor_crash_recovery --seed 5",  # passes: nothing to shrink
    "paxossim run acceptor_crash_recovery --frobnicate",
    "paxossim run",
    "paxossim run 'unclosed",
])
def test_bad_input_is_one_line_and_exit_2(spec: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["shrink", spec, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_a_corrupt_log_is_one_line_and_exit_2(failing_log: Path, tmp_path: Path) -> None:
    broken = tmp_path / "events.jsonl"
    broken.write_bytes(failing_log.read_bytes().replace(b'"crash"', b'"crush"', 1))
    result = CliRunner().invoke(main, ["shrink", str(broken)])
    assert result.exit_code == 2 and "corrupt" in result.output


def test_explore_shrinks_the_first_failure_of_each_signature(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "explore", "acceptor_crash_recovery", "--seeds", "1..6",
        "--variant", "forget-promise-on-restart", "--shrink", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.count("shrinking seed") == 1, "seeds 5 and 6 share a signature"
    assert "shrinking seed 5 (first to fail agreement)" in result.output
    assert (tmp_path / "seed-5" / "shrunk" / "shrunk.toml").is_file()
    assert not (tmp_path / "seed-6" / "shrunk").exists()


# -- [schedule] in a scenario, and writing TOML ---------------------------------------------


def test_a_schedule_replaces_the_drawn_inputs_and_refuses_company(tmp_path: Path) -> None:
    raw = tomllib.loads((SCENARIOS / "dueling_proposers.toml").read_text())
    raw["schedule"] = {"items": [{"kind": "request", "at": 5.0, "node": "P1",
                                  "value": "only"}]}
    with pytest.raises(UserError, match="remove requests"):
        scenario_from_dict(raw, "x.toml")
    raw["requests"] = []
    result = execute(scenario_from_dict(raw, "x.toml"), keep=True)
    assert [e["value"] for e in result.events if e["ev"] == "request"] == ["only"]
    raw["schedule"]["items"][0]["node"] = "Z9"
    with pytest.raises(UserError, match="no node named 'Z9'"):
        scenario_from_dict(raw, "x.toml")


def test_toml_out_round_trips_every_bundled_scenario() -> None:
    for path in bundled.bundled_scenarios():
        raw = tomllib.loads(path.read_text())
        if "protocol" not in raw and "nodes" not in raw:
            continue  # a sweep spec
        resolved = scenario_to_dict(load_scenario(path))
        assert tomllib.loads(dumps(resolved)) == resolved, path.name


def test_shrinking_a_shrunk_run_changes_nothing(failing_log: Path, tmp_path: Path) -> None:
    first = shrink(load_origin(str(failing_log)), tmp_path / "a", render=False)
    again = shrink(load_origin(str(tmp_path / "a")), tmp_path / "b", render=False)
    assert again.changes == [] and again.after == first.after


def test_random_losses_become_explicit_drops(tmp_path: Path) -> None:
    """lossy_network's seed 29 breaks integrity with the mixed-ballot learner; the
    shrunk run has no random loss left, only per-message drops, and no more inputs."""
    origin = load_origin("paxossim run lossy_network --seed 29 "
                         "--set 'variant=\"mixed-ballot-learner\"'")
    result = shrink(origin, tmp_path, render=False)
    shrunk = tomllib.loads((tmp_path / "shrunk.toml").read_text())
    assert result.target == "integrity"
    assert result.before.losses > 0 and result.after.losses == 0
    assert shrunk["network"]["loss"] == 0.0
    assert 0 < len(shrunk["schedule"]["overrides"]) < result.before.losses
    assert all(o["drop"] for o in shrunk["schedule"]["overrides"])
    assert result.after.inputs <= result.before.inputs


def test_the_readme_shows_what_shrink_prints(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Shrinking and forking a failure\n", 1)[1]
    shown = section.split("The first prints (times vary):\n\n```\n", 1)[1].split("```", 1)[0]
    result = CliRunner().invoke(main, [
        "shrink", "paxossim run acceptor_crash_recovery --seed 6 "
        "--set 'variant=\"forget-promise-on-restart\"'", "--out", str(tmp_path), "--no-plots"])
    printed = [line for line in result.output.splitlines()
               if not line.startswith("shrink: ")]  # progress, on stderr
    rows = [line for line in shown.splitlines()[1:] if line.strip() != "..."]
    assert rows and all(row in printed for row in rows)
    assert shown.splitlines()[0].split(" in ")[0] == printed[0].split(" in ")[0]
