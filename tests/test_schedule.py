"""The input schedule: drawn up front, serialised, executed, edited, overridden."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from helpers_faults import RANDOM_CRASHES, RANDOM_PARTITIONS, SCENARIOS, events_of, scenario

from paxossim.cli import main
from paxossim.errors import UserError
from paxossim.log.files import events_sha256, footer_line, read_log
from paxossim.runs import execute, save
from paxossim.scenario.model import load_scenario
from paxossim.scenario.schedule import (
    Crash,
    HealPhase,
    Override,
    Partition,
    Recover,
    Request,
    Schedule,
    draw_schedule,
)


def faulty(**sets: Any) -> Any:
    return scenario(faults__random_crashes=RANDOM_CRASHES,
                    faults__random_partitions=RANDOM_PARTITIONS, **sets)


def before(lines: list[bytes], time: float) -> list[bytes]:
    """The log's lines up to the first event at or after ``time``."""
    events = events_of(lines)
    cut = next((i for i, e in enumerate(events) if e["t"] >= time), len(lines))
    return lines[:cut]


# -- drawing -----------------------------------------------------------------------


def test_the_same_seed_gives_the_same_schedule_and_log() -> None:
    spec = faulty(liveness__heal_at=600.0)
    assert draw_schedule(spec, 7) == draw_schedule(spec, 7)
    assert draw_schedule(spec, 7) != draw_schedule(spec, 8)
    first, again = execute(spec, 7), execute(spec, 7)
    assert first.schedule == again.schedule and first.lines == again.lines
    assert orjson.dumps(first.schedule.to_data()) == orjson.dumps(again.schedule.to_data())


def test_the_drawn_schedule_is_what_happens() -> None:
    """Every random crash and partition in the log is an item of the schedule."""
    spec = faulty()
    output = execute(spec, 5)
    crashes = [(e["t"], e["node"]) for e in events_of(output.lines) if e["ev"] == "crash"]
    drawn = [(i.at, i.node) for i in output.schedule.items if isinstance(i, Crash)]
    assert crashes and crashes == drawn
    cuts = [(e["t"], e["index"]) for e in events_of(output.lines) if e["ev"] == "partition"]
    assert cuts == [(i.at, i.index) for i in output.schedule.items if isinstance(i, Partition)]


def test_random_crashes_drawn_up_front_respect_max_down() -> None:
    """Replaying the schedule's crashes and recoveries with the runtime's rules, no
    random crash brings more than max_down nodes down, scripted outages counted (a
    scripted crash itself is not capped: the script says it happens)."""
    crashes = dict(RANDOM_CRASHES, mean_up=30.0)
    spec = scenario(faults__random_crashes=crashes,
                    faults__crashes=[{"node": "A1", "at": 50.0, "recover": 400.0}])
    peaks = []
    for seed in range(1, 21):
        down: dict[str, str] = {}
        for item in draw_schedule(spec, seed).items:
            if isinstance(item, Crash):
                assert item.origin == "scripted" or item.node not in down
                down[item.node] = item.origin
                if item.origin == "random":
                    assert len(down) <= crashes["max_down"]
                    peaks.append(len(down))
            elif isinstance(item, Recover) and (item.origin == "scripted"
                                                or down.get(item.node) == "random"):
                down.pop(item.node, None)
    assert max(peaks) == crashes["max_down"]


def test_random_partitions_leave_the_crash_items_unchanged() -> None:
    def crash_items(schedule: Schedule) -> list[Any]:
        return [i for i in schedule.items if isinstance(i, Crash | Recover)]

    alone = draw_schedule(scenario(faults__random_crashes=RANDOM_CRASHES), 9)
    both = draw_schedule(faulty(), 9)
    assert crash_items(alone) == crash_items(both)
    assert [i for i in both.items if isinstance(i, Partition)]


def test_nothing_random_is_drawn_at_or_after_the_heal() -> None:
    schedule = draw_schedule(faulty(liveness__heal_at=600.0), 3)
    heal = next(i for i, item in enumerate(schedule.items) if isinstance(item, HealPhase))
    assert all(item.at < 600.0 for item in schedule.items[:heal])
    assert all(getattr(item, "origin", "scripted") == "scripted"
               for item in schedule.items[heal:])


# -- plain data ----------------------------------------------------------------------


