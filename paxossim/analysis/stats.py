"""Statistics of a sweep: Wilson intervals, seeded bootstrap intervals, per-point aggregates.

Why these: a decision rate near 0 or 1 over a few hundred runs is exactly where
the textbook normal interval fails (it can leave [0, 1]); Wilson's does not.
Latency distributions are skewed (retries give long tails), so their mean and
quantiles get percentile-bootstrap intervals rather than a formula that
assumes normality. The bootstrap's generator is seeded from the sweep seed
and the grid point, so ``summary.csv`` is as reproducible as ``results.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from paxossim.rng import generator

Z95 = 1.959963984540054
"""The standard normal's 97.5% quantile: a two-sided 95% interval."""
QUANTILES = (0.5, 0.95, 0.99)
STATISTICS = ("mean", "p50", "p95", "p99")
BOOTSTRAP_CELLS = 1_000_000
"""Resamples are drawn in chunks of about this many numbers, to bound memory."""


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (``nan`` bounds for no trials)."""
    if trials <= 0:
        return math.nan, math.nan
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # At 0 or all successes the bound is exactly 0 or 1; the formula may miss by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def point_statistics(values: np.ndarray) -> np.ndarray:
    """Mean, p50, p95, p99 over the last axis (numpy's linear quantiles): shape (4, ...)."""
    return np.stack([values.mean(axis=-1), *np.quantile(values, QUANTILES, axis=-1)])


def bootstrap_intervals(
    values: Sequence[float], rng: np.random.Generator, resamples: int = 1000,
    level: float = 0.95,
) -> np.ndarray:
    """Percentile-bootstrap intervals of mean, p50, p95 and p99: shape (4, 2).

    Each resample draws ``len(values)`` values with replacement; the interval
    is the (1-level)/2 and (1+level)/2 quantiles of the statistic over resamples.
    """
    data = np.asarray(values, dtype=float)
    n = data.size
    if n == 0:
        return np.full((len(STATISTICS), 2), np.nan)
    chunk = max(1, BOOTSTRAP_CELLS // n)
    parts = []
    for start in range(0, resamples, chunk):
        count = min(chunk, resamples - start)
        picks = data[rng.integers(0, n, size=(count, n))]
        parts.append(point_statistics(picks))
    stats = np.concatenate(parts, axis=-1)  # (4, resamples)
    tail = (1.0 - level) / 2.0
    return np.quantile(stats, [tail, 1.0 - tail], axis=-1).T


def _number(text: str) -> float | None:
    return float(text) if text else None


def _fmt(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)


REPLOG_MEANS = ("commands_committed", "commit_p50", "commit_p99", "throughput_per_s",
                "messages_per_command")
"""Replicated-log columns of results.csv averaged per point (empty for single decree)."""


def replog_means(ok: list[list[str]], col: dict[str, int]) -> list[str]:
    """Means of the replicated-log columns; empty cells for tables without them
    (single-decree runs, or tables written before the columns existed)."""
    if "linearizable" not in col:
        return [""] * (len(REPLOG_MEANS) + 1)
    cells = []
    for name in REPLOG_MEANS:
        values = [v for r in ok if (v := _number(r[col[name]])) is not None]
        cells.append(_fmt(float(np.mean(values)) if values else None))
    checked = [r[col["linearizable"]] for r in ok if r[col["linearizable"]]]
    cells.append(str(checked.count("false")) if checked else "")
    return cells


def aggregate_header(axes: list[str]) -> list[str]:
    columns = ["point", *axes, "runs", "errors", "decided", "decision_rate",
               "decision_rate_lo", "decision_rate_hi"]
    for name in STATISTICS:
        columns += [f"latency_{name}", f"latency_{name}_lo", f"latency_{name}_hi"]
    return [*columns, "messages_per_decision", "safety_violations",
            *(f"{name}_mean" for name in REPLOG_MEANS), "not_linearizable"]


def aggregate_table(
    manifest: dict[str, Any], header: list[str], rows: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """One row per grid point from the per-run table (``results.csv``).

    - decision rate: decided runs over runs that did not raise, Wilson 95%;
    - latency: decision latency of decided runs, mean and quantiles, each with a
      95% percentile-bootstrap interval (``manifest["bootstrap"]`` resamples);
    - messages per decision: all messages sent at the point (decided or not)
      over the number of decisions: what one decision costs, failures included.
    """
    col = {name: index for index, name in enumerate(header)}
    axes = [axis["name"] for axis in manifest["axes"]]
    by_point: dict[int, list[list[str]]] = {}
    for row in rows:
        by_point.setdefault(int(row[col["point"]]), []).append(row)
    out = []
    for point in sorted(by_point):
        group = by_point[point]
        ok = [r for r in group if not r[col["error"]]]
        decided = [r for r in ok if r[col["chosen"]] == "true"]
        latencies = [_number(r[col["decision_latency"]]) for r in decided]
        values = np.array([v for v in latencies if v is not None], dtype=float)
        low, high = wilson_interval(len(decided), len(ok))
        rng = generator(int(manifest["seed"]), f"bootstrap:{point}")
        intervals = bootstrap_intervals(values, rng, int(manifest["bootstrap"]))
        estimates = (point_statistics(values) if values.size
                     else np.full(len(STATISTICS), np.nan))
        sent = sum(int(r[col["sent"]]) for r in ok)
        unsafe = sum(1 for r in ok if r[col["safe"]] == "false")
        cells = [str(point), *(group[0][col[a]] for a in axes), str(len(group)),
                 str(len(group) - len(ok)), str(len(decided)),
                 _fmt(len(decided) / len(ok) if ok else None), _fmt(low), _fmt(high)]
        for index in range(len(STATISTICS)):
            cells += [_fmt(float(estimates[index])), _fmt(float(intervals[index, 0])),
                      _fmt(float(intervals[index, 1]))]
        cells += [_fmt(sent / len(decided) if decided else None), str(unsafe)]
        cells += replog_means(ok, col)
        out.append(cells)
    return aggregate_header(axes), out
