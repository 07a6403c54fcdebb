"""Basic (single-decree) Paxos as sans-IO state machines, plus broken variants.

Roles: a *proposer* runs prepare/promise then accept/accepted for a value a
client asked for; an *acceptor* promises and accepts ballots; a *learner*
learns a value once a majority of acceptors accepted it in one ballot. A node
may hold several roles; :class:`PaxosNode` routes each message to the roles
that take it.

Ballots are pairs ``(number, proposer id)`` compared as tuples, so two
proposers never share a ballot. Acceptors persist promises and votes before
they answer (``ctx.storage``), which is what makes a crash harmless.

Broken variants deviate from this in one small, documented way each; the
safety checker must catch every one of them (tests and ``explore`` prove it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from paxossim.protocols.backoff import Backoff, backoff_to_dict, parse_backoff
from paxossim.protocols.base import Context, Message, Node, ProtocolFamily
from paxossim.schema import Table

Ballot = tuple[int, str]

VARIANTS: dict[str, str] = {
    "correct": "Basic Paxos as published",
    "forget-promise-on-restart": "acceptors keep promises and votes in volatile memory only,"
    " so a restart forgets them",
    "ignore-accepted-values": "proposers always propose their own value, ignoring the"
    " accepted values reported in promises",
    "quorum-one-short": "proposers and learners take one vote fewer than a majority as a quorum",
    "mixed-ballot-learner": "learners count accepted votes for a value across different ballots",
    "accept-below-promise": "acceptors accept a ballot lower than the one they promised",
}


# -- messages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientRequest(Message):
    TYPE: ClassVar[str] = "request"
    value: str
    ballot: int | None = None


@dataclass(frozen=True, slots=True)
class Prepare(Message):
    TYPE: ClassVar[str] = "prepare"
    ballot: Ballot


@dataclass(frozen=True, slots=True)
class Promise(Message):
    TYPE: ClassVar[str] = "promise"
    ballot: Ballot
    accepted_ballot: Ballot | None
    accepted_value: str | None


@dataclass(frozen=True, slots=True)
class Accept(Message):
    TYPE: ClassVar[str] = "accept"
    ballot: Ballot
    value: str


@dataclass(frozen=True, slots=True)
class Accepted(Message):
    TYPE: ClassVar[str] = "accepted"
    ballot: Ballot
    value: str


@dataclass(frozen=True, slots=True)
class Nack(Message):
    """An acceptor's refusal of ``ballot``: it has promised ``promised``."""

    TYPE: ClassVar[str] = "nack"
    ballot: Ballot
    promised: Ballot
    phase: str


# -- options ------------------------------------------------------------------


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


def majority(count: int) -> int:
    return count // 2 + 1


@dataclass(frozen=True)
class Cluster:
    """Who is who, as each node sees it (from the scenario)."""

    acceptors: tuple[str, ...]
    learners: tuple[str, ...]
    variant: str
    options: PaxosOptions

    @property
    def quorum(self) -> int:
        needed = majority(len(self.acceptors))
        return max(1, needed - 1) if self.variant == "quorum-one-short" else needed


# -- roles --------------------------------------------------------------------


class Acceptor:
    """Promises and accepts; durable state is persisted before any answer."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        self.ctx = ctx
        self.cluster = cluster
        # The forgetful variant keeps its state in a dict that dies with the
        # node instead of in ctx.storage, which survives crashes.
        forgetful = cluster.variant == "forget-promise-on-restart"
        self.state: dict[str, Any] = {} if forgetful else ctx.storage

    @property
    def promised(self) -> Ballot | None:
        return self.state.get("promised")

    def on_prepare(self, src: str, msg: Prepare) -> None:
        promised = self.promised
        if promised is not None and msg.ballot < promised:
            self.ctx.emit("refused", ballot=msg.ballot, promised=promised, phase="prepare")
            self.ctx.send(src, Nack(msg.ballot, promised, "prepare"))
            return
        self.state["promised"] = msg.ballot
        accepted_ballot = self.state.get("accepted_ballot")
        accepted_value = self.state.get("accepted_value")
        self.ctx.emit(
            "promised",
            ballot=msg.ballot,
            accepted_ballot=accepted_ballot,
            accepted_value=accepted_value,
        )
        self.ctx.send(src, Promise(msg.ballot, accepted_ballot, accepted_value))

    def on_accept(self, src: str, msg: Accept) -> None:
        promised = self.promised
        below = promised is not None and msg.ballot < promised
        if below and self.cluster.variant != "accept-below-promise":
            self.ctx.emit("refused", ballot=msg.ballot, promised=promised, phase="accept")
            self.ctx.send(src, Nack(msg.ballot, promised, "accept"))
            return
        if not below:
            self.state["promised"] = msg.ballot
        self.state["accepted_ballot"] = msg.ballot
        self.state["accepted_value"] = msg.value
        self.ctx.emit("accepted", ballot=msg.ballot, value=msg.value)
        reply = Accepted(msg.ballot, msg.value)
        self.ctx.send(src, reply)
        for learner in self.cluster.learners:
            if learner != src:
                self.ctx.send(learner, reply)


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
        if len(self.promises) < self.cluster.quorum:
            return
        value = self.value
        highest: Ballot | None = None
        if self.cluster.variant != "ignore-accepted-values":
            for promise in self.promises.values():
                if promise.accepted_ballot is not None and (
                    highest is None or promise.accepted_ballot > highest
                ):
                    highest = promise.accepted_ballot
                    value = promise.accepted_value
        assert value is not None
        self.phase = "accept"
        self.ctx.emit("phase2", ballot=self.ballot, value=value, adopted_from=highest)
        accept = Accept(self.ballot, value)
        for acceptor in self.promises:
            self.ctx.send(acceptor, accept)

    def on_accepted(self, src: str, msg: Accepted) -> None:
        if self.phase != "accept" or msg.ballot != self.ballot:
            return
        self.accepts.add(src)
        if len(self.accepts) >= self.cluster.quorum:
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
    """Learns a value once a quorum of acceptors accepted it in one ballot."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self.votes: dict[Any, set[str] | int] = {}

    def on_accepted(self, src: str, msg: Accepted) -> None:
        if self.cluster.variant == "mixed-ballot-learner":
            # Broken: counts every accepted message for a value, whatever its
            # ballot and however often the same acceptor sent it.
            count = self.votes.get(msg.value, 0)
            assert isinstance(count, int)
            self.votes[msg.value] = count + 1
            reached = count + 1 >= self.cluster.quorum
        else:
            voters = self.votes.setdefault(msg.ballot, set())
            assert isinstance(voters, set)
            voters.add(src)
            reached = len(voters) >= self.cluster.quorum
        # A correct learner never learns twice; it reports a second, different
        # value anyway, so that a safety bug upstream shows up in the log.
        if reached and self.ctx.storage.get("learned") != msg.value:
            self.ctx.storage["learned"] = msg.value
            self.ctx.emit("learned", value=msg.value, ballot=msg.ballot)


