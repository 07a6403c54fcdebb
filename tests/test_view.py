"""The run viewer's page (without a browser): its data, node states, determinism, errors.

The browser itself is driven in tests/test_view_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from fakes import FakeContext

import paxossim
from paxossim.cli import main
from paxossim.log.files import read_log, write_log
from paxossim.protocols.contract import Protocol
from paxossim.protocols.leader_write import Cluster, LeaderWriteProtocol, Replica
from paxossim.protocols.quorums import Quorums
from paxossim.view.page import write_view


def embedded(html: str) -> dict[str, Any]:
    """The data the page carries (what its script parses)."""
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found.group(1))


@pytest.fixture
def post_log(tmp_path: Path) -> Path:
    paxossim.run("late_arriving_proposal", out=tmp_path / "post")
    return tmp_path / "post" / "events.jsonl"


def state_at(data: dict[str, Any], node: str, position: int) -> Any:
    """The node's visible state after event ``position``, as the page looks it up."""
    changes = [c for c in data["states"]["changes"][node] if c[0] <= position]
    return json.loads(data["states"]["text"][changes[-1][1]])


def event_index(data: dict[str, Any], kind: str, node: str) -> int:
    ev = data["ev"]
    return next(i for i in range(len(ev["t"]))
                if data["kinds"][ev["k"][i]] == kind and data["nodes"][ev["n"][i]] == node)


def test_the_post_run_page_holds_messages_states_and_nothing_fetched(post_log: Path) -> None:
    path, note = write_view(post_log)
    assert path == post_log.parent / "view.html" and note is None
    html = path.read_text()
    # Self-contained: no script, style or image comes from anywhere else.
    assert not re.search(r"""(src|href)\s*=|https?://|@import""", html)
    data = embedded(html)
    events = read_log(post_log).events
    assert len(data["ev"]["t"]) == len(events)
    assert data["ev"]["t"] == [e["t"] for e in events]
    nack = data["msg"]["type"].index(data["types"].index("nack"))
    assert data["text"][data["msg"]["label"][nack]] == "nack 4:06PM (promised 5:31PM)"
    assert (data["msg"]["ts"][nack], data["msg"]["te"][nack], data["msg"]["fate"][nack]) == \
        (25.0, 35.0, 0)
    # The acceptor promised nothing before the first prepare arrived, 5:31PM after.
    arrival = data["msg"]["ee"][0]
    assert state_at(data, "Acceptor", arrival - 1)["promised"] is None
    assert state_at(data, "Acceptor", event_index(data, "paxos.promised", "Acceptor")) == \
        {"promised": "5:31PM", "accepted": [None, None]}
    assert state_at(data, "Learner", len(events) - 1) == {"learned": "data1"}
    assert data["violations"] == []


def test_same_log_same_page_bytes(post_log: Path, tmp_path: Path) -> None:
    first, _ = write_view(post_log, tmp_path / "a.html")
    second, _ = write_view(post_log, tmp_path / "b.html")
    assert first.read_bytes() == second.read_bytes()


def test_violations_point_at_the_rule_breach_that_explains_them(tmp_path: Path) -> None:
    run = paxossim.run("forgetful_acceptor", variant="forget-promise-on-restart", out=tmp_path)
    data = embedded(write_view(tmp_path / "events.jsonl")[0].read_text())
    assert [v["invariant"] for v in data["violations"]] == ["agreement", "integrity",
                                                            "agreement"]
    for violation, found in zip(data["violations"], run.violations, strict=True):
        culprit = found["explanation"]["culprit"]
        assert violation["event"] == culprit["pos"]
        assert data["kinds"][data["ev"]["k"][culprit["pos"]]] == culprit["ev"]
        assert violation["why"] == found["explanation"]["sentence"]


def test_an_unexplained_violation_points_at_the_event_the_checks_judged() -> None:
    from paxossim.view.data import violation_entry

    bare = {"invariant": "agreement", "time": 5.0, "detail": "two values"}
    assert violation_entry(bare, 17) == bare | {"event": 17}
    blamed = bare | {"explanation": {"culprit": None, "sentence": "no honest node..."}}
    assert violation_entry(blamed, 17)["event"] == 17


