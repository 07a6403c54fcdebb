"""A run as Chrome trace event JSON (the format ui.perfetto.dev and chrome://tracing read).

One process, the run; one thread (track) per node, plus a ``network`` track for
partitions. Each send is a short slice on the sender's track and each arrival a
slice on the receiver's, joined by a flow event (``ph`` ``s`` and ``f`` with the
message's id), so the trace viewer draws the message as an arrow. A message
that never arrives ends its flow where it ended: a ``dropped`` slice (lost on the
way: on the sender's track; sent to a crashed node: on the receiver's), or an
``in flight`` slice at the end of the run, so every flow that starts also ends.
Faults are slices with a duration: each crash window on its node's track, each
partition on the network track. Protocol events, requests, timer firings,
crashes and recoveries are instant events with the event's fields as ``args``.
Plumbing (``store``, ``timer_set``, ``timer_cancel``) is left out.

Trace times are microseconds: the run's time unit is converted (``ms``, ``s``,
``us``, ``ns``; any other unit is taken as milliseconds, and the trace says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from paxossim.log.files import LogHead

MICROSECONDS = {"ns": 0.001, "us": 1.0, "ms": 1000.0, "s": 1_000_000.0}
TICK = 1.0
"""The duration (microseconds) of a send or arrival slice: instantaneous in the
simulation, but a flow must bind to a slice."""
LEFT_OUT = frozenset({"store", "timer_set", "timer_cancel", "duplicate", "deliver", "drop",
                      "send", "partition", "heal"})
"""Kinds that are not written as instants (plumbing, or drawn otherwise)."""
PID = 1


def _line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


class _Trace:
    def __init__(self, head: LogHead) -> None:
        scenario = head.header["scenario"]
        self.scale = MICROSECONDS.get(scenario.get("time_unit", "ms"), 1000.0)
        self.tids: dict[str, int] = {}
        self.out: list[dict[str, Any]] = []
        self.flows: dict[int, tuple[str, str, str]] = {}
        """Open flows: message id -> (sender, receiver, type)."""
        self.down: dict[str, float] = {}
        self.parts: dict[bytes, tuple[float, str]] = {}
        self.end = 0.0
        for name in scenario["nodes"]:
            self.tid(name)
        self.network = len(scenario["nodes"]) + 1000
        """The network track's tid: after the nodes, and after any other endpoint."""

    def tid(self, node: str) -> int:
        tid = self.tids.get(node)
        if tid is None:
            tid = self.tids[node] = len(self.tids) + 1
        return tid

    def ts(self, t: float) -> float:
        return t * self.scale

    def slice(self, tid: int, t: float, name: str, dur: float, args: dict[str, Any],
              cat: str) -> None:
        self.out.append({"ph": "X", "name": name, "cat": cat, "ts": self.ts(t), "dur": dur,
                         "pid": PID, "tid": tid, "args": args})

    def flow(self, phase: str, m: int, tid: int, t: float, kind: str) -> None:
        record = {"ph": phase, "id": m, "name": kind, "cat": "message", "ts": self.ts(t),
                  "pid": PID, "tid": tid}
        if phase == "f":
            record["bp"] = "e"  # bind to the slice enclosing the arrival
        self.out.append(record)

    def start_message(self, m: int, src: str, dst: str, kind: str, t: float,
                      args: dict[str, Any]) -> None:
        tid = self.tid(src)
        self.slice(tid, t, f"send {kind}", TICK, args, "message")
        self.flow("s", m, tid, t, kind)
        self.flows[m] = (src, dst, kind)

    def end_message(self, m: int, t: float, name: str, on_sender: bool,
                    args: dict[str, Any]) -> None:
        src, dst, kind = self.flows.pop(m)
        tid = self.tid(src if on_sender else dst)
        self.slice(tid, t, f"{name} {kind}", TICK, args | {"m": m}, "message")
        self.flow("f", m, tid, t, kind)

    def feed(self, event: dict[str, Any]) -> None:
        kind, t = event["ev"], event["t"]
        self.end = max(self.end, t)
        if kind == "send":
            self.start_message(event["m"], event["src"], event["dst"], event["type"], t,
                               {"m": event["m"], "to": event["dst"], "msg": event["msg"]})
        elif kind == "duplicate":
            # A copy is made as the original is sent, so the original's flow is open.
            src, dst, msg_kind = self.flows[event["of"]]
            self.start_message(event["m"], src, dst, msg_kind, t,
                               {"m": event["m"], "copy_of": event["of"]})
        elif kind == "deliver":
            self.end_message(event["m"], t, "receive", False, {})
        elif kind == "drop":
            self.end_message(event["m"], t, "dropped", event["why"] != "crashed",
                             {"why": event["why"]})
        else:
            self.fault(kind, event)
            if kind not in LEFT_OUT:
                args = {k: v for k, v in event.items() if k not in ("t", "ev", "node")}
                tid = self.tid(event["node"]) if "node" in event else self.network
                self.out.append({"ph": "i", "s": "t", "name": kind, "cat": "event",
                                 "ts": self.ts(t), "pid": PID, "tid": tid, "args": args})

    def fault(self, kind: str, event: dict[str, Any]) -> None:
        t = event["t"]
        if kind == "crash":
            self.down.setdefault(event["node"], t)
        elif kind == "recover" and event["node"] in self.down:
            self.down_slice(event["node"], self.down.pop(event["node"]), t)
        elif kind == "partition":
            groups = " | ".join(",".join(group) for group in event["groups"])
            self.parts[_line(event["index"])] = (t, groups)
        elif kind == "heal" and _line(event["index"]) in self.parts:
            start, groups = self.parts.pop(_line(event["index"]))
            self.slice(self.network, start, f"partition {groups}", self.ts(t) - self.ts(start),
                       {"oneway": event.get("oneway", False)}, "fault")

    def down_slice(self, node: str, start: float, end: float) -> None:
        self.slice(self.tid(node), start, "down", self.ts(end) - self.ts(start), {}, "fault")

    def close(self) -> None:
        """Close what the run left open: outages, partitions, messages in flight."""
        for node, start in sorted(self.down.items()):
            self.down_slice(node, start, self.end)
        for start, groups in sorted(self.parts.values()):
            self.slice(self.network, start, f"partition {groups}", self.ts(self.end) -
                       self.ts(start), {"open": True}, "fault")
        for m in sorted(self.flows):
            self.end_message(m, self.end, "in flight", False, {"in_flight": True})


