"""The run summary (``summary.json``), computed while the events stream by.

Generic facts (messages, crashes, the first decision and who learned what)
come from the runtime's events and the protocol's declared decision rule;
a protocol adds figures and invariants of its own through its
:class:`~paxossim.protocols.contract.StreamCheck` objects.
"""

from __future__ import annotations

from typing import Any

from paxossim import protocols
from paxossim.checks.liveness import liveness_verdict
from paxossim.checks.safety import SafetyCheck
from paxossim.log.stream import EventStream


class FirstFacts:
    """When the first client asked, and what each node learned first."""

    def __init__(self, request_kinds: set[str], learn_kind: str | None) -> None:
        self.kinds = frozenset(request_kinds | ({learn_kind} if learn_kind else set()))
        self.request_kinds = request_kinds
        self.first_request: float | None = None
        self.learned: dict[str, dict[str, Any]] = {}

    def feed(self, event: dict[str, Any]) -> None:
        if event["ev"] in self.request_kinds:
            if self.first_request is None:
                self.first_request = event["t"]
        elif event["node"] not in self.learned:
            self.learned[event["node"]] = {"value": event["value"], "t": event["t"]}


class Summarizer:
    """Everything ``summary.json`` says, fed by an :class:`EventStream`."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.header = header
        scenario = header["scenario"]
        protocol = protocols.get(scenario["protocol"])
        rule = protocol.decision
        prefix = f"{protocol.name}."
        self.safety = SafetyCheck(scenario, protocol)
        self.first = FirstFacts({"request", *(prefix + kind for kind in rule.proposals)},
                                prefix + rule.learn if rule.learn else None)
        self.protocol_checks = protocol.checks(scenario)

    def readers(self) -> list[Any]:
        return [self.safety, self.first, *self.protocol_checks]

    def finish(self, stream: EventStream) -> dict[str, Any]:
        header, scenario = self.header, self.header["scenario"]
        counts = stream.counts
        first = self.safety.first_choice
        violations = list(self.safety.violations)
        extra: dict[str, Any] = {}
        for check in self.protocol_checks:
            figures, found = check.finish(float(scenario["horizon"]))
            extra |= figures
            violations += found
        first_request = self.first.first_request
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
            "learned": self.first.learned,
            "messages": {
                "sent": counts.get("send", 0),
                "delivered": counts.get("deliver", 0),
                "dropped": counts.get("drop", 0),
                "duplicated": counts.get("duplicate", 0),
            },
            "crashes": counts.get("crash", 0),
            "safety": {"ok": not violations, "violations": [v.to_dict() for v in violations]},
            "liveness": liveness_verdict(scenario, first),
            "events_sha256": stream.digest(),
        } | extra
