"""A run in ShiViz's log format: each node event with a vector clock.

ShiViz (and the GoVector family of loggers) reads a text log plus a regular
expression with named groups ``host``, ``clock`` and ``event``. The file
starts with that expression on its first line and an empty line (the
separator between executions: there is one), then one line per event::

    Acceptor {"Acceptor":2,"Proposer1":1} t=10 ms: receives prepare 5:31PM from Proposer1 (m1)

The clock is computed from the log's causality: each event a node takes part
in ticks its own entry by one; a delivery also takes, entry by entry, the
maximum with the clock its message was sent with (a duplicate carries its
original's clock). So a receive's clock dominates its send's, and each node's
own entry counts its events 1, 2, 3, ... as ShiViz requires. Plumbing events
(``store``, ``timer_set``, ``timer_cancel``) and events of no node (drops,
partitions) are left out; a message's fate shows in the receive or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from paxossim import protocols
from paxossim.labels import render
from paxossim.log.files import LogHead
from paxossim.plots.sequence import message_text
from paxossim.sim.events import RUNTIME_EVENTS

REGEX = r"(?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)"
LEFT_OUT = frozenset({"store", "timer_set", "timer_cancel", "drop", "duplicate", "partition",
                      "heal", "healed"})


def lines(head: LogHead, events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """The ShiViz file's lines (each ending in a newline)."""
    scenario = head.header["scenario"]
    protocol = protocols.get(scenario["protocol"])
    fmt = str(scenario.get("ballot_format", "number"))
    unit = scenario.get("time_unit", "ms")
    declared = RUNTIME_EVENTS | protocol.event_kinds()
    clocks: dict[str, dict[str, int]] = {}
    in_flight: dict[int, tuple[str, str, str, dict[str, int]]] = {}
    """Message id -> (sender, receiver, label, the sender's clock at the send)."""
    yield REGEX.encode() + b"\n\n"
    for event in events:
        kind, t = event["ev"], event["t"]
        if kind == "duplicate":
            in_flight[event["m"]] = in_flight[event["of"]]
            continue
        if kind == "drop":
            in_flight.pop(event["m"], None)
            continue
        if kind in LEFT_OUT:
            continue
        if kind == "send":
            host = event["src"]
            text = message_text(protocol, event["type"], event["msg"], fmt)
            what = f"sends {text} to {event['dst']} (m{event['m']})"
        elif kind == "deliver":
            src, host, text, sent = in_flight.pop(event["m"])
            clock = clocks.setdefault(host, {})
            for node, count in sent.items():
                if clock.get(node, 0) < count:
                    clock[node] = count
            what = f"receives {text} from {src} (m{event['m']})"
        elif "node" in event:
            host = event["node"]
            kind_declared = declared.get(kind)
            what = kind if kind_declared is None else render(
                kind_declared.label, kind_declared.details, event, fmt)
        else:
            continue
        clock = clocks.setdefault(host, {})
        clock[host] = clock.get(host, 0) + 1
        if kind == "send":
            in_flight[event["m"]] = (host, event["dst"], text, dict(clock))
        line = f"{host} {orjson.dumps(clock, option=orjson.OPT_SORT_KEYS).decode()} " \
               f"t={t:g} {unit}: {what}"
        yield line.replace("\n", " ").encode() + b"\n"
