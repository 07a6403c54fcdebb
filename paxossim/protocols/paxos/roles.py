"""The three roles of Basic Paxos, as the paper states their rules.

A node may hold several roles; :class:`PaxosNode` routes each message to the
roles that take it. Broken variants (``variants.py``) subclass a role and
override one rule; nothing here knows about them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from paxossim.protocols.backoff import Backoff
from paxossim.protocols.base import Context, Message, Node
from paxossim.protocols.paxos.messages import (
    Accept,
    Accepted,
    Ballot,
    ClientRequest,
    Nack,
    Prepare,
    Promise,
)
from paxossim.protocols.paxos.rules import value_to_propose
from paxossim.protocols.quorums import Quorums


@dataclass(frozen=True)
class PaxosOptions:
    retry_timeout: float = 100.0
    """How long a proposer waits for a quorum before it tries a higher ballot."""
    max_attempts: int = 10
    """Ballots a proposer tries for one request before it gives up."""
    backoff: Backoff = field(default_factory=Backoff)
    """The randomized wait after a nack (and, with ``backoff_on_timeout``, a timeout)."""
    backoff_on_timeout: bool = True
    """Also back off (as after a nack) before retrying a ballot that timed out,
    so that proposers whose attempts time out together drift apart."""
    ballot_source: str = "counter"
    """``counter``: ballot numbers count up from 1. ``clock``: a proposer takes
    its ballot number from its own clock reading (as the post does), so a
    proposer whose clock runs behind is refused like a late message."""


@dataclass(frozen=True)
class Cluster:
    """Who is who, and what a quorum is, as each node sees it (from the scenario)."""

    acceptors: tuple[str, ...]
    learners: tuple[str, ...]
    quorums: Quorums
    options: PaxosOptions

    def with_quorums(self, phase1: int, phase2: int) -> Cluster:
        return replace(self, quorums=replace(self.quorums, phase1=phase1, phase2=phase2))


# -- roles --------------------------------------------------------------------


class Acceptor:
    """Promises and accepts; durable state is persisted before any answer."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self.state: dict[str, Any] = self.durable_state()

    def durable_state(self) -> dict[str, Any]:
        """Where promises and votes live: storage that survives a crash."""
        return self.ctx.storage

    @property
    def promised(self) -> Ballot | None:
        return self.state.get("promised")

    def below_promise(self, ballot: Ballot) -> bool:
        promised = self.promised
        return promised is not None and ballot < promised

    def refuses_accept(self, ballot: Ballot) -> bool:
        """Phase 2b's rule: vote for ``ballot`` unless a higher ballot was promised."""
        return self.below_promise(ballot)

    def on_prepare(self, src: str, msg: Prepare) -> None:
        if self.below_promise(msg.ballot):
            self.refuse(src, msg.ballot, "prepare")
            return
        self.state["promised"] = msg.ballot
        accepted_ballot = self.state.get("accepted_ballot")
        accepted_value = self.state.get("accepted_value")
        self.ctx.emit("promised", ballot=msg.ballot, accepted_ballot=accepted_ballot,
                      accepted_value=accepted_value)
        self.ctx.send(src, Promise(msg.ballot, accepted_ballot, accepted_value))

    def on_accept(self, src: str, msg: Accept) -> None:
        if self.refuses_accept(msg.ballot):
            self.refuse(src, msg.ballot, "accept")
            return
        if not self.below_promise(msg.ballot):
            self.state["promised"] = msg.ballot
        self.state["accepted_ballot"] = msg.ballot
        self.state["accepted_value"] = msg.value
        self.ctx.emit("accepted", ballot=msg.ballot, value=msg.value)
        reply = Accepted(msg.ballot, msg.value)
        self.ctx.send(src, reply)
        for learner in self.cluster.learners:
            if learner != src:
                self.ctx.send(learner, reply)

    def refuse(self, src: str, ballot: Ballot, phase: str) -> None:
        promised = self.promised
        assert promised is not None
        self.ctx.emit("refused", ballot=ballot, promised=promised, phase=phase)
        self.ctx.send(src, Nack(ballot, promised, phase))


