"""Run one scenario under many seeds, in parallel, and keep every seed that fails.

A seed *fails* when its run violates safety, or when the scenario sets a
liveness bound and nothing was chosen within it after the heal. For each
failing seed the explorer keeps the run's log (``<out>/seed-N/``) and the
exact ``--set`` overrides that, with ``--seed N``, reproduce it.

``swarm`` mode (after TigerBeetle's VOPR and FoundationDB's simulation
testing) also draws the fault knobs themselves from each seed, from the
named stream ``swarm``: which faults are on and how strong. The draws are
written as ``--set`` overrides, so the printed command reproduces the run
exactly, and the explorer itself applies nothing but those strings.

Results do not depend on the number of workers: each seed is run on its own
from (scenario file, overrides, seed), and results come back in seed order.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from paxossim.errors import UserError
from paxossim.experiments.pool import consume, ordered_map
from paxossim.labels import time_label
from paxossim.rng import Stream, Streams
from paxossim.runs import execute, overrides_tag, save
from paxossim.scenario.model import MAX_SEED, apply_override, load_raw, scenario_from_dict

LATENCY_MODELS = ("exponential", "uniform", "lognormal", "pareto")


@dataclass(frozen=True)
class SeedOutcome:
    seed: int
    overrides: tuple[str, ...]
    """Every ``--set`` needed to reproduce the run (the user's, the variant, the swarm's)."""
    safe: bool
    liveness: str
    """The liveness verdict: ok, failed or not-required; ``error`` when the
    simulator raised (a failure of its own kind, with ``problem`` saying what)."""
    problem: str
    """One line on what went wrong ("" if nothing did)."""
    log_dir: str | None

    @property
    def failed(self) -> bool:
        return not self.safe or self.liveness in ("failed", "error")


def parse_seeds(text: str) -> range:
    """``A..B`` (both ends included) or a single seed ``A``."""
    first, sep, last = text.partition("..")
    try:
        low = int(first)
        high = int(last) if sep else low
    except ValueError:
        raise UserError("--seeds", f"expected A..B (e.g. 1..2000), got {text!r}") from None
    if low < 0 or high < low or high > MAX_SEED:
        raise UserError("--seeds", f"expected 0 <= A <= B <= {MAX_SEED}, got {text!r}")
    return range(low, high + 1)


# -- swarm --------------------------------------------------------------------


def _pick(stream: Stream, options: tuple[Any, ...]) -> Any:
    return options[min(int(stream.random() * len(options)), len(options) - 1)]


def _short(value: float) -> float:
    """Four significant digits: short --set values at any time scale."""
    return float(f"{value:.4g}")


def _between(stream: Stream, low: float, high: float) -> float:
    """A uniform draw rounded to 3 decimals, so that it prints exactly as it is used."""
    return round(stream.uniform(low, high), 3)


def crashable(raw: dict[str, Any]) -> list[str]:
    """The nodes random crashes may hit: the scenario's list, else every node."""
    table = raw.get("faults", {}).get("random_crashes", {})
    nodes = table.get("nodes") if isinstance(table, dict) else None
    return list(nodes) if isinstance(nodes, list) else list(raw.get("nodes", {}))


SWARM_LATENCY = 10.0
"""The mean latency the swarm's ranges are written for (a millisecond scenario's
default); every time it draws is scaled by the scenario's own mean latency
over this, so a scenario in minutes gets faults in minutes."""


def time_scale(raw: dict[str, Any], path: str) -> float:
    """The scenario's mean default latency over :data:`SWARM_LATENCY` (issue 13 item 7:
    swarm drew 1-15 whatever the unit, so a scenario in minutes "failed" liveness)."""
    scenario = scenario_from_dict(raw, path, base_dir=Path(path).parent)
    return scenario.network.default.latency.mean() / SWARM_LATENCY


