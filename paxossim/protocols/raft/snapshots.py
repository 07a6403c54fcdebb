"""A Raft server's applied state as a snapshot, and back (thesis chapter 5).

Why a module of its own: the snapshot travels in a message, which must be
plain, hashable data (a tuple), while the state machine lives in mutable dicts
of the server's durable storage; these two functions are the only places that
know both shapes.
"""

from __future__ import annotations

from paxossim.protocols.raft.messages import State
from paxossim.protocols.replicated import KVStore


def state_of(kv: KVStore) -> State:
    """The state machine as it is now, in a canonical order."""
    return (tuple(sorted(kv.data.items())), tuple(sorted(kv.results.items())),
            tuple((client, entry[0], tuple(sorted(entry[1].items())))
                  for client, entry in sorted(kv.sessions.items())))


def restore(kv: KVStore, state: State) -> None:
    """Replace the state machine's contents with ``state`` (in place: the dicts are
    the durable storage's)."""
    data, results, sessions = state
    kv.data.clear()
    kv.data.update(data)
    kv.results.clear()
    kv.results.update(results)
    kv.sessions.clear()
    kv.sessions.update({client: [high, dict(seqs)] for client, high, seqs in sessions})
