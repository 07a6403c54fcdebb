"""Parameter sweeps: a grid of scenario variations, many seeded runs per point, one table.

A sweep spec (TOML) names a base scenario, a grid over scenario keys (dotted
as ``--set`` writes them) and how many seeded runs to make per grid point::

    name = "sweep_loss"
    scenario = "lossy_cluster.toml"      # relative to this file
    seed = 2026                          # the sweep seed
    seeds_per_point = 300

    [grid]
    "network.loss" = { start = 0.0, stop = 0.5, step = 0.05 }   # stop included
    "paxos.retry_timeout" = [50.0, 100.0]                        # any TOML values

    [grid.acceptors]              # a named axis: each value sets several keys
    values = [3, 5]
    set = [{}, { "nodes.A4" = ["acceptor"], "nodes.A5" = ["acceptor"] }]

    [charts]                      # optional: what the charts put where
    x = "network.loss"            # the failure rate on the x axis (one CDF curve per value)
    heatmap = ["network.loss", "acceptors"]   # the decision-rate heatmap's two axes

Axes are crossed, first axis slowest. Each run's seed is a hash of the sweep
seed, the grid point's parameters and the replicate number, so the table does
not depend on the worker count, the executor or the order runs finish in.

Output folder: ``manifest.json`` (the spec's hash and everything ``paxossim
plot`` needs), ``journal.jsonl`` (one line per finished run, appended as runs
finish: what ``--resume`` reads), ``results.csv`` (one row per run, sorted by
point and replicate, rewritten atomically every few seconds and at the end),
``timings.csv`` (wall time and worker memory per run: kept apart because they
differ from one execution to the next, while ``results.csv`` is byte-identical),
``summary.csv`` (per grid point aggregates) and ``charts/``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import os
import resource
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from paxossim import __version__
from paxossim.errors import UserError
from paxossim.eventlog import atomic_write, write_log
from paxossim.scenario import Scenario, load_raw, scenario_from_dict, set_key
from paxossim.schema import Table, type_name

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
RESULTS = "results.csv"
TIMINGS = "timings.csv"
SUMMARY = "summary.csv"
CHECKPOINT_SECONDS = 5.0
SEED_BITS = 48
"""Run seeds stay below 2**48 (15 digits) so spreadsheets hold them exactly."""
MAX_POINTS = 100_000

RUN_COLUMNS = (
    "chosen", "chosen_value", "decided_at", "decision_latency", "learners_learned",
)
MESSAGE_COLUMNS = (
    "sent", "delivered", "dropped", "duplicated", "attempts", "retries", "crashes",
    "safe", "violations", "liveness",
)
REPLOG_COLUMNS = (
    "commands_committed", "commit_p50", "commit_p99", "throughput_per_s",
    "messages_per_command", "elections", "time_without_leader", "linearizable",
)
"""Replicated-log figures (multipaxos, p2p); empty for single-decree runs. Every
sweep has them, so that one grid may cross protocols (leader vs peer-to-peer)."""


# -- the spec ------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One grid dimension: a dotted scenario key, or a named axis of key sets."""

    name: str
    values: tuple[Any, ...]
    sets: tuple[tuple[tuple[str, Any], ...], ...] | None = None

    def overrides(self, index: int) -> tuple[tuple[str, Any], ...]:
        if self.sets is None:
            return ((self.name, self.values[index]),)
        return self.sets[index]


@dataclass(frozen=True)
class Point:
    index: int
    params: tuple[tuple[str, Any], ...]
    """(axis name, value) in axis order: the table's parameter columns."""
    overrides: tuple[tuple[str, Any], ...]
    """(dotted scenario key, value): what is set on the base scenario."""


@dataclass(frozen=True)
class Charts:
    """What the charts put where; the other parameters get one curve or panel per value."""

    x: str | None
    heatmap: tuple[str, str] | None


