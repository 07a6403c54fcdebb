"""The command line, through click's CliRunner: outputs, exit codes, bad input."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxossim.cli import main
from paxossim.scenario.model import scenario_from_dict

HERE = Path(__file__).resolve().parent


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_writes_log_summary_and_diagrams(post_scenario: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("run", str(post_scenario), "--out", str(tmp_path))
    assert code == 0
    assert "Acceptor refuses ballot 4:06PM (prepare): it promised 5:31PM" in out
    assert 'chosen: "data1" at t=30 ms' in out
    assert "safety: OK" in out
    names = {p.name for p in tmp_path.iterdir()}
    assert {"events.jsonl", "summary.json", "sequence.png", "sequence.mmd"} <= names
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("scenario", "seed", "chosen", "decided_at", "learned", "messages", "safety",
                "events_sha256"):
        assert key in summary
    assert (tmp_path / "sequence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mermaid = (tmp_path / "sequence.mmd").read_text()
    assert mermaid.startswith("sequenceDiagram\n")
    for node in ("Proposer1", "Proposer2", "Acceptor", "Learner"):
        assert f"    participant {node}\n" in mermaid
    assert 'Proposer1->>Acceptor: accept 5:31PM, "data1"' in mermaid
    assert "Acceptor->>Proposer2: nack 4:06PM (promised 5:31PM)" in mermaid


def test_run_by_bundled_name_and_default_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("run", "late_arriving_proposal", "--seed", "3", "--no-plots")
    assert code == 0, out
    assert (tmp_path / "results" / "late_arriving_proposal" / "seed-3" / "events.jsonl").exists()


def test_runs_with_other_overrides_or_variants_do_not_overwrite_each_other(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runs = [(), ("--set", "network.loss=0.2"), ("--set", "network.loss=0.3"),
            ("--variant", "forget-promise-on-restart"),
            ("--variant", "forget-promise-on-restart", "--set", "network.loss=0.2")]
    folders = []
    for extra in runs:
        code, out, _ = invoke("run", "late_arriving_proposal", "--seed", "3", "--no-plots", *extra)
        assert code in (0, 1), out
        written = out.split("wrote: ")[1].split(" (")[0]
        folders.append(written)
        assert (tmp_path / written / "events.jsonl").exists()
    assert len(set(folders)) == len(runs)
    assert folders[0] == "results/late_arriving_proposal/seed-3/"
    assert folders[3] == "results/late_arriving_proposal/forget-promise-on-restart/seed-3/"
    assert folders[4].startswith("results/late_arriving_proposal/forget-promise-on-restart+set-")


def test_run_exits_1_on_a_safety_violation(tmp_path: Path) -> None:
    scenario = HERE / "scenarios" / "restart_between_phases.toml"
    code, out, _ = invoke("run", str(scenario), "--variant", "forget-promise-on-restart",
                          "--out", str(tmp_path), "--no-plots")
    assert code == 1
    assert "safety: VIOLATED" in out
    assert "reproduce: paxossim run" in out


def test_replay_confirms_identical_run(post_scenario: Path, tmp_path: Path) -> None:
    invoke("run", str(post_scenario), "--out", str(tmp_path), "--no-plots",
           "--set", 'network.latency={model="uniform", low=1, high=30}')
    code, out, _ = invoke("replay", str(tmp_path / "events.jsonl"))
    assert code == 0, out
    assert out.startswith("identical:")


def reseal(lines: list[bytes]) -> bytes:
    """A log from edited lines with its footer sealed again, as a careful forger would."""
    from paxossim.log.files import events_sha256, footer_line

    summary = json.loads(lines[-1])["summary"]
    footer = footer_line(lines[0], events_sha256(lines[1:-1]), summary)
    return b"\n".join(lines[:-1]) + b"\n" + footer


def tamper(log: Path, old: bytes, new: bytes) -> int:
    """Change one event line and re-seal the footer."""
    lines = log.read_bytes().rstrip(b"\n").split(b"\n")
    index = next(i for i, line in enumerate(lines) if i > 0 and old in line)
    lines[index] = lines[index].replace(old, new)
    log.write_bytes(reseal(lines))
    return index + 1


def test_an_edited_summary_or_header_is_caught(post_scenario: Path, tmp_path: Path) -> None:
    invoke("run", str(post_scenario), "--out", str(tmp_path), "--no-plots")
    log = tmp_path / "events.jsonl"
    original = log.read_bytes()
    lines = original.rstrip(b"\n").split(b"\n")
    lines[-1] = lines[-1].replace(b'"chosen":"data1"', b'"chosen":"data2"')
    log.write_bytes(b"\n".join(lines) + b"\n")
    code, _, err = invoke("replay", str(log))
    assert code == 2
    assert err.strip().endswith("corrupt: the header or the summary does not match the "
                                "footer's sha256")
    for seed in (b"1.5", b'"abc"', b"-3"):
        lines = original.rstrip(b"\n").split(b"\n")
        lines[0] = lines[0].replace(b'"seed":7,', b'"seed":' + seed + b",", 1)
        log.write_bytes(reseal(lines))
        code, _, err = invoke("replay", str(log))
        assert code == 2, seed
        assert "header seed must be a non-negative integer" in err
        assert "Traceback" not in err


def test_a_negative_seed_flag_is_refused(post_scenario: Path, tmp_path: Path) -> None:
    code, out, err = invoke("run", str(post_scenario), "--seed", "-5", "--out", str(tmp_path))
    assert code == 2 and "Traceback" not in out + err
    assert not (tmp_path / "events.jsonl").exists()


def test_replay_names_the_first_tampered_line(post_scenario: Path, tmp_path: Path) -> None:
    invoke("run", str(post_scenario), "--out", str(tmp_path), "--no-plots")
    log = tmp_path / "events.jsonl"
    line = tamper(log, b'"value":"data1"', b'"value":"data9"')
    code, out, _ = invoke("replay", str(log))
    assert code == 1
    assert f"line {line}" in out
    assert "data9" in out


def test_replay_rejects_a_log_whose_checksum_does_not_match(post_scenario: Path,
                                                             tmp_path: Path) -> None:
    invoke("run", str(post_scenario), "--out", str(tmp_path), "--no-plots")
    log = tmp_path / "events.jsonl"
    event = b'"ev":"request","node":"Proposer2","value":"data2"'
    assert event in log.read_bytes()
    log.write_bytes(log.read_bytes().replace(event, event.replace(b"data2", b"dataX")))
    code, _, err = invoke("replay", str(log))
    assert code == 2
    assert "sha256" in err


def test_replay_render_redraws_from_the_log_alone(post_scenario: Path, tmp_path: Path) -> None:
    invoke("run", str(post_scenario), "--out", str(tmp_path), "--no-plots")
    code, _, _ = invoke("replay", str(tmp_path / "events.jsonl"), "--render")
    assert code == 0
    assert (tmp_path / "sequence.png").exists() and (tmp_path / "sequence.mmd").exists()


def test_scenarios_lists_the_post_first(root: Path) -> None:
    code, out, _ = invoke("scenarios")
    assert code == 0
    assert out.splitlines()[0].startswith("late_arriving_proposal ")


def test_validate_accepts_the_post(post_scenario: Path) -> None:
    code, out, _ = invoke("validate", str(post_scenario))
    assert code == 0 and "OK" in out


def test_variants_lists_the_broken_ones() -> None:
    code, out, _ = invoke("variants")
    assert code == 0
    assert "forget-promise-on-restart" in out and "correct" in out


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


BASE = """
[nodes]
P = ["proposer"]
A = ["acceptor"]
L = ["learner"]
[[requests]]
node = "P"
value = "x"
"""


@pytest.mark.parametrize(
    "extra, message",
    [
        ("[network]\nlos = 0.1\n", "bad.toml: network.los: unknown key"),
        ("[network]\nloss = \"high\"\n", "bad.toml: network.loss: must be a number, got a string"),
        ("[network]\nloss = 1.5\n", "bad.toml: network.loss: is a probability and must be within"
                                    " [0, 1], got 1.5"),
        ("[network]\nlatency = -3\n", "bad.toml: network.latency.value: must not be negative,"
                                      " got -3"),
        ("[network.links.\"P->Z\"]\nloss = 0.1\n", "bad.toml: network.links.\"P->Z\": no node "
                                                   "named 'Z'"),
        ("[[faults.crashes]]\nnode = \"Q\"\nat = 1.0\n", "bad.toml: faults.crashes[0].node: no "
                                                         "node named 'Q'"),
        ("horizon = \"soon\"\n", "bad.toml: horizon: must be a number, got a string"),
        ("[paxos]\nmax_attempts = 0\n", "bad.toml: paxos.max_attempts: must be at least 1"),
    ],
)
def test_bad_scenarios_get_one_clear_line(tmp_path: Path, extra: str, message: str) -> None:
    path = write(tmp_path, extra + BASE if not extra.startswith("[") else BASE + extra)
    for command in ("validate", "run"):
        code, out, err = invoke(command, str(path), "--out", str(tmp_path / "o")) \
            if command == "run" else invoke(command, str(path))
        assert code == 2
        assert err.strip().startswith("error: " + str(path.parent) + "/" + message), err
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err + out


def test_unknown_request_node_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('node = "P"', 'node = "Nobody"'))
    code, _, err = invoke("validate", str(path))
    assert code == 2
    assert "requests[0].node: no node named 'Nobody'" in err


@pytest.mark.parametrize("assignment", ["network.loss", "=3", 'network."loss=1'])
def test_malformed_set_is_rejected(post_scenario: Path, assignment: str) -> None:
    code, _, err = invoke("run", str(post_scenario), "--set", assignment)
    assert code == 2
    assert err.startswith("error: --set ")
    assert len(err.strip().splitlines()) == 1


def test_set_to_an_unknown_key_is_named(post_scenario: Path) -> None:
    code, _, err = invoke("validate", str(post_scenario), "--set", "network.latncy=4")
    assert code == 2 and "network.latncy: unknown key" in err


def test_missing_scenario_file(tmp_path: Path) -> None:
    code, _, err = invoke("run", str(tmp_path / "nope.toml"))
    assert code == 2 and "nope.toml: no such file" in err


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[nodes\n")
    code, _, err = invoke("validate", str(path))
    assert code == 2 and "not valid TOML" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "mangle, message",
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data.rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n", "footer line is missing"),
        (lambda data: data.replace(b"\n", b"\n{oops\n", 1), "line 2: not valid JSON"),
        (lambda data: b"", "empty file"),
        (lambda data: data.split(b"\n", 1)[1], "line 1: not a paxossim log"),
    ],
)
def test_corrupt_logs_are_named_by_line(post_scenario: Path, tmp_path: Path, mangle,
                                        message: str) -> None:
    invoke("run", str(post_scenario), "--out", str(tmp_path), "--no-plots")
    log = tmp_path / "events.jsonl"
    log.write_bytes(mangle(log.read_bytes()))
    for args in (("replay", str(log)), ("replay", str(log), "--render")):
        code, _, err = invoke(*args)
        assert code == 2, err
        assert err.startswith(f"error: {log}") and message in err
        assert len(err.strip().splitlines()) == 1


def test_liveness_line_says_which_phase_the_value_was_chosen_in() -> None:
    from paxossim.cli import liveness_line

    verdict = {"verdict": "ok", "heal_at": 500.0, "required_by": 2500.0}
    early = liveness_line(verdict | {"chosen_at": 73.5, "took": 0.0}, "ms")
    assert early == "liveness: OK (chosen at t=73.5 ms, in the faulty phase, before the heal " \
        "at t=500 ms)"
    late = liveness_line(verdict | {"chosen_at": 530.0, "took": 30.0}, "ms")
    assert late == ("liveness: OK (chosen 30 ms after the heal at t=500 ms, required by "
                    "t=2500 ms)")
    failed = liveness_line({"verdict": "failed", "heal_at": 500.0, "required_by": 2500.0,
                            "chosen_at": None, "took": None}, "ms")
    assert failed.startswith("liveness: FAILED (nothing chosen by t=2500 ms")


def test_the_readme_shows_what_the_post_scenario_really_prints(
        root: Path, tmp_path: Path, monkeypatch) -> None:
    readme = (root / "README.md").read_text()
    shown = readme.split("The command above prints:\n\n```\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("run", str(root / "scenarios" / "late_arriving_proposal.toml"))
    assert code == 0
    assert out == shown


def test_the_readme_s_scenario_reference_is_a_valid_scenario(root: Path) -> None:
    section = (root / "README.md").read_text().split("## Scenarios\n", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    scenario = scenario_from_dict(tomllib.loads(block), "README.md")
    assert scenario.quorum_sizes == (2, 2) and len(scenario.nodes) == 4
    assert scenario.requests[0].extra == {"ballot": 17 * 60 + 31}


def test_diagrams_draw_messages_to_an_endpoint_that_is_not_a_node(tmp_path: Path) -> None:
    """Issue 13 item 3: replies to the scripted client (no node of the scenario)
    get a lifeline of their own instead of a KeyError."""
    code, out, err = invoke("run", "flp_livelock", "--set", "network.latency=1",
                            "--out", str(tmp_path))
    assert code == 0, out + err
    assert (tmp_path / "sequence.png").stat().st_size > 0
    assert "participant client" in (tmp_path / "sequence.mmd").read_text()


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", ".hidden", "a/b", ""])
def test_a_name_that_would_write_outside_results_is_refused(
    name: str, post_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 8: the name becomes results/<name>/; it must be one plain word."""
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("run", str(post_scenario), "--set", f'name="{name}"')
    assert code == 2 and "Traceback" not in out + err
    assert "name: must be a plain name" in err
    assert list(tmp_path.iterdir()) == []