class Proposer:
    """Drives one client value through ballots until a quorum accepts it."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self.ballot: Ballot | None = None
        self.phase = "idle"  # idle -> prepare -> accept -> done | gave-up
        self.attempt = 0
        self.promises: dict[str, Promise] = {}
        self.accepts: set[str] = set()

    # Durable: the client's value (so a restarted proposer carries on) and the
    # highest ballot number used (so it never reuses one with another value).
    @property
    def value(self) -> str | None:
        return self.ctx.storage.get("request_value")

    def on_start(self) -> None:
        if self.value is not None and not self.ctx.storage.get("proposer_done"):
            self.start_attempt()

    def on_request(self, _src: str, msg: ClientRequest) -> None:
        if msg.value == self.value and self.phase != "done":
            # The client asks again (as clients do once the faulty phase is
            # over): the request gets a fresh budget of attempts, and a
            # proposer that had given up tries again.
            self.attempt = 0
            self.ctx.emit("request_renewed", value=msg.value)
            if self.phase == "gave-up":
                self.start_attempt()
            return
        if self.value is not None:
            self.ctx.emit("request_ignored", value=msg.value, reason="already proposing")
            return
        self.ctx.storage["request_value"] = msg.value
        if msg.ballot is not None:
            self.ctx.storage["ballot_number"] = msg.ballot - 1
        self.start_attempt()

    def start_attempt(self) -> None:
        options = self.cluster.options
        if self.attempt >= options.max_attempts:
            self.give_up()
            return
        self.attempt += 1
        number = max(self.ctx.storage.get("ballot_number", 0) + 1, self.ctx.storage.get(
            "highest_seen", 0) + 1)
        if options.ballot_source == "clock":
            # Never below the last ballot used or seen: the clock only sets the floor.
            number = max(number, math.floor(self.ctx.clock))
        self.ctx.storage["ballot_number"] = number
        self.ballot = (number, self.ctx.node_id)
        self.phase = "prepare"
        self.promises = {}
        self.accepts = set()
        self.ctx.emit("propose", ballot=self.ballot, value=self.value, attempt=self.attempt)
        prepare = Prepare(self.ballot)
        for acceptor in self.cluster.acceptors:
            self.ctx.send(acceptor, prepare)
        self.ctx.set_timer("retry", options.retry_timeout)

    def give_up(self) -> None:
        self.phase = "gave-up"
        self.ctx.cancel_timer("retry")
        self.ctx.emit("gave_up", attempts=self.attempt)

    def on_promise(self, src: str, msg: Promise) -> None:
        if self.phase != "prepare" or msg.ballot != self.ballot:
            return
        self.promises[src] = msg
        if not self.cluster.quorums.is_phase1(self.promises):
            return
        value, highest = self.choose_value()
        self.phase = "accept"
        self.ctx.emit("phase2", ballot=self.ballot, value=value, adopted_from=highest)
        accept = Accept(self.ballot, value)
        for acceptor in self.promises:
            self.ctx.send(acceptor, accept)

    def choose_value(self) -> tuple[str, Ballot | None]:
        """Phase 2a's rule: the value of the highest-ballot vote a promise
        reported, or the client's own if no acceptor in the quorum voted."""
        assert self.value is not None, "a proposer in phase 2 has a value"
        return value_to_propose(self.value, ((p.accepted_ballot, p.accepted_value)
                                             for p in self.promises.values()))

    def on_accepted(self, src: str, msg: Accepted) -> None:
        if self.phase != "accept" or msg.ballot != self.ballot:
            return
        self.accepts.add(src)
        if self.cluster.quorums.is_phase2(self.accepts):
            self.phase = "done"
            self.ctx.storage["proposer_done"] = True
            self.ctx.cancel_timer("retry")
            self.ctx.emit("proposer_done", ballot=self.ballot, value=msg.value)

    def on_nack(self, src: str, msg: Nack) -> None:
        self.note_ballot(msg.promised)
        if msg.ballot != self.ballot or self.phase not in ("prepare", "accept"):
            return
        if self.attempt >= self.cluster.options.max_attempts:
            self.give_up()
            return
        self.phase = "backoff"
        delay = self.cluster.options.backoff.delay(self.attempt, self.ctx.rng.random())
        self.ctx.emit("preempted", ballot=self.ballot, by=msg.promised, backoff=delay)
        self.ctx.set_timer("retry", delay)

    def note_ballot(self, ballot: Ballot) -> None:
        if ballot[0] > self.ctx.storage.get("highest_seen", 0):
            self.ctx.storage["highest_seen"] = ballot[0]

    def on_timer(self, name: str) -> None:
        if name != "retry" or self.phase in ("done", "gave-up", "idle"):
            return
        if self.phase in ("prepare", "accept"):
            options = self.cluster.options
            if options.backoff_on_timeout and self.attempt < options.max_attempts:
                delay = options.backoff.delay(self.attempt, self.ctx.rng.random())
                self.ctx.emit("timeout", ballot=self.ballot, phase=self.phase, backoff=delay)
                self.phase = "backoff"
                self.ctx.set_timer("retry", delay)
                return
            self.ctx.emit("timeout", ballot=self.ballot, phase=self.phase)
        self.start_attempt()


