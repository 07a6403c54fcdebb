"""Named deterministic random streams derived from one run seed.

Every purpose (a link's latency, a link's loss coin, a node's backoff) gets
its own PCG64 stream, seeded from a stable hash of the run seed and its name
rather than by creation order (see :class:`NamedSeed`). Adding a node or a fault therefore
never reshuffles the draws of unrelated streams, and nothing depends on
``hash()`` of a string (salted per process) or on the global random state.

Draws are taken in batches: one numpy call for 1024 numbers costs about as
much as a handful of single draws, and yields the same sequence. Batches
start small and double, because most streams of a short run (a link used a
few times) need only a few numbers, and filling 1024 would cost more than
the run itself.

A stream's position can be captured (:meth:`Stream.state`) and set back
(:meth:`Stream.set_state`) as a small tuple of ints, so that a node snapshot
(:mod:`paxossim.sim.snapshot`) resumes its draws exactly where they were.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISeedSequence

FIRST_BATCH = 8
MAX_BATCH = 1024

GeneratorState = tuple[int, int, int, int]
"""A PCG64 state as (state, inc, has_uint32, uinteger)."""

DrawsState = tuple[GeneratorState | None, int, int, int]
"""A :class:`BatchedDraws` position: (generator state before the current batch
was drawn, or None before the first batch; the batch's length; the index of
the next number in it; the next batch's length)."""

StreamState = tuple[DrawsState, GeneratorState]
"""A :class:`Stream` position: its batched draws and its generator's current state."""


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


def generator(seed: int, name: str) -> np.random.Generator:
    """The numpy Generator of stream ``name`` under run seed ``seed``."""
    return np.random.Generator(np.random.PCG64(NamedSeed(seed, name)))


def generator_state(gen: np.random.Generator) -> GeneratorState:
    """``gen``'s PCG64 state as plain ints (hashable, and JSON-able as strings)."""
    state = gen.bit_generator.state
    inner = state["state"]
    return (inner["state"], inner["inc"], state["has_uint32"], state["uinteger"])


def set_generator_state(gen: np.random.Generator, state: GeneratorState) -> None:
    value, inc, has_uint32, uinteger = state
    gen.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": value, "inc": inc},
        "has_uint32": has_uint32,
        "uinteger": uinteger,
    }


def _doubles(batch: np.ndarray) -> array:
    """A batch of float64 draws as an ``array('d')``, bit for bit."""
    numbers = array("d")
    numbers.frombytes(batch.astype(np.float64, copy=False).tobytes())
    return numbers


class BatchedDraws:
    """Hands out numbers one at a time from batches drawn by ``draw(gen, n)``.

    Why: a per-call numpy draw costs ~0.8 us, a batched one ~25 ns each. A
    batch is kept as an ``array('d')``, 8 bytes a number, not a list of float
    objects (32): a long run's few hundred link streams each hold a full batch.
    """

    __slots__ = ("_batch", "_buffer", "_draw", "_gen", "_index", "_origin")

    def __init__(
        self, gen: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]
    ) -> None:
        self._gen = gen
        self._draw = draw
        self._buffer = array("d")
        self._index = 0
        self._batch = FIRST_BATCH
        self._origin: GeneratorState | None = None
        """The generator's state before the current batch was drawn: with the
        batch's length it rebuilds the batch, so a captured state stays a few ints
        instead of up to MAX_BATCH floats. Read once per batch (~1 us), not per draw."""

    def next(self) -> float:
        index = self._index
        if index >= len(self._buffer):
            self._origin = generator_state(self._gen)
            self._buffer = _doubles(self._draw(self._gen, self._batch))
            self._batch = min(2 * self._batch, MAX_BATCH)
            index = 0
        self._index = index + 1
        return self._buffer[index]

    def state(self) -> DrawsState:
        return (self._origin, len(self._buffer), self._index, self._batch)

    def set_state(self, state: DrawsState) -> None:
        """Resume at ``state``; leaves the generator where the batch drawing left it
        (:meth:`Stream.set_state` then sets the generator's own current state)."""
        origin, length, index, batch = state
        self._origin = origin
        if origin is None:
            self._buffer = array("d")
        else:
            set_generator_state(self._gen, origin)
            self._buffer = _doubles(self._draw(self._gen, length))
        self._index = index
        self._batch = batch


class Stream:
    """A named stream offering uniform draws in [0, 1), batched."""

    __slots__ = ("_uniform", "generator", "name")

    def __init__(self, seed: int, name: str) -> None:
        self.name = name
        self.generator = generator(seed, name)
        self._uniform = BatchedDraws(self.generator, lambda g, n: g.random(n))

    def random(self) -> float:
        """A uniform float in [0, 1)."""
        return self._uniform.next()

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self._uniform.next()

    def state(self) -> StreamState:
        """This stream's position: where its next draw comes from. Equal positions
        of one stream give equal states; cheap (two reads of a PCG64 state)."""
        return (self._uniform.state(), generator_state(self.generator))

    def set_state(self, state: StreamState) -> None:
        """Continue from ``state`` (taken from this stream or any other: it
        overwrites the generator's state, so the stream's name no longer matters)."""
        draws, current = state
        self._uniform.set_state(draws)
        set_generator_state(self.generator, current)


class Streams:
    """The factory of all named streams of one run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def stream(self, name: str) -> Stream:
        return Stream(self.seed, name)

    def generator(self, name: str) -> np.random.Generator:
        return generator(self.seed, name)
