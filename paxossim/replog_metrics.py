"""Figures and invariants of replicated-log runs (``multipaxos``, ``p2p``), from the log.

Invariants, beyond the per-slot agreement/validity/integrity of ``checks``:

- **prefix**: every replica applies slots 0, 1, 2, ... in order, and any two
  replicas applied the same value in every slot both applied, so their
  applied logs are prefixes of one another;
- **exactly-once**: no replica executes one command id twice (a command a
  client retried may sit in two slots; the second must be skipped);
- **durability**: a put a client was told succeeded is in the decided log;
- **linearizability**: the client history (``invoke``/``respond`` events) is
  linearizable as a key-value map (:mod:`paxossim.linearizability`).

Figures: commands invoked, answered and committed; commit latency (client
send to client response) p50/p99; throughput; network messages per committed
command; elections held and won; time without a leader.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paxossim.checks import Violation
from paxossim.linearizability import check_history, history_from_events
from paxossim.protocols.replicated import NOOP, command_id

PER_SECOND = {"ms": 1000.0, "s": 1.0, "us": 1_000_000.0}


def replicated_checks(
    header: dict[str, Any], events: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[Violation]]:
    scenario = header["scenario"]
    violations = applied_violations(events)
    violations += durability_violations(events)
    verdict = check_history(history_from_events(events))
    if verdict.ok is False:
        time = verdict.time if verdict.time is not None else float(scenario["horizon"])
        violations.append(Violation("linearizability", verdict.key, time, verdict.detail))
    figures = replicated_figures(scenario, events)
    figures["linearizability"] = {"verdict": verdict.label, "operations": verdict.operations,
                                  "detail": verdict.detail}
    return {"replicated_log": figures}, violations


def applied_violations(events: list[dict[str, Any]]) -> list[Violation]:
    """Prefix and exactly-once checks over every replica's ``applied`` events."""
    violations: list[Violation] = []
    next_slot: dict[str, int] = {}
    executed: dict[str, set[str]] = {}
    reference: dict[int, tuple[str, str]] = {}
    for event in events:
        kind = event["ev"]
        if kind == "recover" and event.get("amnesia"):
            # The node starts over from an empty log; it will apply again.
            next_slot.pop(event["node"], None)
            executed.pop(event["node"], None)
            continue
        if kind != "applied":
            continue
        node, slot, value, time = event["node"], event["instance"], event["value"], event["t"]
        expected = next_slot.get(node, 0)
        if slot != expected:
            violations.append(Violation("prefix", slot, time,
                                        f"{node} applied slot {slot} when slot {expected} "
                                        "was next"))
        next_slot[node] = slot + 1
        other = reference.setdefault(slot, (value, node))
        if other[0] != value:
            violations.append(Violation("prefix", slot, time,
                                        f"{node} applied {value!r} in slot {slot} but "
                                        f"{other[1]} applied {other[0]!r}"))
        if event.get("executed"):
            cid = command_id(value)
            done = executed.setdefault(node, set())
            if cid in done:
                violations.append(Violation("exactly-once", slot, time,
                                            f"{node} executed command {cid} a second time"))
            done.add(cid)
    return violations


def durability_violations(events: list[dict[str, Any]]) -> list[Violation]:
    """Every put a client saw succeed must be in the decided log."""
    decided = {command_id(e["value"]) for e in events if e["ev"] == "learned"}
    puts = {e["id"] for e in events if e["ev"] == "invoke" and e["op"] == "put"}
    return [
        Violation("durability", None, e["t"], f"put {e['id']} was acknowledged to "
                  f"{e['node']} but is in no replica's decided log")
        for e in events
        if e["ev"] == "respond" and e["id"] in puts and e["id"] not in decided
    ]


def replicated_figures(scenario: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    invoked: dict[str, float] = {}
    latencies: list[float] = []
    last_response = 0.0
    network_messages = replica_messages = 0
    replicas = {n for n, roles in scenario["nodes"].items() if "replica" in roles}
    committed: set[str] = set()
    for event in events:
        kind = event["ev"]
        if kind == "send":
            if event["src"] != event["dst"]:
                network_messages += 1
                if event["src"] in replicas and event["dst"] in replicas:
                    replica_messages += 1
        elif kind == "invoke":
            invoked[event["id"]] = event["t"]
        elif kind == "respond" and event["id"] in invoked:
            latencies.append(event["t"] - invoked.pop(event["id"]))
            last_response = event["t"]
        elif kind == "learned" and event["value"] != NOOP:
            committed.add(command_id(event["value"]))
    answered = len(latencies)
    first_invoke = min((e["t"] for e in events if e["ev"] == "invoke"), default=None)
    throughput = None
    factor = PER_SECOND.get(scenario.get("time_unit", "ms"))
    if answered and first_invoke is not None and last_response > first_invoke and factor:
        throughput = answered / (last_response - first_invoke) * factor
    array = np.array(latencies) if latencies else None
    campaigns = sum(1 for e in events if e["ev"] == "campaign")
    elected = sum(1 for e in events if e["ev"] == "elected")
    return {
        "commands_invoked": answered + len(invoked),
        "commands_answered": answered,
        "commands_committed": len(committed),
        "commit_latency": None if array is None else {
            "p50": float(np.percentile(array, 50)),
            "p99": float(np.percentile(array, 99)),
            "mean": float(array.mean()),
            "max": float(array.max()),
        },
        "throughput_per_s": throughput,
        "network_messages": network_messages,
        "messages_per_command": network_messages / len(committed) if committed else None,
        "replica_messages_per_command": (
            replica_messages / len(committed) if committed else None),
        "elections": campaigns,
        "leaders_elected": elected,
        "time_without_leader": (
            time_without_leader(events, float(scenario["horizon"])) if campaigns else None),
    }


def time_without_leader(events: list[dict[str, Any]], horizon: float) -> float:
    """Time during which no replica led: a leader leads from its ``elected`` event until
    it is ``deposed`` or crashes (a deposed leader that does not know it yet still counts,
    which is what the protocol sees too: it keeps taking commands)."""
    leading: set[str] = set()
    without = 0.0
    since: float | None = 0.0
    for event in events:
        kind, time = event["ev"], event["t"]
        if kind == "elected":
            leading.add(event["node"])
        elif kind in ("deposed", "crash"):
            leading.discard(event["node"])
        else:
            continue
        if leading and since is not None:
            without += time - since
            since = None
        elif not leading and since is None:
            since = time
    if since is not None:
        without += horizon - since
    return without