class Learner:
    """Learns a value once a phase-2 quorum of acceptors accepted it in one ballot."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self.votes: dict[Ballot, set[str]] = {}

    def on_accepted(self, src: str, msg: Accepted) -> None:
        # A correct learner never learns twice; it reports a second, different
        # value anyway, so that a safety bug upstream shows up in the log.
        if self.counts_as_chosen(src, msg) and self.ctx.storage.get("learned") != msg.value:
            self.ctx.storage["learned"] = msg.value
            self.ctx.emit("learned", value=msg.value, ballot=msg.ballot)

    def counts_as_chosen(self, src: str, msg: Accepted) -> bool:
        """Votes count only within one ballot, once per acceptor."""
        voters = self.votes.setdefault(msg.ballot, set())
        voters.add(src)
        return self.cluster.quorums.is_phase2(voters)


@dataclass(frozen=True)
class Roles:
    """The classes a node's roles are built from (a variant swaps one)."""

    proposer: type[Proposer] = Proposer
    acceptor: type[Acceptor] = Acceptor
    learner: type[Learner] = Learner


class PaxosNode(Node):
    """A node holding any of the three roles, routing messages to them."""

    def __init__(self, ctx: Context, roles: tuple[str, ...], cluster: Cluster,
                 classes: Roles = Roles()) -> None:
        super().__init__(ctx)
        self.proposer = classes.proposer(ctx, cluster) if "proposer" in roles else None
        self.acceptor = classes.acceptor(ctx, cluster) if "acceptor" in roles else None
        self.learner = classes.learner(ctx, cluster) if "learner" in roles else None
        # Which roles take which message, decided once: a node gets every
        # message type, and only the roles it holds should see it.
        handlers: dict[type[Message], list[Callable[[str, Any], None]]] = {}

        def route(kind: type[Message], handler: Callable[[str, Any], None]) -> None:
            handlers.setdefault(kind, []).append(handler)

        if self.proposer:
            # Bound methods only, no lambdas: a node's state must be snapshottable.
            route(ClientRequest, self.proposer.on_request)
            route(Promise, self.proposer.on_promise)
            route(Accepted, self.proposer.on_accepted)
            route(Nack, self.proposer.on_nack)
        if self.acceptor:
            route(Prepare, self.acceptor.on_prepare)
            route(Accept, self.acceptor.on_accept)
        if self.learner:
            route(Accepted, self.learner.on_accepted)
        self.handlers = handlers

    def on_start(self) -> None:
        if self.proposer:
            self.proposer.on_start()

    def on_message(self, src: str, msg: Message) -> None:
        for handler in self.handlers.get(type(msg), ()):
            handler(src, msg)

    def on_timer(self, name: str) -> None:
        if self.proposer:
            self.proposer.on_timer(name)
