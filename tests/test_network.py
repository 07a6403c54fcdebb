"""The network's per-link decisions: ordering, loss, duplication, partitions."""

from __future__ import annotations

import itertools
import math

import orjson
import pytest
from helpers_faults import scenario

from paxossim.rng import Streams
from paxossim.runs import execute
from paxossim.sim.network import Network

SENDS = 20_000


def network(**link: object) -> Network:
    spec = scenario(**{f"network__{key}": value for key, value in link.items()}).network
    return Network(spec, Streams(5))


def deliveries(net: Network, count: int = SENDS) -> list[list[float]]:
    """Send ``count`` messages one time unit apart on P1->A1; their copies' delivery times."""
    out = []
    for index in range(count):
        reason, times = net.fate("P1", "A1", "prepare", float(index))
        out.append([] if reason else times)
    return out


WILD = {"model": "exponential", "mean": 30.0, "min": 0.0}


def test_fifo_link_never_reorders() -> None:
    times = [t for copies in deliveries(network(latency=WILD, ordering="fifo",
                                                duplicate=0.2)) for t in copies]
    assert times == sorted(times)


def test_free_link_reorders() -> None:
    times = [copies[0] for copies in deliveries(network(latency=WILD, ordering="free"))]
    overtaken = sum(later < earlier for earlier, later in itertools.pairwise(times))
    assert overtaken > SENDS // 10


def test_fifo_holds_in_a_whole_run() -> None:
    """On each link, deliveries come in the order of sending (copies at their original's)."""
    result = execute(scenario(network__ordering="fifo", network__duplicate=0.3,
                               network__latency=WILD), seed=3)
    events = [orjson.loads(line) for line in result.lines]
    sent = {e["m"]: e for e in events if e["ev"] == "send"}
    for event in events:
        if event["ev"] == "duplicate":
            sent[event["m"]] = sent[event["of"]]
    by_link: dict[tuple[str, str], list[float]] = {}
    for event in events:
        if event["ev"] == "deliver":
            origin = sent[event["m"]]
            by_link.setdefault((origin["src"], origin["dst"]), []).append(origin["t"])
    assert sum(len(times) for times in by_link.values()) > 20
    for link, times in by_link.items():
        assert times == sorted(times), link


@pytest.mark.parametrize("probability", [0.05, 0.3])
def test_loss_rate_matches_probability(probability: float) -> None:
    lost = sum(not copies for copies in deliveries(network(loss=probability)))
    std = math.sqrt(probability * (1 - probability) / SENDS)
    assert abs(lost / SENDS - probability) <= 6 * std


@pytest.mark.parametrize("probability", [0.05, 0.3])
def test_duplication_rate_matches_probability(probability: float) -> None:
    copies = deliveries(network(duplicate=probability, latency=WILD))
    duplicated = sum(len(c) == 2 for c in copies)
    std = math.sqrt(probability * (1 - probability) / SENDS)
    assert abs(duplicated / SENDS - probability) <= 6 * std
    # The copy travels with its own latency.
    assert sum(c[0] != c[1] for c in copies if len(c) == 2) > duplicated * 0.9


def test_loss_on_one_link_leaves_other_links_draws_alone() -> None:
    plain = Network(scenario().network, Streams(5))
    lossy = Network(scenario(**{"network__links__P2->A2__loss": 0.5}).network, Streams(5))
    for index in range(100):
        lossy.fate("P2", "A2", "prepare", float(index))
    assert [plain.fate("P1", "A1", "prepare", 0.0) for _ in range(50)] == [
        lossy.fate("P1", "A1", "prepare", 0.0) for _ in range(50)
    ]


def test_one_way_partition_blocks_one_direction_only() -> None:
    spec = scenario(faults__partitions=[{"at": 0.0, "heal": 10.0, "oneway": True,
                                         "groups": [["P1"], ["A1", "A2", "A3"]]}])
    net = Network(spec.network, Streams(1))
    net.partitions.append(spec.faults.partitions[0])
    assert net.fate("P1", "A1", "prepare", 0.0)[0] == "partition"
    assert net.fate("A1", "P1", "promise", 0.0)[0] is None
    assert net.fate("P2", "A1", "prepare", 0.0)[0] is None
