"""Charts of a sweep folder (PNG and SVG), drawn from its tables alone.

- ``latency_cdf``: decision latency CDFs, one curve per value of the x parameter
  (the failure rate), one panel per value of the other parameters. Runs that
  never decided count in the denominator, so a curve ends at the decision rate.
- ``latency_quantiles``: p50, p95 and p99 against the x parameter, one line per
  value of the other parameters, with the 95% bootstrap interval as a band.
- ``decision_rate_heatmap``: the decision rate over two parameters.
- ``messages_per_decision``: messages sent per decision against the x parameter.
- ``replicated_log`` (instead of the four above, for multipaxos / p2p sweeps):
  commit latency p50 and p99, throughput and messages per command against x.

Every figure carries the time unit on its axes, names the parameters in its
legends, and has a footer naming the sweep, its seed and runs per point.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from paxossim.experiments.sweep_table import RESULTS, SUMMARY, read_csv, read_manifest

MAX_PANELS = 6
CDF_POINTS = 120
"""A CDF curve is drawn through at most this many of its steps."""
FOOTER_CHARS_PER_INCH = 16
FORMATS = ("png", "svg")


class SweepTables:
    """A sweep folder's manifest and tables, with the chart layout derived from them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest = read_manifest(directory)
        self.axes: list[str] = [a["name"] for a in self.manifest["axes"]]
        header, rows = read_csv(directory / SUMMARY)
        self.summary = [dict(zip(header, row, strict=True)) for row in rows]
        header, rows = read_csv(directory / RESULTS)
        self.runs = [dict(zip(header, row, strict=True)) for row in rows]
        self.x = self.manifest["charts"].get("x") or self._default_x()
        self.others = [a for a in self.axes if a != self.x]
        self.unit = self.manifest.get("time_unit", "ms")

    def _default_x(self) -> str:
        for axis in self.manifest["axes"]:
            if len(axis["values"]) > 1 and all(_is_number(v) for v in axis["values"]):
                return str(axis["name"])
        return self.axes[0]

    def values(self, axis: str) -> list[str]:
        """The axis's values as the tables write them, in grid order."""
        seen: dict[str, None] = {}
        for row in self.summary:
            seen[row[axis]] = None
        return list(seen)

    def groups(self) -> list[tuple[str, ...]]:
        """Each combination of the non-x parameters (one curve or one panel)."""
        seen: dict[tuple[str, ...], None] = {}
        for row in self.summary:
            seen[tuple(row[a] for a in self.others)] = None
        return list(seen)

    def name(self, axis: str) -> str:
        return axis_name(axis, self.unit)

    def group_label(self, group: tuple[str, ...]) -> str:
        if len(self.others) == 1:
            return group[0]
        return ", ".join(f"{self.name(a)} {v}" for a, v in zip(self.others, group, strict=True))

    def legend_title(self) -> str:
        return self.name(self.others[0]) if len(self.others) == 1 else "parameters"

    def footer(self, intervals: bool = True) -> str:
        m = self.manifest
        drawn = (f"95% intervals: Wilson (rates), bootstrap x{m['bootstrap']} (latency)"
                 if intervals else "points are means over each point's runs, no intervals")
        return (f"sweep {m['name']} ({m['spec']}), {m['seeds_per_point']} seeded runs per grid "
                f"point, sweep seed {m['seed']}; {drawn}; paxossim {m['paxossim']}")


AXIS_NAMES = {
    "network.loss": "message loss probability",
    "network.duplicate": "message duplication probability",
    "faults.random_crashes.mean_up": "mean time between crashes ({unit})",
    "faults.random_crashes.max_down": "nodes down at once, at most",
    "faults.random_partitions.mean_interval": "mean time between partitions ({unit})",
    "faults.random_partitions.mean_duration": "mean partition length ({unit})",
    "paxos.max_attempts": "proposer attempts, at most",
    "crashed": "acceptors crashed",
}
"""Plain words (and units) for the bundled sweeps' axes; other keys are spelled out
from their last part."""


def axis_name(key: str, unit: str) -> str:
    """A parameter as a reader of a figure names it: words and a unit, not a dotted key."""
    known = AXIS_NAMES.get(key)
    if known is not None:
        return known.format(unit=unit)
    return key.rsplit(".", 1)[-1].replace("_", " ")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(text: str) -> float:
    return float(text) if text else math.nan


