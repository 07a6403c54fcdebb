"""The short, readable account of one run that ``paxossim run`` prints."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from paxossim import protocols
from paxossim.checks.explain import explanation_lines
from paxossim.checks.safety import quorums_of
from paxossim.labels import plain_number, render, time_label, value_label
from paxossim.sim.events import RUNTIME_EVENTS

MAX_LINES = 40


def describer(protocol_name: str, ballot_format: str) -> Callable[[dict[str, Any]], str | None]:
    """A function telling one event as a sentence (None for events the account skips),
    from the runtime's and the protocol's declarations."""
    kinds = RUNTIME_EVENTS | protocols.get(protocol_name).event_kinds()

    def describe(event: dict[str, Any]) -> str | None:
        kind = kinds.get(event["ev"])
        if kind is None or not kind.told:
            return None
        return render(kind.label, kind.details, event, ballot_format)

    return describe


def account(summary: dict[str, Any], header: dict[str, Any],
            events: Iterable[dict[str, Any]]) -> list[str]:
    """What ``paxossim run`` prints: the first told steps, then the figures.

    ``events`` is read once, as a stream; only the first ``MAX_LINES`` told
    steps are kept, the rest counted."""
    scenario = header["scenario"]
    fmt = scenario.get("ballot_format", "number")
    unit = scenario.get("time_unit", "ms")
    lines = [f"{scenario['name']} (protocol {scenario['protocol']}, variant "
             f"{scenario['variant']}, seed {header['seed']})"]
    quorums = quorums_of(scenario, protocols.get(scenario["protocol"]))
    if not quorums.intersecting:
        lines.append(f"  note: quorums of {quorums.phase1} (phase 1) and {quorums.phase2} "
                     f"(phase 2) out of {len(quorums.voters)} voters need not meet: "
                     "safety is not guaranteed")
    describe = describer(scenario["protocol"], fmt)
    told = untold = 0
    for event in events:
        text = describe(event)
        if text is None:
            continue
        if told < MAX_LINES:
            lines.append(f"  t={time_label(event['t']):>8} {unit}  {text}")
            told += 1
        else:
            untold += 1
    if untold:
        lines.append(f"  ... {untold} more steps in events.jsonl")
    replicated = summary.get("replicated_log")
    if not replicated:  # one decision: say what it was; a log's figures come below
        lines.extend(decision_lines(summary, unit))
    messages = summary["messages"]
    lines.append(f"messages: {messages['sent']} sent, {messages['delivered']} delivered, "
                 f"{messages['dropped']} dropped, {messages['duplicated']} duplicated")
    if replicated:
        lines.extend(replicated_lines(replicated, unit, float(scenario["horizon"])))
    lines.extend(protocols.get(scenario["protocol"]).account_lines(summary, unit))
    safety = summary["safety"]
    if safety["ok"]:
        lines.append("safety: OK (agreement, validity, integrity hold)")
    else:
        lines.append(f"safety: VIOLATED ({len(safety['violations'])} violation(s))")
        explained: set[tuple[str, int]] = set()
        for violation in safety["violations"]:
            lines.append(f"  {violation['invariant']} at t={time_label(violation['time'])}: "
                         f"{violation['detail']}")
            lines.extend(explanation_lines(violation, explained))
    return lines


def replicated_lines(log: dict[str, Any], unit: str, horizon: float) -> list[str]:
    """The replicated-log figures of a multipaxos or p2p run, in two or three lines."""
    latency = log["commit_latency"]
    lines = [f"log: {log['commands_committed']} commands committed, "
             f"{log['commands_answered']} of {log['commands_invoked']} answered"
             + (f"; latency p50 {plain_number(latency['p50'], 4)} {unit}, "
                f"p99 {plain_number(latency['p99'], 4)} {unit}" if latency else "")
             + (f"; {plain_number(log['throughput_per_s'], 4)}/s"
                if log["throughput_per_s"] else "")]
    if log["commands_committed"] == 0:
        lines.append(f"log: nothing was decided within the horizon ({time_label(horizon)} "
                     f"{unit})")
    if log["messages_per_command"] is not None:
        lines.append(f"log: {plain_number(log['messages_per_command'], 3)} network messages "
                     "per committed command")
    if log["time_without_leader"] is not None:
        lines.append(f"log: {log['elections']} election(s), {log['leaders_elected']} won, "
                     f"{plain_number(log['time_without_leader'], 4)} {unit} without a leader")
    linear = log["linearizability"]
    lines.append(f"linearizability: {linear['verdict']} ({linear['operations']} operations)")
    return lines


def decision_lines(summary: dict[str, Any], unit: str) -> list[str]:
    """What a single-decree run chose, and who learned it when."""
    if summary["chosen"] is None:
        lines = ["chosen: nothing (no majority of acceptors accepted one ballot)"]
    else:
        lines = [f"chosen: {value_label(summary['chosen'])} at t="
                 f"{time_label(summary['decided_at'])} {unit}"]
    for learner, learned in summary["learned"].items():
        lines.append(f"learned: {learner} learned {value_label(learned['value'])} at t="
                     f"{time_label(learned['t'])} {unit}")
    return lines
