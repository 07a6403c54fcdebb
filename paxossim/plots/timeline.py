"""Per-command latency over time for a replicated-log run, with fault windows shaded.

Drawn from the log alone: each client command is a dot at (invocation time,
latency to its response); commands never answered are drawn as carets at
the latency they had reached by the horizon (a lower bound). Crash windows
(per node, red) and partition windows (orange) are shaded, leader elections
marked. A lower strip shows answered commands per bin, where a failover shows
as a gap.
"""

from __future__ import annotations

import io
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


def write_timeline(header: dict[str, Any], events: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenario = header["scenario"]
    unit = scenario.get("time_unit", "ms")
    horizon = float(scenario["horizon"])
    protocol = protocols.get(scenario["protocol"])
    leader_marks = {name: kind for name, kind in protocol.event_kinds().items()
                    if kind.mark_style == "leader"}
    answered, pending = command_latencies(events, horizon, protocol.name)
    crashes, cuts = fault_windows(events, horizon)

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 6.2), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for axis in (top, bottom):
        for _node, start, stop in crashes:
            axis.axvspan(start, stop, color="#d62728", alpha=0.12, lw=0)
        for start, stop in cuts:
            axis.axvspan(start, stop, color="#ff7f0e", alpha=0.15, lw=0)
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
    low, high = top.get_ylim()
    for event in events:
        kind = leader_marks.get(event["ev"])
        if kind is not None:
            top.axvline(event["t"], color="#555555", ls="--", lw=0.8)
            top.text(event["t"], high, f" {render(kind.mark, (), event)}", rotation=90,
                     va="top", ha="right", fontsize=7, color="#333333")
    for node, start, _stop in crashes:
        top.text(start, low, f" {node} down", fontsize=8, color="#d62728", va="bottom")
    for start, _stop in cuts:
        top.text(start, low * 1.6, " partitioned", fontsize=8, color="#c05000", va="bottom")
    top.set_ylim(low, high)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    top.set_title(f"{scenario['name']}: per-command latency (protocol {scenario['protocol']}, "
                  f"variant {scenario['variant']}, seed {header['seed']})", fontsize=10)

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


def save_png(fig: Any, path: Path) -> Path:
    """Write a figure whole or not at all (atomic_write), then free it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write(path, [buffer.getvalue()])
    return path
