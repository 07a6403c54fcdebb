"""A run's log as the compact, columnar data the HTML viewer draws.

Why columnar: a 100,000-event run becomes a handful of flat arrays (times,
kinds, nodes, message ends) and one table of distinct strings, instead of
100,000 objects repeating their keys; the browser reads it with one
``JSON.parse`` and indexes arrays. Labels (the sentence for an event, the
arrow text of a message) are rendered here from the declared templates
(:func:`paxossim.labels.render`), so the page needs no copy of them.

Read in one streaming pass over the log (:func:`paxossim.log.files.iter_events`);
what is kept grows with the run, as the page it feeds must hold every event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from paxossim import protocols
from paxossim.labels import render
from paxossim.log.files import LogHead, iter_events
from paxossim.plots.sequence import message_text, type_colors
from paxossim.sim.events import RUNTIME_EVENTS
from paxossim.view.states import StateTrack

FAULTS = frozenset({"crash", "recover", "partition", "heal", "healed", "request_lost"})
"""Kinds the "next fault" button stops at (a dropped message is a fate, shown on its arrow)."""


class _Strings:
    """Distinct strings, each stored once; columns hold their positions."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.items)
            self.items.append(text)
        return index


def _fields(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class _Builder:
    """Fills the columns from the events, one at a time."""

    def __init__(self, header: dict[str, Any]) -> None:
        scenario = header["scenario"]
        self.protocol = protocols.get(scenario["protocol"])
        self.fmt = str(scenario.get("ballot_format", "number"))
        self.kinds_declared = RUNTIME_EVENTS | self.protocol.event_kinds()
        self.text = _Strings()
        self.nodes: dict[str, int] = {name: i for i, name in enumerate(scenario["nodes"])}
        self.kinds: dict[str, int] = {}
        self.types: dict[str, int] = {m.TYPE: i for i, m in enumerate(self.protocol.messages)}
        self.sent: dict[int, tuple[str, str, str, Any]] = {}
        """Each message's (src, dst, type, fields), for the duplicates of it."""
        self.ev: dict[str, list[Any]] = {"t": [], "k": [], "n": [], "m": [], "l": []}
        self.msg: dict[str, list[Any]] = {key: [] for key in (
            "id", "src", "dst", "type", "ts", "es", "te", "ee", "fate", "why", "of", "label",
            "fields")}
        self.by_id: dict[int, int] = {}
        self.down: list[list[Any]] = []
        self.down_since: dict[str, float] = {}
        self.parts: list[list[Any]] = []
        self.parts_open: dict[Any, tuple[float, str]] = {}

    def node(self, name: str | None) -> int:
        if name is None:
            return -1
        index = self.nodes.get(name)
        if index is None:
            index = self.nodes[name] = len(self.nodes)
        return index

    def kind(self, name: str) -> int:
        index = self.kinds.get(name)
        if index is None:
            index = self.kinds[name] = len(self.kinds)
        return index

    def message(self, mid: int, src: str, dst: str, kind: str, fields: Any, t: float,
                position: int, of: int) -> int:
        msg = self.msg
        index = len(msg["id"])
        self.by_id[mid] = index
        self.sent[mid] = (src, dst, kind, fields)
        if kind not in self.types:
            self.types[kind] = len(self.types)
        for key, value in (("id", mid), ("src", self.node(src)), ("dst", self.node(dst)),
                           ("type", self.types[kind]), ("ts", t), ("es", position),
                           ("te", None), ("ee", -1), ("fate", 2), ("why", -1), ("of", of),
                           ("label", self.text(message_text(self.protocol, kind, fields,
                                                            self.fmt))),
                           ("fields", self.text(_fields(fields)))):
            msg[key].append(value)
        return index

    def label(self, event: dict[str, Any]) -> str:
        declared = self.kinds_declared.get(event["ev"])
        if declared is None:
            return event["ev"]
        return render(declared.label, declared.details, event, self.fmt)

    def feed(self, position: int, event: dict[str, Any]) -> None:
        kind, t = event["ev"], event["t"]
        m = -1
        msg = self.msg
        if kind == "send":
            m = self.message(event["m"], event["src"], event["dst"], event["type"],
                             event["msg"], t, position, -1)
            node = msg["src"][m]
        elif kind == "duplicate":
            m = self.message(event["m"], *self.sent[event["of"]], t, position,
                             self.by_id[event["of"]])
            node = msg["src"][m]
        elif kind in ("deliver", "drop"):
            m = self.by_id[event["m"]]
            msg["te"][m], msg["ee"][m] = t, position
            msg["fate"][m] = 0 if kind == "deliver" else 1
            if kind == "drop":
                msg["why"][m] = self.text(event["why"])
            node = msg["dst"][m] if kind == "deliver" or event["why"] == "crashed" \
                else msg["src"][m]
        else:
            node = self.node(event.get("node"))
            self.windows(kind, event)
        ev = self.ev
        ev["t"].append(t)
        ev["k"].append(self.kind(kind))
        ev["n"].append(node)
        ev["m"].append(m)
        ev["l"].append(-1 if m >= 0 else self.text(self.label(event)))

    def windows(self, kind: str, event: dict[str, Any]) -> None:
        """Crash and partition windows, opened and closed as their events pass."""
        t = event["t"]
        if kind == "crash":
            self.down_since.setdefault(event["node"], t)
        elif kind == "recover" and event["node"] in self.down_since:
            self.down.append([self.node(event["node"]), self.down_since.pop(event["node"]), t])
        elif kind == "partition":
            groups = " | ".join(",".join(group) for group in event["groups"])
            self.parts_open[_fields(event["index"])] = (t, groups)
        elif kind == "heal":
            opened = self.parts_open.pop(_fields(event["index"]), None)
            if opened is not None:
                self.parts.append([opened[0], t, self.text(opened[1])])

    def close(self, end: float) -> None:
        for name, start in sorted(self.down_since.items()):
            self.down.append([self.node(name), start, end])
        for start, groups in self.parts_open.values():
            self.parts.append([start, end, self.text(groups)])
        self.down.sort()
        self.parts.sort()


def culprits(builder: _Builder, violations: list[dict[str, Any]]) -> list[int]:
    """The event each violation points at: the first vote or learn at its time (what
    the generic checks judge), else the first event at or after its time."""
    decision = builder.protocol.decision
    judged = {builder.kinds.get(f"{builder.protocol.name}.{name}")
              for name in (decision.vote, decision.learn) if name}
    times, kinds = builder.ev["t"], builder.ev["k"]
    found = []
    for violation in violations:
        at = float(violation["time"])
        first_after = next((i for i, t in enumerate(times) if t >= at), len(times) - 1)
        vote = next((i for i in range(first_after, len(times))
                     if times[i] == at and kinds[i] in judged), None)
        found.append(first_after if vote is None else vote)
    return found


def violation_entry(violation: dict[str, Any], event: int) -> dict[str, Any]:
    """A violation as the page lists it; an explained one jumps to its culprit event
    (the rule an honest node broke) and says why, an unexplained one to ``event``."""
    entry = {"invariant": violation["invariant"], "time": violation["time"],
             "detail": violation["detail"], "event": event}
    explanation = violation.get("explanation")
    if explanation and explanation.get("culprit"):
        entry |= {"event": explanation["culprit"]["pos"], "why": explanation["sentence"],
                  "rule": explanation["rule"], "chain": explanation["chain"]}
    return entry


def view_data(head: LogHead, states: StateTrack) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-ready data (see the module doc)."""
    header = head.header
    scenario = header["scenario"]
    builder = _Builder(header)
    for position, event in enumerate(iter_events(Path(head.path))):
        builder.feed(position, event)
    times = builder.ev["t"]
    end = times[-1] if times else 0.0
    builder.close(max(end, float(scenario.get("horizon", end))))
    summary = head.footer.get("summary", {})
    violations = summary.get("safety", {}).get("violations", [])
    colors = type_colors(builder.protocol)
    return {
        "title": f"{scenario['name']} (protocol {scenario['protocol']}, variant "
                 f"{scenario.get('variant', 'correct')}, seed {header['seed']})",
        "unit": scenario.get("time_unit", "ms"),
        "end": end,
        "nodes": list(builder.nodes),
        "kinds": list(builder.kinds),
        "faults": sorted(builder.kinds[name] for name in FAULTS if name in builder.kinds),
        "types": list(builder.types),
        "colors": [colors.get(name, "#555555") for name in builder.types],
        "text": builder.text.items,
        "ev": builder.ev,
        "msg": builder.msg,
        "down": builder.down,
        "partitions": builder.parts,
        "violations": [violation_entry(v, event)
                       for v, event in zip(violations, culprits(builder, violations),
                                           strict=True)],
        "states": {"problem": states.problem, "text": states.texts,
                   "changes": {name: [list(change) for change in changes]
                               for name, changes in states.changes.items()}},
    }
