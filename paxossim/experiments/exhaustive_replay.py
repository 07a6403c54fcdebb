"""A trace found by the exhaustive search, written as a scenario that ``paxossim run`` replays.

The search abstracts time away; a run does not. To replay a trace, each of
its steps gets a time, in order and at least :data:`GAP` apart, such that:

- a timer the trace fires fires then: step time = arming time + the delay the
  node asked for (delays are the protocol's, so they pin steps together);
- a timer armed and not fired by the trace (still armed at the end, or
  cancelled, re-armed or lost to a crash) would not fire before that;
- messages are free: each delivered one gets the latency from its send to
  its delivery (``[[network.delays]]``, by link, type and occurrence), and
  every other message (dropped in the search, or still in flight) a latency
  beyond the horizon, which ends just after the last step.

These are difference constraints (t_v - t_u <= w), solved by Bellman-Ford; a
negative cycle means the abstract order cannot happen with the protocol's
real timer delays, and :func:`time_trace` says so. Requests are re-timed to
their steps; crashes and recoveries become ``[[faults.crashes]]``; a
duplicated message puts ``duplicate = 1`` on its link, with the copy's
latency as the link's (the runtime cannot duplicate one message alone): every
original on that link gets a scripted latency, but the copies of the link's
other messages arrive too, one copy latency after their send. Whether the run
still breaks the same invariant is what :func:`write_replay` checks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paxossim.experiments.exhaustive import SearchResult, TraceStep
from paxossim.experiments.exhaustive_step import Outcome
from paxossim.runs import execute
from paxossim.scenario.model import Scenario, load_scenario, scenario_to_dict

GAP = 1.0
"""Least time between two steps of a replayed trace (in the scenario's unit)."""


class Untimeable(Exception):
    """The trace's order contradicts the protocol's timer delays."""


@dataclass
class _Sent:
    src: str
    dst: str
    kind: str
    step: int
    occurrence: int


class _Constraints:
    """t_v - t_u <= w, over steps 0 (boot, time 0) .. n."""

    def __init__(self, steps: int) -> None:
        self.size = steps + 1
        self.edges: list[tuple[int, int, float]] = []
        for step in range(1, self.size):
            self.at_least(step - 1, step, GAP)

    def at_most(self, u: int, v: int, w: float) -> None:
        """t_v - t_u <= w."""
        self.edges.append((u, v, w))

    def at_least(self, u: int, v: int, w: float) -> None:
        """t_v - t_u >= w."""
        self.edges.append((v, u, -w))

    def solve(self) -> list[float]:
        dist = [0.0] * self.size
        for _ in range(self.size + 1):
            changed = False
            for u, v, w in self.edges:
                if dist[u] + w < dist[v] - 1e-9:
                    dist[v] = dist[u] + w
                    changed = True
            if not changed:
                return [d - dist[0] for d in dist]
        raise Untimeable("the order of its timer firings contradicts the timers' delays")


def time_trace(result: SearchResult) -> tuple[list[float], dict[str, Any]]:
    """Step times (index 0: the boot at time 0) and what the scenario must script."""
    steps = result.trace
    n = len(steps)
    constraints = _Constraints(n)
    flight: list[tuple[str, str, Any, _Sent, bool]] = []
    """Messages in flight: (src, dst, message, its send, whether it is a copy)."""
    every: list[_Sent] = []
    counts: dict[tuple[str, str, str], int] = {}
    timers: dict[tuple[str, str], tuple[int, float]] = {}
    delivered: list[tuple[_Sent, int]] = []
    copies: list[tuple[_Sent, int | None]] = []
    """Each duplicated message, with the step its copy was delivered at (None: never)."""
    crashes: list[tuple[str, int, str]] = []

    def sent(src: str, outcome: Outcome, step: int) -> None:
        for dst, msg in outcome.sent:
            key = (src, dst, msg.TYPE)
            counts[key] = counts.get(key, 0) + 1
            record = _Sent(src, dst, msg.TYPE, step, counts[key])
            every.append(record)
            flight.append((src, dst, msg, record, False))

    def disarm(key: tuple[str, str], step: int) -> None:
        armed = timers.pop(key, None)
        if armed is not None and armed[0] < step:
            constraints.at_most(armed[0], step, armed[1] - GAP)

    def timer_ops(node: str, outcome: Outcome, step: int) -> None:
        for op, name, delay in outcome.timer_ops:
            key = (node, name)
            if op == "fire":
                armed = timers.pop(key, None)
                if armed is not None and armed[0] < step:
                    constraints.at_least(armed[0], step, armed[1])
                    constraints.at_most(armed[0], step, armed[1])
                continue
            disarm(key, step)
            if op == "set":
                timers[key] = (step, delay)

    for name, outcome in result.boot:
        sent(name, outcome, 0)
        timer_ops(name, outcome, 0)
    for index, step in enumerate(steps, start=1):
        kind = step.action[0]
        if kind in ("deliver", "drop", "duplicate"):
            assert step.message is not None
            src, dst, msg = step.message
            position = next(i for i, f in enumerate(flight) if f[:3] == (src, dst, msg))
            found = flight[position]
            if kind == "duplicate":
                flight.append((*found[:4], True))
                copies.append((found[3], None))
                continue
            del flight[position]
            if kind == "deliver" and found[4]:
                at = next(i for i, c in enumerate(copies) if c == (found[3], None))
                copies[at] = (found[3], index)
            elif kind == "deliver":
                delivered.append((found[3], index))
        if kind == "crash":
            for key in [k for k in timers if k[0] == step.node]:
                disarm(key, index)
        if kind in ("crash", "recover"):
            crashes.append((step.node, index, kind))
        if step.outcome is not None:
            timer_ops(step.node, step.outcome, index)
            sent(step.node, step.outcome, index)
    for (_node, _name), (armed, delay) in timers.items():
        if armed < n:
            constraints.at_most(armed, n, delay - GAP)
    times = constraints.solve()
    end = times[n]
    margin = GAP / 2
    for (armed, delay) in timers.values():
        if armed == n:
            margin = min(margin, delay / 2)
    return times, {"delivered": delivered, "copies": copies, "sent": every, "crashes": crashes,
                   "horizon": end + margin}


def replay_scenario(scenario: Scenario, result: SearchResult) -> dict[str, Any]:
    """The scenario (as a dict :func:`to_toml` writes) that replays ``result``'s trace."""
    times, script = time_trace(result)
    horizon = script["horizon"]
    never = float(10 ** len(str(int(horizon))) * 10)
    """A latency that lands every unscripted message after the horizon."""
    raw = scenario_to_dict(scenario)
    raw["name"] = f"{scenario.name}_trace"
    raw["description"] = (f"The shortest trace `paxossim check --exhaustive` found in "
                          f"{scenario.name} ({scenario.variant}): {len(result.trace)} steps")
    raw["horizon"] = horizon
    raw.pop("liveness", None)
    request_steps = [i for i, s in enumerate(result.trace, start=1) if s.action[0] == "request"]
    raw["requests"] = [request | {"at": times[step]} for request, step
                       in zip(_sorted_requests(raw["requests"]), request_steps, strict=False)]
    links: dict[str, Any] = {}
    for copy, step in script["copies"]:
        latency = never if step is None else times[step] - times[copy.step]
        links[f"{copy.src}->{copy.dst}"] = {
            "latency": {"model": "constant", "value": latency}, "duplicate": 1.0}
    delays = {(s.src, s.dst, s.kind, s.occurrence): times[step] - times[s.step]
              for s, step in script["delivered"]}
    for sent in script["sent"]:  # a duplicating link's own latency must not deliver them
        if f"{sent.src}->{sent.dst}" in links:
            delays.setdefault((sent.src, sent.dst, sent.kind, sent.occurrence), never)
    raw["network"] = {
        "latency": {"model": "constant", "value": never}, "loss": 0.0, "duplicate": 0.0,
        "ordering": "free", "links": links,
        "delays": [{"from": src, "to": dst, "type": kind, "occurrence": occurrence,
                    "latency": latency}
                   for (src, dst, kind, occurrence), latency in sorted(delays.items())],
    }
    crashes: list[dict[str, Any]] = []
    for node, step, kind in script["crashes"]:
        if kind == "crash":
            crashes.append({"node": node, "at": times[step]})
        else:
            next(c for c in reversed(crashes) if c["node"] == node)["recover"] = times[step]
    # The search allows only partitions that hold from the start and never heal
    # (the topology it searched): they stay.
    partitions = raw.get("faults", {}).get("partitions", [])
    raw["faults"] = {"crashes": crashes, "partitions": partitions,
                     "amnesia": scenario.faults.amnesia}
    return raw


def _sorted_requests(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(requests, key=lambda r: r["at"])


# -- a small TOML writer (tomllib reads only) -------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write a {type(value).__name__} as TOML")


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(path: list[str], table: dict[str, Any], out: list[str]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict) and not _is_tables(value):
            out.append(f"{_key(key)} = {_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            out.append("")
            out.append(f"[{'.'.join(_key(p) for p in [*path, key])}]")
            _table([*path, key], value, out)
        elif _is_tables(value):
            for item in value:
                out.append("")
                out.append(f"[[{'.'.join(_key(p) for p in [*path, key])}]]")
                for name, field in item.items():
                    out.append(f"{_key(name)} = {_value(field)}")


def to_toml(data: dict[str, Any], comment: str = "") -> str:
    """``data`` as TOML: scalars, arrays, tables, arrays of tables, inline tables inside those."""
    out = [f"# {line}".rstrip() for line in comment.splitlines()]
    if out:
        out.append("")
    _table([], data, out)
    return "\n".join(out) + "\n"


def describe(step: TraceStep) -> str:
    """One line per step, for the printed trace and the written scenario's comment."""
    kind = step.action[0]
    if kind in ("deliver", "drop", "duplicate") and step.message is not None:
        src, dst, msg = step.message
        verb = {"deliver": "delivered", "drop": "dropped", "duplicate": "duplicated"}[kind]
        return f"{msg.TYPE} {src}->{dst} {verb}: {msg}"
    if kind == "timer":
        return f"{step.node}'s timer {step.action[2]} fires"
    if kind == "request":
        return f"a client's request reaches {step.node}"
    return f"{step.node} {'crashes' if kind == 'crash' else 'recovers'}"


def write_replay(scenario: Scenario, result: SearchResult, path: Path) -> list[dict[str, Any]]:
    """Write the trace's scenario to ``path`` and run it: the violations the run reports.

    The caller compares them with the search's; a trace the protocol's timer
    delays cannot produce raises :class:`Untimeable` and writes nothing.
    """
    raw = replay_scenario(scenario, result)
    lines = [f"Written by: paxossim check {scenario.source} --exhaustive", "",
             "The trace, one step per event (the times below are solved from it):"]
    lines += [f"  {i}. {describe(step)}" for i, step in enumerate(result.trace, start=1)]
    lines += ["", f"Replay: paxossim run {path}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(raw, "\n".join(lines)), encoding="utf-8")
    return execute(load_scenario(path), keep=False).summary["safety"]["violations"]
