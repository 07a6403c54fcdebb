"""Where a shrink or a fork starts: a finished run, named by its log, its folder, or
the ``paxossim run ...`` command that ``explore`` and ``run`` print.

Whatever the form, the result is the same three things a run is made of (the
resolved scenario, the seed, the input schedule that ran), plus a scenario
dict with the schedule written in and every other input source taken out, so
that the run can be edited as data and written back as a file ``run`` reads.
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paxossim.errors import UserError
from paxossim.log.files import scan_log
from paxossim.scenario import bundled
from paxossim.scenario.model import Scenario, load_scenario, scenario_from_dict, scenario_to_dict
from paxossim.scenario.schedule import Schedule, draw_schedule


@dataclass(frozen=True)
class Origin:
    """A run to start from."""

    scenario: Scenario
    seed: int
    schedule: Schedule
    where: str
    """How the user named it (for messages)."""
    log: Path | None = None
    """Its log file, when it was given as one."""


def load_origin(spec: str) -> Origin:
    """``spec``: a log file, a run folder holding ``events.jsonl``, or a
    ``paxossim run SCENARIO [--seed N] [--set K=V]... [--variant V]`` command."""
    path = Path(spec)
    if path.is_dir():
        path = path / "events.jsonl"
        if not path.is_file():
            raise UserError(spec, "this folder holds no events.jsonl (give a log, a run "
                            "folder, or a `paxossim run ...` command)")
    if path.is_file():
        head = scan_log(path)
        scenario = scenario_from_dict(head.header["scenario"], f"{path}: header scenario")
        raw = head.header.get("schedule")
        schedule = (draw_schedule(scenario, head.header["seed"]) if raw is None
                    else Schedule.from_data(raw, f"{path}: header schedule"))
        return Origin(scenario, head.header["seed"], schedule, str(path), path)
    words = _words(spec)
    if not words or words[0] != "run":
        raise UserError(spec, "no such file or folder, and not a `paxossim run ...` command")
    scenario, seed = _command(words[1:], spec)
    schedule = scenario.schedule or draw_schedule(scenario, seed)
    return Origin(scenario, seed, schedule, spec)


def _words(spec: str) -> list[str]:
    try:
        words = shlex.split(spec)
    except ValueError as error:
        raise UserError(spec, f"cannot split this command: {error}") from None
    if words and Path(words[0]).name in ("paxossim", "paxossim.exe"):
        words = words[1:]
    return words


def _command(words: list[str], spec: str) -> tuple[Scenario, int]:
    """The scenario and seed of ``run``'s arguments (its output options are ignored)."""
    path: str | None = None
    seed: int | None = None
    overrides: list[str] = []
    valued = {"--seed", "--set", "--variant", "--out"}
    index = 0
    while index < len(words):
        word = words[index]
        name, eq, inline = word.partition("=")
        if name in valued:
            if eq:
                value = inline
            elif index + 1 < len(words):
                index += 1
                value = words[index]
            else:
                raise UserError(spec, f"{name} needs a value")
            if name == "--seed":
                if not value.isdigit():
                    raise UserError(spec, f"--seed must be a non-negative integer, got "
                                    f"{value!r}")
                seed = int(value)
            elif name == "--set":
                overrides.append(value)
            elif name == "--variant":
                overrides.append(f'variant="{value}"')
        elif word == "--no-plots":
            pass
        elif word.startswith("-"):
            raise UserError(spec, f"unknown option {word} for `paxossim run`")
        elif path is None:
            path = word
        else:
            raise UserError(spec, f"`paxossim run` takes one scenario, got {path!r} and "
                            f"{word!r}")
        index += 1
    if path is None:
        raise UserError(spec, "the command names no scenario")
    scenario = load_scenario(bundled.resolve(path), overrides)
    return scenario, scenario.seed if seed is None else seed


def explicit(scenario: Scenario, schedule: Schedule, seed: int) -> dict[str, Any]:
    """The scenario as a dict whose only inputs are ``schedule``: scripted requests,
    crashes and partitions emptied, random faults taken out (their draws are
    items of the schedule already), ``seed`` its own. It runs the same events as
    the original run."""
    raw = copy.deepcopy(scenario_to_dict(scenario))
    raw["seed"] = seed
    raw["requests"] = []
    faults = raw["faults"]
    faults["crashes"] = []
    faults["partitions"] = []
    faults.pop("random_crashes", None)
    faults.pop("random_partitions", None)
    raw["schedule"] = schedule.to_data()
    return raw


def signature(summary: dict[str, Any]) -> str | None:
    """What a failing run broke: its first safety violation's invariant, else
    ``liveness`` when nothing was chosen in time; None when it did not fail."""
    violations = summary["safety"]["violations"]
    if violations:
        return str(violations[0]["invariant"])
    if summary["liveness"]["verdict"] == "failed":
        return "liveness"
    return None
