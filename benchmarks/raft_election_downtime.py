"""Raft's election downtime after a leader crash, per election-timeout range:
the experiment of the paper's section 9.3 (Figure 16), on raft_leader_crash.

Run by hand (not a test)::

    python benchmarks/raft_election_downtime.py [TRIALS] [--panel spread|scale|wan]
        [--out results/curated/raft]

Three panels, each a list of cases (a timeout range, a number of crashed
followers), TRIALS trials per case (default 1000):

- ``spread`` (the paper's top panel): 150-150, 150-151, 150-155, 150-175,
  150-200, 150-300 ms; writes ``downtime.csv`` and ``downtime_cdf.png``;
- ``scale`` (the paper's bottom panel): 12-24, 25-50, 50-100, 100-200,
  150-300 ms; writes ``downtime_scale.csv`` and ``downtime_scale_cdf.png``;
- ``wan``: 300-600 ms, one-way latency uniform in 30-40 ms, seven servers of
  which 0, 1 or 2 followers (S7, then S6: both hold every entry) crash at
  190 ms; writes ``downtime_wan.csv`` and ``downtime_wan_cdf.png``. Seven,
  not five: with five, the leader and two followers down leave no majority.

Trial ``i`` runs ``raft_leader_crash`` with seed ``i`` (the servers'
timeouts); the heartbeat interval is half the minimum timeout, as in the
paper, and the leader crashes at 200 ms plus a time drawn uniformly within
one heartbeat interval from the named stream ``raft-crash`` of seed ``i``.
Heartbeats go to every follower at once, so the crash falls uniformly within
a heartbeat interval after the last synchronized heartbeat. The scenario's
setup (S5 misses four entries, S4 one) runs in a window of up to 50 ms from
about t=100 that falls between two heartbeats (``Case.setup_window``), its
partitions and requests scaled with it, so that no follower misses a
heartbeat and times out during the setup: for 150-ms timeouts and for the
WAN case that is the scenario's own window, 100-150 ms. No loss, no disk
latency; one-way latency uniform in 4.5-5.5 ms unless the panel says
otherwise; runs end at 5,000 ms, and a trial with no leader followed by
every survivor by then counts as unresolved.

Each CSV has one row per trial (case, seed, crash time, downtime or empty);
the PNG has one CDF per case; the script prints mean, p50, p99 and max per
case (over the resolved trials) and the number of trials with a split vote,
as Markdown.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

import paxossim
from paxossim.rng import Stream

CRASH_FROM = 200.0
FOLLOWERS_CRASH_AT = 190.0
HORIZON = 5000.0
SETUP_FROM = 100.0
LAN = {"model": "uniform", "low": 4.5, "high": 5.5}
WAN = {"model": "uniform", "low": 30.0, "high": 40.0}
SPARE_FOLLOWERS = ("S7", "S6")
"""Crashed in this order in the ``wan`` panel: followers that hold every entry."""


@dataclass(frozen=True)
class Case:
    """One curve: a timeout range on a network, with some followers crashed first."""

    low: float
    high: float
    latency: dict[str, Any]
    servers: int = 5
    crashed: int = 0
    fifo: bool = False
    """FIFO links (as over TCP): needed where the setup's requests come closer
    together than the latency's jitter, or entries overtake one another and
    the refused ones are not sent again before the crash."""

    @property
    def heartbeat(self) -> float:
        return self.low / 2

    @property
    def label(self) -> str:
        text = f"{self.low:g}-{self.high:g} ms"
        if self.servers != 5:
            text += f", {self.crashed} crashed follower" + ("" if self.crashed == 1 else "s")
        return text

    def setup_window(self) -> tuple[float, float]:
        """When S1's messages to S5 are lost: from ``SETUP_FROM`` (or just after the
        next heartbeat) for up to 50 ms, between two heartbeats, so that S5 misses
        none and no follower times out during the setup.

        S1 is elected two one-way delays after t=0 and then sends a heartbeat every
        interval, so the heartbeats' send times are known up to the latency's
        spread, which is the margin kept on each side.
        """
        low, high = self.latency["low"], self.latency["high"]
        elected, margin = low + high, high - low + 0.5
        beat = elected + np.floor((SETUP_FROM - elected) / self.heartbeat) * self.heartbeat
        start = max(SETUP_FROM, beat + margin)
        end = min(start + 50.0, beat + self.heartbeat - margin)
        if end - start < min(50.0, self.heartbeat - 2 * margin) / 2:
            beat += self.heartbeat
            start = beat + margin
            end = min(start + 50.0, beat + self.heartbeat - margin)
        return float(start), float(end)

    def overrides(self, crash: float) -> dict[str, Any]:
        """The ``--set`` overrides of ``raft_leader_crash`` for one trial: the
        scenario's setup (partitions, requests) placed in ``setup_window``."""
        start, end = self.setup_window()
        width = end - start
        sets: dict[str, Any] = {
            "horizon": HORIZON, "network.latency": self.latency,
            "raft.heartbeat_interval": self.heartbeat,
            "raft.election_timeout_min": self.low, "raft.election_timeout_max": self.high,
            "faults.partitions.0.at": start,
            "faults.partitions.0.heal": end,
            "faults.partitions.1.at": start + 0.36 * width,
            "faults.partitions.1.heal": end,
        }
        for i in range(4):
            sets[f"requests.{i}.at"] = start + 0.1 * (i + 1) * width
        if self.fifo:
            sets["network.ordering"] = "fifo"
        if self.servers == 5:
            sets["faults.crashes.0.at"] = crash
        else:
            sets["nodes"] = {f"S{i}": ["replica"] for i in range(1, self.servers + 1)}
            sets["faults.crashes"] = [{"node": "S1", "at": crash}] + [
                {"node": node, "at": FOLLOWERS_CRASH_AT}
                for node in SPARE_FOLLOWERS[:self.crashed]]
        return sets


