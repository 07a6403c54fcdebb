"""Sweeps: determinism across workers, resume after a kill, failures, bad input, regeneration."""

from __future__ import annotations

import csv
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sweep_helpers import SCENARIOS, TINY_SPEC, write_protocols_spec, write_spec

from paxossim import runs
from paxossim.cli import main
from paxossim.errors import UserError
from paxossim.experiments.sweep import SweepInterrupted, run_sweep
from paxossim.experiments.sweep_spec import load_spec, run_seed, show_run
from paxossim.experiments.sweep_table import JOURNAL, RESULTS, SUMMARY, read_journal


def table(folder: Path, name: str = RESULTS) -> list[dict[str, str]]:
    with (folder / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "spec")


def test_the_table_is_byte_identical_for_one_and_two_workers(spec_path: Path,
                                                              tmp_path: Path) -> None:
    spec = load_spec(spec_path)
    run_sweep(spec, tmp_path / "one", workers=1)
    run_sweep(spec, tmp_path / "two", workers=2)
    for name in (RESULTS, SUMMARY):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    rows = table(tmp_path / "one")
    assert len(rows) == 4 * 5
    assert [(int(r["point"]), int(r["replicate"])) for r in rows] == sorted(
        (p, r) for p in range(4) for r in range(5))
    assert {r["acceptors"] for r in rows} == {"3", "5"}
    assert {r["network.loss"] for r in rows} == {"0.0", "0.3"}


def test_the_same_sweep_twice_gives_the_same_tables(spec_path: Path, tmp_path: Path) -> None:
    spec = load_spec(spec_path)
    run_sweep(spec, tmp_path / "a")
    run_sweep(spec, tmp_path / "b")
    for name in (RESULTS, SUMMARY):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_seeds_depend_on_the_point_and_replicate_not_on_the_grid_shape() -> None:
    params = (("network.loss", 0.1),)
    assert run_seed(1, params, 0) == run_seed(1, params, 0)
    seeds = {run_seed(1, params, r) for r in range(100)}
    assert len(seeds) == 100
    assert run_seed(2, params, 0) != run_seed(1, params, 0)
    assert run_seed(1, (("network.loss", 0.2),), 0) != run_seed(1, params, 0)
    assert all(0 <= s < 2**48 for s in seeds)


def test_a_killed_journal_resumes_to_the_uninterrupted_table(spec_path: Path,
                                                             tmp_path: Path) -> None:
    spec = load_spec(spec_path)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    run_sweep(spec, whole)
    run_sweep(spec, cut)
    journal = (cut / JOURNAL).read_bytes()
    lines = journal.split(b"\n")
    # Keep 7 whole lines and half of the 8th: what a kill mid-write leaves.
    (cut / JOURNAL).write_bytes(b"\n".join(lines[:7]) + b"\n" + lines[7][:20])
    (cut / RESULTS).unlink()
    result = run_sweep(spec, cut, resume=True)
    assert result.ran == 20 - 7
    assert (cut / RESULTS).read_bytes() == (whole / RESULTS).read_bytes()
    assert (cut / SUMMARY).read_bytes() == (whole / SUMMARY).read_bytes()
    assert len(read_journal(cut / JOURNAL)) == 20


