"""Running a sweep: every (grid point, replicate) not yet done, on 1 or N workers.

The spec is read by :mod:`paxossim.experiments.sweep_spec`, the folder written by
:mod:`paxossim.experiments.sweep_table`. Runs that finish are journalled at once, so an
interrupted sweep keeps them and ``--resume`` runs only what is missing; the
tables do not depend on the worker count or the order runs finish in.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from paxossim.errors import UserError
from paxossim.experiments.orphans import watch_parent
from paxossim.experiments.sweep_runs import Outcome, RunContext, run_batch
from paxossim.experiments.sweep_spec import Point, PointScenario, SweepSpec, run_seed
from paxossim.experiments.sweep_table import (
    JOURNAL,
    MANIFEST,
    RESULTS,
    SUMMARY,
    cell,
    csv_bytes,
    journal_line,
    learners_of,
    make_manifest,
    read_csv,
    read_manifest,
    repair_journal,
    scan_journal,
    write_tables,
)
from paxossim.log.files import atomic_write, write_log
from paxossim.scenario.model import Scenario, scenario_from_dict, scenario_to_dict, set_key

CHECKPOINT_SECONDS = 5.0



# -- executors -----------------------------------------------------------------

_WORKER_CONTEXT: RunContext | None = None


def _init_worker(context: RunContext, parent: int) -> None:
    """Pool worker start: keep the context; leave Ctrl-C to the parent, which stops
    us; end with the parent if it is killed."""
    global _WORKER_CONTEXT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent(parent)
    _WORKER_CONTEXT = context


def _run_batch_in_worker(batch: list[tuple[int, int]]) -> list[Outcome]:
    assert _WORKER_CONTEXT is not None
    return run_batch(_WORKER_CONTEXT, batch)


def local_batches(
    context: RunContext, batches: list[list[tuple[int, int]]], workers: int
) -> Iterator[list[Outcome]]:
    """Yield each batch's outcomes as it finishes: in-process for 1 worker, else a pool.

    The pool uses the spawn start method: no forked copies of the parent's state,
    and the same behaviour on Linux, macOS and Windows.
    """
    if workers <= 1:
        for batch in batches:
            yield run_batch(context, batch)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(context, os.getpid()))
    try:
        pending = {pool.submit(_run_batch_in_worker, b) for b in batches}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def batches_for(todo: list[tuple[int, int]], workers: int) -> list[list[tuple[int, int]]]:
    """Split the work so that each worker gets many small batches (for an even finish)."""
    size = max(1, min(64, len(todo) // max(1, workers * 16)))
    return [todo[i : i + size] for i in range(0, len(todo), size)]


@dataclass
class SweepResult:
    out_dir: Path
    total: int
    done: int
    failed: int
    ran: int
    """Runs made by this invocation (the rest came from the journal)."""
    damaged: list[int] = field(default_factory=list)
    """Journal lines found damaged on resume: skipped, their runs made again."""


class SweepInterrupted(Exception):
    def __init__(self, result: SweepResult) -> None:
        super().__init__(f"interrupted after {result.done} of {result.total} runs")
        self.result = result


def prepare_points(spec: SweepSpec) -> tuple[list[Point], list[PointScenario], Scenario]:
    """Build and validate every grid point's scenario before anything runs."""
    points = spec.points()
    items = []
    first: Scenario | None = None
    source = str(spec.scenario_path)
    for point in points:
        raw = orjson.loads(orjson.dumps(spec.base_raw))
        described = ", ".join(f"{k}={cell(v)}" for k, v in point.params)
        try:
            for key, value in point.overrides:
                set_key(raw, key, value, origin=f"{spec.path}: grid {key}")
            scenario = scenario_from_dict(raw, source, spec.scenario_path.parent)
        except UserError as error:
            raise UserError(f"{spec.path}: grid point {described}", str(error)) from None
        first = first or scenario
        # The resolved form (samples files read here, once): a worker, local or on
        # a Dask cluster, then needs no file of the user's.
        items.append(PointScenario(scenario_to_dict(scenario), source,
                                   str(spec.scenario_path.parent)))
    assert first is not None
    return points, items, first


class Progress:
    """Runs done, failures and time left, on one line of stderr (redrawn on a terminal)."""

    def __init__(self, name: str, total: int, done: int, failed: int,
                 stream: TextIO | None) -> None:
        self.name, self.total, self.done, self.failed = name, total, done, failed
        self.stream = stream
        self.start_done = done
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.tty = bool(stream is not None and stream.isatty())

    def update(self, done: int, failed: int, final: bool = False) -> None:
        self.done, self.failed = done, failed
        if self.stream is None:
            return
        now = time.monotonic()
        if not final and now - self.last_draw < (0.2 if self.tty else 10.0):
            return
        self.last_draw = now
        elapsed = now - self.started
        made = self.done - self.start_done
        left = (self.total - self.done) * elapsed / made if made else float("nan")
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        line = (f"{self.name} [{bar}] {self.done}/{self.total} runs, {self.failed} failed, "
                f"{_duration(left) if not final else _duration(elapsed)}"
                f"{' left' if not final else ' this time'}")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def default_out_dir(spec: SweepSpec) -> Path:
    return Path("results") / spec.name