def trace(head: LogHead, events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """The trace file's bytes, a chunk at a time."""
    scenario = head.header["scenario"]
    builder = _Trace(head)
    yield b'{"displayTimeUnit":"ms","traceEvents":[\n'
    separator = b""
    for event in events:
        builder.feed(event)
        if len(builder.out) > 4096:
            yield separator + _chunk(builder.out)
            separator = b",\n"
            builder.out.clear()
    builder.close()
    unit = scenario.get("time_unit", "ms")
    names = [{"ph": "M", "name": "process_name", "ts": 0, "pid": PID, "tid": 0,
              "args": {"name": f"{scenario['name']} seed {head.header['seed']}"
                       + ("" if unit in MICROSECONDS else f" (time unit {unit!r} taken as ms)")}}]
    for node, tid in [*builder.tids.items(), ("network", builder.network)]:
        names.append({"ph": "M", "name": "thread_name", "ts": 0, "pid": PID, "tid": tid,
                      "args": {"name": node}})
        names.append({"ph": "M", "name": "thread_sort_index", "ts": 0, "pid": PID, "tid": tid,
                      "args": {"sort_index": tid}})
    yield separator + _chunk(builder.out + names) + b"\n]}\n"


def _chunk(records: list[dict[str, Any]]) -> bytes:
    return b",\n".join(_line(record) for record in records)
