"""The runtime's own event kinds, declared like a protocol's (see ``protocols.contract``).

Runtime events have bare names (``send``, ``crash``); protocol events are
``"<protocol>.<kind>"``, so the two can never collide. Every event line has
``t`` and ``ev``, most have ``node``, and all but the first of a chain have
``cause``: the position (from 0) among the event lines of the event that
caused it: the delivery or timer whose handler ran, the ``send`` of a
delivered, dropped or duplicated message, or the input that a crash,
recovery, partition or request came from. Walking ``cause`` back from any
event gives the chain that led to it.
"""

from __future__ import annotations

from paxossim.protocols.contract import EventKind

RUNTIME_EVENTS: dict[str, EventKind] = {kind.name: kind for kind in (
    EventKind("send", ("m", "src", "dst", "type", "msg"), "{src} sends {type} to {dst}",
              told=False),
    EventKind("deliver", ("m",), "message {m} delivered", told=False),
    EventKind("drop", ("m", "why"), "message {m} dropped ({why})", told=False),
    EventKind("duplicate", ("m", "of"), "message {m} is a duplicate of {of}", told=False),
    EventKind("timer", ("name",), "{node}'s timer {name} fires", told=False),
    EventKind("timer_set", ("name", "delay"), "{node} sets timer {name} for {delay}",
              told=False),
    EventKind("timer_cancel", ("name",), "{node} cancels timer {name}", told=False),
    EventKind("store", ("key",), "{node} writes {key} to durable storage", told=False),
    EventKind("crash", ("origin",), "{node} crashes", mark="crashes", mark_style="fault"),
    EventKind("recover", ("amnesia", "origin"), "{node} recovers",
              details=(("amnesia", " with its durable state wiped"),), mark="recovers",
              mark_style="fault"),
    EventKind("partition", ("index", "groups", "oneway", "origin"),
              "network partitioned: {groups:groups}"),
    EventKind("heal", ("index", "groups", "oneway", "origin"), "network healed: {groups:groups}"),
    EventKind("healed", (), "faults end: partitions heal, crashed nodes restart (the healed "
              "phase)"),
    EventKind("request", ("value", "extra"), "a client asks {node} for {value:value}"),
    EventKind("request_lost", ("value",),
              "{node} is down: the client's request for {value:value} is lost"),
    EventKind("client_retry", ("value",), "a client re-sends its request to {node}"),
    EventKind("stopped", ("limit", "value"),
              "the run is stopped: its {limit} limit ({value}) is reached"),
)}
