"""One run, end to end: simulate, read the events back, check, summarize, save."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from paxossim.eventlog import atomic_write, events_sha256, make_header, write_log
from paxossim.metrics import summarize
from paxossim.runtime import simulate
from paxossim.scenario import Scenario, scenario_to_dict
from paxossim.schedule import Override, Schedule


@dataclass
class RunResult:
    header: dict[str, Any]
    lines: list[bytes]
    events: list[dict[str, Any]]
    summary: dict[str, Any]

    @property
    def safe(self) -> bool:
        return bool(self.summary["safety"]["ok"])


def execute(
    scenario: Scenario, seed: int | None = None, schedule: Schedule | None = None,
    overrides: Iterable[Override] = (),
) -> RunResult:
    """Simulate once (``schedule`` None: drawn from the seed). Checks and summary are
    computed from the encoded event lines, exactly as they would be from the log
    file, so nothing reaches around the log."""
    seed = scenario.seed if seed is None else seed
    output = simulate(scenario, seed, schedule, overrides)
    header = make_header(scenario_to_dict(scenario), seed, output.schedule.to_data())
    events = [orjson.loads(line) for line in output.lines]
    summary = summarize(header, events, events_sha256(output.lines))
    return RunResult(header, output.lines, events, summary)


def default_out_dir(scenario_name: str, seed: int) -> Path:
    return Path("results") / scenario_name / f"seed-{seed}"


def save(result: RunResult, out_dir: Path, render: bool = True) -> list[Path]:
    """Write the log and summary (and, with ``render``, the diagrams) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "events.jsonl"
    write_log(log_path, result.header, result.lines, result.summary)
    summary_path = out_dir / "summary.json"
    atomic_write(summary_path, [orjson.dumps(result.summary, option=orjson.OPT_INDENT_2), b"\n"])
    written = [log_path, summary_path]
    if render:
        written += render_diagrams(result.header, result.events, result.summary, out_dir)
    return written


def render_diagrams(
    header: dict[str, Any], events: list[dict[str, Any]], summary: dict[str, Any],
    out_dir: Path,
) -> list[Path]:
    from paxossim.plots.sequence import write_mermaid, write_space_time

    violations = summary["safety"]["violations"]
    return [
        write_space_time(header, events, out_dir / "sequence.png", violations),
        write_mermaid(header, events, out_dir / "sequence.mmd"),
    ]
