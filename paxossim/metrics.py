"""The run summary (``summary.json``): decision, learning, message counts, safety."""

from __future__ import annotations

from collections import Counter
from typing import Any

from paxossim import protocols
from paxossim.checks import check_safety, choices, majority_of
from paxossim.liveness import liveness_verdict


def summarize(
    header: dict[str, Any], events: list[dict[str, Any]], sha256: str
) -> dict[str, Any]:
    scenario = header["scenario"]
    counts = Counter(e["ev"] for e in events)
    chosen = choices(events, majority_of(scenario))
    first = chosen[0] if chosen else None
    requests = [e["t"] for e in events if e["ev"] == "request"]
    learned: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["ev"] == "learned" and event["node"] not in learned:
            learned[event["node"]] = {"value": event["value"], "t": event["t"]}
    violations = check_safety(scenario, events, chosen)
    extra, extra_violations = protocols.get(scenario["protocol"]).extra_checks(header, events)
    violations += extra_violations
    first_request = min(requests) if requests else None
    return {
        "scenario": scenario["name"],
        "protocol": scenario["protocol"],
        "variant": scenario["variant"],
        "seed": header["seed"],
        "chosen": first.value if first else None,
        "decided_at": first.time if first else None,
        "first_request_at": first_request,
        "decision_latency": (
            first.time - first_request if first and first_request is not None else None
        ),
        "learned": learned,
        "messages": {
            "sent": counts["send"],
            "delivered": counts["deliver"],
            "dropped": counts["drop"],
            "duplicated": counts["duplicate"],
        },
        "attempts": counts["propose"],
        "retries": max(0, counts["propose"] - len(requests)),
        "crashes": counts["crash"],
        "safety": {"ok": not violations, "violations": [v.to_dict() for v in violations]},
        "liveness": liveness_verdict(scenario, chosen),
        "events_sha256": sha256,
    } | extra