def swarm_overrides(seed: int, nodes: list[str], scale: float = 1.0) -> tuple[str, ...]:
    """The fault knobs of seed ``seed``, drawn from its stream ``swarm``, as ``--set``s.

    ``nodes`` are the nodes that random crashes may hit (see :func:`crashable`);
    ``scale`` multiplies every time drawn (see :func:`time_scale`).

    Each fault is on with probability 1/2; its strength is uniform in a range
    that a correct Paxos must survive (amnesia is never drawn: it breaks
    Paxos by design). Random crashes and partitions stop at the heal, if the
    scenario has one.
    """
    stream = Streams(seed).stream("swarm")
    sets = []
    model = _pick(stream, LATENCY_MODELS)
    mean = _short(_between(stream, 1.0, 15.0) * scale)
    if model == "exponential":
        latency = f'{{model="exponential",mean={mean},min={_short(mean / 10)}}}'
    elif model == "uniform":
        latency = f'{{model="uniform",low={_short(mean / 4)},high={mean}}}'
    elif model == "lognormal":
        latency = f'{{model="lognormal",mean={mean},std={_short(mean * 1.5)}}}'
    else:
        latency = f'{{model="pareto",min={_short(mean / 4)},alpha=1.5}}'
    sets.append(f"network.latency={latency}")
    loss = _between(stream, 0.01, 0.2) if stream.random() < 0.5 else 0.0
    duplicate = _between(stream, 0.01, 0.3) if stream.random() < 0.5 else 0.0
    sets += [f"network.loss={loss}", f"network.duplicate={duplicate}",
             f'network.ordering="{_pick(stream, ("free", "fifo"))}"']
    crashes = stream.random() < 0.5
    sets.append(f"faults.random_crashes.enabled={str(crashes).lower()}")
    if crashes:
        up, down = _between(stream, 50.0, 1000.0), _between(stream, 5.0, 300.0)
        sets += [
            f"faults.random_crashes.mean_up={_short(up * scale)}",
            f"faults.random_crashes.mean_down={_short(down * scale)}",
            f"faults.random_crashes.max_down={1 + int(stream.random() * len(nodes))}",
        ]
    partitions = stream.random() < 0.5
    sets.append(f"faults.random_partitions.enabled={str(partitions).lower()}")
    if partitions:
        interval, duration = _between(stream, 20.0, 1000.0), _between(stream, 5.0, 300.0)
        sets += [
            f"faults.random_partitions.mean_interval={_short(interval * scale)}",
            f"faults.random_partitions.mean_duration={_short(duration * scale)}",
        ]
    return tuple(sets)


# -- one seed -------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    path: str
    raw: dict[str, Any]
    """The scenario file as read, before any override (read once, not once per seed)."""
    overrides: tuple[str, ...]
    swarm: bool
    out_dir: str
    seed: int


def run_seed(job: Job) -> SeedOutcome:
    """Run one seed; keep its log if it failed. Top-level so a process pool can pickle it."""
    raw = copy.deepcopy(job.raw)
    overrides = job.overrides
    for assignment in overrides:
        apply_override(raw, assignment)
    if job.swarm:
        swarm = swarm_overrides(job.seed, crashable(raw), time_scale(raw, job.path))
        for assignment in swarm:
            apply_override(raw, assignment)
        overrides = (*overrides, *swarm)
    scenario = scenario_from_dict(raw, job.path, base_dir=Path(job.path).parent)
    try:
        result = execute(scenario, job.seed, keep=False)
    except Exception as error:  # a simulator bug must cost one seed, not the batch
        return SeedOutcome(job.seed, overrides, True, "error",
                           f"simulator error: {type(error).__name__}: {error}", None)
    summary = result.summary
    verdict = summary["liveness"]["verdict"]
    problem = ""
    if not result.safe:
        first = summary["safety"]["violations"][0]
        problem = f"{first['invariant']}: {first['detail']}"
    elif "stopped" in summary:
        stopped = summary["stopped"]
        problem = (f"stopped: {stopped['limit']} limit {stopped['value']} reached at "
                   f"t={time_label(stopped['t'])}")
    elif verdict == "failed":
        problem = f"liveness: nothing chosen by t={time_label(summary['liveness']['required_by'])}"
    log_dir = None
    if problem:
        # Most seeds pass and keep nothing; a failing one is simulated again
        # (deterministic: the same events) with its log written as it goes.
        target = Path(job.out_dir) / f"seed-{job.seed}"
        result = execute(scenario, job.seed, log_path=target / "events.jsonl",
                         settings=tuple(overrides))
        save(result, target, render=False)
        log_dir = str(target)
    return SeedOutcome(job.seed, overrides, result.safe, verdict, problem, log_dir)


