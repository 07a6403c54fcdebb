"""The one rule leader_write's safety rests on, as the explainer checks it on the log."""

from __future__ import annotations

from paxossim.protocols.rulebook import Breach, Event, History, Rule


def stores_once(event: Event, history: History) -> Breach | None:
    """A replica's second ``stored`` of another value replaces its vote."""
    for earlier in history.of_kind("leader_write.stored"):
        if earlier["value"] != event["value"]:
            return Breach(
                f"{history.node} stored {history.value(event['value'])} at "
                f"{history.time(event)} though it had stored "
                f"{history.value(earlier['value'])} at {history.time(earlier)}: it changed "
                "its vote", (earlier["pos"],))
    return None


RULES: tuple[Rule, ...] = (
    Rule("vote-once", "a replica stores the first value written and never replaces it",
         frozenset({"leader_write.stored"}), stores_once),
)
