"""The FLP chart's runs: time to decision for each timeout range width and seed.

Each (width, seed) is one independent run, so they spread over worker
processes like explore's seeds; results come back in job order, so the data
(and the chart) do not depend on the worker count.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paxossim.experiments.pool import consume, ordered_map
from paxossim.runs import execute
from paxossim.scenario.model import scenario_from_dict


@dataclass(frozen=True)
class FlpJob:
    raw: dict[str, Any]
    """The scenario with this job's ``p2p.timeout_jitter`` already set."""
    source: str
    width: float
    seed: int


def time_to_decision(summary: dict[str, Any]) -> float | None:
    """From the first client request to the first node learning a decision."""
    first_request = summary["first_request_at"]
    learned = [fact["t"] for fact in summary["learned"].values()]
    if first_request is None or not learned:
        return None
    return min(learned) - first_request


def run_job(job: FlpJob) -> float | None:
    scenario = scenario_from_dict(job.raw, job.source)
    return time_to_decision(execute(scenario, job.seed, keep=False).summary)


def plan(raw: dict[str, Any], widths: tuple[float, ...], seeds: int,
         source: str = "<flp>") -> list[FlpJob]:
    """One job per width and seed (seeds 1..N), widths outermost."""
    if raw.get("protocol") != "p2p":
        raise ValueError("the FLP chart varies p2p.timeout_jitter: the scenario must be p2p")
    jobs = []
    for width in widths:
        changed = copy.deepcopy(raw)
        changed.setdefault("p2p", {})["timeout_jitter"] = width
        jobs.extend(FlpJob(changed, source, width, seed) for seed in range(1, seeds + 1))
    return jobs


def decision_times(
    raw: dict[str, Any], widths: tuple[float, ...], seeds: int, source: str = "<flp>",
    workers: int = 1, on_result: Callable[[float | None], None] | None = None,
) -> dict[float, list[float | None]]:
    """Time to decision of ``seeds`` runs (seeds 1..N) for each width; ``None``: undecided."""
    jobs = plan(raw, widths, seeds, source)
    results = consume(ordered_map(run_job, jobs, workers), on_result)
    times: dict[float, list[float | None]] = {width: [] for width in widths}
    for job, result in zip(jobs, results, strict=True):
        times[job.width].append(result)
    return times
