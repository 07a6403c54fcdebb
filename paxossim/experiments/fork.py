"""Fork a run: the same inputs with one change, and where the two runs part.

Why: "would it still have failed if this message had been lost, or that node
had crashed?" is the question a person asks of a counterexample. The run's
inputs are data (scenario, seed, schedule), so a fork is the same data with
one edit: a per-message override (drop it, deliver it at another time), one
more crash item, or another protocol variant. Both runs are simulated, their
event lines compared, and the first that differs is where they diverge.

Naming a message (``MSG``), as the original run's log shows it:

- ``N``: the message id, the ``m`` of its ``send``, ``deliver`` or ``drop`` events;
- ``TYPE:SRC->DST`` or ``TYPE:SRC->DST#K``: the K-th (default first) message of
  TYPE sent from SRC to DST, counted like ``[[network.delays]]`` occurrences;
- nothing, with ``--at E``: the message of event E (a send, deliver, drop or
  duplicate event; events are counted from 0, as ``cause`` counts them).

Up to the first divergence both runs make the same draws and number messages
alike, so a message named in the original is the same message in the fork.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from paxossim.errors import UserError
from paxossim.experiments.origin import Origin, explicit, load_origin
from paxossim.runs import RunResult, execute, save
from paxossim.scenario import schedule as inputs
from paxossim.scenario.model import Scenario, scenario_from_dict, scenario_to_dict
from paxossim.scenario.schedule import Override, Schedule
from paxossim.scenario.toml_out import dumps

_NAMED = re.compile(r"^(?P<type>[^:]+):(?P<src>.+?)->(?P<dst>[^#]+)(?:#(?P<k>\d+))?$")
_CRASH = re.compile(r"^(?P<node>[^@]+)(?:@(?P<at>[^.]+(?:\.\d+)?)(?:\.\.(?P<recover>.+))?)?$")
MESSAGE_EVENTS = ("send", "deliver", "drop", "duplicate")


@dataclass(frozen=True)
class Change:
    """One change, as the user gave it (exactly one field set)."""

    drop: str | None = None
    delay: str | None = None
    crash: str | None = None
    variant: str | None = None
    at: int | None = None


@dataclass(frozen=True)
class Fork:
    """Both runs and what the change was."""

    what: str
    original: RunResult
    fork: RunResult
    divergence: int | None
    """Index (from 0) of the first event line that differs; None if none does."""


# -- naming messages and times ----------------------------------------------------------


def _event(events: list[dict[str, Any]], index: int) -> dict[str, Any]:
    if not 0 <= index < len(events):
        raise UserError("--at", f"event {index} is not in the run (it has events 0.."
                        f"{len(events) - 1})")
    return events[index]


def message_id(name: str | None, at: int | None, events: list[dict[str, Any]]) -> int:
    """The id of the message ``name`` names in the original run (see the module doc)."""
    if name is None or name == "":
        if at is None:
            raise UserError("MSG", "name a message (an id, TYPE:SRC->DST#K) or give --at EVENT")
        event = _event(events, at)
        if event["ev"] not in MESSAGE_EVENTS:
            raise UserError("--at", f"event {at} is a {event['ev']!r} event, not a message's "
                            f"({', '.join(MESSAGE_EVENTS)})")
        return int(event["m"])
    if name.isdigit():
        m = int(name)
        if not any(e["ev"] in ("send", "duplicate") and e["m"] == m for e in events):
            raise UserError(name, "no message with this id in the run")
        return m
    match = _NAMED.match(name)
    if match is None:
        raise UserError(name, "a message is named N (its id), TYPE:SRC->DST or "
                        "TYPE:SRC->DST#K")
    wanted = int(match["k"] or 1)
    seen = 0
    for event in events:
        if (event["ev"] == "send" and event["type"] == match["type"]
                and event["src"] == match["src"] and event["dst"] == match["dst"]):
            seen += 1
            if seen == wanted:
                return int(event["m"])
    raise UserError(name, f"the run sent {seen} such message(s), not {wanted}")


def _time(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(where, f"expected a time, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise UserError(where, f"a time must be a finite number >= 0, got {text!r}")
    return value


def _sent_at(events: list[dict[str, Any]], m: int) -> float:
    for event in events:
        if event["ev"] in ("send", "duplicate") and event["m"] == m:
            return float(event["t"])
    raise AssertionError(m)  # message_id only returns ids the run sent


def delay_override(spec: str, at: int | None, events: list[dict[str, Any]]) -> Override:
    """``MSG=T`` (deliver at time T) or ``MSG=+D`` (D later than in the original);
    with ``--at``, MSG may be left out (``T`` or ``+D`` alone)."""
    name, eq, when = spec.rpartition("=")
    if not eq:
        name, when = "", spec
    m = message_id(name or None, at, events)
    if when.startswith("+"):
        delivered = [e["t"] for e in events if e["ev"] == "deliver" and e["m"] == m]
        if not delivered:
            raise UserError(f"--delay {spec}", f"message {m} was not delivered in the run; "
                            "give an absolute delivery time")
        deliver_at = delivered[0] + _time(when[1:], f"--delay {spec}")
    else:
        deliver_at = _time(when, f"--delay {spec}")
    sent = _sent_at(events, m)
    if deliver_at < sent:
        raise UserError(f"--delay {spec}", f"message {m} is sent at t={sent:g}; it cannot "
                        f"arrive at t={deliver_at:g}")
    return Override(m, deliver_at=deliver_at)


def crash_item(spec: str, at: int | None, events: list[dict[str, Any]],
               scenario: Scenario) -> list[inputs.Item]:
    """``NODE@T`` or ``NODE@T..R`` (recover at R); ``NODE`` alone with ``--at E`` crashes
    at event E's time."""
    match = _CRASH.match(spec)
    if match is None or match["node"] not in scenario.nodes:
        raise UserError(f"--crash {spec}", f"expected NODE@T or NODE@T..R with NODE one of "
                        f"{', '.join(scenario.nodes)}")
    if match["at"] is None:
        if at is None:
            raise UserError(f"--crash {spec}", "give the time (NODE@T) or --at EVENT")
        time = float(_event(events, at)["t"])
    else:
        time = _time(match["at"], f"--crash {spec}")
    items: list[inputs.Item] = [inputs.Crash(time, match["node"])]
    if match["recover"] is not None:
        recover = _time(match["recover"], f"--crash {spec}")
        if recover <= time:
            raise UserError(f"--crash {spec}", "the recovery must come after the crash")
        items.append(inputs.Recover(recover, match["node"]))
    return items