def test_a_schedule_survives_json_unchanged() -> None:
    spec = faulty(liveness__heal_at=600.0,
                  faults__partitions=[{"at": 10.0, "heal": 90.0, "oneway": True,
                                       "groups": [["P1"], ["A1", "A2"]]}],
                  requests=[{"node": "P1", "value": "x", "at": 0.0, "ballot": 3}])
    schedule = draw_schedule(spec, 2).with_overrides([Override(4, drop=True),
                                                     Override(9, deliver_at=55.5)])
    text = orjson.dumps(schedule.to_data())
    assert Schedule.from_data(orjson.loads(text)) == schedule
    kinds = {item["kind"] for item in schedule.to_data()["items"]}
    assert kinds == {"request", "crash", "recover", "partition", "heal", "heal_phase"}


BAD_DATA = [
    ([], "schedule: must be a table"),
    ({"items": [], "extra": 1}, "schedule.extra: unknown key"),
    ({}, "schedule.items: missing"),
    ({"items": [{"kind": "explode", "at": 1.0}]}, "schedule.items[0].kind: must be one of"),
    ({"items": [{"kind": "crash", "at": -1.0, "node": "A1"}]},
     "schedule.items[0].at: must be >= 0"),
    ({"items": [{"kind": "crash", "at": 1.0}]}, "schedule.items[0].node: missing"),
    ({"items": [{"kind": "crash", "at": 1.0, "node": "A1", "origin": "gremlins"}]},
     "schedule.items[0].origin: must be one of scripted, random"),
    ({"items": [{"kind": "heal_phase", "at": 1.0, "node": "A1"}]},
     "schedule.items[0].node: unknown key for a heal_phase item"),
    ({"items": [{"kind": "partition", "at": 1.0, "index": 0, "groups": [["A1"]]}]},
     "schedule.items[0].groups: must be a list of at least two"),
    ({"items": [{"kind": "heal_phase", "at": 5.0}, {"kind": "heal_phase", "at": 1.0}]},
     "schedule.items[1].at: 1.0 is before the previous item's 5.0"),
    ({"items": [], "overrides": [{"m": 3}]}, "schedule.overrides[0]: needs 'drop = true'"),
    ({"items": [], "overrides": [{"m": 3, "drop": True, "deliver_at": 4.0}]},
     "give either 'drop' or 'deliver_at'"),
    ({"items": [], "overrides": [{"m": 0, "drop": True}]},
     "schedule.overrides[0].m: must be a message id"),
    ({"items": [], "overrides": [{"m": 3, "drop": True}, {"m": 3, "deliver_at": 1.0}]},
     "schedule.overrides[1].m: message 3 is overridden already by overrides[0]"),
]


@pytest.mark.parametrize(("data", "message"), BAD_DATA)
def test_bad_schedule_data_is_one_line(data: Any, message: str) -> None:
    with pytest.raises(UserError) as caught:
        Schedule.from_data(data)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_schedule_naming_an_unknown_node_is_refused() -> None:
    schedule = Schedule((Crash(1.0, "Z9"),))
    with pytest.raises(UserError, match=r"schedule.items\[0\]: no node named 'Z9'"):
        execute(scenario(), 1, schedule)


# -- editing and re-executing -----------------------------------------------------------


def test_removing_a_crash_removes_it_and_keeps_everything_before() -> None:
    spec = faulty()
    output = execute(spec, 4)
    index, crash = next((i, item) for i, item in enumerate(output.schedule.items)
                        if isinstance(item, Crash) and item.at > 100.0)
    edited = execute(spec, 4, output.schedule.without(index))
    assert before(edited.lines, crash.at) == before(output.lines, crash.at)
    assert len(before(output.lines, crash.at)) > 10

    def crashed(lines: list[bytes]) -> list[dict[str, Any]]:
        return [e for e in events_of(lines)
                if e["ev"] == "crash" and (e["t"], e["node"]) == (crash.at, crash.node)]

    assert crashed(output.lines) and not crashed(edited.lines)


def test_moving_an_item_keeps_the_schedule_in_time_order() -> None:
    schedule = draw_schedule(faulty(), 4)
    index = next(i for i, item in enumerate(schedule.items) if isinstance(item, Crash))
    moved = schedule.replace_item(index, Crash(schedule.items[-1].at + 1.0, "A3"))
    assert moved.items[-1] == Crash(schedule.items[-1].at + 1.0, "A3")
    assert len(moved.items) == len(schedule.items)
    times = [item.at for item in moved.items]
    assert times == sorted(times)