# -- many seeds -----------------------------------------------------------------


def explore(
    path: str | Path,
    seeds: range,
    overrides: tuple[str, ...] = (),
    swarm: bool = False,
    workers: int = 1,
    out_dir: str | Path | None = None,
    on_result: Callable[[SeedOutcome], None] | None = None,
) -> list[SeedOutcome]:
    """Run every seed of ``seeds``; outcomes come back in seed order."""
    return run_jobs(plan(path, seeds, overrides, swarm, out_dir), workers, on_result)


def plan(
    path: str | Path,
    seeds: range,
    overrides: tuple[str, ...] = (),
    swarm: bool = False,
    out_dir: str | Path | None = None,
) -> Jobs:
    """One job per seed, made as they are reached (``--seeds 0..1000000000`` must
    start at once, not plan a billion jobs first). The scenario is validated here,
    once (with the first seed's swarm overrides), so a user error is one message,
    not one per seed."""
    path = str(path)
    original = load_raw(path)
    raw = copy.deepcopy(original)
    for assignment in overrides:
        apply_override(raw, assignment)
    if swarm:
        for assignment in swarm_overrides(seeds[0], crashable(raw), time_scale(raw, path)):
            apply_override(raw, assignment)
    scenario = scenario_from_dict(raw, path, base_dir=Path(path).parent)
    out = str(out_dir or default_explore_dir(scenario.name, overrides, swarm))
    return Jobs(Job(path, original, tuple(overrides), swarm, out, seeds[0]), seeds)


class Jobs(Sequence[Job]):
    """The jobs of an exploration, one per seed, made on demand from a template."""

    def __init__(self, template: Job, seeds: range) -> None:
        self.template, self.seeds = template, seeds

    def __len__(self) -> int:
        return len(self.seeds)

    @overload
    def __getitem__(self, index: int) -> Job: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Job]: ...

    def __getitem__(self, index: int | slice) -> Job | Sequence[Job]:
        if isinstance(index, slice):
            return Jobs(self.template, self.seeds[index])
        return dataclasses.replace(self.template, seed=self.seeds[index])


def default_explore_dir(name: str, overrides: tuple[str, ...], swarm: bool) -> Path:
    """``results/explore/<scenario>/[<variant>+set-<hash>+swarm/]``: explorations with
    different variants, overrides or swarm keep their failing seeds apart."""
    tag = "+".join(part for part in (overrides_tag(overrides), "swarm" if swarm else None)
                   if part)
    folder = Path("results") / "explore" / name
    return folder / tag if tag else folder


def run_jobs(
    jobs: Sequence[Job], workers: int = 1, on_result: Callable[[SeedOutcome], None] | None = None,
    scheduler: str | None = None,
) -> list[SeedOutcome]:
    """Every job's outcome, in seed order, whichever workers (or cluster) ran them."""
    return consume(iter_outcomes(jobs, workers, scheduler), on_result)


def iter_outcomes(jobs: Sequence[Job], workers: int = 1,
                  scheduler: str | None = None) -> Iterator[SeedOutcome]:
    """The outcomes one at a time, in seed order: a caller that keeps only the
    failures explores any number of seeds in bounded memory."""
    return ordered_map(run_seed, jobs, workers, scheduler=scheduler)
