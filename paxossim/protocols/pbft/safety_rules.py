"""The rules PBFT's honest replicas keep, as the explainer checks them on the log.

Each is a predicate of Castro and Liskov's paper that safety rests on, and
each broken (non-Byzantine) variant breaks one:

- ``prepared-on-2f-prepares``: a replica sends COMMIT for (v, n, d) only once
  prepared: 2f matching PREPAREs from different backups (``skip-prepare``,
  ``commit-quorum-2f``);
- ``committed-on-2f+1-commits``: a replica executes n only once
  committed-local: 2f+1 matching COMMITs (``commit-quorum-2f``);
- ``pre-prepare-from-primary``: a replica prepares (v, n, d) only for a
  pre-prepare the primary of v sent it, directly or in its NEW-VIEW; the
  primary itself sends no prepare (``pre-prepare-from-anyone``);
- ``view-change-keeps-certificates``: a VIEW-CHANGE carries the certificates
  of what the replica prepared above its stable checkpoint
  (``view-change-without-certificates``).

Byzantine variants break whatever they like; the explainer holds no
Byzantine node to a rule.
"""

from __future__ import annotations

from typing import Any

from paxossim.protocols.pbft.messages import digest
from paxossim.protocols.rulebook import Breach, Event, History, Rule


def replicas(history: History) -> list[str]:
    return [name for name, roles in history.scenario["nodes"].items() if "replica" in roles]


def tolerated(history: History) -> int:
    """f, for n = 3f + 1 replicas."""
    return (len(replicas(history)) - 1) // 3


def voters(history: History, kind: str, key: tuple[int, int, str],
           skip: str | None = None) -> set[str]:
    """Replicas whose ``kind`` message for ``key`` (view, n, digest) this replica
    received from them (or sent itself), not counting ``skip``."""
    found = set()
    for seen in (*history.received(kind), *history.sent(kind)):
        msg = seen["msg"]
        sender = seen["src"]
        if (msg["view"], msg["n"], msg["digest"]) == key and msg["sender"] == sender \
                and sender != skip:
            found.add(sender)
    return found


def prepared_first(event: Event, history: History) -> Breach | None:
    view, n = event["view"], event["instance"]
    primary = replicas(history)[view % len(replicas(history))]
    prepares = voters(history, "prepare", (view, n, digest(event["value"])), skip=primary)
    needed = 2 * tolerated(history)
    if len(prepares) >= needed:
        return None
    return Breach(
        f"{history.node} sent its commit for {history.value(event['value'])} at n={n} in view "
        f"{view} at {history.time(event)} with prepares from {len(prepares)} backup(s) "
        f"({', '.join(sorted(prepares)) or 'none'}); prepared needs {needed}")


def committed_first(event: Event, history: History) -> Breach | None:
    n, value = event["instance"], event["value"]
    d = digest(value)
    views: dict[Any, set[str]] = {}
    for seen in (*history.received("commit"), *history.sent("commit")):
        msg = seen["msg"]
        if msg["n"] == n and msg["digest"] == d and msg["sender"] == seen["src"]:
            views.setdefault(msg["view"], set()).add(seen["src"])
    needed = 2 * tolerated(history) + 1
    best = max((len(senders) for senders in views.values()), default=0)
    if best >= needed:
        return None
    return Breach(
        f"{history.node} committed {history.value(value)} at n={n} at {history.time(event)} "
        f"with at most {best} matching commit(s) in one view; committed-local needs {needed}")


def from_primary(event: Event, history: History) -> Breach | None:
    if event["type"] != "prepare":
        return None
    msg = event["msg"]
    view, n, d = msg["view"], msg["n"], msg["digest"]
    primary = replicas(history)[view % len(replicas(history))]
    proposals = [seen for seen in history.received("pre-prepare")
                 if (seen["msg"]["view"], seen["msg"]["n"], seen["msg"]["digest"]) == (view, n, d)]
    if history.node != primary:
        if any(seen["src"] == primary == seen["msg"]["sender"] for seen in proposals):
            return None
        for seen in history.received("new-view"):
            if seen["src"] == primary == seen["msg"]["sender"] and seen["msg"]["view"] == view \
                    and any((p["n"], p["digest"]) == (n, d) for p in seen["msg"]["pre_prepares"]):
                return None
    what = f"digest {d}"
    source = "no pre-prepare"
    if proposals:
        what = history.value(proposals[-1]["msg"]["request"])
        source = f"a pre-prepare from {proposals[-1]['src']} ({history.time(proposals[-1])})"
    itself = " (itself)" if history.node == primary else ""
    return Breach(
        f"{history.node} sent its prepare for {what} at n={n} in view {view} at "
        f"{history.time(event)} on {source}; a pre-prepare in view {view} counts only from "
        f"its primary, {primary}{itself}",
        (proposals[-1]["pos"],) if proposals else ())


def keeps_certificates(event: Event, history: History) -> Breach | None:
    if event["prepared"]:
        return None
    stable = 0
    prepared: dict[int, Event] = {}
    for seen in history.of_kind("pbft.stable_checkpoint", "pbft.commit"):
        if seen["ev"] == "pbft.stable_checkpoint":
            stable = seen["instance"] + 1
        else:
            prepared[seen["instance"]] = seen
    kept = [seen for n, seen in sorted(prepared.items()) if n >= stable]
    if not kept:
        return None
    return Breach(
        f"{history.node} asked for view {event['view']} at {history.time(event)} with no "
        f"prepared certificate, though it had prepared {len(kept)} request(s) above its stable "
        f"checkpoint (n={kept[0]['instance']} {history.value(kept[0]['value'])} at "
        f"{history.time(kept[0])} the first): the next primary cannot re-propose them",
        (kept[0]["pos"],))


RULES: tuple[Rule, ...] = (
    Rule("prepared-on-2f-prepares",
         "a replica sends COMMIT only once prepared: 2f matching PREPAREs from backups",
         frozenset({"pbft.commit"}), prepared_first),
    Rule("committed-on-2f+1-commits",
         "a replica executes a request only once committed-local: 2f+1 matching COMMITs",
         frozenset({"pbft.learned"}), committed_first),
    Rule("pre-prepare-from-primary",
         "a replica prepares (sends PREPARE for) a pre-prepare only if the primary of its "
         "view sent it", frozenset({"send"}), from_primary),
    Rule("view-change-keeps-certificates",
         "a VIEW-CHANGE carries a certificate for every request prepared above the stable "
         "checkpoint", frozenset({"pbft.view_change"}), keeps_certificates),
)