def _insert(schedule: Schedule, new: list[inputs.Item]) -> Schedule:
    """``schedule`` with ``new`` items, each after every item at the same time or earlier."""
    items = list(schedule.items)
    for item in new:
        position = next((i for i, old in enumerate(items) if old.at > item.at), len(items))
        items.insert(position, item)
    return Schedule(tuple(items), schedule.overrides)


def _override(schedule: Schedule, override: Override) -> Schedule:
    kept = tuple(o for o in schedule.overrides if o.m != override.m)
    return Schedule(schedule.items, (*kept, override))


# -- the fork ------------------------------------------------------------------------------


def changed(origin: Origin, change: Change,
            events: list[dict[str, Any]]) -> tuple[str, Scenario, Schedule]:
    """What changes, as a phrase, and the fork's scenario and schedule."""
    given = [name for name in ("drop", "delay", "crash", "variant")
             if getattr(change, name) is not None]
    if len(given) != 1:
        raise UserError("fork", "give exactly one change: --drop, --delay, --crash or "
                        f"--variant (got {len(given)})")
    scenario, schedule = origin.scenario, origin.schedule
    if change.drop is not None:
        m = message_id(change.drop, change.at, events)
        return f"drop message {m}", scenario, _override(schedule, Override(m, drop=True))
    if change.delay is not None:
        override = delay_override(change.delay, change.at, events)
        return (f"deliver message {override.m} at t={override.deliver_at:g}", scenario,
                _override(schedule, override))
    if change.crash is not None:
        new = crash_item(change.crash, change.at, events, scenario)
        crash = new[0]
        assert isinstance(crash, inputs.Crash)
        what = f"crash {crash.node} at t={crash.at:g}" + (
            f", recover at t={new[1].at:g}" if len(new) > 1 else "")
        return what, scenario, _insert(schedule, new)
    raw = copy.deepcopy(scenario_to_dict(scenario))
    raw["variant"] = change.variant
    return (f"variant {change.variant}", scenario_from_dict(raw, "--variant"), schedule)


def fork(origin: Origin, change: Change) -> Fork:
    original = execute(origin.scenario, origin.seed, origin.schedule, keep=True)
    what, scenario, schedule = changed(origin, change, original.events)
    forked = execute(scenario, origin.seed, schedule, keep=True)
    return Fork(what, original, forked, first_difference(original.lines, forked.lines))


def first_difference(left: list[bytes], right: list[bytes]) -> int | None:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return None if len(left) == len(right) else min(len(left), len(right))