@dataclass(frozen=True)
class SweepSpec:
    name: str
    path: Path
    scenario_path: Path
    base_raw: dict[str, Any]
    axes: tuple[Axis, ...]
    seeds_per_point: int
    seed: int
    bootstrap: int
    charts: Charts
    spec_hash: str

    def points(self) -> list[Point]:
        points = []
        counts = [len(axis.values) for axis in self.axes]
        for index in range(math.prod(counts)):
            rest, chosen = index, []
            for count in reversed(counts):
                rest, position = divmod(rest, count)
                chosen.append(position)
            chosen.reverse()
            params = tuple((a.name, a.values[i]) for a, i in zip(self.axes, chosen, strict=True))
            overrides = tuple(o for a, i in zip(self.axes, chosen, strict=True)
                              for o in a.overrides(i))
            points.append(Point(index, params, overrides))
        return points


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def run_seed(sweep_seed: int, params: tuple[tuple[str, Any], ...], replicate: int) -> int:
    """The seed of one run, from the sweep seed, the point's parameters and the replicate.

    Why a sha256 of the parameters rather than of the point's index: adding a value
    to a grid leaves the seeds of the points that were already there unchanged.
    """
    key = canonical([sweep_seed, [list(p) for p in params], replicate])
    digest = hashlib.sha256(b"paxossim-sweep\0" + key).digest()
    return int.from_bytes(digest[:8], "little") >> (64 - SEED_BITS)


def load_spec(path: str | Path, seeds_per_point: int | None = None) -> SweepSpec:
    """Read and check a sweep spec; every mistake is a one-line UserError."""
    path = Path(path)
    raw = load_raw(path)
    top = Table(raw, str(path))
    name = top.string("name", path.stem)
    top.string("description", "")
    scenario_name = top.string("scenario")
    seed = top.integer("seed", 0, minimum=0)
    per_point = top.integer("seeds_per_point", 10, minimum=1)
    if seeds_per_point is not None:
        if seeds_per_point < 1:
            raise UserError("--seeds-per-point", f"must be at least 1, got {seeds_per_point}")
        per_point = seeds_per_point
    bootstrap = top.integer("bootstrap", 1000, minimum=10)
    axes = _parse_grid(top.table("grid", default_empty=False))
    charts = _parse_charts(top.table("charts"), axes)
    top.finish()
    scenario_path = path.parent / scenario_name
    base_raw = load_raw(scenario_path)
    hashed = {k: v for k, v in raw.items() if k not in ("charts", "description")}
    hashed["seeds_per_point"] = per_point
    spec_hash = hashlib.sha256(canonical({"spec": hashed, "scenario": base_raw})).hexdigest()
    spec = SweepSpec(name, path, scenario_path, base_raw, axes, per_point, seed, bootstrap,
                     charts, spec_hash)
    count = math.prod(len(a.values) for a in axes)
    if count > MAX_POINTS:
        raise UserError(f"{path}: grid", f"{count} grid points is more than {MAX_POINTS}")
    return spec


def _parse_grid(grid: Table) -> tuple[Axis, ...]:
    axes = []
    for key in list(grid):
        where = grid.where(key)
        value = grid.raw(key)
        if isinstance(value, list):
            axes.append(Axis(key, tuple(value)))
        elif isinstance(value, dict) and "values" in value:
            axes.append(_named_axis(Table(value, grid.source, grid.child_path(key)), key))
        elif isinstance(value, dict):
            axes.append(Axis(key, _range(Table(value, grid.source, grid.child_path(key)))))
        else:
            raise UserError(where, "must be a list of values, a range { start, stop, step }, "
                            f"or a named axis {{ values, set }}; got {type_name(value)}")
        if not axes[-1].values:
            raise UserError(where, "has no values: the grid would be empty")
    if not axes:
        grid.fail("is empty: name at least one scenario key to vary, "
                  'e.g. "network.loss" = [0.0, 0.1]')
    return tuple(axes)


def _range(table: Table) -> tuple[float | int, ...]:
    bounds = []
    for key in ("start", "stop", "step"):
        value = table.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            table.fail(f"a range needs finite numbers; got {type_name(value)} {value!r}", key)
        bounds.append(value)
    table.finish()
    start, stop, step = bounds
    if step <= 0:
        table.fail(f"must be greater than 0, got {step}", "step")
    if stop < start:
        table.fail(f"stop {stop} is below start {start}: the range is empty", "stop")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_POINTS:
        table.fail(f"gives {count} values, more than {MAX_POINTS}", "step")
    if all(isinstance(b, int) for b in bounds):
        return tuple(start + i * step for i in range(count))
    # Rounded to 12 digits so that 0.1 * 3 is written 0.3, not 0.30000000000000004.
    return tuple(float(f"{start + i * step:.12g}") for i in range(count))


def _named_axis(table: Table, name: str) -> Axis:
    values = table.raw("values")
    sets = table.raw("set")
    if not isinstance(values, list):
        table.fail(f"must be a list, got {type_name(values)}", "values")
    if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
        table.fail("must be a list of tables of dotted scenario keys, one per value", "set")
    if len(sets) != len(values):
        table.fail(f"has {len(sets)} tables for {len(values)} values", "set")
    table.finish()
    return Axis(name, tuple(values), tuple(tuple(s.items()) for s in sets))


