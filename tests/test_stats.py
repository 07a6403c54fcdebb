"""Statistics: Wilson and bootstrap intervals, and per-point aggregates by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paxossim.analysis.stats import aggregate_table, bootstrap_intervals, wilson_interval
from paxossim.rng import generator


def test_wilson_matches_a_hand_computation() -> None:
    # 8 of 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416, half-width
    # 1.96 * sqrt(0.016 + 0.0096040) / 1.38416; the textbook gives [0.490, 0.943].
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4901624, abs=1e-6)
    assert high == pytest.approx(0.9433178, abs=1e-6)


def test_wilson_stays_within_zero_and_one_at_the_edges() -> None:
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0
    low, _ = wilson_interval(20, 20)
    assert 0.8 < low < 1.0
    assert all(math.isnan(b) for b in wilson_interval(0, 0))


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    data = np.random.default_rng(3).exponential(10.0, 200)
    first = bootstrap_intervals(data, generator(5, "bootstrap:0"), 500)
    again = bootstrap_intervals(data, generator(5, "bootstrap:0"), 500)
    other = bootstrap_intervals(data, generator(6, "bootstrap:0"), 500)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    estimates = [data.mean(), *np.quantile(data, [0.5, 0.95, 0.99])]
    for (low, high), estimate in zip(first, estimates, strict=True):
        assert low <= estimate <= high


def test_bootstrap_of_a_constant_is_that_constant_and_of_nothing_is_nan() -> None:
    assert np.all(bootstrap_intervals([4.0] * 7, generator(1, "b"), 100) == 4.0)
    assert np.all(np.isnan(bootstrap_intervals([], generator(1, "b"), 100)))


HEADER = ["point", "replicate", "loss", "seed", "error", "chosen", "decision_latency", "sent",
          "safe"]
ROWS = [
    # point 0: four decided runs, latencies 10, 20, 30, 40; 100 messages in all.
    ["0", "0", "0.0", "1", "", "true", "10.0", "20", "true"],
    ["0", "1", "0.0", "2", "", "true", "20.0", "25", "true"],
    ["0", "2", "0.0", "3", "", "true", "30.0", "25", "true"],
    ["0", "3", "0.0", "4", "", "true", "40.0", "30", "true"],
    # point 1: one decided of three that ran, one that raised, one unsafe run.
    ["1", "0", "0.5", "5", "", "true", "50.0", "60", "false"],
    ["1", "1", "0.5", "6", "", "false", "", "70", "true"],
    ["1", "2", "0.5", "7", "", "false", "", "70", "true"],
    ["1", "3", "0.5", "8", "RuntimeError: x", "", "", "", ""],
]
MANIFEST = {"axes": [{"name": "loss", "values": [0.0, 0.5]}], "seed": 3, "bootstrap": 200}


def test_aggregates_match_a_hand_computation() -> None:
    header, rows = aggregate_table(MANIFEST, HEADER, ROWS)
    table = [dict(zip(header, row, strict=True)) for row in rows]
    first, second = table
    assert (first["loss"], first["runs"], first["errors"], first["decided"]) == (
        "0.0", "4", "0", "4")
    assert float(first["decision_rate"]) == 1.0
    assert float(first["latency_mean"]) == 25.0
    assert float(first["latency_p50"]) == 25.0
    # numpy's linear quantile: position 3 * 0.95 = 2.85 -> 30 + 0.85 * 10.
    assert float(first["latency_p95"]) == pytest.approx(38.5)
    assert float(first["latency_p99"]) == pytest.approx(39.7)
    assert float(first["messages_per_decision"]) == 25.0
    assert first["safety_violations"] == "0"
    assert float(first["latency_mean_lo"]) <= 25.0 <= float(first["latency_mean_hi"])

    assert (second["runs"], second["errors"], second["decided"]) == ("4", "1", "1")
    assert float(second["decision_rate"]) == pytest.approx(1 / 3)
    low, high = wilson_interval(1, 3)
    assert float(second["decision_rate_lo"]) == low
    assert float(second["decision_rate_hi"]) == high
    assert float(second["latency_p99"]) == 50.0
    assert float(second["messages_per_decision"]) == 200.0
    assert second["safety_violations"] == "1"


def test_a_point_with_no_decision_has_empty_latency_cells() -> None:
    rows = [["0", "0", "0.5", "1", "", "false", "", "9", "true"]]
    header, out = aggregate_table(MANIFEST, HEADER, rows)
    row = dict(zip(header, out[0], strict=True))
    assert row["decision_rate"] == "0.0"
    assert row["latency_p50"] == row["latency_p50_lo"] == row["messages_per_decision"] == ""
