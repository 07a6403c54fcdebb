"""Figures and invariants of replicated-log runs (``multipaxos``, ``p2p``), online.

Invariants, beyond the per-slot agreement/validity/integrity of ``checks``:

- **prefix**: every replica applies slots 0, 1, 2, ... in order, and any two
  replicas applied the same value in every slot both applied, so their
  applied logs are prefixes of one another;
- **exactly-once**: no replica executes one command id twice (a command a
  client retried may sit in two slots; the second must be skipped);
- **durability**: a put a client was told succeeded is in the decided log;
- **linearizability**: the client history (``invoke``/``respond`` events) is
  linearizable as a key-value map (:mod:`paxossim.checks.linearizability`).

Figures: commands invoked, answered and committed; commit latency (client
send to client response) p50/p99; throughput; network messages per committed
command; elections held and won; time without a leader; and the downtime
after each crash of the leader (to the next election won).

Everything is computed as the events stream by. What is kept for the whole
run grows with the number of commands, slowly: a bit per decided command id
and per put (:class:`CommandIds`), 8 bytes per commit latency, the acks of
puts not decided yet; the client history is folded as it settles
(:class:`~paxossim.checks.folding.FoldingHistory`) and the prefix check
forgets slots every replica applied.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np

from paxossim.checks.folding import FoldingHistory
from paxossim.checks.interning import shared
from paxossim.checks.safety import Violation
from paxossim.protocols.contract import StreamCheck
from paxossim.protocols.replicated import NOOP, command_id

PER_SECOND = {"ms": 1000.0, "s": 1.0, "us": 1_000_000.0}


class CommandIds:
    """A set of command ids: a client's ``<client>#<seq>`` as one bit of a bitmap
    per client (sequence numbers are dense), any other id in a ``set``."""

    def __init__(self) -> None:
        self.bits: dict[str, bytearray] = {}
        self.others: set[str] = set()
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @staticmethod
    def place(cid: str) -> tuple[str, int] | None:
        """(client, seq) of an id written the way clients write them (``session_of``,
        with no leading zero: "c1#07" is not "c1#7", ids compare as text), else None."""
        client, sep, seq = cid.rpartition("#")
        if sep and seq.isdigit() and seq.isascii() and (seq[0] != "0" or seq == "0"):
            return client, int(seq)
        return None

    def add(self, cid: str) -> bool:
        """Add ``cid``; whether it was new."""
        client, sep, digits = cid.rpartition("#")  # place(), inlined: called per event
        if not (sep and digits.isdigit() and digits.isascii()
                and (digits[0] != "0" or digits == "0")):
            if cid in self.others:
                return False
            self.others.add(shared(cid))
            self.size += 1
            return True
        seq = int(digits)
        bits = self.bits.get(client)
        if bits is None:
            bits = self.bits[shared(client)] = bytearray()
        byte, mask = seq >> 3, 1 << (seq & 7)
        if byte >= len(bits):
            bits.extend(bytes(byte + 1 - len(bits)))
        if bits[byte] & mask:
            return False
        bits[byte] |= mask
        self.size += 1
        return True

    def __contains__(self, cid: str) -> bool:
        place = self.place(cid)
        if place is None:
            return cid in self.others
        bits = self.bits.get(place[0])
        byte = place[1] >> 3
        return bits is not None and byte < len(bits) and bool(bits[byte] & 1 << (place[1] & 7))


class ReplicatedLogCheck(StreamCheck):
    """Prefix, exactly-once, durability, linearizability, and the log's figures."""

    def __init__(self, protocol: str, scenario: Mapping[str, Any]) -> None:
        self.scenario = scenario
        # Byzantine replicas' applied logs and decisions are lies: not held to
        # the prefix, and not evidence of durability.
        self.untrusted = frozenset(scenario.get("byzantine", ()))
        self.replicas = frozenset(n for n, roles in scenario["nodes"].items()
                                  if "replica" in roles and n not in self.untrusted)
        kinds = ("invoke", "respond", "learned", "applied", "installed", "campaign", "elected",
                 "deposed")
        self.kind = {kind: f"{protocol}.{kind}" for kind in kinds}
        self.kinds = frozenset({*self.kind.values(), "send", "crash", "recover"})
        self._handlers = {
            "send": self._send, "crash": self._crash, "recover": self._recover,
            self.kind["invoke"]: self._invoke, self.kind["respond"]: self._respond,
            self.kind["learned"]: self._learned, self.kind["applied"]: self._applied,
            self.kind["installed"]: self._installed,
            self.kind["campaign"]: self._campaign, self.kind["elected"]: self._elected,
            self.kind["deposed"]: self._deposed,
        }
        self.position = 0
        self.violations: list[Violation] = []
        # prefix and exactly-once
        self.next_slot: dict[str, int] = {}
        self.reference: dict[int, tuple[str, str]] = {}
        """Slot -> (value, replica) that first applied it; slots every replica has
        applied are dropped (nothing can disagree with them any more)."""
        self.settled = 0
        """Slots below this were applied by every replica."""
        self.executed: dict[str, CommandIds] = {}
        """Replica -> the command ids it executed (a bit each: kept for the whole run)."""
        # durability
        self.decided = CommandIds()
        self.puts = CommandIds()
        self.acknowledged: list[tuple[float, str, str]] = []
        """(time, command id, client) of each put a client was told succeeded that was
        not decided yet (one decided by then is durable: decisions are final)."""
        # figures
        self.history = FoldingHistory()
        self.invoked: dict[str, float] = {}
        self.latencies = array("d")
        self.first_invoke: float | None = None
        self.last_response = 0.0
        self.network_messages = self.replica_messages = 0
        self.campaigns = self.elected = 0
        self.leading: set[str] = set()
        self.without_leader = 0.0
        self.leaderless_since: float | None = 0.0
        self.leader_crashed_at: float | None = None
        """When the last leader crashed, leaving none, until another is elected."""
        self.crash_downtimes: list[float] = []

    def feed(self, event: dict[str, Any]) -> None:
        self.position += 1
        self._handlers[event["ev"]](event)

    # -- handlers ---------------------------------------------------------------
    def _send(self, event: dict[str, Any]) -> None:
        if event["src"] != event["dst"]:
            self.network_messages += 1
            if event["src"] in self.replicas and event["dst"] in self.replicas:
                self.replica_messages += 1

    def _crash(self, event: dict[str, Any]) -> None:
        was_leading = event["node"] in self.leading
        self._leader_change(event["node"], False, event["t"])
        if was_leading and not self.leading:
            self.leader_crashed_at = event["t"]

    def _recover(self, event: dict[str, Any]) -> None:
        if event.get("amnesia"):
            # The node starts over from an empty log; it will apply again.
            self.next_slot[event["node"]] = 0
            self.executed.pop(event["node"], None)

    def _invoke(self, event: dict[str, Any]) -> None:
        self.history.invoke(self.position, event)
        self.invoked[event["id"]] = event["t"]
        if self.first_invoke is None:
            self.first_invoke = event["t"]
        if event["op"] == "put":
            self.puts.add(event["id"])

    def _respond(self, event: dict[str, Any]) -> None:
        self.history.respond(self.position, event)
        invoked = self.invoked.pop(event["id"], None)
        if invoked is not None:
            self.latencies.append(event["t"] - invoked)
            self.last_response = event["t"]
        if event["id"] in self.puts and event["id"] not in self.decided:
            self.acknowledged.append((event["t"], shared(event["id"]), shared(event["node"])))

    def _learned(self, event: dict[str, Any]) -> None:
        if event["node"] in self.untrusted:
            return
        self.decided.add(command_id(event["value"]))

    def _applied(self, event: dict[str, Any]) -> None:
        node, slot, value, time = event["node"], event["instance"], event["value"], event["t"]
        if node in self.untrusted:
            return
        expected = self.next_slot.get(node, 0)
        if slot != expected:
            self.violations.append(Violation(
                "prefix", slot, time, f"{node} applied slot {slot} when slot {expected} was next"))
        self.next_slot[node] = slot + 1
        if slot >= self.settled:
            other = self.reference.setdefault(slot, (value, node))
            if other[0] != value:
                self.violations.append(Violation(
                    "prefix", slot, time,
                    f"{node} applied {value!r} in slot {slot} but {other[1]} applied "
                    f"{other[0]!r}"))
            self._settle()
        if event.get("executed"):
            cid = command_id(value)
            done = self.executed.get(node)
            if done is None:
                done = self.executed[node] = CommandIds()
            if not done.add(cid):
                self.violations.append(Violation(
                    "exactly-once", slot, time, f"{node} executed command {cid} a second time"))

    def _installed(self, event: dict[str, Any]) -> None:
        """State transfer (PBFT): the replica took a state through slot ``upto - 1``
        that 2f+1 replicas vouched for, instead of applying those slots itself."""
        if event["node"] in self.replicas:
            self.next_slot[event["node"]] = max(event["upto"],
                                                self.next_slot.get(event["node"], 0))

    def _settle(self) -> None:
        """Drop the reference values of slots every replica has applied."""
        if len(self.next_slot) < len(self.replicas):
            return
        settled = min(self.next_slot.values())
        for slot in range(self.settled, settled):
            self.reference.pop(slot, None)
        self.settled = max(self.settled, settled)

    def _campaign(self, event: dict[str, Any]) -> None:
        self.campaigns += 1

    def _elected(self, event: dict[str, Any]) -> None:
        self.elected += 1
        self._leader_change(event["node"], True, event["t"])
        if self.leader_crashed_at is not None:
            self.crash_downtimes.append(event["t"] - self.leader_crashed_at)
            self.leader_crashed_at = None

    def _deposed(self, event: dict[str, Any]) -> None:
        self._leader_change(event["node"], False, event["t"])

    def _leader_change(self, node: str, leads: bool, time: float) -> None:
        """A leader leads from its ``elected`` event until it is ``deposed`` or crashes
        (a deposed leader that does not know it yet still counts, which is what the
        protocol sees too: it keeps taking commands)."""
        if leads:
            self.leading.add(node)
        else:
            self.leading.discard(node)
        if self.leading and self.leaderless_since is not None:
            self.without_leader += time - self.leaderless_since
            self.leaderless_since = None
        elif not self.leading and self.leaderless_since is None:
            self.leaderless_since = time

    # -- the end ----------------------------------------------------------------
    def finish(self, end: float) -> tuple[dict[str, Any], list[Any]]:
        violations = list(self.violations)
        violations += [
            Violation("durability", None, time, f"put {cid} was acknowledged to "
                      f"{client} but is in no replica's decided log")
            for time, cid, client in self.acknowledged if cid not in self.decided
        ]
        verdict = self.history.verdict()
        if verdict.ok is False:
            time = verdict.time if verdict.time is not None else end
            violations.append(Violation("linearizability", verdict.key, time, verdict.detail))
        figures = self.figures(end)
        figures["linearizability"] = {"verdict": verdict.label, "operations": verdict.operations,
                                      "detail": verdict.detail}
        return {"replicated_log": figures}, violations

    def figures(self, end: float) -> dict[str, Any]:
        committed = len(self.decided) - (command_id(NOOP) in self.decided)
        answered = len(self.latencies)
        throughput = None
        factor = PER_SECOND.get(self.scenario.get("time_unit", "ms"))
        first = self.first_invoke
        if answered and first is not None and self.last_response > first and factor:
            throughput = answered / (self.last_response - first) * factor
        samples = np.array(self.latencies) if self.latencies else None
        without = self.without_leader + (
            end - self.leaderless_since if self.leaderless_since is not None else 0.0)
        return {
            "commands_invoked": answered + len(self.invoked),
            "commands_answered": answered,
            "commands_committed": committed,
            "commit_latency": None if samples is None else {
                "p50": float(np.percentile(samples, 50)),
                "p99": float(np.percentile(samples, 99)),
                "mean": float(samples.mean()),
                "max": float(samples.max()),
            },
            "throughput_per_s": throughput,
            "network_messages": self.network_messages,
            "messages_per_command": (
                self.network_messages / committed if committed else None),
            "replica_messages_per_command": (
                self.replica_messages / committed if committed else None),
            "elections": self.campaigns,
            "leaders_elected": self.elected,
            "time_without_leader": without if self.campaigns else None,
            "leader_crash_downtime": downtime_figures(self.crash_downtimes),
        }


def downtime_figures(downtimes: list[float]) -> dict[str, Any] | None:
    """From each crash of the only leader to the next ``elected`` event: the same
    measure for every leader-based protocol, so their failovers compare."""
    if not downtimes:
        return None
    array = np.array(downtimes)
    return {"count": len(downtimes), "mean": float(array.mean()),
            "p50": float(np.percentile(array, 50)), "max": float(array.max()),
            "values": [float(v) for v in downtimes]}
