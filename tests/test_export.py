"""`paxossim export`: each format parsed back and held to that format's rules."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import paxossim
from paxossim.cli import main
from paxossim.export import write_export
from paxossim.log.files import read_log


@pytest.fixture(scope="module")
def faulty_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with crashes, lost and duplicated messages: every kind of fate."""
    out = tmp_path_factory.mktemp("faulty")
    paxossim.run("acceptor_crash_recovery", seed=5, out=out,
                 set={"network.loss": 0.2, "network.duplicate": 0.2})
    return out / "events.jsonl"


@pytest.fixture(scope="module")
def post_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("post")
    paxossim.run("late_arriving_proposal", out=out)
    return out / "events.jsonl"


# -- Perfetto / Chrome trace event format -------------------------------------------------


def perfetto_rules(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Check the trace event format's rules; return the events."""
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    for event in events:
        for key in ("ph", "ts", "pid", "tid", "name"):
            assert key in event, (key, event)
        assert isinstance(event["ts"], (int, float)) and event["ts"] >= 0
        if event["ph"] == "X":
            assert event["dur"] >= 0
        if event["ph"] == "i":
            assert event["s"] in ("t", "p", "g")
    named = {e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {e["tid"] for e in events if e["ph"] != "M"} <= named
    starts = {(e["cat"], e["id"]): e for e in events if e["ph"] == "s"}
    ends = {(e["cat"], e["id"]): e for e in events if e["ph"] == "f"}
    assert len(starts) == sum(e["ph"] == "s" for e in events)  # ids are unique
    assert len(ends) == sum(e["ph"] == "f" for e in events)
    assert starts.keys() == ends.keys()  # every flow that starts ends, and the other way
    for key, start in starts.items():
        end = ends[key]
        assert end["ts"] >= start["ts"] and end["bp"] == "e"
        # each flow end binds to a slice on its own track at its time
        assert any(e["ph"] == "X" and e["tid"] == end["tid"] and
                   e["ts"] <= end["ts"] <= e["ts"] + e["dur"] for e in events)
    return events


def test_perfetto_follows_the_trace_event_format(faulty_log: Path) -> None:
    path = write_export(faulty_log, "perfetto")
    assert path == faulty_log.with_name("events.perfetto.json")
    events = perfetto_rules(json.loads(path.read_bytes()))
    log = read_log(faulty_log).events
    kinds = Counter(e["ev"] for e in log)
    flows = [e for e in events if e["ph"] == "s"]
    assert len(flows) == kinds["send"] + kinds["duplicate"]  # one flow per message copy
    names = Counter(e["name"].split()[0] for e in events if e["ph"] == "X"
                    and e["cat"] == "message")
    assert names["receive"] == kinds["deliver"]
    assert names["dropped"] == kinds["drop"]
    threads = {e["args"]["name"]: e["tid"] for e in events if e["name"] == "thread_name"}
    assert set(read_log(faulty_log).header["scenario"]["nodes"]) <= set(threads)
    # one "down" slice per crash, on the crashed node's track, as long as the outage
    down = [e for e in events if e["name"] == "down"]
    crashes = [e for e in log if e["ev"] == "crash"]
    assert crashes and len(down) == len(crashes)
    assert sorted((d["tid"], d["ts"]) for d in down) == \
        sorted((threads[c["node"]], c["t"] * 1000) for c in crashes)
    assert all(d["dur"] > 0 for d in down)


def test_perfetto_ts_are_microseconds_of_the_runs_unit(post_log: Path, tmp_path: Path) -> None:
    events = perfetto_rules(json.loads(write_export(post_log, "perfetto",
                                                    tmp_path / "t.json").read_bytes()))
    receive = next(e for e in events if e["name"] == "receive nack")
    assert receive["ts"] == 35_000.0  # delivered at t=35 ms


# -- ShiViz ------------------------------------------------------------------------------


def shiviz_rules(text: str) -> list[tuple[str, dict[str, int], str]]:
    """Parse with the file's own regular expression (first line, an empty second) and
    check the vector clocks: each host's own entry counts its events 1, 2, 3 ...,
    and no entry of a host's clock ever goes down."""
    lines = text.split("\n")
    assert lines[1] == "" and lines[-1] == ""
    pattern = re.compile(re.sub(r"\(\?<(\w+)>", r"(?P<\1>", lines[0]))
    parsed = []
    last: dict[str, dict[str, int]] = {}
    for line in lines[2:-1]:
        found = pattern.fullmatch(line)
        assert found is not None, line
        host, clock = found["host"], json.loads(found["clock"])
        assert all(isinstance(v, int) and v > 0 for v in clock.values())
        before = last.get(host, {})
        assert clock[host] == before.get(host, 0) + 1, line
        assert all(clock.get(node, 0) >= count for node, count in before.items()), line
        last[host] = clock
        parsed.append((host, clock, found["event"]))
    return parsed


def dominates(later: dict[str, int], earlier: dict[str, int]) -> bool:
    return all(later.get(node, 0) >= count for node, count in earlier.items()) and \
        later != earlier


def test_shiviz_clocks_follow_causality(faulty_log: Path) -> None:
    path = write_export(faulty_log, "shiviz")
    assert path == faulty_log.with_name("events.shiviz.log")
    parsed = shiviz_rules(path.read_text())
    log = read_log(faulty_log).events
    original = {e["m"]: e["of"] for e in log if e["ev"] == "duplicate"}
    sends = {int(m): clock for _, clock, what in parsed
             for m in re.findall(r"^t=\S+ \w+: sends .* \(m(\d+)\)$", what)}
    receives = [(int(m), clock) for _, clock, what in parsed
                for m in re.findall(r"^t=\S+ \w+: receives .* \(m(\d+)\)$", what)]
    assert len(sends) == sum(e["ev"] == "send" for e in log)
    assert len(receives) == sum(e["ev"] == "deliver" for e in log)
    assert any(m in original for m, _ in receives)  # a duplicate arrived, and is checked
    for m, clock in receives:
        assert dominates(clock, sends[original.get(m, m)]), m


def test_shiviz_lines_of_the_post(post_log: Path) -> None:
    parsed = shiviz_rules(write_export(post_log, "shiviz").read_text())
    nack = next(p for p in parsed if "receives nack" in p[2])
    assert nack[0] == "Proposer2"
    assert nack[1] == {"Acceptor": 6, "Proposer1": 3, "Proposer2": 4}
    assert nack[2] == "t=35 ms: receives nack 4:06PM (promised 5:31PM) from Acceptor (m5)"


@pytest.mark.parametrize("fmt", ["perfetto", "shiviz"])
def test_same_log_same_export_bytes(fmt: str, faulty_log: Path, tmp_path: Path) -> None:
    first = write_export(faulty_log, fmt, tmp_path / "a").read_bytes()
    assert write_export(faulty_log, fmt, tmp_path / "b").read_bytes() == first


def test_export_command(post_log: Path, tmp_path: Path) -> None:
    target = tmp_path / "trace.json"
    result = CliRunner().invoke(main, ["export", str(post_log), "--format", "perfetto",
                                       "-o", str(target)])
    assert result.exit_code == 0 and result.stdout == f"wrote: {target}\n"
    perfetto_rules(json.loads(target.read_bytes()))


def test_export_without_a_format_is_one_line(post_log: Path) -> None:
    result = CliRunner().invoke(main, ["export", str(post_log)])
    assert result.exit_code == 2
    assert result.stderr == "error: --format: is required: perfetto or shiviz\n"