def _parse_charts(table: Table, axes: tuple[Axis, ...]) -> Charts:
    names = [a.name for a in axes]

    def axis_name(key: str) -> str | None:
        value = table.raw(key, None)
        if value is not None and value not in names:
            table.fail(f"{value!r} is not a grid axis (axes: {', '.join(names)})", key)
        return value

    x = axis_name("x")
    heatmap = table.raw("heatmap", None)
    if heatmap is not None:
        if (not isinstance(heatmap, list) or len(heatmap) != 2
                or not all(h in names for h in heatmap) or heatmap[0] == heatmap[1]):
            table.fail(f"must name two different grid axes (axes: {', '.join(names)})",
                       "heatmap")
        heatmap = (heatmap[0], heatmap[1])
    table.finish()
    return Charts(x, heatmap)


# -- one run -------------------------------------------------------------------


@dataclass
class PointScenario:
    """What a worker needs to build one grid point's scenario."""

    raw: dict[str, Any]
    source: str
    base_dir: str


@dataclass
class RunContext:
    """Everything a worker needs, sent once per worker (not once per run)."""

    points: list[PointScenario]
    seeds: dict[tuple[int, int], int]
    learners: list[str]
    keep_logs: bool
    _built: dict[int, Scenario] = field(default_factory=dict, repr=False)

    def scenario(self, point: int) -> Scenario:
        built = self._built.get(point)
        if built is None:
            item = self.points[point]
            built = scenario_from_dict(item.raw, item.source, Path(item.base_dir))
            self._built[point] = built
        return built


@dataclass
class Outcome:
    point: int
    replicate: int
    cells: list[str]
    """The run's measured columns (everything after the parameters and seed)."""
    wall_s: float
    worker_rss_mib: float
    log: tuple[dict[str, Any], list[bytes], dict[str, Any]] | None = None
    """With --keep-logs: the run's header, event lines and summary, for write_log."""


def measure_columns(learners: list[str]) -> list[str]:
    return ["error", *RUN_COLUMNS, *(f"learn_latency_{n}" for n in learners), *MESSAGE_COLUMNS,
            *REPLOG_COLUMNS]


def cell(value: Any) -> str:
    """A CSV cell: empty for None, true/false, shortest round-trip floats, JSON otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return repr(value) if isinstance(value, float) else str(value)
    return canonical(value).decode()


def liveness_cell(liveness: Any) -> str:
    """Liveness as the summary gives it: a verdict's ``ok`` if it is a table."""
    if isinstance(liveness, dict) and "ok" in liveness:
        return cell(liveness["ok"])
    return cell(liveness)


def summary_cells(summary: dict[str, Any], learners: list[str]) -> list[str]:
    first_request = summary["first_request_at"]
    learned = summary["learned"]
    latencies = [
        learned[n]["t"] - first_request if n in learned and first_request is not None else None
        for n in learners
    ]
    messages = summary["messages"]
    safety = summary["safety"]
    return [cell(v) for v in (
        "", summary["chosen"] is not None, summary["chosen"], summary["decided_at"],
        summary["decision_latency"], len(learned), *latencies,
        messages["sent"], messages["delivered"], messages["dropped"], messages["duplicated"],
        summary["attempts"], summary["retries"], summary["crashes"], safety["ok"],
        len(safety["violations"]),
    )] + [liveness_cell(summary.get("liveness"))] + replog_cells(summary.get("replicated_log"))


def replog_cells(figures: dict[str, Any] | None) -> list[str]:
    if not figures:
        return [""] * len(REPLOG_COLUMNS)
    latency = figures["commit_latency"] or {}  # None when no command was answered
    return [cell(v) for v in (
        figures["commands_committed"], latency.get("p50"), latency.get("p99"),
        figures["throughput_per_s"], figures["messages_per_command"], figures["elections"],
        figures["time_without_leader"], figures["linearizability"]["verdict"] == "ok",
    )]


def error_cells(error: BaseException, learners: list[str]) -> list[str]:
    message = " ".join(f"{type(error).__name__}: {error}".split())
    return [message] + [""] * (len(measure_columns(learners)) - 1)


def run_one(context: RunContext, point: int, replicate: int) -> Outcome:
    """Run one (point, replicate); an exception becomes an error row, never a crash."""
    from paxossim.runs import execute

    seed = context.seeds[(point, replicate)]
    started = time.perf_counter()
    log = None
    try:
        result = execute(context.scenario(point), seed)
        cells = summary_cells(result.summary, context.learners)
        if context.keep_logs:
            log = (result.header, result.lines, result.summary)
    except Exception as error:
        cells = error_cells(error, context.learners)
    wall = time.perf_counter() - started
    return Outcome(point, replicate, cells, wall, peak_rss_mib(), log)


