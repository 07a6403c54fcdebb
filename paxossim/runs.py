"""One run, end to end: simulate while the log streams, check and summarize online, save."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from paxossim.analysis.summary import Summarizer
from paxossim.log.files import (
    LogFile,
    atomic_write,
    iter_events,
    make_header,
    read_log,
    write_log,
)
from paxossim.log.stream import EventStream
from paxossim.scenario.model import Scenario, parse_override, scenario_to_dict
from paxossim.scenario.schedule import Override, Schedule
from paxossim.schema import safe_name
from paxossim.sim.runtime import Simulation


@dataclass
class RunResult:
    """A finished run: its header and summary, and where its events are.

    The events are in ``log_path`` (a log written as the run went), or in
    ``block`` (kept in memory, for short runs and tests), or nowhere (a sweep's
    run: it can be re-simulated from its seed).
    """

    header: dict[str, Any]
    summary: dict[str, Any]
    schedule: Schedule
    """The inputs that ran (also in the header, as data)."""
    block: bytes | None = None
    log_path: Path | None = None
    _lines: list[bytes] | None = field(default=None, repr=False)

    @property
    def safe(self) -> bool:
        return bool(self.summary["safety"]["ok"])

    @property
    def lines(self) -> list[bytes]:
        """The event lines, without newlines."""
        if self.block is not None:
            return self.block.splitlines()
        if self.log_path is not None:
            return read_log(self.log_path).lines
        raise ValueError("this run kept no events (run it again with keep=True or a log path)")

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        """Every event, decoded (for tests and short runs; readers of long runs stream)."""
        return list(self.iter_events())

    def iter_events(self) -> Iterator[dict[str, Any]]:
        """The events one at a time, from memory or streamed from the log file."""
        if self.block is None and self.log_path is not None:
            yield from iter_events(self.log_path)
            return
        for line in self.lines:
            yield orjson.loads(line)


def execute(scenario: Scenario, seed: int | None = None, schedule: Schedule | None = None,
            overrides: Iterable[Override] = (), *, keep: bool = True,
            log_path: Path | None = None,
            progress: Callable[[Simulation], None] | None = None,
            settings: tuple[str, ...] = ()) -> RunResult:
    """Simulate once (``schedule`` None: drawn from the seed). The checks and the
    summary read each event as it is written, decoded from its line exactly as it
    would be read from the log file.

    ``log_path``: stream the log into that file; else ``keep``: keep the event
    lines in memory; else keep nothing but the summary. ``progress(simulation)``
    is called a hundred times along the way. ``settings``: the ``--set`` assignments
    the scenario was loaded with, recorded in the header for the reader (the
    header's scenario already has them applied).
    """
    seed = scenario.seed if seed is None else seed
    stream = EventStream(None)
    simulation = Simulation(scenario, seed, stream, schedule, overrides)
    header = make_header(scenario_to_dict(scenario), seed, simulation.schedule.to_data(),
                         settings)
    summarizer = Summarizer(header)
    for reader in summarizer.readers():
        stream.add(reader)
    log = LogFile(log_path, header) if log_path is not None else None
    buffer = io.BytesIO() if log is None and keep else None
    stream.out = log.out if log is not None else buffer
    try:
        simulation.run(progress=progress)
        summary = summarizer.finish(stream)
        if simulation.stopped is not None:
            summary["stopped"] = simulation.stopped
        if not summary["safety"]["ok"] and (log is not None or buffer is not None):
            explain_failure(header, summary, log, buffer)
    except BaseException:
        if log is not None:
            log.abort()
        raise
    finally:
        simulation.close()
    if log is not None:
        log.close(summary, stream.digest())
    return RunResult(header, summary, simulation.schedule,
                     buffer.getvalue() if buffer is not None else None, log_path)


def explain_failure(header: dict[str, Any], summary: dict[str, Any], log: LogFile | None,
                    buffer: io.BytesIO | None) -> None:
    """Explain each violation from the events just written (a failing run only:
    the events are read back once, from the log being written or the buffer)."""
    from paxossim.checks.explain import attach

    if log is not None:
        log.out.flush()
        with log.temp.open("rb") as lines:
            next(lines)  # the header
            attach(header, map(orjson.loads, lines), summary)
    elif buffer is not None:
        attach(header, map(orjson.loads, buffer.getvalue().splitlines()), summary)


def default_out_dir(scenario_name: str, seed: int, overrides: Iterable[str] = ()) -> Path:
    """``results/<scenario>/[<variant>+set-<hash>/]seed-<N>/``.

    Why the middle part: runs of one scenario and seed with different ``--set``
    overrides or variants are different runs, and one must not overwrite the
    other's log and diagrams (the post's diagram, say, under a README example).
    """
    tag = overrides_tag(overrides)
    folder = Path("results") / scenario_name
    return (folder / tag if tag else folder) / f"seed-{seed}"


def overrides_tag(overrides: Iterable[str]) -> str | None:
    """A folder name for a set of ``--set`` overrides: the variant by name, the rest
    by the first 8 hex digits of a sha256 of the assignments in the order given
    (a later assignment of a key wins, so order is part of what was run)."""
    variant, rest = None, []
    for assignment in overrides:
        key, value = parse_override(assignment)
        if key == "variant":
            variant = str(value)
        else:
            rest.append(assignment)
    parts = [safe_name(variant)] if variant and variant != "correct" else []
    if rest:
        parts.append("set-" + hashlib.sha256("\0".join(rest).encode()).hexdigest()[:8])
    return "+".join(parts) or None


def save(result: RunResult, out_dir: Path, render: bool = True) -> list[Path]:
    """Write the log and summary (and, with ``render``, the diagrams) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "events.jsonl"
    if result.log_path is None or result.log_path.resolve() != log_path.resolve():
        block = result.block if result.block is not None else b"".join(
            line + b"\n" for line in result.lines)
        write_log(log_path, result.header, block, result.summary)
    summary_path = out_dir / "summary.json"
    atomic_write(summary_path, [orjson.dumps(result.summary, option=orjson.OPT_INDENT_2), b"\n"])
    written = [log_path, summary_path]
    if render:
        written += render_diagrams(result.header, result.iter_events(), result.summary,
                                   out_dir)
    return written


def render_diagrams(
    header: dict[str, Any], events: Iterable[dict[str, Any]], summary: dict[str, Any],
    out_dir: Path,
) -> list[Path]:
    """The sequence diagrams, from the run's opening only (they show its first
    messages), so a long run's log is never read whole."""
    from paxossim.plots.sequence import (
        MAX_ARROWS,
        MAX_MERMAID_STEPS,
        opening,
        write_mermaid,
        write_space_time,
    )

    violations = summary["safety"]["violations"]
    first = opening(events, max(MAX_ARROWS, MAX_MERMAID_STEPS))
    messages = summary["messages"]["sent"] + summary["messages"]["duplicated"]
    return [
        write_space_time(header, first, out_dir / "sequence.png", violations, messages),
        write_mermaid(header, first, out_dir / "sequence.mmd"),
    ]