def test_crash_windows_drops_and_duplicates_are_in_the_data(tmp_path: Path) -> None:
    paxossim.run("acceptor_crash_recovery", seed=5, out=tmp_path,
                 set={"network.loss": 0.2, "network.duplicate": 0.2})
    data = embedded(write_view(tmp_path / "events.jsonl")[0].read_text())
    events = read_log(tmp_path / "events.jsonl").events
    crashes = [e for e in events if e["ev"] == "crash"]
    assert crashes and len(data["down"]) == len(crashes)
    assert {(data["nodes"][n], a) for n, a, _ in data["down"]} == \
        {(e["node"], e["t"]) for e in crashes}
    msg = data["msg"]
    dropped = sum(e["ev"] == "drop" for e in events)
    copies = sum(e["ev"] == "duplicate" for e in events)
    assert dropped and copies
    assert msg["fate"].count(1) == dropped
    assert sum(of >= 0 for of in msg["of"]) == copies
    # While a node is down, the panel shows it down.
    node, start, end = data["down"][0]
    inside = next(i for i, t in enumerate(data["ev"]["t"]) if start < t < end)
    assert state_at(data, data["nodes"][node], inside) == "down"


def test_a_log_that_does_not_replay_gets_a_page_without_states(post_log: Path,
                                                               tmp_path: Path) -> None:
    log = read_log(post_log)
    events = [dict(e) for e in log.events]
    events[14]["t"] = 11.0  # a delivery moved: checksums redone, so only a re-run can tell
    block = b"".join(orjson.dumps(e) + b"\n" for e in events)
    edited = tmp_path / "edited.jsonl"
    write_log(edited, log.header, block, log.footer["summary"])
    path, note = write_view(edited)
    assert note is not None and "line 16" in note
    data = embedded(path.read_text())
    assert data["states"]["problem"] == note and data["states"]["changes"] == {}
    assert len(data["ev"]["t"]) == len(events)


def test_visible_state_defaults_to_durable_storage() -> None:
    ctx = FakeContext("R1")
    replica = Replica(ctx, Cluster("L", ("R1",), Quorums.of(("R1",)), resend_every=50.0))
    ctx.storage["value"] = "x"
    assert Protocol.visible_state(LeaderWriteProtocol(), replica) == {"value": "x"}


def test_run_writes_the_viewer_unless_told_not_to(post_scenario: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(post_scenario), "--out", str(tmp_path / "a"),
                                  "--no-plots"])
    assert result.exit_code == 0 and "view.html" in result.stdout
    assert (tmp_path / "a" / "view.html").is_file()
    result = runner.invoke(main, ["run", str(post_scenario), "--out", str(tmp_path / "b"),
                                  "--no-plots", "--no-view"])
    assert result.exit_code == 0 and not (tmp_path / "b" / "view.html").exists()


def test_explore_writes_a_viewer_per_failing_seed_unless_told_not_to(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["explore", "forgetful_acceptor", "--seeds", "1..2", "--variant",
            "forget-promise-on-restart"]
    assert runner.invoke(main, [*base, "--out", str(tmp_path / "a")]).exit_code == 1
    assert sorted(p.parent.name for p in (tmp_path / "a").glob("*/view.html")) == \
        ["seed-1", "seed-2"]
    assert runner.invoke(main, [*base, "--out", str(tmp_path / "b"), "--no-view"]).exit_code == 1
    assert list((tmp_path / "b").glob("*/view.html")) == []
    assert len(list((tmp_path / "b").glob("*/events.jsonl"))) == 2


@pytest.mark.parametrize("args", [
    ["view", "missing.jsonl"],
    ["view", "{damaged}"],
    ["export", "missing.jsonl", "--format", "perfetto"],
    ["export", "{log}", "--format", "svg"],
])
def test_user_errors_are_one_line_and_exit_2(args: list[str], post_log: Path,
                                             tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(post_log.read_bytes()[:-40])
    args = [a.format(damaged=damaged, log=post_log) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")


def test_view_command_writes_where_told(post_log: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["view", str(post_log), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 0 and result.stdout == f"wrote: {tmp_path / 'x.html'}\n"
    assert embedded((tmp_path / "x.html").read_text())["nodes"][:4] == \
        ["Proposer1", "Proposer2", "Acceptor", "Learner"]


def test_run_skips_the_viewer_of_a_long_log_and_says_how_to_make_it(
        post_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paxossim.view import page

    monkeypatch.setattr(page, "AUTO_LIMIT", 41)  # the post's run has 42 events
    result = CliRunner().invoke(main, ["run", str(post_scenario), "--out", str(tmp_path),
                                       "--no-plots"])
    assert result.exit_code == 0
    assert not (tmp_path / "view.html").exists()
    assert result.stdout.splitlines()[-1] == (
        f"view.html not written: 42 events (more than 41); paxossim view "
        f"{tmp_path / 'events.jsonl'} writes it")