def run_sweep(
    spec: SweepSpec,
    out_dir: Path | None = None,
    *,
    workers: int = 1,
    resume: bool = False,
    keep_logs: bool = False,
    scheduler: str | None = None,
    progress: TextIO | None = None,
    finish: Callable[[Path], Any] | None = None,
) -> SweepResult:
    """Run every (point, replicate) not yet in the folder's journal, then write the tables.

    ``finish`` (e.g. the charts) is called with the folder once every run is done.
    Raises :class:`SweepInterrupted` on Ctrl-C, after saving the table of what finished.
    """
    out_dir = out_dir or default_out_dir(spec)
    points, items, first = prepare_points(spec)
    learners = learners_of(items)
    manifest = make_manifest(spec, points, learners, first.time_unit)
    client = None
    if scheduler is not None:
        from paxossim.experiments.dask_executor import connect

        client = connect(scheduler)
    try:
        _claim_folder(out_dir, spec, manifest, resume)
    except UserError:
        if client is not None:
            client.close()
        raise
    journal_path = out_dir / JOURNAL
    journal = scan_journal(journal_path)
    repair_journal(journal_path, journal)
    records = journal.records

    todo = [(p.index, r) for p in points for r in range(spec.seeds_per_point)
            if (p.index, r) not in records]
    seeds = {(p.index, r): run_seed(spec.seed, p.params, r)
             for p in points for r in range(spec.seeds_per_point)}
    total = len(seeds)
    done = sum(1 for key in records if key in seeds)
    failed = sum(1 for key, rec in records.items() if key in seeds and rec["cells"][0])
    context = RunContext(items, {k: seeds[k] for k in todo}, learners, keep_logs)
    bar = Progress(spec.name, total, done, failed, progress)
    write_tables(out_dir, manifest, records)
    if keep_logs:
        (out_dir / "logs").mkdir(exist_ok=True)
    ran = 0
    last_checkpoint = time.monotonic()
    batches = batches_for(todo, workers)
    if client is not None:
        from paxossim.experiments.dask_executor import dask_batches

        stream = dask_batches(client, context, batches)
    else:
        stream = local_batches(context, batches, workers)
    try:
        with journal_path.open("ab") as log:
            for outcomes in stream:
                for outcome in outcomes:
                    record = _record(outcome, seeds)
                    if outcome.log is not None:
                        write_log(log_path(out_dir, outcome.point, outcome.replicate),
                                  *outcome.log)
                    # One write per line, flushed: a kill leaves whole lines behind.
                    log.write(journal_line(record))
                    log.flush()
                    records[(outcome.point, outcome.replicate)] = record
                    ran += 1
                    done += 1
                    failed += bool(outcome.cells[0])
                bar.update(done, failed)
                if time.monotonic() - last_checkpoint > CHECKPOINT_SECONDS:
                    write_tables(out_dir, manifest, records)
                    last_checkpoint = time.monotonic()
    except KeyboardInterrupt:
        _close(stream)
        write_tables(out_dir, manifest, records)
        bar.update(done, failed, final=True)
        raise SweepInterrupted(SweepResult(out_dir, total, done, failed, ran,
                                           journal.damaged)) from None
    write_tables(out_dir, manifest, records)
    bar.update(done, failed, final=True)
    finalize(out_dir)
    if finish is not None:
        finish(out_dir)
    return SweepResult(out_dir, total, done, failed, ran, journal.damaged)


def _close(stream: Iterator[Any]) -> None:
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def _record(outcome: Outcome, seeds: dict[tuple[int, int], int]) -> dict[str, Any]:
    return {"point": outcome.point, "replicate": outcome.replicate,
            "seed": seeds[(outcome.point, outcome.replicate)], "cells": outcome.cells,
            "wall_s": outcome.wall_s, "worker_rss_mib": outcome.worker_rss_mib}


def log_path(out_dir: Path, point: int, replicate: int) -> Path:
    return out_dir / "logs" / f"p{point:04d}-r{replicate:04d}.jsonl"


def _claim_folder(out_dir: Path, spec: SweepSpec, manifest: dict[str, Any],
                  resume: bool) -> None:
    """Write the manifest, or check on --resume that the folder holds this very sweep."""
    path = out_dir / MANIFEST
    if path.exists():
        if not resume:
            raise UserError(str(out_dir), "already holds a sweep: pass --resume to finish it, "
                            "or choose another --out")
        existing = read_manifest(out_dir)
        if existing.get("spec_hash") != spec.spec_hash:
            raise UserError(str(out_dir), f"was made by a different sweep spec (or scenario, "
                            f"or --seeds-per-point) than {spec.path}; refusing to mix "
                            "results: choose another --out")
    elif (out_dir / JOURNAL).exists():
        raise UserError(str(out_dir), f"has a {JOURNAL} but no {MANIFEST}: not resumable")
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(path, [orjson.dumps(manifest, option=orjson.OPT_INDENT_2), b"\n"])


def finalize(out_dir: Path) -> dict[str, Any]:
    """Rebuild results.csv from the journal (also after a kill), then summary.csv."""
    from paxossim.analysis.stats import aggregate_table

    manifest = read_manifest(out_dir)
    if (out_dir / JOURNAL).exists():  # a folder shipped without its journal keeps its table
        journal = scan_journal(out_dir / JOURNAL)
        if journal.damaged:
            raise UserError(f"{out_dir / JOURNAL}: line {journal.damaged[0]}",
                            f"damaged ({len(journal.damaged)} line(s) in all); the tables are "
                            "left as they were: finish with paxossim sweep SPEC --out "
                            f"{out_dir} --resume, which runs those again")
        write_tables(out_dir, manifest, journal.records)
    header, rows = read_csv(out_dir / RESULTS)
    summary_header, summary_rows = aggregate_table(manifest, header, rows)
    atomic_write(out_dir / SUMMARY, [csv_bytes(summary_header, summary_rows)])
    return manifest


def interrupt_on_sigterm() -> None:
    """Treat a plain ``kill`` like Ctrl-C, so the table of finished runs is saved."""
    if os.name == "posix":
        signal.signal(signal.SIGTERM, lambda *_: signal.default_int_handler(signal.SIGINT, None))