def peak_rss_mib() -> float:
    """This process's peak resident memory, in MiB.

    Linux's VmHWM first: ru_maxrss survives execve, so a spawned worker would
    report its parent's peak if the parent's was higher. ru_maxrss (KiB on
    Linux, bytes on macOS) where there is no /proc.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def run_batch(context: RunContext, batch: list[tuple[int, int]]) -> list[Outcome]:
    return [run_one(context, point, replicate) for point, replicate in batch]


# -- executors -----------------------------------------------------------------

_WORKER_CONTEXT: RunContext | None = None


def _init_worker(context: RunContext) -> None:
    """Pool worker start: keep the context; leave Ctrl-C to the parent, which stops us."""
    global _WORKER_CONTEXT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
                               initializer=_init_worker, initargs=(context,))
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


# -- the sweep -----------------------------------------------------------------


@dataclass
class SweepResult:
    out_dir: Path
    total: int
    done: int
    failed: int
    ran: int
    """Runs made by this invocation (the rest came from the journal)."""


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
        items.append(PointScenario(raw, source, str(spec.scenario_path.parent)))
    assert first is not None
    return points, items, first


def learners_of(items: list[PointScenario]) -> list[str]:
    names: dict[str, None] = {}
    for item in items:
        for node, roles in item.raw.get("nodes", {}).items():
            if "learner" in roles:
                names[node] = None
    return list(names)


def columns_for(spec: SweepSpec, learners: list[str]) -> list[str]:
    return ["point", "replicate", *(a.name for a in spec.axes), "seed",
            *measure_columns(learners)]


def make_manifest(spec: SweepSpec, points: list[Point], learners: list[str],
                  time_unit: str) -> dict[str, Any]:
    return {
        "paxossim": __version__,
        "name": spec.name,
        "spec": str(spec.path),
        "scenario": str(spec.scenario_path),
        "spec_hash": spec.spec_hash,
        "seed": spec.seed,
        "seeds_per_point": spec.seeds_per_point,
        "bootstrap": spec.bootstrap,
        "time_unit": time_unit,
        "axes": [{"name": a.name, "values": list(a.values)} for a in spec.axes],
        "points": [[[k, v] for k, v in p.params] for p in points],
        "learners": learners,
        "columns": columns_for(spec, learners),
        "charts": {"x": spec.charts.x,
                   "heatmap": list(spec.charts.heatmap) if spec.charts.heatmap else None},
    }


def resumed_seeds_per_point(out_dir: Path) -> int | None:
    """The seeds per point a sweep folder was started with (so that a plain --resume of a
    ``--seeds-per-point 20`` sweep goes on with 20), or None if there is no sweep there."""
    if not (out_dir / MANIFEST).exists():
        return None
    value = read_manifest(out_dir).get("seeds_per_point")
    return value if isinstance(value, int) and value >= 1 else None


def read_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError(str(out_dir), f"not a sweep folder: no {MANIFEST}") from None
    except orjson.JSONDecodeError:
        raise UserError(str(path), "not valid JSON") from None


def read_journal(path: Path, repair: bool = False) -> dict[tuple[int, int], dict[str, Any]]:
    """Finished runs by (point, replicate). A torn last line (a kill mid-write) is dropped,
    and with ``repair`` cut off the file so that appending goes on from a clean line end."""
    records: dict[tuple[int, int], dict[str, Any]] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return records
    good = 0
    for line in data.split(b"\n"):
        end = good + len(line) + 1
        if end > len(data):
            break
        try:
            record = orjson.loads(line)
            key = (int(record["point"]), int(record["replicate"]))
            record["cells"] = [str(c) for c in record["cells"]]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            break
        records.setdefault(key, record)
        good = end
    if repair and good < len(data):
        with path.open("r+b") as handle:
            handle.truncate(good)
    return records


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_tables(out_dir: Path, manifest: dict[str, Any],
                 records: dict[tuple[int, int], dict[str, Any]]) -> None:
    """results.csv and timings.csv from the journal's records, sorted, atomically."""
    seeds_per_point = manifest["seeds_per_point"]
    rows, timings = [], []
    for key in sorted(records):
        point, replicate = key
        if point >= len(manifest["points"]) or replicate >= seeds_per_point:
            continue
        record = records[key]
        params = [cell(v) for _, v in manifest["points"][point]]
        rows.append([str(point), str(replicate), *params, str(record["seed"]),
                     *record["cells"]])
        timings.append([str(point), str(replicate), str(record["seed"]),
                        f"{record['wall_s']:.6f}", f"{record['worker_rss_mib']:.1f}"])
    atomic_write(out_dir / RESULTS, [csv_bytes(manifest["columns"], rows)])
    atomic_write(out_dir / TIMINGS, [csv_bytes(
        ["point", "replicate", "seed", "wall_s", "worker_rss_mib"], timings)])


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
        from paxossim.dask_executor import connect

        client = connect(scheduler)
    try:
        _claim_folder(out_dir, spec, manifest, resume)
    except UserError:
        if client is not None:
            client.close()
        raise
    journal_path = out_dir / JOURNAL
    records = read_journal(journal_path, repair=True)

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
        from paxossim.dask_executor import dask_batches

        stream = dask_batches(client, context, batches)
    else:
        stream = local_batches(context, batches, workers)
    try:
        with journal_path.open("ab") as journal:
            for outcomes in stream:
                for outcome in outcomes:
                    record = _record(outcome, seeds)
                    if outcome.log is not None:
                        write_log(log_path(out_dir, outcome.point, outcome.replicate),
                                  *outcome.log)
                    # One write per line, flushed: a kill leaves whole lines behind.
                    journal.write(orjson.dumps(record) + b"\n")
                    journal.flush()
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
        raise SweepInterrupted(SweepResult(out_dir, total, done, failed, ran)) from None
    write_tables(out_dir, manifest, records)
    bar.update(done, failed, final=True)
    finalize(out_dir)
    if finish is not None:
        finish(out_dir)
    return SweepResult(out_dir, total, done, failed, ran)


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
    from paxossim.stats import aggregate_table

    manifest = read_manifest(out_dir)
    if (out_dir / JOURNAL).exists():  # a folder shipped without its journal keeps its table
        write_tables(out_dir, manifest, read_journal(out_dir / JOURNAL))
    header, rows = read_csv(out_dir / RESULTS)
    summary_header, summary_rows = aggregate_table(manifest, header, rows)
    atomic_write(out_dir / SUMMARY, [csv_bytes(summary_header, summary_rows)])
    return manifest


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """A CSV table, or its gzipped copy ``NAME.csv.gz`` (how curated results are shipped)."""
    packed = path.with_name(path.name + ".gz")
    try:
        if not path.exists() and packed.exists():
            with gzip.open(packed, "rt", newline="", encoding="utf-8") as handle:
                table = list(csv.reader(handle))
        else:
            with path.open(newline="", encoding="utf-8") as handle:
                table = list(csv.reader(handle))
    except FileNotFoundError:
        raise UserError(str(path), "no such file") from None
    if not table:
        raise UserError(str(path), "empty: the header line is missing")
    return table[0], table[1:]


