"""Byzantine replicas (they lie on purpose; the checks ignore them) and broken
correct-looking replicas (the checks must catch them)."""

from __future__ import annotations

from dataclasses import dataclass

from paxossim.protocols.base import Context, Message
from paxossim.protocols.contract import Variant
from paxossim.protocols.pbft.messages import Certificate, Commit, Prepare, PrePrepare, digest
from paxossim.protocols.pbft.replica import Cluster, Replica
from paxossim.protocols.replicated import NOOP


class SilentReplica(Replica):
    """Never sends anything (a crash the others cannot tell from a liar)."""

    def on_start(self) -> None:
        pass

    def on_message(self, src: str, msg: Message) -> None:
        pass

    def on_timer(self, name: str) -> None:
        pass


class EquivocatingPrimary(Replica):
    """As primary, tells backups different things for one (v, n): the request,
    the null request, and the request under a wrong digest, in turn; and
    sends each backup a commit for what it told it. A correct backup
    otherwise."""

    def send_pre_prepare(self, view: int, n: int, request: str) -> None:
        lies = ((digest(request), request), (digest(NOOP), NOOP),
                (digest(request + "'"), request))
        self.ctx.emit("noop_allowed", value=NOOP)
        for index, backup in enumerate(self.others):
            d, told = lies[index % len(lies)]
            self.ctx.send(backup, PrePrepare(view, n, d, told, self.me))
            self.ctx.send(backup, Commit(view, n, d, self.me))


class VotesForEverything(Replica):
    """Echoes a prepare and a commit for every pre-prepare or prepare it sees,
    whatever it already voted for: the colluder that, as the (f+1)-th liar,
    lets two honest replicas commit different requests."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx, cluster)
        self.echoed: set[tuple[int, int, str]] = set()

    def on_message(self, src: str, msg: Message) -> None:
        if isinstance(msg, (PrePrepare, Prepare)) and msg.sender == src:
            key = (msg.view, msg.n, msg.digest)
            if key not in self.echoed:
                self.echoed.add(key)
                self.multicast(Prepare(*key, self.me))
                self.multicast(Commit(*key, self.me))
        super().on_message(src, msg)


class ImpostorPrimary(VotesForEverything):
    """A backup that plays primary: for each pre-prepare of the real primary at
    (v, n) it pre-prepares the same request at (v, n+1), the number the primary
    will give its next request, in its own name (it cannot sign as the
    primary), to half of the other replicas, and votes for everything, its own
    proposals first. Correct replicas drop its pre-prepares: it is not the
    primary of v."""

    def __init__(self, ctx: Context, cluster: Cluster) -> None:
        super().__init__(ctx, cluster)
        self.clashed: set[tuple[int, int]] = set()

    def on_message(self, src: str, msg: Message) -> None:
        if (isinstance(msg, PrePrepare) and msg.sender == src
                and src == self.cluster.primary(msg.view)
                and (msg.view, msg.n + 1) not in self.clashed):
            self.clashed.add((msg.view, msg.n + 1))
            self.impersonate(msg.view, msg.n + 1, msg.request)
        super().on_message(src, msg)

    def impersonate(self, view: int, n: int, request: str) -> None:
        key = (view, n, digest(request))
        for replica in self.others[:(len(self.others) + 1) // 2]:
            self.ctx.send(replica, PrePrepare(*key, request, self.me))
        self.echoed.add(key)
        self.multicast(Prepare(*key, self.me))
        self.multicast(Commit(*key, self.me))


class SmallQuorums(Replica):
    """Prepared on 2f-1 prepares and committed-local on 2f commits: one fewer
    each, so two quorums need not share an honest replica."""

    def prepare_quorum(self) -> int:
        return 2 * self.f - 1

    def commit_quorum(self) -> int:
        return 2 * self.f


class SkipPrepare(Replica):
    """Sends its commit as soon as it accepts a pre-prepare, with no prepare
    phase. Its certificates hold no prepares, so the view change (which it
    runs unchanged) drops them, and what it committed is lost with the view."""

    def prepared(self, key: tuple[int, int, str]) -> bool:
        return True

    def accept(self, view: int, n: int, d: str, request: str) -> None:
        self.log[n] = (view, d, request)
        self.ordered[request] = n
        self.advance(view, n, d)


class PrePrepareFromAnyone(Replica):
    """Accepts a pre-prepare from any replica, not only from the primary of its
    view: a backup's proposal then takes a sequence number the primary will
    use, and the primary itself, accepting it, later orders another request at
    the same number."""

    def from_primary(self, src: str, view: int) -> bool:
        return True


class NoCertificates(Replica):
    """Sends VIEW-CHANGE with an empty P: the next primary re-proposes nothing,
    and reuses sequence numbers that already committed."""

    def prepared_set(self) -> tuple[Certificate, ...]:
        return ()


@dataclass(frozen=True)
class PbftVariant(Variant):
    replica: type[Replica] = Replica


VARIANTS: dict[str, PbftVariant] = {
    "correct": PbftVariant("PBFT as in Castro and Liskov: prepared on 2f prepares, "
                           "committed-local on 2f+1 commits"),
    "silent": PbftVariant("Byzantine: never sends anything", byzantine=True,
                          replica=SilentReplica),
    "equivocating-primary": PbftVariant(
        "Byzantine: as primary, sends backups different pre-prepares for one (v, n) "
        "(the request, the null request, a wrong digest) and a commit for each",
        byzantine=True, replica=EquivocatingPrimary),
    "votes-for-everything": PbftVariant(
        "Byzantine: sends a prepare and a commit for everything any replica proposes",
        byzantine=True, replica=VotesForEverything),
    "impostor-primary": PbftVariant(
        "Byzantine: a backup that pre-prepares, in its own name, each request the primary "
        "ordered at n again at n+1 (to half the others), and votes for everything",
        byzantine=True, replica=ImpostorPrimary),
    "commit-quorum-2f": PbftVariant(
        "broken: prepared on 2f-1 prepares and committed-local on 2f commits "
        "(one fewer each)", replica=SmallQuorums),
    "skip-prepare": PbftVariant(
        "broken: commits on the pre-prepare alone, with no prepare phase", replica=SkipPrepare),
    "pre-prepare-from-anyone": PbftVariant(
        "broken: accepts a pre-prepare from any replica, not only the primary of the view",
        replica=PrePrepareFromAnyone),
    "view-change-liar": PbftVariant(
        "Byzantine: a correct replica whose view-changes omit its prepared certificates",
        byzantine=True, replica=NoCertificates),
    "view-change-without-certificates": PbftVariant(
        "broken: view-changes carry no prepared certificates", replica=NoCertificates),
}
