"""The registry of protocols, by the name a scenario's ``protocol`` key uses.

Built-in protocols are listed here; a third-party package adds its own
through the ``paxossim.protocols`` entry-point group, e.g. in its
``pyproject.toml``::

    [project.entry-points."paxossim.protocols"]
    echo = "my_package.echo:EchoProtocol"

Protocols are imported on first use, so that loading one never pays for the
others, and built once per process (they hold no per-run state).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from paxossim.protocols.contract import Protocol

ENTRY_POINT_GROUP = "paxossim.protocols"

_BUILT_IN: dict[str, str] = {
    "paxos": "paxossim.protocols.paxos:PaxosProtocol",
    "multipaxos": "paxossim.protocols.multipaxos:MultiPaxosProtocol",
    "p2p": "paxossim.protocols.p2p:P2PProtocol",
    "leader_write": "paxossim.protocols.leader_write:LeaderWriteProtocol",
    "pbft": "paxossim.protocols.pbft:PBFTProtocol",
    "raft": "paxossim.protocols.raft:RaftProtocol",
}


@cache
def _paths() -> dict[str, str]:
    """Name -> "module:class"; a built-in name cannot be taken over by a plug-in."""
    found = {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}
    return found | _BUILT_IN


def names() -> tuple[str, ...]:
    return tuple(_paths())


@cache
def get(name: str) -> Protocol:
    module_name, _, class_name = _paths()[name].partition(":")
    protocol = getattr(import_module(module_name), class_name)()
    assert isinstance(protocol, Protocol), f"{name}: {type(protocol).__name__} is not a Protocol"
    assert protocol.name == name, f"protocol registered as {name!r} calls itself {protocol.name!r}"
    assert "correct" in protocol.variants, f"protocol {name!r} has no 'correct' variant"
    return protocol