def _positions(values: list[str]) -> tuple[np.ndarray, list[str] | None]:
    """Numeric x positions, or 0..n-1 with tick labels when the values are not numbers."""
    try:
        return np.array([float(v) for v in values]), None
    except ValueError:
        return np.arange(len(values), dtype=float), values


def _finish(figure: Figure, tables: SweepTables, name: str, right: float = 1.0,
            intervals: bool = True) -> list[Path]:
    """Lay out with room for the footer (wrapped to the figure's width), then save."""
    width, height = figure.get_size_inches()
    footer = textwrap.fill(tables.footer(intervals), width=int(width * FOOTER_CHARS_PER_INCH))
    lines = footer.count("\n") + 1
    figure.text(0.5, 0.01, footer, ha="center", va="bottom", fontsize=7, color="0.35")
    figure.tight_layout(rect=(0, (0.06 + 0.13 * lines) / height, right, 1))
    out = tables.directory / "charts"
    out.mkdir(exist_ok=True)
    written = []
    # No date and a fixed id salt: the same tables draw byte-identical files; SVG text
    # stays text (searchable, and a tenth of the size of glyph outlines).
    with matplotlib.rc_context({"svg.hashsalt": "paxossim", "svg.fonttype": "none"}):
        for fmt in FORMATS:
            path = out / f"{name}.{fmt}"
            metadata = {"Date": None} if fmt == "svg" else {"Software": None}
            figure.savefig(path, dpi=110, metadata=metadata)
            written.append(path)
    plt.close(figure)
    return written


def _x_axis(ax: Any, tables: SweepTables, labels: list[str] | None, xs: np.ndarray) -> None:
    """Label the x axis; whole-number and non-numeric parameters get a tick per value."""
    ax.set_xlabel(tables.name(tables.x))
    if labels is not None:
        ax.set_xticks(xs, labels, rotation=30, ha="right", fontsize=7)
        return
    if np.all(xs > 0) and xs.max() / xs.min() >= 20:
        # Rates and times that grow by factors (25, 50, ..., 800) crowd the
        # left of a linear axis; on a log axis each step gets the same room.
        ax.set_xscale("log")
        ax.minorticks_off()
    if np.all(xs == np.round(xs)) and len(xs) <= 20:
        ax.set_xticks(xs, [f"{x:g}" for x in xs])


LINE_STYLES = ("-", "--", ":", "-.")
"""Neighbouring curves of one colour map differ in dash too: eleven shades of one
map are hard to tell apart, and a greyscale print loses them altogether."""


