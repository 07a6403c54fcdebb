"""Per-command latency over time for a replicated-log run, with fault windows shaded.

Drawn from the log alone: each client command is a dot at (invocation time,
latency to its response); commands never answered are drawn as carets at
the latency they had reached by the horizon (a lower bound). Crash windows
(per node, red) and partition windows (orange) are shaded and drawn as bars,
one row per node, leader elections and safety violations marked. A lower
strip shows answered commands per bin, where a failover shows as a gap.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paxossim import protocols
from paxossim.labels import render
from paxossim.log.files import atomic_write

BINS = 60


def fault_windows(
    events: list[dict[str, Any]], end: float
) -> tuple[list[tuple[str, float, float]], list[tuple[float, float]]]:
    """(node, down from, up at) for each crash; (from, to) for each partition."""
    down_since: dict[str, float] = {}
    crashes = []
    cut_since: dict[int, float] = {}
    cuts = []
    for event in events:
        kind = event["ev"]
        if kind == "crash":
            down_since[event["node"]] = event["t"]
        elif kind == "recover" and event["node"] in down_since:
            crashes.append((event["node"], down_since.pop(event["node"]), event["t"]))
        elif kind == "partition":
            cut_since[event["index"]] = event["t"]
        elif kind == "heal" and event["index"] in cut_since:
            cuts.append((cut_since.pop(event["index"]), event["t"]))
    crashes += [(node, start, end) for node, start in down_since.items()]
    cuts += [(start, end) for start in cut_since.values()]
    return crashes, cuts


def command_latencies(
    events: list[dict[str, Any]], horizon: float, protocol: str
) -> tuple[list[tuple[float, float, str]], list[tuple[float, float]]]:
    """Answered (invoked at, latency, op) and unanswered (invoked at, latency so far),
    from the KV clients' ``invoke`` and ``respond`` events."""
    invoke, respond = f"{protocol}.invoke", f"{protocol}.respond"
    invoked: dict[str, tuple[float, str]] = {}
    answered = []
    for event in events:
        if event["ev"] == invoke:
            invoked[event["id"]] = (event["t"], event["op"])
        elif event["ev"] == respond and event["id"] in invoked:
            start, op = invoked.pop(event["id"])
            answered.append((start, event["t"] - start, op))
    pending = [(start, horizon - start) for start, _ in invoked.values()]
    return answered, pending


LABEL_GAP = 0.025
"""Election labels closer than this share of the time axis to the last one drawn are
left out (their dashed lines stay): a burst of elections was an unreadable smear."""


def spaced(times: list[float], span: float, gap: float = LABEL_GAP) -> list[bool]:
    """Which of ``times`` (in order) get a label: each at least ``gap * span`` after the
    last labelled one."""
    keep, last = [], None
    for t in times:
        ok = last is None or t - last >= gap * span
        keep.append(ok)
        if ok:
            last = t
    return keep