PANELS: dict[str, tuple[str, list[Case]]] = {
    "spread": ("downtime", [Case(150.0, high, LAN)
                            for high in (150.0, 151.0, 155.0, 175.0, 200.0, 300.0)]),
    "scale": ("downtime_scale", [Case(low, 2 * low, LAN, fifo=True)
                                 for low in (12.0, 25.0, 50.0, 100.0, 150.0)]),
    "wan": ("downtime_wan", [Case(300.0, 600.0, WAN, servers=7, crashed=n, fifo=True)
                             for n in (0, 1, 2)]),
}
"""Panel name -> (file stem, cases)."""


Row = tuple[Case, int, float, float | None, bool]
"""One trial: the case, the seed, the crash time, the downtime (None: unresolved),
and whether some election split (a term with a campaign and no winner)."""


def trial(job: tuple[Case, int]) -> Row:
    """One run of ``raft_leader_crash`` for the case, with the seed."""
    case, seed = job
    crash = CRASH_FROM + Stream(seed, "raft-crash").uniform(0.0, case.heartbeat)
    run = paxossim.run("raft_leader_crash", seed=seed, set=case.overrides(crash))
    assert run.safe, f"{case.label} seed {seed}: correct Raft violated safety"
    assert run.summary["raft"]["leader_losses"] == 1, \
        f"{case.label} seed {seed}: S1 was no longer the leader when it crashed (setup disturbed)"
    downtime = run.summary["raft"]["downtime"]
    return (case, seed, crash, None if downtime is None else downtime["max"],
            run.summary["raft"]["split_votes"] > 0)


def resolved(rows: list[Row], case: Case) -> np.ndarray:
    return np.sort([d for c, _, _, d, _ in rows if c == case and d is not None])


def draw(rows: list[Row], cases: list[Case], trials: int,
         title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10.5, 4.8))
    lowest, highest = HORIZON, 0.0
    for case in cases:
        values = resolved(rows, case)
        legend = f"{case.label} ({len(values)}/{trials} resolved)"
        if len(values) < trials:
            highest = HORIZON  # show where the unresolved trials stopped
        if len(values):
            lowest, highest = min(lowest, float(values[0])), max(highest, float(values[-1]))
            steps = np.arange(1, len(values) + 1) / trials
            ax.step(np.concatenate(([values[0]], values)), np.concatenate(([0.0], steps)),
                    where="post", label=legend)
        else:
            ax.plot([], [], label=legend)
    ax.set_xscale("log")
    ax.set_xlim(0.8 * lowest, min(HORIZON, 10 ** np.ceil(np.log10(max(highest, lowest)))))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time without a leader after the crash (ms, log scale)")
    ax.set_ylabel(f"cumulative fraction of {trials} trials")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # off the curves
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


TITLES = {
    "spread": "Raft election downtime after a leader crash: spread of the timeout range",
    "scale": "Raft election downtime after a leader crash: scale of the timeout range",
    "wan": "Raft election downtime, WAN-like (30-40 ms one way, 7 servers), crashed followers",
}


def table(rows: list[Row], cases: list[Case], trials: int) -> list[str]:
    """Per case, as Markdown rows: mean, p50, p99 and max of the resolved trials'
    downtimes, and how many trials had a split vote."""
    lines = ["| timeouts | resolved | mean | p50 | p99 | max | with a split vote |",
             "|---|---|---|---|---|---|---|"]
    for case in cases:
        values = resolved(rows, case)
        split = sum(1 for c, *_, s in rows if c == case and s)
        if not len(values):
            lines.append(f"| {case.label} | 0/{trials} | - | - | - | - | {split} |")
            continue
        lines.append(f"| {case.label} | {len(values)}/{trials} | {values.mean():.1f} | "
                     f"{np.percentile(values, 50):.1f} | {np.percentile(values, 99):.1f} | "
                     f"{values.max():.1f} | {split} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trials", nargs="?", type=int, default=1000)
    parser.add_argument("--panel", choices=sorted(PANELS), default="spread")
    parser.add_argument("--out", type=Path, default=Path("results/curated/raft"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    stem, cases = PANELS[args.panel]
    jobs = [(case, seed) for case in cases for seed in range(1, args.trials + 1)]
    with Pool(args.workers) as pool:
        rows = pool.map(trial, jobs, chunksize=8)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / f"{stem}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["range", "seed", "crash_at", "downtime"])
        for case, seed, crash, downtime, _ in rows:
            writer.writerow([case.label, seed, f"{crash:.3f}",
                             "" if downtime is None else f"{downtime:.3f}"])
    draw(rows, cases, args.trials, TITLES[args.panel], args.out / f"{stem}_cdf.png")
    print("\n".join(table(rows, cases, args.trials)))


if __name__ == "__main__":
    main()
