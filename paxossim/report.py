"""The short, readable account of one run that ``paxossim run`` prints."""

from __future__ import annotations

from typing import Any

from paxossim.labels import ballot_label, time_label, value_label

MAX_LINES = 40


def describe(event: dict[str, Any], fmt: str) -> str | None:
    """One sentence for a protocol-level event, or None for plumbing events."""
    node, kind = event.get("node", ""), event["ev"]
    ballot = ballot_label(event.get("ballot"), fmt) if "ballot" in event else ""
    match kind:
        case "request" if "id" in event:
            return None  # a client node's command: its invoke event tells it
        case "request":
            return f"a client asks {node} to propose {value_label(event['value'])}"
        case "propose":
            return (f"{node} proposes {value_label(event['value'])} with ballot {ballot}"
                    f" (attempt {event['attempt']})")
        case "promised":
            extra = ""
            if event.get("accepted_ballot") is not None:
                extra = (f", reporting {value_label(event['accepted_value'])} accepted at "
                         f"{ballot_label(event['accepted_ballot'], fmt)}")
            return f"{node} promises ballot {ballot}{extra}"
        case "refused":
            return (f"{node} refuses ballot {ballot} ({event['phase']}): it promised "
                    f"{ballot_label(event['promised'], fmt)}")
        case "phase2":
            adopted = event.get("adopted_from")
            how = (f", adopted from ballot {ballot_label(adopted, fmt)}" if adopted is not None
                   else "")
            return f"{node} asks to accept {value_label(event['value'])} at {ballot}{how}"
        case "accepted":
            return f"{node} accepts {value_label(event['value'])} at ballot {ballot}"
        case "learned":
            return f"{node} learns {value_label(event['value'])}"
        case "preempted":
            return f"{node} is preempted by ballot {ballot_label(event['by'], fmt)}"
        case "timeout":
            return f"{node} times out waiting in {event['phase']} for ballot {ballot}"
        case "gave_up":
            return f"{node} gives up after {event['attempts']} attempt(s)"
        case "crash":
            return f"{node} crashes"
        case "recover":
            return f"{node} recovers" + (" with its durable state wiped" if event.get(
                "amnesia") else "")
        case "campaign":
            return f"{node} campaigns for leader with ballot {ballot} (phase 1 from slot " \
                f"{event['low']})"
        case "elected":
            return f"{node} is elected leader with ballot {ballot}"
        case "deposed":
            return f"{node} stops leading ({event['reason']})"
        case "recover_slot":
            return f"{node} re-proposes {value_label(event['value'])} in slot {event['instance']}"
        case "invoke":
            what = (f"put({event['key']}, {value_label(event['value'])})"
                    if event["op"] == "put" else f"get({event['key']})")
            return f"client {node} sends {what} as {event['id']}"
        case "respond":
            return f"client {node} gets the answer to {event['id']}: " \
                f"{value_label(event['result'])}"
        case "healed":
            return "faults end: partitions heal, crashed nodes restart (the healed phase)"
        case "client_retry" if "to" in event:
            return f"client {node} re-sends {event['id']} to {event['to']}"
        case "client_retry":
            return f"a client re-sends its request to {node}"
        case "request_renewed":
            return f"{node} takes up {value_label(event['value'])} again with fresh attempts"
        case "request_lost":
            return f"{node} is down: the client's request for {value_label(event['value'])} " \
                "is lost"
        case "partition" | "heal":
            groups = " | ".join(",".join(g) for g in event["groups"])
            return f"network {'partitioned' if kind == 'partition' else 'healed'}: {groups}"
    return None


def account(summary: dict[str, Any], header: dict[str, Any],
            events: list[dict[str, Any]]) -> list[str]:
    scenario = header["scenario"]
    fmt = scenario.get("ballot_format", "number")
    unit = scenario.get("time_unit", "ms")
    lines = [f"{scenario['name']} (protocol {scenario['protocol']}, variant "
             f"{scenario['variant']}, seed {header['seed']})"]
    told = 0
    described = [(e, text) for e in events if (text := describe(e, fmt)) is not None]
    for event, text in described[:MAX_LINES]:
        lines.append(f"  t={time_label(event['t']):>8} {unit}  {text}")
        told += 1
    if len(described) > told:
        lines.append(f"  ... {len(described) - told} more steps in events.jsonl")
    replicated = summary.get("replicated_log")
    if not replicated:  # one decision: say what it was; a log's figures come below
        lines.extend(decision_lines(summary, unit))
    messages = summary["messages"]
    lines.append(f"messages: {messages['sent']} sent, {messages['delivered']} delivered, "
                 f"{messages['dropped']} dropped, {messages['duplicated']} duplicated")
    if replicated:
        lines.extend(replicated_lines(replicated, unit))
    safety = summary["safety"]
    if safety["ok"]:
        lines.append("safety: OK (agreement, validity, integrity hold)")
    else:
        lines.append(f"safety: VIOLATED ({len(safety['violations'])} violation(s))")
        for violation in safety["violations"]:
            lines.append(f"  {violation['invariant']} at t={time_label(violation['time'])}: "
                         f"{violation['detail']}")
    return lines


def replicated_lines(log: dict[str, Any], unit: str) -> list[str]:
    """The replicated-log figures of a multipaxos or p2p run, in two or three lines."""
    latency = log["commit_latency"]
    lines = [f"log: {log['commands_committed']} commands committed, "
             f"{log['commands_answered']} of {log['commands_invoked']} answered"
             + (f"; latency p50 {latency['p50']:.4g} {unit}, p99 {latency['p99']:.4g} {unit}"
                if latency else "")
             + (f"; {log['throughput_per_s']:.4g}/s" if log["throughput_per_s"] else "")]
    if log["messages_per_command"] is not None:
        lines.append(f"log: {log['messages_per_command']:.3g} network messages per committed "
                     "command")
    if log["time_without_leader"] is not None:
        lines.append(f"log: {log['elections']} election(s), {log['leaders_elected']} won, "
                     f"{log['time_without_leader']:.4g} {unit} without a leader")
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