# -- telling it --------------------------------------------------------------------------------


def _show(lines: list[bytes], index: int) -> str:
    if index >= len(lines):
        return "(nothing: the run ended)"
    text = lines[index].decode()
    return text if len(text) <= 200 else text[:197] + "..."


def outcome(result: RunResult) -> dict[str, str]:
    summary = result.summary
    violations = summary["safety"]["violations"]
    return {
        "chosen": "-" if summary.get("chosen") is None else
                  f"{summary['chosen']!r} at t={summary['decided_at']:g}",
        "safety": "ok" if not violations else "; ".join(
            f"{v['invariant']} at t={v['time']:g}" for v in violations[:3])
                  + (f" (+{len(violations) - 3} more)" if len(violations) > 3 else ""),
        "liveness": str(summary["liveness"]["verdict"]),
        "messages sent": str(summary["messages"]["sent"]),
        "events": str(len(result.lines)),
    }


def report(result: Fork) -> list[str]:
    lines = [f"fork: {result.what}"]
    if result.divergence is None:
        lines.append("the runs do not diverge: every event is the same")
    else:
        index = result.divergence
        times = [orjson.loads(r.lines[index])["t"] for r in (result.original, result.fork)
                 if index < len(r.lines)]
        lines += [f"first divergence: event {index} (from 0), t={min(times):g}",
                  f"  original: {_show(result.original.lines, index)}",
                  f"  fork:     {_show(result.fork.lines, index)}"]
    before, after = outcome(result.original), outcome(result.fork)
    lines.append(f"  {'':<14}{'original':<40}fork")
    for key in before:
        mark = "" if before[key] == after[key] else "   <- differs"
        lines.append(f"  {key:<14}{before[key]:<40}{after[key]}{mark}")
    return lines


def write(result: Fork, origin: Origin, out_dir: Path, render: bool = True) -> list[Path]:
    """The fork's scenario (``fork.toml``, which ``paxossim run`` replays), its log and
    summary, and with ``render`` the diagram of both runs side by side."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scenario = scenario_from_dict(result.fork.header["scenario"], "<fork>")
    schedule = Schedule.from_data(result.fork.header["schedule"])
    raw = explicit(scenario, schedule, origin.seed)
    raw["name"] = f"{origin.scenario.name}-fork"[:64]
    raw["description"] = f"Fork of {origin.where}: {result.what}"
    toml = out_dir / "fork.toml"
    toml.write_text(f"# paxossim fork of {origin.where}: {result.what}\n"
                    f"# Replay: paxossim run {toml}\n\n" + dumps(raw), encoding="utf-8")
    written = [toml, *save(result.fork, out_dir, render=False)]
    if render:
        written.append(both_diagrams(result, out_dir))
    return written


def both_diagrams(result: Fork, out_dir: Path) -> Path:
    """The original's and the fork's sequence diagrams, side by side, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from paxossim.plots.sequence import MAX_ARROWS, opening, write_space_time

    parts = []
    for name, run in (("original", result.original), ("fork", result.fork)):
        path = out_dir / f"sequence-{name}.png"
        first = opening(run.iter_events(), MAX_ARROWS)
        messages = run.summary["messages"]["sent"] + run.summary["messages"]["duplicated"]
        write_space_time(run.header, first, path, run.summary["safety"]["violations"],
                         messages)
        parts.append((name, path))
    images = [plt.imread(path) for _, path in parts]
    height = max(image.shape[0] for image in images) / 110
    width = sum(image.shape[1] for image in images) / 110
    fig, axes = plt.subplots(1, 2, figsize=(width, height + 0.6), dpi=110)
    where = "" if result.divergence is None else f" (diverge at event {result.divergence})"
    for ax, (name, _), image in zip(axes, parts, images, strict=True):
        ax.imshow(image)
        ax.set_axis_off()
        ax.set_title(name if name == "original" else f"fork: {result.what}{where}",
                     fontsize=11)
    fig.tight_layout()
    target = out_dir / "sequence-both.png"
    fig.savefig(target)
    plt.close(fig)
    for _, path in parts:
        path.unlink()
    return target


def fork_command(spec: str, change: Change, out_dir: Path | None, render: bool) -> list[str]:
    """``paxossim fork``: the lines to print (the CLI only echoes them)."""
    origin = load_origin(spec)
    result = fork(origin, change)
    target = out_dir or Path("results") / "fork" / f"{origin.scenario.name}-seed-{origin.seed}"
    written = write(result, origin, target, render)
    return [*report(result), f"wrote: {target}/ ({', '.join(p.name for p in written)})"]
