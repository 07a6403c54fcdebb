"""A rule every replica of a replicated log keeps (Multi-Paxos, peer-to-peer),
as the explainer checks it on the log: answers come from the log."""

from __future__ import annotations

from paxossim.protocols.replicated import command_id
from paxossim.protocols.rulebook import Breach, Event, History, Rule


def replies_after_apply(event: Event, history: History) -> Breach | None:
    """A successful ``reply`` to a command this replica never applied from the log."""
    if event["type"] != "reply" or not event["msg"]["ok"]:
        return None
    cid = event["msg"]["id"]
    applied = [seen for seen in history.of_kind(history.scenario["protocol"] + ".applied")]
    if any(command_id(seen["value"]) == cid for seen in applied):
        return None
    slot = f"slot {applied[-1]['instance']}" if applied else "no slot"
    return Breach(
        f"{history.node} answered {cid} with {history.value(event['msg']['result'])} at "
        f"{history.time(event)} without that command being decided and applied in its log "
        f"(it had applied up to {slot}): its state may be stale", subject=cid)


RULES: tuple[Rule, ...] = (
    Rule("reply-from-log",
         "a replica answers a client's command only once it applied it from the decided log",
         frozenset({"send"}), replies_after_apply),
)
