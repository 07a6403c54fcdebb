"""What a node snapshot costs: a Multi-Paxos leader replica with an N-slot log.

Run by hand (not part of the test suite):

    .venv/bin/python benchmarks/bench_snapshot.py              # 1,000 slots
    .venv/bin/python benchmarks/bench_snapshot.py --slots 10000

The replica is driven by hand (the tests' FakeContext): elected, then N
client puts over 3 keys, each accepted by a majority, so its storage holds N
accepted, decided and applied slots with N command results, and its volatile
state a window of proposals in flight. Prints the median wall time of
``snapshot`` (and of its two halves: the canonical encoding and the pickle
image), ``restore`` and ``digest``, and the sizes of key and image.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes import FakeContext

from paxossim.protocols.multipaxos import (
    Accepted,
    Cluster,
    MultiPaxosOptions,
    ProbeReply,
    Promise,
    Replica,
)
from paxossim.protocols.replicated import Submit
from paxossim.sim.snapshot import _Encoder, _Pickler, restore, snapshot

REPLICAS = ("r1", "r2", "r3", "r4", "r5")


def leader_with_log(slots: int) -> tuple[Replica, FakeContext]:
    ctx = FakeContext("r1")
    node = Replica(ctx, Cluster(REPLICAS, "correct", MultiPaxosOptions()))
    node.on_start()
    node.on_timer("election")
    node.on_message("r2", ProbeReply(True))
    node.on_message("r3", ProbeReply(True))
    ballot = (1, "r1")
    deliver_own(node, ctx)  # its own prepare: it promises to itself
    for replica in ("r2", "r3"):
        node.on_message(replica, Promise(ballot, (), ()))
    pending = 0
    for n in range(1, slots + 1 + 4):
        node.on_message("c1", Submit(f"c1#{n}|put|k{n % 3}|c1#{n}"))
        ctx.now += 1.0
        if n > 4:  # keep 4 slots in flight, like a busy pipeline
            for replica in ("r2", "r3"):
                node.on_message(replica, Accepted(ballot, pending, pending))
            pending += 1
        deliver_own(node, ctx)
    assert len(ctx.storage["decided"]) == slots, len(ctx.storage["decided"])
    return node, ctx


def deliver_own(node: Replica, ctx: FakeContext) -> None:
    """Deliver what the replica sent itself (as the network would), drop the rest."""
    while sent := ctx.take():
        for dst, msg in sent:
            if dst == "r1":
                node.on_message("r1", msg)


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=51)
    args = parser.parse_args()
    node, ctx = leader_with_log(args.slots)
    snap = snapshot(ctx, node)

    def encode() -> object:
        encoder = _Encoder(ctx, ctx.rng)
        return encoder.storage(ctx.storage), encoder.encode(node)

    def image() -> object:
        _Pickler(io.BytesIO(), ctx, ctx.rng).dump((node, dict(ctx.storage)))
        return None

    def restore_fresh() -> object:
        fresh = FakeContext("r1")
        fresh.now = ctx.now
        return restore(snap, fresh)

    rows = [
        ("snapshot (total)", median_ms(lambda: snapshot(ctx, node), args.repeat)),
        ("  canonical encoding (walk only)", median_ms(encode, args.repeat)),
        ("  pickle image", median_ms(image, args.repeat)),
        ("restore", median_ms(restore_fresh, args.repeat)),
        ("digest (sha256 of key)", median_ms(snap.digest, args.repeat)),
        ("hash + equality with a copy", median_ms(
            lambda: hash(snapshot(ctx, node)) == hash(snap), args.repeat)),
    ]
    print(f"Multi-Paxos leader replica, {args.slots} slots decided and applied "
          f"(key {len(snap.key) / 1024:.0f} KiB, image {len(snap.image) / 1024:.0f} KiB)")
    for label, ms in rows:
        print(f"{label:34s} {ms:8.2f} ms")


if __name__ == "__main__":
    main()
