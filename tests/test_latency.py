"""Each latency model's samples match its parameters (many draws, sound tolerances)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from paxossim.errors import UserError
from paxossim.rng import generator
from paxossim.scenario.latency import parse_latency, sampler

DRAWS = 40_000


def draw(table: dict, seed: int = 1, base_dir: Path | None = None) -> np.ndarray:
    spec = parse_latency(table, "t.toml", "network.latency", base_dir)
    sample = sampler(spec, generator(seed, "latency:a->b"))
    return np.array([sample() for _ in range(DRAWS)])


def close(actual: float, expected: float, std: float) -> bool:
    """Within 6 standard errors of the mean: fails by chance about once in 10^9 runs."""
    return abs(actual - expected) <= 6 * std / math.sqrt(DRAWS)


def test_constant_is_constant() -> None:
    samples = draw({"model": "constant", "value": 7.5})
    assert set(samples.tolist()) == {7.5}


def test_uniform_mean_spread_and_bounds() -> None:
    samples = draw({"model": "uniform", "low": 4.0, "high": 10.0})
    std = 6.0 / math.sqrt(12)
    assert samples.min() >= 4.0 and samples.max() < 10.0
    assert close(samples.mean(), 7.0, std)
    assert samples.std() == pytest.approx(std, rel=0.03)


def test_normal_is_cut_at_zero_and_matches_its_mean() -> None:
    table = {"model": "normal", "mean": 10.0, "std": 3.0}
    samples = draw(table)
    assert samples.min() >= 0.0
    assert close(samples.mean(), 10.0, 3.0)
    assert samples.std() == pytest.approx(3.0, rel=0.03)
    cut = draw({"model": "normal", "mean": 1.0, "std": 3.0})
    assert cut.min() == 0.0
    expected = parse_latency({"model": "normal", "mean": 1.0, "std": 3.0}, "t", "l").mean()
    assert close(cut.mean(), expected, 3.0)


def test_exponential_with_minimum() -> None:
    samples = draw({"model": "exponential", "mean": 12.0, "min": 2.0})
    assert samples.min() >= 2.0
    assert close(samples.mean(), 12.0, 10.0)
    assert samples.std() == pytest.approx(10.0, rel=0.04)


def test_lognormal_mean_and_std() -> None:
    samples = draw({"model": "lognormal", "mean": 10.0, "std": 5.0})
    assert samples.min() > 0
    assert close(samples.mean(), 10.0, 5.0)
    assert samples.std() == pytest.approx(5.0, rel=0.08)


def test_pareto_minimum_mean_and_heavy_tail() -> None:
    samples = draw({"model": "pareto", "min": 5.0, "alpha": 3.0})
    assert samples.min() >= 5.0
    # alpha=3: mean 7.5, variance xm^2 a / ((a-1)^2 (a-2)) = 18.75
    assert close(samples.mean(), 7.5, math.sqrt(18.75) * 2)  # heavy tail: wider band
    # The tail: P(X > x) = (xm / x)^alpha.
    assert np.mean(samples > 10.0) == pytest.approx((5.0 / 10.0) ** 3, abs=0.01)


def test_empirical_draws_only_its_samples_in_proportion(tmp_path: Path) -> None:
    (tmp_path / "lat.csv").write_text("latency_ms\n1\n2\n2\n7\n", encoding="utf-8")
    samples = draw({"model": "empirical", "file": "lat.csv"}, base_dir=tmp_path)
    assert set(samples.tolist()) == {1.0, 2.0, 7.0}
    assert np.mean(samples == 2.0) == pytest.approx(0.5, abs=0.02)
    assert close(samples.mean(), 3.0, np.std([1, 2, 2, 7]))


def test_same_seed_same_draws_other_seed_other_draws() -> None:
    table = {"model": "exponential", "mean": 10.0, "min": 1.0}
    assert np.array_equal(draw(table, seed=3), draw(table, seed=3))
    assert not np.array_equal(draw(table, seed=3), draw(table, seed=4))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"model": "empirical", "file": "missing.csv"}, "does not exist"),
        ({"model": "empirical", "file": "words.csv"}, "holds no non-negative numbers"),
        ({"model": "uniform", "low": 5.0, "high": 1.0}, "must not be below low"),
        ({"model": "pareto", "min": 0.0, "alpha": 2.0}, "must be greater than 0"),
        ({"model": "gamma", "mean": 1.0}, "must be one of"),
    ],
)
def test_bad_latency_tables_are_named(tmp_path: Path, table: dict, message: str) -> None:
    (tmp_path / "words.csv").write_text("a,b\nc,d\n", encoding="utf-8")
    with pytest.raises(UserError, match=message):
        parse_latency(table, "t.toml", "network.latency", tmp_path)
