"""The replicated-log CLI commands: timeline and flp-chart, good and bad input."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from paxossim.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_run_then_timeline_from_the_log(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(main, ["run", str(SCENARIOS / "leader_failover.toml"), "--no-plots",
                                  "--out", str(out), "--set", "horizon=1500.0"])
    assert result.exit_code == 0, result.output
    assert "linearizability: ok" in result.output and "commands committed" in result.output
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["replicated_log"]["commands_committed"] > 0
    drawn = runner.invoke(main, ["timeline", str(out / "events.jsonl")])
    assert drawn.exit_code == 0, drawn.output
    assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_stale_read_variant_run_exits_1_with_a_reproduce_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "run", str(SCENARIOS / "leader_partitioned.toml"), "--no-plots", "--out",
        str(tmp_path), "--variant", "stale-read-leader"])
    assert result.exit_code == 1
    assert "linearizability at t=" in result.output and "reproduce:" in result.output


def test_timeline_rejects_a_log_without_clients(tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["run", str(SCENARIOS / "flp_randomized.toml"), "--no-plots",
                         "--out", str(tmp_path)])
    result = runner.invoke(main, ["timeline", str(tmp_path / "events.jsonl")])
    assert result.exit_code == 2 and "no client commands" in result.output
    missing = runner.invoke(main, ["timeline", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_flp_chart_writes_png_and_data(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["flp-chart", "--seeds", "2", "--widths", "0,10",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "width      0:    0/2 decided" in result.output
    assert "width     10:    2/2 decided" in result.output
    rows = orjson.loads((tmp_path / "flp_chart.json").read_bytes())
    assert [row["width"] for row in rows] == [0.0, 10.0]
    assert rows[0]["times"] == [None, None] and None not in rows[1]["times"]
    assert (tmp_path / "flp_chart.png").read_bytes()[:4] == b"\x89PNG"


def test_flp_chart_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["flp-chart", "--widths", "0,x", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--widths" in bad.output
    wrong = runner.invoke(main, ["flp-chart", "--scenario", "leader_failover", "--out",
                                 str(tmp_path)])
    assert wrong.exit_code == 2 and "needs p2p" in wrong.output


def test_scenario_option_errors_name_the_key(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(SCENARIOS / "leader_failover.toml"),
                                  "--set", "multipaxos.election_timeout_max=10.0"])
    assert result.exit_code == 2
    assert "multipaxos.election_timeout_max" in result.output
    result = runner.invoke(main, ["validate", str(SCENARIOS / "peer_to_peer.toml"),
                                  "--set", "p2p.workload=\"sometimes\""])
    assert result.exit_code == 2 and "p2p.workload" in result.output
    result = runner.invoke(main, ["validate", str(SCENARIOS / "leader_failover.toml"),
                                  "--set", "multipaxos.preferred_leader=\"c1\""])
    assert result.exit_code == 2 and "not a replica" in result.output


def test_the_timeline_marks_the_violation_and_spaces_election_labels(tmp_path: Path) -> None:
    from paxossim.plots.timeline import spaced

    runner = CliRunner()
    runner.invoke(main, ["run", str(SCENARIOS / "leader_partitioned.toml"), "--no-plots",
                         "--out", str(tmp_path), "--variant", "stale-read-leader"])
    drawn = runner.invoke(main, ["timeline", str(tmp_path / "events.jsonl"), "--out",
                                 str(tmp_path / "timeline.svg")])
    assert drawn.exit_code == 0, drawn.output
    svg = (tmp_path / "timeline.svg").read_text()
    assert "linearizability violated" in svg and "safety violation found" in svg
    assert "partitioned" in svg
    assert spaced([0.0, 10.0, 30.0, 200.0, 210.0], span=1000.0) == [True, False, True, True,
                                                                     False]