def latency_cdf(tables: SweepTables) -> list[Path]:
    groups = tables.groups()[:MAX_PANELS]
    x_values = tables.values(tables.x)
    cols = min(3, len(groups))
    rows = math.ceil(len(groups) / cols)
    figure, axes = plt.subplots(rows, cols, figsize=(4.2 * cols + 1.6, 3.6 * rows + 0.8),
                                squeeze=False, sharex=True, sharey=True)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.92, len(x_values)))
    styles = [LINE_STYLES[i % len(LINE_STYLES)] for i in range(len(x_values))]
    finite = [_float(r["decision_latency"]) for r in tables.runs if r["decision_latency"]]
    positive = [v for v in finite if v > 0]
    log_scale = bool(positive) and max(positive) / min(positive) > 50
    decided_somewhere: dict[str, bool] = {}
    for ax, group in zip(axes.flat, groups, strict=False):
        undecided = []
        for colour, style, x_value in zip(colours, styles, x_values, strict=True):
            runs = [r for r in tables.runs if r[tables.x] == x_value and not r["error"]
                    and tuple(r[a] for a in tables.others) == group]
            if not runs:
                continue
            latencies = np.sort([_float(r["decision_latency"]) for r in runs
                                 if r["chosen"] == "true"])
            decided_somewhere.setdefault(x_value, False)
            if latencies.size == 0:
                undecided.append(x_value)
                continue
            decided_somewhere[x_value] = True
            fraction = np.arange(1, latencies.size + 1) / len(runs)
            if latencies.size > CDF_POINTS:  # keeps the SVG small; invisible at this size
                keep = np.linspace(0, latencies.size - 1, CDF_POINTS).round().astype(int)
                latencies, fraction = latencies[keep], fraction[keep]
            ax.step(np.concatenate([[latencies[0]], latencies]),
                    np.concatenate([[0.0], fraction]), where="post", color=colour,
                    linestyle=style, linewidth=1.3)
        if undecided:  # said where it is true: one panel's empty curve is not another's
            ax.text(0.98, 0.03, f"none decided: {tables.name(tables.x)} "
                    f"{', '.join(undecided)}", transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=7, color="0.3")
        if tables.others:
            ax.set_title(tables.group_label(group) if len(tables.others) > 1
                         else f"{tables.legend_title()}: {group[0]}", fontsize=10)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        if log_scale:
            ax.set_xscale("log")
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for column in range(cols):  # the lowest panel drawn in each column carries the x labels
        lowest = axes[(len(groups) - 1 - column) // cols, column]
        lowest.xaxis.set_tick_params(labelbottom=True)
        lowest.set_xlabel(f"decision latency ({tables.unit}, from the first request)")
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of runs decided")
    # The legend covers every panel: one entry per x value, whichever panels it appears in.
    handles = [Line2D([], [], color=colour, linestyle=style, linewidth=1.3)
               for colour, style, x_value in zip(colours, styles, x_values, strict=True)
               if x_value in decided_somewhere]
    labels = [x_value + ("" if decided_somewhere[x_value] else " (none decided)")
              for x_value in x_values if x_value in decided_somewhere]
    title = textwrap.fill(tables.name(tables.x), 22)
    longest = max([min(len(title), 22), *(len(label) for label in labels)])
    right = 1.0 - (0.7 + 0.075 * longest) / figure.get_size_inches()[0]
    figure.legend(handles, labels, title=title, fontsize=8, title_fontsize=8,
                  loc="center left", bbox_to_anchor=(right, 0.5), frameon=False,
                  handlelength=3)
    figure.suptitle("Decision latency CDF (a curve ends at its decision rate)")
    return _finish(figure, tables, "latency_cdf", right=right)


def _band_plot(ax: Any, tables: SweepTables, column: str, log: bool,
               min_decided: int = 0) -> None:
    """One line per group against x, with its interval band where the table has one;
    points resting on fewer than ``min_decided`` decided runs are drawn hollow."""
    x_values = tables.values(tables.x)
    xs, labels = _positions(x_values)
    for group in tables.groups():
        rows = {r[tables.x]: r for r in tables.summary
                if tuple(r[a] for a in tables.others) == group}
        ys = np.array([_float(rows[v][column]) if v in rows else math.nan for v in x_values])
        lows = np.array([_float(rows[v].get(f"{column}_lo", "")) if v in rows else math.nan
                         for v in x_values])
        highs = np.array([_float(rows[v].get(f"{column}_hi", "")) if v in rows else math.nan
                          for v in x_values])
        label = tables.group_label(group)
        if labels is not None:  # categories: no line between them, intervals as error bars
            ax.errorbar(xs, ys, yerr=[ys - lows, highs - ys], fmt="o", markersize=4,
                        capsize=3, label=label)
            continue
        line = ax.plot(xs, ys, marker="o", markersize=3, label=label)[0]
        if not np.all(np.isnan(lows)):
            ax.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.18, linewidth=0)
        if min_decided:
            few = np.array([v in rows and int(rows[v]["decided"]) < min_decided
                            for v in x_values])
            ax.plot(xs[few], ys[few], linestyle="none", marker="o", markersize=6,
                    markerfacecolor="white", markeredgecolor=line.get_color())
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    _x_axis(ax, tables, labels, xs)


QUANTILE_MIN_RUNS = {"p50": 10, "p95": 20, "p99": 100}
"""Below 1/(1-q) decided runs a point's q-quantile is just its slowest run."""


def latency_quantiles(tables: SweepTables) -> list[Path]:
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    values = [_float(r[f"latency_{q}_hi"]) for r in tables.summary for q in ("p50", "p99")]
    values = [v for v in values if v > 0]
    log = bool(values) and max(values) / min(values) > 20
    decided = [int(r["decided"]) for r in tables.summary if r["decided"]]
    for ax, quantile in zip(axes, ("p50", "p95", "p99"), strict=True):
        enough = QUANTILE_MIN_RUNS[quantile]
        _band_plot(ax, tables, f"latency_{quantile}", log, min_decided=enough)
        ax.set_title(f"{quantile} decision latency\n(hollow: fewer than {enough} decided runs)",
                     fontsize=10)
    axes[0].set_ylabel(f"decision latency ({tables.unit})")
    if tables.others:
        axes[0].legend(title=tables.legend_title(), fontsize=8, title_fontsize=8)
    n = f"n = {min(decided)}-{max(decided)}" if decided else "n = 0"
    figure.suptitle(f"Decision latency quantiles against {tables.name(tables.x)} "
                    f"(bands: 95% bootstrap intervals; decided runs only, {n} per point)")
    return _finish(figure, tables, "latency_quantiles")


