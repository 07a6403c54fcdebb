"""Where a run's events go as they happen: encoded once, hashed, kept or written,
and handed to the readers (checks, summary figures) that asked for their kind.

Nothing here holds the events: a line is appended to a buffer or a file and
forgotten. A reader sees an event decoded from its line, exactly as it would
read it back from the log file, so a check computed during the run and one
computed from the file agree by construction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Protocol

import orjson

_loads = orjson.loads


class Sink(Protocol):
    """Where encoded lines go: a file, a buffer, or a comparison with a logged run."""

    def write(self, block: bytes, /) -> object: ...


class Reader(Protocol):
    """A consumer of events: ``kinds`` it wants (full names), and ``feed``."""

    kinds: frozenset[str]

    def feed(self, event: dict[str, Any]) -> None: ...


class EventStream:
    """Hashes, writes and dispatches event lines; counts every kind."""

    def __init__(self, out: Sink | None, readers: Iterable[Reader] = ()) -> None:
        self.out = out
        self.readers = list(readers)
        self.sha = hashlib.sha256()
        self.counts: dict[str, int] = {}
        self.size = 0
        """Event lines so far: the position of the next one (its id for ``cause``)."""
        self._routes: dict[str, tuple[Reader, ...]] = {}

    def add(self, reader: Reader) -> None:
        self.readers.append(reader)
        self._routes.clear()

    def write(self, kind: str, line: bytes) -> int:
        """Take one encoded event of ``kind``; return its position."""
        block = line + b"\n"
        self.sha.update(block)
        if self.out is not None:
            self.out.write(block)
        counts = self.counts
        counts[kind] = counts.get(kind, 0) + 1
        routes = self._routes.get(kind)
        if routes is None:
            routes = self._routes[kind] = tuple(r for r in self.readers if kind in r.kinds)
        if routes:
            event = _loads(line)
            for reader in routes:
                reader.feed(event)
        position = self.size
        self.size = position + 1
        return position

    def digest(self) -> str:
        """sha256 of the event lines so far, each followed by a newline."""
        return self.sha.hexdigest()
