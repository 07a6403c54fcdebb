"""The events Basic Paxos nodes emit, with the sentences the account tells."""

from __future__ import annotations

from paxossim.protocols.contract import EventKind

EVENTS: tuple[EventKind, ...] = (
    EventKind("propose", ("ballot", "value", "attempt"),
              "{node} proposes {value:value} with ballot {ballot:ballot} (attempt {attempt})"),
    EventKind("promised", ("ballot", "accepted_ballot", "accepted_value"),
              "{node} promises ballot {ballot:ballot}",
              details=(("accepted_ballot", ", reporting {accepted_value:value} accepted at "
                        "{accepted_ballot:ballot}"),)),
    EventKind("refused", ("ballot", "promised", "phase"),
              "{node} refuses ballot {ballot:ballot} ({phase}): it promised "
              "{promised:ballot}",
              mark="refuses {ballot:ballot}: promised {promised:ballot}", mark_style="refusal"),
    EventKind("phase2", ("ballot", "value", "adopted_from"),
              "{node} asks to accept {value:value} at {ballot:ballot}",
              details=(("adopted_from", ", adopted from ballot {adopted_from:ballot}"),)),
    EventKind("accepted", ("ballot", "value"),
              "{node} accepts {value:value} at ballot {ballot:ballot}"),
    EventKind("learned", ("value", "ballot"), "{node} learns {value:value}",
              mark="learns {value:value}", mark_style="decision"),
    EventKind("preempted", ("ballot", "by", "backoff"),
              "{node} is preempted by ballot {by:ballot}"),
    EventKind("timeout", ("ballot", "phase", "backoff"),
              "{node} times out waiting in {phase} for ballot {ballot:ballot}"),
    EventKind("gave_up", ("attempts",), "{node} gives up after {attempts} attempt(s)"),
    EventKind("proposer_done", ("ballot", "value"),
              "{node} saw a quorum accept {value:value}", told=False),
    EventKind("request_ignored", ("value", "reason"),
              "{node} ignores the request for {value:value} ({reason})", told=False),
    EventKind("request_renewed", ("value",),
              "{node} takes up {value:value} again with fresh attempts"),
)