def test_ctrl_c_keeps_a_valid_table_and_resume_finishes_it(
    spec_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec(spec_path)
    run_sweep(spec, tmp_path / "whole")
    real = runs.execute
    calls = []

    def interrupted(scenario, seed=None, **options):  # type: ignore[no-untyped-def]
        calls.append(seed)
        if len(calls) == 9:
            raise KeyboardInterrupt
        return real(scenario, seed, **options)

    monkeypatch.setattr(runs, "execute", interrupted)
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(spec, tmp_path / "part")
    assert stopped.value.result.done == 8
    assert len(table(tmp_path / "part")) == 8
    monkeypatch.setattr(runs, "execute", real)
    result = run_sweep(spec, tmp_path / "part", resume=True)
    assert result.ran == 12
    assert (tmp_path / "part" / RESULTS).read_bytes() == (
        tmp_path / "whole" / RESULTS).read_bytes()


@pytest.mark.parametrize(("how", "workers"), [(signal.SIGKILL, 1), (signal.SIGTERM, 2)],
                         ids=["kill-9", "term-2-workers"])
def test_a_killed_process_resumes_to_the_uninterrupted_table(
    tmp_path: Path, how: signal.Signals, workers: int
) -> None:
    spec_path = write_spec(tmp_path / "spec", seeds=100)
    out = tmp_path / "killed"
    command = [sys.executable, "-c", "from paxossim.cli import main; main()", "sweep",
               str(spec_path), "--out", str(out), "--no-charts", "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        journal = out / JOURNAL
        if journal.exists() and journal.read_bytes().count(b"\n") >= 50:
            break
        time.sleep(0.01)
    process.send_signal(how)
    code = process.wait()
    kept = read_journal(out / JOURNAL)
    assert 50 <= len(kept) < 400, "the kill came too late to test"
    if how == signal.SIGTERM:  # a plain kill is a Ctrl-C: the table of finished runs is saved
        assert code == 130
        assert len(table(out)) == len(kept)
    runner = CliRunner()
    resumed = runner.invoke(main, ["sweep", str(spec_path), "--out", str(out), "--resume",
                                   "--no-charts"])
    assert resumed.exit_code == 0, resumed.output
    whole = runner.invoke(main, ["sweep", str(spec_path), "--out", str(tmp_path / "whole"),
                                 "--no-charts"])
    assert whole.exit_code == 0, whole.output
    assert (out / RESULTS).read_bytes() == (tmp_path / "whole" / RESULTS).read_bytes()


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(
    spec_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec(spec_path)
    bad_seed = run_seed(spec.seed, spec.points()[2].params, 3)
    real = runs.execute

    def flaky(scenario, seed=None, **options):  # type: ignore[no-untyped-def]
        if seed == bad_seed:
            raise RuntimeError("simulated\nbug")
        return real(scenario, seed, **options)

    monkeypatch.setattr(runs, "execute", flaky)
    result = run_sweep(spec, tmp_path / "out")
    assert (result.done, result.failed) == (20, 1)
    rows = table(tmp_path / "out")
    failed = [r for r in rows if r["error"]]
    assert len(failed) == 1
    assert failed[0]["seed"] == str(bad_seed)
    assert failed[0]["error"] == "RuntimeError: simulated bug"
    assert (failed[0]["point"], failed[0]["replicate"]) == ("2", "3")
    summary = table(tmp_path / "out", SUMMARY)
    assert summary[2]["errors"] == "1"
    assert summary[2]["runs"] == "5"


def test_show_run_prints_a_command_that_regenerates_the_row(spec_path: Path,
                                                           tmp_path: Path) -> None:
    spec = load_spec(spec_path)
    run_sweep(spec, tmp_path / "out")
    row = next(r for r in table(tmp_path / "out") if r["point"] == "3" and r["replicate"] == "2")
    runner = CliRunner()
    shown = runner.invoke(main, ["sweep", str(spec_path), "--show-run", "3:2"])
    assert shown.exit_code == 0, shown.output
    command = shlex.split(shown.output.strip())
    assert command[:2] == ["paxossim", "run"]
    rerun = runner.invoke(main, [*command[1:], "--out", str(tmp_path / "rerun"), "--no-plots"])
    assert rerun.exit_code in (0, 1), rerun.output
    import orjson

    summary = orjson.loads((tmp_path / "rerun" / "summary.json").read_bytes())
    assert str(summary["seed"]) == row["seed"]
    assert repr(summary["decision_latency"]) == row["decision_latency"] or (
        summary["decision_latency"] is None and row["decision_latency"] == "")
    assert str(summary["messages"]["sent"]) == row["sent"]
    assert show_run(spec, "3:2") == shown.output.strip()


def test_keep_logs_keeps_a_verifiable_log_per_run(spec_path: Path, tmp_path: Path) -> None:
    from paxossim.log.files import read_log

    spec = load_spec(spec_path, seeds_per_point=2)
    run_sweep(spec, tmp_path / "out", keep_logs=True)
    logs = sorted((tmp_path / "out" / "logs").glob("*.jsonl"))
    assert len(logs) == 4 * 2
    log = read_log(logs[-1])
    assert str(log.header["seed"]) == table(tmp_path / "out")[-1]["seed"]


def test_seeds_per_point_overrides_the_spec(spec_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sweep", str(spec_path), "--seeds-per-point", "2",
                                       "--out", str(tmp_path / "out"), "--no-charts"])
    assert result.exit_code == 0, result.output
    assert len(table(tmp_path / "out")) == 8


def test_resume_of_a_folder_from_another_spec_is_refused_and_loses_nothing(
    spec_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(main, ["sweep", str(spec_path), "--out", str(out),
                                "--no-charts"]).exit_code == 0
    before = folder_bytes(out)
    other = write_spec(tmp_path / "other", text=TINY_SPEC.replace("seed = 11", "seed = 12"))
    refused = runner.invoke(main, ["sweep", str(other), "--out", str(out), "--resume"])
    assert refused.exit_code == 2
    assert "different sweep spec" in refused.output
    assert refused.output.count("\n") == 1
    again = runner.invoke(main, ["sweep", str(spec_path), "--out", str(out)])
    assert again.exit_code == 2
    assert "--resume" in again.output
    assert folder_bytes(out) == before


BAD_SPECS = {
    "no such key": ('"network.los" = [0.1]', "network.los"),
    "bad value": ('"network.loss" = [0.1, 1.5]', "network.loss"),
    "empty list": ('"network.loss" = []', "no values"),
    "text range": ('"network.loss" = { start = 0, stop = "half", step = 0.1 }', "stop"),
    "bad step": ('"network.loss" = { start = 0, stop = 0.5, step = 0 }', "step"),
    "backwards": ('"network.loss" = { start = 0.5, stop = 0.1, step = 0.1 }', "empty"),
    "scalar": ('"network.loss" = 0.1', "must be a list"),
    "set mismatch": ("n.values = [1, 2]\nn.set = [{}]", "1 tables for 2 values"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_grids_are_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    grid, expected = BAD_SPECS[case]
    text = (f'name = "bad"\nscenario = "{(SCENARIOS / "lossy_cluster.toml").as_posix()}"\n'
            f"[grid]\n{grid}\n")
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert result.output.count("\n") == 1
    assert expected in result.output
    assert not (tmp_path / "out").exists()


def test_an_empty_grid_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "empty.toml"
    spec.write_text(f'scenario = "{(SCENARIOS / "lossy_cluster.toml").as_posix()}"\n[grid]\n')
    with pytest.raises(UserError, match="empty"):
        load_spec(spec)


def test_ranges_include_stop_and_are_written_without_float_noise(tmp_path: Path) -> None:
    spec = tmp_path / "range.toml"
    spec.write_text(f'scenario = "{(SCENARIOS / "lossy_cluster.toml").as_posix()}"\n[grid]\n'
                    '"network.loss" = { start = 0.0, stop = 0.3, step = 0.1 }\n'
                    '"paxos.max_attempts" = { start = 1, stop = 5, step = 2 }\n')
    axes = load_spec(spec).axes
    assert axes[0].values == (0.0, 0.1, 0.2, 0.3)
    assert axes[1].values == (1, 3, 5)
    assert len(load_spec(spec).points()) == 12


def test_the_bundled_sweeps_load() -> None:
    for name in ("sweep_loss", "sweep_crash"):
        spec = load_spec(SCENARIOS / f"{name}.toml")
        assert len(spec.points()) > 1


def test_progress_reports_runs_failures_and_time() -> None:
    import io

    from paxossim.experiments.sweep import Progress

    stream = io.StringIO()
    bar = Progress("tiny", 20, 5, 1, stream)
    bar.update(20, 2, final=True)
    assert "tiny [" in stream.getvalue()
    assert "20/20 runs, 2 failed" in stream.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sweep_loss", "sweep_crash"])
def test_the_bundled_sweeps_are_safe_and_worker_independent(name: str, tmp_path: Path) -> None:
    from conftest import slow_scale

    seeds = max(2, round(300 * slow_scale()))
    spec = load_spec(SCENARIOS / f"{name}.toml", seeds_per_point=seeds)
    run_sweep(spec, tmp_path / "one", workers=1)
    run_sweep(spec, tmp_path / "two", workers=2)
    assert (tmp_path / "one" / RESULTS).read_bytes() == (tmp_path / "two" / RESULTS).read_bytes()
    rows = table(tmp_path / "one")
    assert len(rows) == seeds * len(spec.points())
    assert all(r["safe"] == "true" and not r["error"] for r in rows)


def test_a_plain_resume_goes_on_with_the_seeds_per_point_the_sweep_started_with(
    spec_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(main, ["sweep", str(spec_path), "--out", str(out), "--no-charts",
                                 "--seeds-per-point", "2"])
    assert first.exit_code == 0, first.output
    (out / JOURNAL).write_bytes(b"".join((out / JOURNAL).read_bytes().splitlines(True)[:3]))
    resumed = runner.invoke(main, ["sweep", str(spec_path), "--out", str(out), "--resume",
                                   "--no-charts"])
    assert resumed.exit_code == 0, resumed.output
    assert "8 runs (5 now" in resumed.output
    more = runner.invoke(main, ["sweep", str(spec_path), "--out", str(out), "--resume",
                                "--seeds-per-point", "3"])
    assert more.exit_code == 2


def test_a_grid_over_protocols_fills_the_replicated_log_columns(tmp_path: Path) -> None:
    spec_path = write_protocols_spec(tmp_path, seeds=2, grid="horizon = [1500.0]")
    run_sweep(load_spec(spec_path), tmp_path / "out", workers=1)
    rows = table(tmp_path / "out")
    assert [r["protocol"] for r in rows] == ["multipaxos"] * 2 + ["p2p"] * 2
    for row in rows:
        assert row["error"] == ""
        assert int(row["commands_committed"]) > 0
        assert 0 < float(row["commit_p50"]) <= float(row["commit_p99"])
        assert row["linearizable"] == "true"
    summary = table(tmp_path / "out", SUMMARY)
    for point, protocol in enumerate(("multipaxos", "p2p")):
        mine = [float(r["messages_per_command"]) for r in rows if r["protocol"] == protocol]
        assert float(summary[point]["messages_per_command_mean"]) == pytest.approx(
            sum(mine) / len(mine))
        assert summary[point]["not_linearizable"] == "0"


def test_set_applies_fixed_keys_to_every_point_and_to_show_run(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec", seeds=2,
                           text=TINY_SPEC + '\n[set]\n"paxos.max_attempts" = 1\n')
    spec = load_spec(spec_path)
    assert all(p.overrides[0] == ("paxos.max_attempts", 1) for p in spec.points())
    assert "--set paxos.max_attempts=1" in show_run(spec, "0:0")
    run_sweep(spec, tmp_path / "out")
    rows = table(tmp_path / "out")
    assert {r["attempts"] for r in rows} <= {"1", "2"}  # one ballot per proposer at most


def test_set_refuses_unquoted_dotted_keys(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec",
                           text=TINY_SPEC + "\n[set]\npaxos.max_attempts = 1\n")
    with pytest.raises(UserError, match=r"set\.paxos: write dotted keys in quotes"):
        load_spec(spec_path)


def test_a_damaged_journal_line_costs_only_its_run(spec_path: Path, tmp_path: Path) -> None:
    """Issue 13 item 1: one flipped byte used to make plot drop every later run, and
    --resume cut the journal there and ran everything after it again."""
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(main, ["sweep", str(spec_path), "--out", str(out),
                                "--no-charts"]).exit_code == 0
    whole = (out / RESULTS).read_bytes()
    lines = (out / JOURNAL).read_bytes().splitlines(True)
    lines[10] = lines[10].replace(b'"replicate":', b'"replicatf":', 1)  # a key mangled
    flipped = bytearray(lines[12])
    flipped[len(flipped) // 2] ^= 0x01
    lines[12] = bytes(flipped)
    (out / JOURNAL).write_bytes(b"".join(lines))
    plotted = runner.invoke(main, ["plot", str(out)])
    assert plotted.exit_code == 2
    assert plotted.output.strip().splitlines()[-1].startswith(f"error: {out / JOURNAL}: line 11")
    assert (out / RESULTS).read_bytes() == whole, "plot rewrote the table"
    resumed = runner.invoke(main, ["sweep", str(spec_path), "--out", str(out), "--resume",
                                   "--no-charts"])
    assert resumed.exit_code == 0, resumed.output
    assert "journal: 2 damaged line(s) skipped (line 11, 13)" in resumed.output
    assert "20 runs (2 now" in resumed.output
    assert (out / RESULTS).read_bytes() == whole


def test_a_garbage_journal_is_one_line_not_a_crash(spec_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(main, ["sweep", str(spec_path), "--out", str(out),
                                "--no-charts"]).exit_code == 0
    (out / JOURNAL).write_bytes(b"\x00garbage\nnot json either\n")
    plotted = runner.invoke(main, ["plot", str(out)])
    assert plotted.exit_code == 2
    assert "damaged (2 line(s) in all)" in plotted.output
    assert "Traceback" not in plotted.output
