"""docs/writing-a-protocol.md stays true: its commands print what it shows, its
code is the code that ships, and its sweep table is what the sweep computes."""

from __future__ import annotations

import csv
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxossim.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "writing-a-protocol.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", DOC, flags=re.S | re.M)


def shell(command: str) -> tuple[list[str], tuple[str, int] | None]:
    """``paxossim ARGS [| head -n N | tail -n N]`` as CLI arguments and a cut."""
    args, _, cut = command.partition(" | ")
    words = shlex.split(args)
    assert words[0] == "paxossim", command
    if not cut:
        return words[1:], None
    tool, flag, count = cut.split()
    assert tool in ("head", "tail") and flag == "-n", command
    return words[1:], (tool, int(count))


COMMANDS = [block.split("\n", 1) for block in blocks("console")]


@pytest.mark.parametrize(("command", "shown"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_every_command_prints_what_the_doc_shows(command: str, shown: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert command.startswith("$ ")
    args, cut = shell(command[2:])
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    lines = result.stdout.splitlines()
    if cut is not None:
        tool, count = cut
        lines = lines[:count] if tool == "head" else lines[-count:]
    assert "\n".join(lines) + "\n" == shown
    if args[0] == "sweep":
        check_sweep_table(tmp_path / "results" / "sweep_leader_write" / "summary.csv")


def check_sweep_table(summary: Path) -> None:
    table = DOC.split("| replicas | loss |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    shown = [[cell.strip() for cell in row.strip("|").split("|")] for row in table]
    with summary.open() as file:
        computed = [[row["replicas"], row["network.loss"], row["decision_rate"],
                     f"{float(row['latency_p50']):.1f}", f"{float(row['latency_p99']):.1f}",
                     row["messages_per_decision"]] for row in csv.DictReader(file)]
    assert shown == computed


def test_the_doc_runs_commands_of_every_kind() -> None:
    kinds = {shell(command[2:])[0][0] for command, _ in COMMANDS}
    assert {"run", "explore", "sweep"} <= kinds


def test_the_code_shown_is_the_code_that_ships() -> None:
    sources = [path.read_text() for path in
               [*(ROOT / "paxossim" / "protocols" / "leader_write").glob("*.py"),
                ROOT / "tests" / "test_leader_write.py"]]
    for block in blocks("python"):
        assert any(block in text for text in sources), block
    specs = [path.read_text() for path in (ROOT / "scenarios").glob("*leader_write*.toml")]
    for block in blocks("toml"):
        if "entry-points" not in block:
            assert any(block in text for text in specs), block
    registry = (ROOT / "paxossim" / "protocols" / "__init__.py").read_text()
    assert DOC.split("`paxossim/protocols/__init__.py`:\n\n```\n", 1)[1].split("```")[0] \
        in registry
