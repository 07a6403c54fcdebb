"""No input makes paxossim print a traceback (issue 13 item 5).

Hypothesis (derandomized: the same cases every run) mutates bundled scenarios,
``--set`` assignments, a sealed log and a sweep folder, and feeds them to the
command that reads them. Every outcome must be exit 0, 1 or 2 with no
traceback; a log whose bytes changed must never replay with exit 0. CI runs a
few dozen cases per kind; ``pytest -m slow --slow-scale 1 -s`` runs thousands
and prints the outcome table.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ROOT, slow_scale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxossim.cli import main
from paxossim.scenario.toml_out import dumps

SCENARIOS = ("late_arriving_proposal", "dueling_proposers", "clock_skew", "leader_failover",
             "pbft_normal", "peer_to_peer", "faulty_cluster", "leader_write")
OUTCOMES: Counter[tuple[str, str]] = Counter()

NASTY = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e-300, 1e300, "", "->", "x" * 300, "\u00e9\u0000", True, [], {},
                     [[]], {"a": {"b": 1}}, ["P1", {"x": 1}], "5:31PM", "-1"]),
    st.text(max_size=12),
    st.lists(st.integers(-3, 3), max_size=3),
)


def outcome(kind: str, args: list[str]) -> int:
    """Run the CLI; fail on a traceback; count and return the exit code."""
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{kind}: {args!r} raised {result.exception!r}\n{result.output}")
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output)
    if result.exit_code == 2:
        assert result.output.strip().count("\n") == 0 or "error:" in result.output
    OUTCOMES[(kind, f"exit {result.exit_code}")] += 1
    return result.exit_code


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a nested TOML document (table keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


def mutate(data: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> None:
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "nest":
        parent[last] = {"deep": value}
    else:
        parent[last] = value


def raw(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "scenarios" / f"{name}.toml").read_text())


def fuzz_scenarios(tmp_path: Path, count: int) -> None:
    @settings(max_examples=count, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(SCENARIOS))
        document = raw(name)
        path = data.draw(st.sampled_from(paths(document)))
        action = data.draw(st.sampled_from(["replace", "delete", "nest"]))
        try:
            mutate(document, path, action, data.draw(NASTY))
            text = dumps(document)
        except (KeyError, IndexError, TypeError, ValueError):
            return  # not writable as TOML (a NaN key, a mixed list): not an input
        file = tmp_path / "fuzzed.toml"
        file.write_text(text, encoding="utf-8")
        outcome("scenario", ["validate", str(file)])
        if name == "late_arriving_proposal":  # small enough to run every time
            outcome("scenario run", ["run", str(file), "--no-plots", "--out",
                                     str(tmp_path / "out")])

    case()


def fuzz_set(count: int) -> None:
    keys = [".".join(str(p) for p in path) for path in paths(raw("clock_skew"))]

    @settings(max_examples=count, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(key=st.one_of(st.sampled_from(keys), st.text(max_size=10)),
           value=st.one_of(st.text(max_size=20), st.sampled_from(
               ["1e300", "-1", "[[[[[[[[1]]]]]]]]", "{a=1}", "nan", "inf", '"x"', "[]",
                "1" * 30, "[" * 2000 + "]" * 2000])))
    def case(key: str, value: str) -> None:
        outcome("--set", ["validate", "clock_skew", "--set", f"{key}={value}"])

    case()


def fuzz_log(tmp_path: Path, count: int) -> None:
    folder = tmp_path / "log"
    assert outcome("log (unchanged)", ["run", "late_arriving_proposal", "--no-plots",
                                       "--out", str(folder)]) == 0
    original = (folder / "events.jsonl").read_bytes()
    lines = original.split(b"\n")[:-1]

    @settings(max_examples=count, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        how = data.draw(st.sampled_from(["field", "truncate", "byte", "drop line"]))
        changed = list(lines)
        if how == "field":
            index = data.draw(st.sampled_from([0, len(lines) - 1, 1]))
            record = json.loads(changed[index])
            key = data.draw(st.sampled_from(sorted(record)))
            if data.draw(st.booleans()):
                del record[key]
            else:
                record[key] = data.draw(NASTY.filter(lambda v: v == v))  # JSON has no NaN
            changed[index] = json.dumps(record).encode()
            body = b"\n".join(changed) + b"\n"
        elif how == "truncate":
            body = original[:data.draw(st.integers(0, len(original) - 1))]
        elif how == "byte":
            at = data.draw(st.integers(0, len(original) - 1))
            body = original[:at] + bytes([data.draw(st.integers(0, 255))]) + original[at + 1:]
        else:
            index = data.draw(st.integers(0, len(lines) - 1))
            body = b"\n".join(changed[:index] + changed[index + 1:]) + b"\n"
        target = tmp_path / "fuzzed.jsonl"
        target.write_bytes(body)
        code = outcome("log replay", ["replay", str(target)])
        if body != original:
            assert code != 0, f"a changed log ({how}) replayed as identical"

    case()


def fuzz_sweep_folder(tmp_path: Path, count: int) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(f'scenario = "{(ROOT / "scenarios" / "lossy_cluster.toml").as_posix()}"\n'
                    'seeds_per_point = 2\n[grid]\n"network.loss" = [0.0, 0.2]\n')
    made = tmp_path / "made"
    assert outcome("sweep (unchanged)", ["sweep", str(spec), "--out", str(made),
                                         "--no-charts"]) == 0
    names = sorted(p.name for p in made.iterdir() if p.is_file())

    @settings(max_examples=count, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        folder = tmp_path / "fuzzed"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(made, folder)
        name = data.draw(st.sampled_from(names))
        file = folder / name
        text = file.read_text(encoding="utf-8", errors="replace")
        if name.endswith(".json"):
            record = json.loads(text)
            key = data.draw(st.sampled_from(sorted(record)))
            record[key] = data.draw(NASTY.filter(lambda v: v == v))
            file.write_text(json.dumps(record))
        else:
            at = data.draw(st.integers(0, max(0, len(text) - 1)))
            file.write_text(text[:at] + data.draw(st.sampled_from(["", ",", "x", "\n", '"']))
                            + text[at + 1:])
        outcome("sweep --resume", ["sweep", str(spec), "--out", str(folder), "--resume",
                                   "--no-charts"])

    case()


def run_all(tmp_path: Path, scale: int) -> None:
    fuzz_scenarios(tmp_path, 25 * scale)
    fuzz_set(25 * scale)
    fuzz_log(tmp_path, 25 * scale)
    fuzz_sweep_folder(tmp_path, 8 * scale)


def test_fuzzed_inputs_never_raise_a_traceback(tmp_path: Path) -> None:
    run_all(tmp_path, 1)
    assert sum(OUTCOMES.values()) >= 80


@pytest.mark.slow
def test_many_fuzzed_inputs_never_raise_a_traceback(tmp_path: Path) -> None:
    OUTCOMES.clear()
    run_all(tmp_path, max(1, round(40 * slow_scale())))
    width = max(len(kind) for kind, _ in OUTCOMES)
    print(f"\n{'input':<{width}}  exit  cases")
    for (kind, code), cases in sorted(OUTCOMES.items()):
        print(f"{kind:<{width}}  {code[5:]:>4}  {cases:>5}")
    print(f"{'all':<{width}}        {sum(OUTCOMES.values()):>5}")