# -- regenerating one run --------------------------------------------------------


def toml_value(value: Any) -> str:
    """A value written as TOML, so that ``--set KEY=VALUE`` reads it back unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise UserError("sweep", f"cannot write {type_name(value)} as a --set value")


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum()
    return key if bare else orjson.dumps(key).decode()


def show_run(spec: SweepSpec, which: str) -> str:
    """The ``paxossim run`` command that regenerates row POINT:REPLICATE of the table."""
    point_text, sep, replicate_text = which.partition(":")
    points = spec.points()
    if not (sep and point_text.isdigit() and replicate_text.isdigit()):
        raise UserError(f"--show-run {which}", "expected POINT:REPLICATE, e.g. 3:17 "
                        "(the point and replicate columns of results.csv)")
    point, replicate = int(point_text), int(replicate_text)
    if point >= len(points) or replicate >= spec.seeds_per_point:
        raise UserError(f"--show-run {which}", f"out of range: {len(points)} points "
                        f"of {spec.seeds_per_point} replicates")
    chosen = points[point]
    seed = run_seed(spec.seed, chosen.params, replicate)
    sets = "".join(f" --set {shlex.quote(f'{k}={toml_value(v)}')}" for k, v in chosen.overrides)
    return f"paxossim run {shlex.quote(str(spec.scenario_path))} --seed {seed}{sets}"


def interrupt_on_sigterm() -> None:
    """Treat a plain ``kill`` like Ctrl-C, so the table of finished runs is saved."""
    if os.name == "posix":
        signal.signal(signal.SIGTERM, lambda *_: signal.default_int_handler(signal.SIGINT, None))


