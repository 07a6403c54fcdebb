"""Compact stores for what long-lived checks must keep for the whole run.

Why: a check that holds a Python object per command (a string in a set, a
record per slot) costs a hundred bytes or more each and gives the garbage
collector more to walk; over an hour of a busy cluster that is most of what
a run holds. These keep the same facts as flat arrays of bytes and numbers.
"""

from __future__ import annotations

import zlib
from array import array
from typing import Any


class StringTable:
    """A growing set of strings, each with an index: ``add``, ``in``, ``index``, ``[i]``.

    The strings live as UTF-8 in one buffer; an open-addressing table of
    indexes (crc32, linear probing, at most half full) finds them. About 40
    bytes per string of 20 characters, against about 110 for a ``set`` entry.
    """

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array("q")
        """Where each string ends in ``data`` (it starts where the previous ends)."""
        self.slots = array("i", bytes(4 * 16))
        """Index + 1 of the string in each slot (0: empty)."""

    def __len__(self) -> int:
        return len(self.ends)

    def __contains__(self, text: object) -> bool:
        return type(text) is str and self.index(text) is not None

    def __getitem__(self, index: int) -> str:
        start = self.ends[index - 1] if index else 0
        return self.data[start:self.ends[index]].decode()

    def _find(self, raw: bytes) -> tuple[int, int]:
        """(slot, index) of ``raw``: index -1 and the free slot where it would go."""
        slots, ends, data = self.slots, self.ends, self.data
        mask = len(slots) - 1
        slot = zlib.crc32(raw) & mask
        while True:
            held = slots[slot]
            if not held:
                return slot, -1
            index = held - 1
            start = ends[index - 1] if index else 0
            if data[start:ends[index]] == raw:
                return slot, index
            slot = (slot + 1) & mask

    def index(self, text: str) -> int | None:
        found = self._find(text.encode())[1]
        return None if found < 0 else found

    def add(self, text: str) -> int:
        """The string's index, adding it if it is new."""
        raw = text.encode()
        slot, index = self._find(raw)
        if index >= 0:
            return index
        self.data += raw
        self.ends.append(len(self.data))
        self.slots[slot] = len(self.ends)
        if 2 * len(self.ends) > len(self.slots):
            self._grow()
        return len(self.ends) - 1

    def _grow(self) -> None:
        self.slots = array("i", bytes(8 * len(self.slots)))
        mask = len(self.slots) - 1
        start = 0
        for index, end in enumerate(self.ends):
            slot = zlib.crc32(self.data[start:end]) & mask
            while self.slots[slot]:
                slot = (slot + 1) & mask
            self.slots[slot] = index + 1
            start = end


class ValueSet:
    """A set of JSON values (what a log's fields hold): strings in a
    :class:`StringTable`, anything else (rare: numbers, null) in a ``set``."""

    def __init__(self) -> None:
        self.strings = StringTable()
        self.others: set[Any] = set()

    def add(self, value: Any) -> None:
        if type(value) is str:
            self.strings.add(value)
        else:
            self.others.add(value)

    def __contains__(self, value: Any) -> bool:
        if type(value) is str:
            return value in self.strings
        return value in self.others