def test_the_heal_phase_resends_only_requests_that_were_made() -> None:
    spec = scenario(liveness__heal_at=600.0)
    schedule = draw_schedule(spec, 1)
    first = execute(spec, 1, schedule)
    retried = [e["value"] for e in events_of(first.lines) if e["ev"] == "client_retry"]
    assert retried == ["x", "y"]
    index = next(i for i, item in enumerate(schedule.items)
                 if isinstance(item, Request) and item.value == "y")
    edited = execute(spec, 1, schedule.without(index))
    events = events_of(edited.lines)
    assert [e["value"] for e in events if e["ev"] == "client_retry"] == ["x"]
    assert "y" not in {e.get("value") for e in events}


# -- per-message overrides --------------------------------------------------------------


def delivered(lines: list[bytes]) -> dict[int, float]:
    return {e["m"]: e["t"] for e in events_of(lines) if e["ev"] == "deliver"}


def test_an_override_drops_a_message() -> None:
    spec = scenario()
    plain = execute(spec, 3)
    sends = {e["m"]: e | {"position": position}
             for position, e in enumerate(events_of(plain.lines)) if e["ev"] == "send"}
    target = min(m for m in delivered(plain.lines) if sends[m]["src"] != sends[m]["dst"])
    dropped = execute(spec, 3, overrides=[Override(target, drop=True)])
    events = events_of(dropped.lines)
    assert {"t": sends[target]["t"], "ev": "drop", "m": target, "why": "override",
            "cause": sends[target]["position"]} in events
    assert target not in delivered(dropped.lines)
    assert before(dropped.lines, sends[target]["t"]) == before(plain.lines, sends[target]["t"])
    assert dropped.schedule.overrides == (Override(target, drop=True),)


def test_an_override_delivers_a_message_late_or_one_the_network_lost() -> None:
    spec = scenario(network__loss=0.3)
    plain = execute(spec, 2)
    events = events_of(plain.lines)
    lost = next(e["m"] for e in events if e["ev"] == "drop" and e["why"] == "loss")
    late = min(delivered(plain.lines))
    sent = {e["m"]: e["t"] for e in events if e["ev"] == "send"}
    overrides = [Override(lost, deliver_at=sent[lost] + 500.0),
                 Override(late, deliver_at=sent[late] + 300.0)]
    changed = delivered(execute(spec, 2, overrides=overrides).lines)
    assert changed[lost] == sent[lost] + 500.0
    assert changed[late] == sent[late] + 300.0


def test_an_override_before_the_send_is_refused() -> None:
    spec = scenario()
    plain = events_of(execute(spec, 3).lines)
    late = next(e for e in plain if e["ev"] == "send" and e["t"] > 0)
    with pytest.raises(UserError, match=f"override of message {late['m']}: deliver_at 0.0"):
        execute(spec, 3, overrides=[Override(late["m"], deliver_at=0.0)])


# -- the log's header holds the schedule; replay executes it --------------------------------


def test_replay_executes_the_header_schedule(tmp_path: Path) -> None:
    """An edited schedule replays identical only if replay runs the logged one."""
    spec = load_scenario(SCENARIOS / "acceptor_crash_recovery.toml")
    schedule = draw_schedule(spec, 5)
    index = next(i for i, item in enumerate(schedule.items) if isinstance(item, Crash))
    result = execute(spec, 5, schedule.without(index), [Override(3, drop=True)])
    assert result.header["schedule"] == result_schedule_data(result.header)
    assert result.lines != execute(spec, 5).lines
    save(result, tmp_path, render=False)
    replayed = CliRunner().invoke(main, ["replay", str(tmp_path / "events.jsonl")])
    assert replayed.exit_code == 0 and "identical" in replayed.output


def result_schedule_data(header: dict[str, Any]) -> dict[str, Any]:
    """The header's schedule, read back and written again: proof it is valid data."""
    return Schedule.from_data(header["schedule"]).to_data()


def test_a_broken_header_schedule_is_one_line_and_exit_2(tmp_path: Path) -> None:
    save(execute(scenario(), 1), tmp_path, render=False)
    log = tmp_path / "events.jsonl"
    lines = log.read_bytes().split(b"\n")
    header = orjson.loads(lines[0])
    header["schedule"]["items"][0]["at"] = "soon"
    edited = [orjson.dumps(header), *lines[1:-1]]
    summary = orjson.loads(edited[-1])["summary"]
    log.write_bytes(b"\n".join(edited[:-1]) + b"\n" + footer_line(
        edited[0], events_sha256(edited[1:-1]), summary))
    assert read_log(log).header["schedule"]["items"][0]["at"] == "soon"
    result = CliRunner().invoke(main, ["replay", str(log)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().endswith(
        "header schedule.items[0].at: must be a finite number, got 'soon'")
    assert result.output.count("\n") == 1