class PaxosNode(Node):
    """A node holding any of the three roles, routing messages to them."""

    def __init__(self, ctx: Context, roles: tuple[str, ...], cluster: Cluster) -> None:
        super().__init__(ctx)
        self.proposer = Proposer(ctx, cluster) if "proposer" in roles else None
        self.acceptor = Acceptor(ctx, cluster) if "acceptor" in roles else None
        self.learner = Learner(ctx, cluster) if "learner" in roles else None
        # Which roles take which message, decided once: a node gets every
        # message type, and only the roles it holds should see it.
        handlers: dict[type[Message], list[Callable[[str, Any], None]]] = {}

        def route(kind: type[Message], handler: Callable[[str, Any], None]) -> None:
            handlers.setdefault(kind, []).append(handler)

        if self.proposer:
            proposer = self.proposer
            # Bound methods only, no lambdas: a node's state must be snapshottable.
            route(ClientRequest, proposer.on_request)
            route(Promise, proposer.on_promise)
            route(Accepted, proposer.on_accepted)
            route(Nack, proposer.on_nack)
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


# -- the family ---------------------------------------------------------------


class PaxosFamily(ProtocolFamily):
    name = "paxos"
    description = "Basic single-decree Paxos: proposers, acceptors, learners"

    def roles(self) -> tuple[str, ...]:
        return ("proposer", "acceptor", "learner")

    def variants(self) -> dict[str, str]:
        return dict(VARIANTS)

    def parse_options(self, table: Table, nodes: Mapping[str, tuple[str, ...]]) -> PaxosOptions:
        defaults = PaxosOptions()
        options = PaxosOptions(
            retry_timeout=table.number("retry_timeout", defaults.retry_timeout, positive=True),
            max_attempts=table.integer("max_attempts", defaults.max_attempts, minimum=1),
            backoff=parse_backoff(table, defaults.backoff),
            backoff_on_timeout=table.boolean(
                "backoff_on_timeout", defaults.backoff_on_timeout
            ),
            ballot_source=table.string(
                "ballot_source", defaults.ballot_source, choices=("counter", "clock")
            ),
        )
        if not any("acceptor" in roles for roles in nodes.values()):
            table.fail("a Paxos scenario needs at least one node with the acceptor role")
        return options

    def options_to_dict(self, options: PaxosOptions) -> dict[str, Any]:
        return {
            "retry_timeout": options.retry_timeout,
            "max_attempts": options.max_attempts,
            "backoff_on_timeout": options.backoff_on_timeout,
            "ballot_source": options.ballot_source,
        } | backoff_to_dict(options.backoff)

    def make_node(self, node_id: str, scenario: Any, ctx: Context) -> PaxosNode:
        return PaxosNode(ctx, scenario.nodes[node_id], self.cluster(scenario))

    def cluster(self, scenario: Any) -> Cluster:
        """Who is who; built once per scenario, not once per node boot."""
        cached = getattr(self, "_cluster", None)
        if cached is None or cached[0] is not scenario:
            cluster = Cluster(
                acceptors=tuple(scenario.nodes_with("acceptor")),
                learners=tuple(scenario.nodes_with("learner")),
                variant=scenario.variant,
                options=scenario.options,
            )
            cached = self._cluster = (scenario, cluster)
        return cached[1]

    def request(self, value: str, ballot: int | None) -> ClientRequest:
        return ClientRequest(value, ballot)