def test_a_file_name_with_spaces_gives_a_plain_default_name(tmp_path: Path) -> None:
    source = (Path(__file__).resolve().parent.parent / "scenarios"
              / "late_arriving_proposal.toml").read_text().replace(
                  'name = "late_arriving_proposal"\n', "")
    path = tmp_path / "my first run.toml"
    path.write_text(source)
    code, out, _ = invoke("validate", str(path))
    assert code == 0, out
    assert scenario_from_dict(tomllib.loads(source), str(path)).name == "my_first_run"


@pytest.mark.parametrize("args, message", [
    (["--seed", "18446744073709551616"], "is not in the range"),
    (["--set", "seed=18446744073709551616"], "seed: must be at most 9223372036854775807"),
    (["--set", "nodes.Proposer1.0.x=1"], "nodes.Proposer1.0 is a value, not a table"),
    (["--set", "clocks.Proposer2.offset=1e300"], "clocks.Proposer2.offset: must be at most"),
    (["--set", "clocks.Proposer2.drift=1e300"], "clocks.Proposer2.drift: must be at most"),
])
def test_inputs_that_used_to_crash_are_one_clear_line(
    args: list[str], message: str, post_scenario: Path, tmp_path: Path
) -> None:
    """Issue 13 item 5's classes: each was a traceback."""
    code, out, err = invoke("run", str(post_scenario), "--out", str(tmp_path), *args)
    assert code == 2
    assert message in err and "Traceback" not in out + err


