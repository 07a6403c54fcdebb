"""The named streams: Python's PCG64 draws equal numpy's, and streams stay apart."""

from __future__ import annotations

import numpy as np
import pytest

from paxossim.rng import BatchedDraws, Stream, Streams, generator


@pytest.mark.parametrize("name", ["loss:A1->P1", "node:r1#2", "faults:partition", ""])
def test_a_stream_draws_what_numpy_pcg64_draws(name: str) -> None:
    """Bit for bit, over many seeds (a draw whose rotation is 0, 1 in 64, included)."""
    for seed in range(60):
        stream = Stream(seed, name)
        assert [stream.random() for _ in range(130)] == generator(seed, name).random(130).tolist()


def test_uniform_scales_the_same_draws() -> None:
    plain, scaled = Stream(4, "s"), Stream(4, "s")
    for _ in range(50):
        assert scaled.uniform(2.0, 5.0) == 2.0 + 3.0 * plain.random()


def test_streams_of_other_names_or_seeds_differ() -> None:
    draws = {(seed, name): [Streams(seed).stream(name).random() for _ in range(3)]
             for seed in (1, 2) for name in ("loss:a->b", "loss:b->a")}
    assert len({tuple(values) for values in draws.values()}) == 4


def test_batched_draws_keep_numpy_order_across_growing_batches() -> None:
    draws = BatchedDraws(generator(9, "latency:a->b"), lambda g, n: g.exponential(2.0, n))
    expected = generator(9, "latency:a->b")
    wanted = np.concatenate([expected.exponential(2.0, n) for n in (8, 16, 32, 64)]).tolist()
    assert [draws.next() for _ in range(120)] == wanted
