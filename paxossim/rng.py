"""Named deterministic random streams derived from one run seed.

Every purpose (a link's latency, a link's loss coin, a node's backoff) gets
its own PCG64 stream, seeded from a stable hash of the run seed and its name
rather than by creation order (see :class:`NamedSeed`). Adding a node or a fault therefore
never reshuffles the draws of unrelated streams, and nothing depends on
``hash()`` of a string (salted per process) or on the global random state.

A stream of uniform draws (:class:`Stream`: loss and duplication coins, a
node's backoff, fault times) is PCG64 computed in Python, bit for bit what
numpy's PCG64 gives for the same seed: a short run opens about seventy
streams that each draw a handful of numbers, and a numpy generator per
stream cost more to build (3.6 us, and eight objects for the cyclic
collector) than its draws. Its position is two ints, so a node snapshot
(:mod:`paxossim.sim.snapshot`) captures and restores it exactly.

Latencies come from numpy generators (exponential, normal, lognormal, pareto
and empirical draws), taken in batches: one numpy call for 1024 numbers
costs about as much as a handful of single draws, and yields the same
sequence. Batches start small and double, because most links of a short run
carry a few messages.
"""

from __future__ import annotations

import hashlib
import struct
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISeedSequence

FIRST_BATCH = 8
MAX_BATCH = 1024

StreamState = tuple[int, int]
"""A :class:`Stream` position: its PCG64 state and increment (128-bit ints)."""

_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1
_PCG_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
"""PCG64's 128-bit LCG multiplier (O'Neill's PCG paper; numpy's PCG64 uses it)."""
_DOUBLE_UNIT = 1.0 / (1 << 53)


class NamedSeed(ISeedSequence):
    """The seed material of stream ``name`` under run seed ``seed``: sha256 of both.

    Why not ``numpy.random.SeedSequence(seed, spawn_key=...)``: building a
    generator from it costs ~16 us here, from this ~3 us, and a short Paxos
    run opens ~80 streams (a latency and a loss stream per link), so stream
    setup alone cost more than the simulation. sha256 mixes as well as
    SeedSequence's hash for this purpose; the words are read little-endian, so
    every platform derives the same state.
    """

    __slots__ = ("_digest",)

    def __init__(self, seed: int, name: str) -> None:
        self._digest = hashlib.sha256(f"paxossim\x00{seed}\x00{name}".encode()).digest()

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        kind = np.dtype(dtype)
        words = np.frombuffer(self._digest, dtype=kind.newbyteorder("<"))
        if n_words > len(words):
            raise ValueError(f"a named seed holds at most {len(words)} words of {kind}")
        return words[:n_words].astype(kind)

    def words(self) -> tuple[int, ...]:
        """The four 64-bit words ``generate_state(4, np.uint64)`` gives, as ints."""
        return struct.unpack("<4Q", self._digest)


def generator(seed: int, name: str) -> np.random.Generator:
    """The numpy Generator of stream ``name`` under run seed ``seed``."""
    return np.random.Generator(np.random.PCG64(NamedSeed(seed, name)))


class BatchedDraws:
    """Hands out numbers one at a time from batches drawn by ``draw(gen, n)``.

    Why: a per-call numpy draw costs ~0.8 us, a batched one ~25 ns each. A
    batch is kept as an ``array('d')``, 8 bytes a number, not a list of float
    objects (32): a long run's few hundred links each hold a full batch.
    """

    __slots__ = ("_batch", "_buffer", "_draw", "_gen", "_index")

    def __init__(
        self, gen: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]
    ) -> None:
        self._gen = gen
        self._draw = draw
        self._buffer = array("d")
        self._index = 0
        self._batch = FIRST_BATCH

    def next(self) -> float:
        index = self._index
        if index >= len(self._buffer):
            batch = self._draw(self._gen, self._batch)
            self._buffer = array("d", batch.astype(np.float64, copy=False).tobytes())
            self._batch = min(2 * self._batch, MAX_BATCH)
            index = 0
        self._index = index + 1
        return self._buffer[index]


class Stream:
    """A named stream of uniform draws in [0, 1): numpy's ``PCG64`` and
    ``Generator.random``, computed in Python (see the module's docstring for why).

    The draws equal ``generator(seed, name).random(n)`` number for number; a test
    holds them to it.
    """

    __slots__ = ("_inc", "_state", "name")

    def __init__(self, seed: int, name: str) -> None:
        self.name = name
        # numpy's PCG64 seeding from four words w: initial state w0:w1, stream
        # (increment) w2:w3 made odd, mixed in by two steps of the LCG.
        words = NamedSeed(seed, name).words()
        inc = ((((words[2] << 64) | words[3]) << 1) | 1) & _MASK128
        state = (inc + ((words[0] << 64) | words[1])) & _MASK128
        self._inc = inc
        self._state = (state * _PCG_MULTIPLIER + inc) & _MASK128

    def random(self) -> float:
        """A uniform float in [0, 1): the top 53 bits of PCG64's next XSL-RR output."""
        state = (self._state * _PCG_MULTIPLIER + self._inc) & _MASK128
        self._state = state
        word = ((state >> 64) ^ state) & _MASK64
        turn = state >> 122
        return ((((word >> turn) | (word << (64 - turn))) & _MASK64) >> 11) * _DOUBLE_UNIT

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def state(self) -> StreamState:
        """This stream's position: where its next draw comes from."""
        return (self._state, self._inc)

    def set_state(self, state: StreamState) -> None:
        """Continue from ``state`` (taken from this stream or any other: the
        stream's name no longer matters)."""
        self._state, self._inc = state


class Streams:
    """The factory of all named streams of one run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def stream(self, name: str) -> Stream:
        return Stream(self.seed, name)

    def generator(self, name: str) -> np.random.Generator:
        return generator(self.seed, name)
