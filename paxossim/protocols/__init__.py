"""The registry of protocol families, by the name a scenario's ``protocol`` key uses."""

from __future__ import annotations

from importlib import import_module

from paxossim.protocols.base import ProtocolFamily

# name -> "module:class"; imported on first use so that loading one protocol
# never pays for the others.
_FAMILIES: dict[str, str] = {
    "paxos": "paxossim.protocols.paxos:PaxosFamily",
    "multipaxos": "paxossim.protocols.multipaxos:MultiPaxosFamily",
    "p2p": "paxossim.protocols.p2p:P2PFamily",
}


def names() -> tuple[str, ...]:
    return tuple(_FAMILIES)


def get(name: str) -> ProtocolFamily:
    module_name, _, class_name = _FAMILIES[name].partition(":")
    return getattr(import_module(module_name), class_name)()
