"""paxossim: a deterministic discrete-event simulator of Paxos and its friends."""

__version__ = "0.1.0"