def test_validate_checks_a_sweep_spec_and_its_grid(root: Path) -> None:
    code, out, _ = invoke("validate", str(root / "scenarios" / "sweep_loss.toml"))
    assert code == 0
    assert "sweep spec: 33 grid points x 300 seeds, base scenario lossy_cluster.toml" in out


def test_a_sweep_spec_given_to_run_says_which_kind_was_expected(root: Path) -> None:
    code, _, err = invoke("run", str(root / "scenarios" / "sweep_loss.toml"))
    assert code == 2
    assert "this is a sweep spec (it has [grid]), not a scenario" in err
    assert "paxossim sweep" in err and "Traceback" not in err


def test_a_scenario_given_to_sweep_says_which_kind_was_expected(post_scenario: Path) -> None:
    code, _, err = invoke("sweep", str(post_scenario))
    assert code == 2
    assert "this is a scenario, not a sweep spec" in err and "paxossim run" in err


@pytest.mark.parametrize(("value", "digits", "text"), [
    (13180.0, 4, "13180"), (1234567.25, 6, "1234567"), (58.8832, 6, "58.8832"),
    (0.5, 4, "0.5"), (0.00001234, 3, "0.0000123"), (2.0, 6, "2")])
def test_numbers_are_never_printed_in_exponent_notation(value: float, digits: int,
                                                         text: str) -> None:
    from paxossim.labels import plain_number

    assert plain_number(value, digits) == text


def test_an_account_says_when_nothing_was_decided(tmp_path: Path) -> None:
    code, out, _ = invoke("run", "flp_livelock", "--no-plots", "--out", str(tmp_path),
                          "--set", "horizon=300")
    assert code == 0
    assert "log: nothing was decided within the horizon (300 ms)" in out


def test_the_readme_links_nothing_outside_the_repository(root: Path) -> None:
    import re

    targets = re.findall(r"\]\(([^)#]+)\)", (root / "README.md").read_text())
    assert targets
    inside = root.resolve()
    outside = [t for t in targets if "://" not in t and not (
        (root / t).exists() and (root / t).resolve().is_relative_to(inside))]
    assert outside == []
