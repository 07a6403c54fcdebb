"""Sweep specs: the grid of scenario variations and the seed of every run.

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

    [set]                         # optional: keys every point sets (quoted, dotted)
    "paxos.max_attempts" = 20

    [charts]                      # optional: what the charts put where
    x = "network.loss"            # the failure rate on the x axis (one CDF curve per value)
    heatmap = ["network.loss", "acceptors"]   # the decision-rate heatmap's two axes

Axes are crossed, first axis slowest. Each run's seed is a hash of the sweep
seed, the grid point's parameters and the replicate number, so the table does
not depend on the worker count, the executor or the order runs finish in.
"""

from __future__ import annotations

import hashlib
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from paxossim.errors import UserError
from paxossim.scenario.model import load_raw
from paxossim.scenario.toml_out import inline_value
from paxossim.schema import Table, safe_name, type_name

SEED_BITS = 48
"""Run seeds stay below 2**48 (15 digits) so spreadsheets hold them exactly."""
MAX_POINTS = 100_000
MAX_RUNS = 10_000_000
"""Runs in one sweep: the journal and tables hold a row each, in memory when charted."""
MAX_BOOTSTRAP = 100_000
"""Bootstrap resamples per interval: each holds a copy of a point's latencies."""


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
    fixed: tuple[tuple[str, Any], ...] = ()
    """``[set]``: dotted scenario keys every point sets, before its grid values."""

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
            overrides = self.fixed + tuple(o for a, i in zip(self.axes, chosen, strict=True)
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
    if "nodes" in raw and "grid" not in raw:
        raise UserError(str(path), "this is a scenario, not a sweep spec (a spec names its "
                        f"base scenario and has a [grid]): run it with `paxossim run {path}`")
    top = Table(raw, str(path))
    name = top.file_name("name", safe_name(path.stem))
    top.string("description", "")
    scenario_name = top.string("scenario")
    seed = top.integer("seed", 0, minimum=0)
    per_point = top.integer("seeds_per_point", 10, minimum=1)
    if seeds_per_point is not None:
        if seeds_per_point < 1:
            raise UserError("--seeds-per-point", f"must be at least 1, got {seeds_per_point}")
        per_point = seeds_per_point
    bootstrap = top.integer("bootstrap", 1000, minimum=10, maximum=MAX_BOOTSTRAP)
    axes = _parse_grid(top.table("grid", default_empty=False))
    fixed = _parse_fixed(top.table("set"))
    charts = _parse_charts(top.table("charts"), axes)
    top.finish()
    scenario_path = path.parent / scenario_name
    base_raw = load_raw(scenario_path)
    hashed = {k: v for k, v in raw.items() if k not in ("charts", "description")}
    hashed["seeds_per_point"] = per_point
    spec_hash = hashlib.sha256(canonical({"spec": hashed, "scenario": base_raw})).hexdigest()
    spec = SweepSpec(name, path, scenario_path, base_raw, axes, per_point, seed, bootstrap,
                     charts, spec_hash, fixed)
    count = math.prod(len(a.values) for a in axes)
    if count > MAX_POINTS:
        raise UserError(f"{path}: grid", f"{count} grid points is more than {MAX_POINTS}")
    if count * per_point > MAX_RUNS:
        where = "--seeds-per-point" if seeds_per_point is not None else f"{path}: seeds_per_point"
        raise UserError(where, f"{count} grid points x {per_point} seeds is "
                        f"{count * per_point:,} runs; at most {MAX_RUNS:,} in one sweep")
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


def _parse_fixed(table: Table) -> tuple[tuple[str, Any], ...]:
    """``[set]``: quoted dotted keys, e.g. ``"faults.random_crashes.enabled" = true``.

    Unquoted, TOML would read ``faults.random_crashes.enabled`` as nested tables
    and the override would replace the whole ``faults`` table: refused.
    """
    fixed = []
    for key in table:
        value = table.raw(key)
        if "." not in key and isinstance(value, dict):
            table.fail("write dotted keys in quotes, e.g. \"faults.random_crashes.enabled\" "
                       "= true (unquoted, they would replace the whole table)", key)
        fixed.append((key, value))
    table.finish()
    return tuple(fixed)


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


def toml_value(value: Any) -> str:
    """A value written as TOML, so that ``--set KEY=VALUE`` reads it back unchanged."""
    try:
        return inline_value(value)
    except TypeError:
        raise UserError("sweep", f"cannot write {type_name(value)} as a --set value") from None


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


@dataclass
class PointScenario:
    """What a worker needs to build one grid point's scenario."""

    raw: dict[str, Any]
    source: str
    base_dir: str