def write_timeline(header: dict[str, Any], events: list[dict[str, Any]], path: Path,
                   violations: Sequence[dict[str, Any]] = ()) -> Path:
    """Latency dots on top, one row per crashed node and one for partitions in the
    middle (a bar per window: labels per crash piled up past the axis), answers per
    second below; ``violations`` (the summary's) are marked where they were found."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    scenario = header["scenario"]
    unit = scenario.get("time_unit", "ms")
    horizon = float(scenario["horizon"])
    protocol = protocols.get(scenario["protocol"])
    leader_marks = {name: kind for name, kind in protocol.event_kinds().items()
                    if kind.mark_style == "leader"}
    answered, pending = command_latencies(events, horizon, protocol.name)
    crashes, cuts = fault_windows(events, horizon)
    rows = sorted({node for node, _, _ in crashes}) + (["partition"] if cuts else [])

    strip = max(0.5, 0.22 * len(rows))
    if rows:
        fig, (top, middle, bottom) = plt.subplots(
            3, 1, figsize=(12, 5.9 + strip), dpi=110, sharex=True,
            gridspec_kw={"height_ratios": [3, strip / 0.5 * 0.45, 1]})
        panels = (top, middle, bottom)
    else:  # nothing failed: no empty strip
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 5.9), dpi=110, sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1]})
        panels = (top, bottom)
    for axis in panels:
        for _node, start, stop in crashes:
            axis.axvspan(start, stop, color="#d62728", alpha=0.08, lw=0)
        for start, stop in cuts:
            axis.axvspan(start, stop, color="#ff7f0e", alpha=0.12, lw=0)
    for op, color in (("put", "#1f77b4"), ("get", "#2ca02c")):
        points = [(t, lat) for t, lat, kind in answered if kind == op]
        if points:
            top.scatter(*zip(*points, strict=True), s=7, color=color, alpha=0.7,
                        label=f"{op} (answered)", lw=0)
    if pending:
        top.scatter(*zip(*pending, strict=True), s=18, marker="^", color="#7f7f7f",
                    label="never answered (latency so far)")
    top.set_yscale("log")
    top.set_ylabel(f"latency, client send to answer ({unit})")
    _low, high = top.get_ylim()
    marks = [(event, kind) for event in events
             if (kind := leader_marks.get(event["ev"])) is not None]
    for (event, kind), labelled in zip(marks, spaced([e["t"] for e, _ in marks], horizon),
                                       strict=True):
        top.axvline(event["t"], color="#555555", ls="--", lw=0.8)
        if labelled:
            top.text(event["t"], high, f" {render(kind.mark, (), event)}", rotation=90,
                     va="top", ha="left", fontsize=7, color="#333333")
    extra = [Line2D([], [], color="#555555", ls="--", lw=0.8, label="leader elected")] \
        if marks else []
    for violation in violations:
        top.axvline(violation["time"], color="#b00020", lw=1.6)
        top.text(violation["time"], high, f" {violation['invariant']} violated ",
                 rotation=90, va="top", ha="left", fontsize=8, color="#b00020",
                 fontweight="bold")
    if violations:
        extra.append(Line2D([], [], color="#b00020", lw=1.6, label="safety violation found"))
    top.set_ylim(top=high)
    handles, labels = top.get_legend_handles_labels()
    top.legend(handles + extra, labels + [h.get_label() for h in extra], loc="upper left",
               bbox_to_anchor=(1.01, 1.0), fontsize=8)
    top.set_title(f"{scenario['name']}: per-command latency (protocol {scenario['protocol']}, "
                  f"variant {scenario['variant']}, seed {header['seed']})", fontsize=10)

    if rows:
        draw_down_rows(middle, rows, crashes, cuts)

    width = horizon / BINS
    counts = [0] * BINS
    for start, latency, _op in answered:
        counts[min(BINS - 1, int((start + latency) / width))] += 1
    per_second = 1000.0 / width if unit == "ms" else 1.0 / width
    bottom.bar([(i + 0.5) * width for i in range(BINS)], [c * per_second for c in counts],
               width=width * 0.9, color="#1f77b4")
    bottom.set_ylabel("answers/s" if unit == "ms" else f"answers/{unit}")
    bottom.set_xlabel(f"time ({unit})")
    bottom.set_xlim(0, horizon)
    fig.tight_layout()
    return save_png(fig, path)


def draw_down_rows(axis: Any, rows: list[str], crashes: list[tuple[str, float, float]],
                   cuts: list[tuple[float, float]]) -> None:
    """One bar row per crashed node (its down windows) and one for partitions."""
    for row, name in enumerate(rows):
        if name == "partition":
            windows, colour = cuts, "#ff7f0e"
        else:
            windows = [(start, stop) for node, start, stop in crashes if node == name]
            colour = "#d62728"
        axis.broken_barh([(start, stop - start) for start, stop in windows], (row - 0.35, 0.7),
                         color=colour, alpha=0.8, lw=0)
    axis.set_yticks(range(len(rows)), [f"{r} down" if r != "partition" else "partitioned"
                                       for r in rows], fontsize=7)
    axis.set_ylim(-0.6, len(rows) - 0.4)
    axis.invert_yaxis()
    axis.tick_params(axis="y", length=0)
    axis.grid(axis="x", alpha=0.3)


def save_png(fig: Any, path: Path) -> Path:
    """Write a figure whole or not at all (atomic_write), then free it.

    PNG unless ``path`` ends in ``.svg`` or ``.pdf`` (for a paper); SVG keeps its
    text as text and fixed ids, so the same run draws the same bytes.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    fmt = path.suffix[1:].lower() if path.suffix.lower() in (".svg", ".pdf") else "png"
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "paxossim", "svg.fonttype": "none"}):
        metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None} \
            if fmt == "pdf" else {}
        fig.savefig(buffer, format=fmt, metadata=metadata)
    plt.close(fig)
    atomic_write(path, [buffer.getvalue()])
    return path
