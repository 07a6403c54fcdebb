"""The Python API (``paxossim.run``, ``paxossim.load_scenario``): same answers as the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import paxossim
from paxossim.cli import main
from paxossim.log.files import read_log
from paxossim.scenario.model import scenario_to_dict

POST = "late_arriving_proposal"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_bundled_name_loads_the_bundled_file(root: Path) -> None:
    by_name = paxossim.load_scenario(POST)
    by_path = paxossim.load_scenario(root / "scenarios" / f"{POST}.toml")
    assert scenario_to_dict(by_name) == scenario_to_dict(by_path)


def test_set_takes_python_values_or_key_value_strings() -> None:
    as_dict = paxossim.load_scenario("lossy_cluster", set={"network.loss": 0.25, "seed": 9})
    as_list = paxossim.load_scenario("lossy_cluster", set=["network.loss=0.25", "seed=9"])
    assert as_dict.network.default.loss == as_list.network.default.loss == 0.25
    assert scenario_to_dict(as_dict) == scenario_to_dict(as_list)
    assert paxossim.load_scenario("lossy_cluster", set="seed=9").seed == 9


def test_an_unknown_name_is_the_cli_s_one_line_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("run", "no_such_scenario")
    assert code == 2
    for call in (lambda: paxossim.load_scenario("no_such_scenario"),
                 lambda: paxossim.run("no_such_scenario")):
        with pytest.raises(paxossim.UserError) as caught:
            call()
        assert err == f"error: {caught.value}\n"
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("overrides", "named"), [
    ({"network.loss": "lots"}, "network.loss"),
    (["network.loss=2"], "network.loss"),
    (["no equals sign"], "KEY=VALUE"),
    ({"nodes.P1.x": 1}, "nodes"),
])
def test_a_bad_key_or_value_names_it(overrides: object, named: str) -> None:
    with pytest.raises(paxossim.UserError, match=named):
        paxossim.load_scenario("lossy_cluster", set=overrides)  # type: ignore[arg-type]


def test_an_unknown_variant_is_a_user_error() -> None:
    with pytest.raises(paxossim.UserError, match="variant"):
        paxossim.run(POST, variant="no-such-variant")


def test_run_is_deterministic_and_the_seed_matters() -> None:
    first = paxossim.run("lossy_cluster", seed=3, set={"network.loss": 0.3})
    again = paxossim.run("lossy_cluster", seed=3, set={"network.loss": 0.3})
    other = paxossim.run("lossy_cluster", seed=4, set={"network.loss": 0.3})
    assert list(first.events()) == list(again.events())
    assert first.summary == again.summary
    assert first.seed == 3 and other.seed == 4
    assert first.summary["events_sha256"] != other.summary["events_sha256"]


def test_a_saved_run_writes_what_the_cli_writes(tmp_path: Path) -> None:
    run = paxossim.run(POST, seed=5, set=["network.loss=0.1"], out=tmp_path / "api")
    code, _, _ = cli("run", POST, "--seed", "5", "--set", "network.loss=0.1",
                     "--out", str(tmp_path / "cli"), "--no-plots")
    assert code == 0
    assert run.log_path == tmp_path / "api" / "events.jsonl"
    assert {p.name for p in run.files} == {"events.jsonl", "summary.json"}
    assert run.log_path.read_bytes() == (tmp_path / "cli" / "events.jsonl").read_bytes()
    assert json.loads((tmp_path / "api" / "summary.json").read_text()) == run.summary
    assert read_log(run.log_path).events == list(run.events())


def test_an_unsaved_run_has_no_log_path() -> None:
    run = paxossim.run(POST)
    assert run.log_path is None and run.files == ()


def test_the_post_s_run_reads_as_the_cli_prints_it(tmp_path: Path) -> None:
    run = paxossim.run(POST)
    code, out, _ = cli("run", POST, "--out", str(tmp_path), "--no-plots")
    assert code == 0
    assert out.startswith(run.account() + "\n")
    assert run.safe and run.verdict == "ok" and run.violations == []
    assert run.summary["chosen"] == "data1"
    refusal = next(e for e in run.events() if e["ev"] == "paxos.refused")
    assert (refusal["node"], refusal["t"]) == ("Acceptor", 25.0)


def test_events_are_fresh_on_each_call() -> None:
    run = paxossim.run(POST)
    first = next(iter(run.events()))
    first["ev"] = "tampered"
    assert next(iter(run.events()))["ev"] != "tampered"


def test_a_broken_variant_is_unsafe_and_names_the_violation() -> None:
    bad = paxossim.run("forgetful_acceptor", variant="forget-promise-on-restart")
    good = paxossim.run("forgetful_acceptor")
    assert not bad.safe and bad.verdict == "unsafe"
    assert bad.violations and bad.violations[0]["invariant"] == "agreement"
    assert good.safe and good.verdict == "ok"


def test_a_missed_liveness_bound_is_not_live() -> None:
    late = paxossim.run(POST, set={"liveness.heal_at": 0, "liveness.bound": 1})
    assert late.safe and late.verdict == "not-live"


def test_a_loaded_scenario_runs_with_changes_as_a_name_does() -> None:
    loaded = paxossim.load_scenario("forgetful_acceptor")
    for changes in ({"set": {"network.loss": 0.2}}, {"variant": "forget-promise-on-restart"}):
        by_object = paxossim.run(loaded, **changes)  # type: ignore[arg-type]
        by_name = paxossim.run("forgetful_acceptor", **changes)  # type: ignore[arg-type]
        assert by_object.summary == by_name.summary
    assert paxossim.run(loaded).summary == paxossim.run("forgetful_acceptor").summary


def test_diagrams_are_drawn_on_request(tmp_path: Path) -> None:
    run = paxossim.run(POST)
    paths = run.diagrams(tmp_path / "new" / "folder")
    assert [p.name for p in paths] == ["sequence.png", "sequence.mmd"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Acceptor->>Proposer2: nack 4:06PM (promised 5:31PM)" in paths[1].read_text()


def test_render_writes_the_diagrams_with_the_log(tmp_path: Path) -> None:
    run = paxossim.run(POST, out=tmp_path, render=True)
    assert {p.name for p in run.files} == {"events.jsonl", "summary.json", "sequence.png",
                                          "sequence.mmd"}


def test_render_without_a_folder_is_a_user_error() -> None:
    with pytest.raises(paxossim.UserError, match="out="):
        paxossim.run(POST, render=True)


def test_import_paxossim_stays_light() -> None:
    code = ("import sys, paxossim; "
            "print(sorted(m for m in ('matplotlib', 'simpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
    assert callable(paxossim.run) and paxossim.__version__


def test_the_readme_s_python_sample_prints_what_it_shows(root: Path, tmp_path: Path) -> None:
    section = (root / "README.md").read_text().split("## Python API\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = section.split("prints (a test keeps this true):\n\n```\n", 1)[1].split("```", 1)[0]
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=True)
    assert result.stdout == shown


def test_a_run_with_overrides_records_them_as_typed_and_a_plain_run_does_not(
    tmp_path: Path,
) -> None:
    plain = paxossim.run(POST, seed=5)
    assert "set" not in plain.header
    changed = paxossim.run(POST, seed=5, set={"network.loss": 0.1},
                           variant="forget-promise-on-restart")
    assert changed.header["set"] == ["network.loss=0.1", 'variant="forget-promise-on-restart"']
