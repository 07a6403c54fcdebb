"""``fork``: the same inputs with one change; where the runs part and how they end."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from helpers_faults import SCENARIOS

from paxossim.cli import main
from paxossim.errors import UserError
from paxossim.experiments.fork import Change, first_difference, fork, write
from paxossim.experiments.origin import load_origin, signature
from paxossim.runs import execute, save
from paxossim.scenario.model import load_scenario


@pytest.fixture(scope="module")
def failing_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = load_scenario(SCENARIOS / "acceptor_crash_recovery.toml",
                             ['variant="forget-promise-on-restart"'])
    target = tmp_path_factory.mktemp("failing") / "seed-5"
    save(execute(scenario, 5, log_path=target / "events.jsonl"), target, render=False)
    return target / "events.jsonl"


def events_of(lines: list[bytes]) -> list[dict]:
    return [orjson.loads(line) for line in lines]


def test_first_difference() -> None:
    assert first_difference([b"a", b"b"], [b"a", b"c"]) == 1
    assert first_difference([b"a"], [b"a", b"b"]) == 1
    assert first_difference([b"a"], [b"a"]) is None


def test_the_correct_variant_on_the_same_inputs_is_safe(failing_log: Path) -> None:
    result = fork(load_origin(str(failing_log)), Change(variant="correct"))
    assert signature(result.original.summary) == "agreement"
    assert result.fork.summary["safety"]["ok"]
    index = result.divergence
    assert index is not None
    assert result.original.lines[:index] == result.fork.lines[:index]
    assert result.original.lines[index] != result.fork.lines[index]


def test_three_names_of_one_message_make_the_same_fork(failing_log: Path) -> None:
    origin = load_origin(str(failing_log))
    events = events_of(execute(origin.scenario, origin.seed, origin.schedule).lines)
    sends = [e for e in events if e["ev"] == "send"]
    second = next(e for e in sends if [(s["type"], s["src"], s["dst"]) for s in sends
                                       if s["m"] <= e["m"]].count((e["type"], e["src"],
                                                                   e["dst"])) == 2)
    by_id = fork(origin, Change(drop=str(second["m"])))
    by_name = fork(origin, Change(drop=f"{second['type']}:{second['src']}->{second['dst']}#2"))
    by_event = fork(origin, Change(drop="", at=events.index(second)))
    assert by_id.fork.lines == by_name.fork.lines == by_event.fork.lines
    dropped = [e for e in events_of(by_id.fork.lines) if e["ev"] == "drop"
               and e["m"] == second["m"]]
    assert [e["why"] for e in dropped] == ["override"]
    assert by_id.divergence is not None
    assert orjson.loads(by_id.fork.lines[by_id.divergence])["t"] >= second["t"]


def test_a_delay_moves_the_delivery(failing_log: Path) -> None:
    origin = load_origin(str(failing_log))
    events = events_of(execute(origin.scenario, origin.seed, origin.schedule).lines)
    sent_to = {e["m"]: e["dst"] for e in events if e["ev"] == "send"}
    # A proposer never crashes in this scenario, so the later delivery still happens.
    delivered = next(e for e in events if e["ev"] == "deliver" and sent_to[e["m"]] == "P1")
    result = fork(origin, Change(delay=f"{delivered['m']}=+25"))
    moved = [e for e in events_of(result.fork.lines)
             if e["ev"] == "deliver" and e["m"] == delivered["m"]]
    assert [e["t"] for e in moved] == [delivered["t"] + 25]


def test_a_crash_diverges_at_its_time_and_replays_from_fork_toml(failing_log: Path,
                                                                tmp_path: Path) -> None:
    origin = load_origin(str(failing_log))
    result = fork(origin, Change(crash="P1@12.5..40"))
    first = orjson.loads(result.fork.lines[result.divergence])
    assert first == {"t": 12.5, "ev": "crash", "node": "P1"}
    assert any(e["ev"] == "recover" and e["node"] == "P1" and e["t"] == 40.0
               for e in events_of(result.fork.lines))
    write(result, origin, tmp_path, render=False)
    again = execute(load_scenario(tmp_path / "fork.toml"), keep=True)
    assert again.lines == result.fork.lines


def test_forking_is_deterministic(failing_log: Path) -> None:
    origin = load_origin(str(failing_log))
    one = fork(origin, Change(drop="prepare:P1->A2"))
    two = fork(origin, Change(drop="prepare:P1->A2"))
    assert one.fork.lines == two.fork.lines and one.divergence == two.divergence


def test_fork_command_prints_the_divergence_and_draws_both(failing_log: Path,
                                                          tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fork", str(failing_log), "--variant", "correct",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "first divergence: event" in result.output
    assert "safety" in result.output and "<- differs" in result.output
    assert (tmp_path / "sequence-both.png").is_file() and (tmp_path / "fork.toml").is_file()


@pytest.mark.parametrize("args", [
    ["--drop", "1", "--crash", "A1@5"],
    ["--drop", "99999"],
    ["--drop", "prepare:P1->A2#999"],
    ["--drop", "not a message"],
    ["--drop"],
    ["--at", "99999", "--drop"],
    ["--at", "0", "--drop"],
    ["--delay", "1=-5"],
    ["--delay", "5=0.0001"],
    ["--crash", "Z9@10"],
    ["--crash", "A1@20..10"],
    ["--crash", "A1"],
    ["--variant", "nope"],
])
def test_bad_input_is_one_line_and_exit_2(failing_log: Path, args: list[str],
                                          tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fork", str(failing_log), *args, "--no-plots",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1


def test_no_change_is_refused(failing_log: Path) -> None:
    with pytest.raises(UserError, match="exactly one change"):
        fork(load_origin(str(failing_log)), Change())