def messages_per_decision(tables: SweepTables) -> list[Path]:
    figure, ax = plt.subplots(figsize=(6.5, 4.4))
    values = [_float(r["messages_per_decision"]) for r in tables.summary]
    finite = [v for v in values if v > 0]
    _band_plot(ax, tables, "messages_per_decision",
               log=bool(finite) and max(finite) / min(finite) > 20)
    ax.set_ylabel("messages sent per decision")
    if tables.others:
        ax.legend(title=tables.legend_title(), fontsize=8, title_fontsize=8)
    ax.set_title(f"Messages per decision against {tables.name(tables.x)}\n"
                 "(all messages sent at a point, decided or not, over its decisions)",
                 fontsize=10)
    return _finish(figure, tables, "messages_per_decision")


def decision_rate_heatmap(tables: SweepTables, pair: Sequence[str]) -> list[Path]:
    across, down = pair
    columns, rows = tables.values(across), tables.values(down)
    decided = np.zeros((len(rows), len(columns)))
    trials = np.zeros((len(rows), len(columns)))
    for r in tables.summary:
        i, j = rows.index(r[down]), columns.index(r[across])
        decided[i, j] += int(r["decided"])
        trials[i, j] += int(r["runs"]) - int(r["errors"])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = decided / trials
    figure, ax = plt.subplots(figsize=(max(5.5, 0.62 * len(columns) + 2.5),
                                       max(3.0, 0.55 * len(rows) + 1.9)))
    # cividis: readable with any colour vision and in greyscale (red-green was neither)
    image = ax.imshow(rate, cmap="cividis", vmin=0, vmax=1, aspect="auto", origin="lower")
    for i in range(len(rows)):
        for j in range(len(columns)):
            if not math.isnan(rate[i, j]):
                ax.text(j, i, f"{rate[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if rate[i, j] > 0.55 else "white")
    ax.set_xticks(range(len(columns)), columns, rotation=45 if len(columns) > 8 else 0,
                  fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel(tables.name(across))
    ax.set_ylabel(tables.name(down))
    pooled = [tables.name(a) for a in tables.axes if a not in pair]
    note = f" (pooled over {', '.join(pooled)})" if pooled else ""
    ax.set_title(f"Decision rate: runs that chose a value{note}", fontsize=10)
    figure.colorbar(image, ax=ax, label="decision rate")
    return _finish(figure, tables, "decision_rate_heatmap")


REPLOG_PANELS = (
    ("commit_p50_mean", "commit latency p50 ({unit})", "Commit latency, median"),
    ("commit_p99_mean", "commit latency p99 ({unit})", "Commit latency, 99th percentile"),
    ("throughput_per_s_mean", "commands answered per second", "Throughput"),
    ("messages_per_command_mean", "messages per committed command", "Cost"),
)


def is_replicated_log(tables: SweepTables) -> bool:
    """A sweep of multipaxos / p2p runs: its figures are per command, not per decision."""
    return any(r.get("commands_committed_mean") for r in tables.summary)


def replicated_log_figures(tables: SweepTables) -> list[Path]:
    """Commit latency, throughput and messages per command against the x parameter
    (per-point means over the runs), one line per value of the other parameters."""
    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, (column, label, title) in zip(axes.flat, REPLOG_PANELS, strict=True):
        _band_plot(ax, tables, column, log=False)
        ax.set_ylabel(label.format(unit=tables.unit))
        ax.set_title(title, fontsize=10)
        ax.set_ylim(bottom=0)
    if tables.others:
        axes[0, 0].legend(title=tables.legend_title(), fontsize=8, title_fontsize=8)
    figure.suptitle(f"Replicated log against {tables.name(tables.x)} "
                    "(means over each point's runs)")
    return _finish(figure, tables, "replicated_log", intervals=False)


def write_charts(directory: Path) -> list[Path]:
    """Draw every chart that the sweep's grid allows into ``directory/charts``."""
    tables = SweepTables(Path(directory))
    if is_replicated_log(tables):
        return replicated_log_figures(tables)
    written = latency_cdf(tables) + latency_quantiles(tables) + messages_per_decision(tables)
    pair = tables.manifest["charts"].get("heatmap")
    if not pair and len(tables.axes) >= 2:
        pair = [tables.x, tables.others[0]]
    if pair:
        written += decision_rate_heatmap(tables, pair)
    return written
