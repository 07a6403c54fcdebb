"""Sequence diagrams of one run, drawn from its log's events alone.

- :func:`write_space_time`: a space-time diagram (PNG): a lifeline per node,
  time flowing down, one arrow per message from its send time to its delivery
  time, so a slow message visibly slants further; drops end in a red cross,
  crashed stretches of a lifeline are red, partitions are shaded. A twinned
  node's second copy (``r1#2``) has a lifeline of its own, beside the node's.
- :func:`write_mermaid`: a Mermaid ``sequenceDiagram`` in the post's style,
  messages ordered by when they arrive (what each receiver saw, in order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paxossim import protocols
from paxossim.labels import render, time_label
from paxossim.log.files import atomic_write
from paxossim.protocols.contract import EventKind, Protocol
from paxossim.scenario.twins import copy_name
from paxossim.sim.events import RUNTIME_EVENTS

MAX_ARROWS = 200
MAX_MERMAID_STEPS = 300
PALETTE = ("#7f7f7f", "#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#d62728", "#8c564b",
           "#e377c2", "#bcbd22", "#ff7f0e", "#393b79", "#637939")
"""Message colours, in the order the protocol declares its messages (Paxos:
request grey, prepare blue, promise green, accept purple, accepted cyan,
nack red)."""


def type_colors(protocol: Protocol) -> dict[str, str]:
    return {message.TYPE: PALETTE[index % len(PALETTE)]
            for index, message in enumerate(protocol.messages)}


def message_text(protocol: Protocol, kind: str, msg: dict[str, Any], fmt: str) -> str:
    label, details = protocol.message_label(kind, msg)
    return render(label, details, msg, fmt)


def marks(protocol: Protocol) -> dict[str, EventKind]:
    """Event kinds (full names) that diagrams mark beside a lifeline."""
    return {name: kind for name, kind in (RUNTIME_EVENTS | protocol.event_kinds()).items()
            if kind.mark}


@dataclass
class Trace:
    """One message's journey, rebuilt from send/duplicate/deliver/drop events."""

    mid: int
    src: str
    dst: str
    kind: str
    msg: dict[str, Any]
    sent: float
    delivered: float | None = None
    dropped: float | None = None
    why: str = ""
    copy_of: int | None = None


def traces(events: list[dict[str, Any]]) -> list[Trace]:
    by_id: dict[int, Trace] = {}
    for event in events:
        kind = event["ev"]
        if kind == "send":  # the ends are instances: a twin's copy is drawn apart
            by_id[event["m"]] = Trace(event["m"], event.get("src_copy", event["src"]),
                                      event.get("dst_copy", event["dst"]), event["type"],
                                      event["msg"], event["t"])
        elif kind == "duplicate":
            original = by_id[event["of"]]
            by_id[event["m"]] = Trace(event["m"], original.src, original.dst, original.kind,
                                      original.msg, event["t"], copy_of=original.mid)
        elif kind == "deliver":
            by_id[event["m"]].delivered = event["t"]
        elif kind == "drop":
            trace = by_id[event["m"]]
            trace.dropped, trace.why = event["t"], event["why"]
    return list(by_id.values())


def lifelines(scenario: dict[str, Any], shown: list[Trace]) -> list[str]:
    """The scenario's nodes, then any other end of a shown message (the scripted
    client that requests come from and answers go back to), so every arrow has
    a lifeline at both ends. A twinned node's copy comes right after the node."""
    twinned = scenario.get("twins", {}).get("nodes", [])
    names = dict.fromkeys(name for node in scenario["nodes"]
                          for name in ((node, copy_name(node)) if node in twinned else (node,)))
    for trace in shown:
        names.update(dict.fromkeys((trace.src, trace.dst)))
    return list(names)


def opening(events: Iterable[dict[str, Any]], messages: int) -> list[dict[str, Any]]:
    """The events a diagram of a run's first ``messages`` messages needs: everything
    up to the moment the last of them is delivered or dropped, and nothing later,
    so that a long run's log is read only as far as its diagram reaches."""
    kept: list[dict[str, Any]] = []
    shown: set[int] = set()
    unsettled: set[int] = set()
    for event in events:
        kind = event["ev"]
        if kind in ("send", "duplicate"):
            if len(shown) >= messages:
                if not unsettled:
                    break
                continue  # a later message: not drawn
            shown.add(event["m"])
            unsettled.add(event["m"])
        elif kind in ("deliver", "drop"):
            if event["m"] not in shown:
                continue
            unsettled.discard(event["m"])
        kept.append(event)
    return kept


def down_windows(events: list[dict[str, Any]], end: float) -> list[tuple[str, float, float]]:
    """(node, from, to) for every stretch a node spent crashed."""
    down: dict[str, float] = {}
    windows = []
    for event in events:
        if event["ev"] == "crash":
            down[event["node"]] = event["t"]
        elif event["ev"] == "recover" and event["node"] in down:
            windows.append((event["node"], down.pop(event["node"]), event["t"]))
    windows.extend((node, start, end) for node, start in down.items())
    return windows


def partition_windows(events: list[dict[str, Any]], end: float) -> list[tuple[float, float]]:
    open_at: dict[int, float] = {}
    windows = []
    for event in events:
        if event["ev"] == "partition":
            open_at[event["index"]] = event["t"]
        elif event["ev"] == "heal" and event["index"] in open_at:
            windows.append((open_at.pop(event["index"]), event["t"]))
    windows.extend((start, end) for start in open_at.values())
    return windows


def write_space_time(header: dict[str, Any], events: list[dict[str, Any]], path: Path,
                     violations: list[dict[str, Any]], messages: int | None = None) -> Path:
    """Draw the diagram; ``violations`` are the summary's (the log footer's), so every
    check the run made is marked, the protocol's own (linearizability...) included.

    ``events`` may be the run's :func:`opening` only; ``messages`` is then the
    run's total (sent and duplicated), for the footnote.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenario = header["scenario"]
    fmt = scenario.get("ballot_format", "number")
    unit = scenario.get("time_unit", "ms")
    protocol = protocols.get(scenario["protocol"])
    colors = type_colors(protocol)
    marked = marks(protocol)
    all_traces = traces(events)
    shown = all_traces[:MAX_ARROWS]
    nodes = lifelines(scenario, shown)
    column = {name: index for index, name in enumerate(nodes)}
    if len(shown) < len(all_traces):
        # Draw only the time window the shown messages cover: a long run's
        # thousands of later events would bury the diagram (and take minutes).
        end = max(t.delivered or t.dropped or t.sent for t in shown)
        events = [e for e in events if e["t"] <= end]
    else:
        end = max([e["t"] for e in events] + [1.0])
        if shown:
            end = max(end, *[t.delivered or t.dropped or t.sent for t in shown])
    end *= 1.05

    width = max(6.0, 1.9 * len(nodes) + 2)
    height = min(26.0, max(5.0, 0.32 * len(shown) + 2.5))
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    for start, stop in partition_windows(events, end):
        ax.axhspan(start, stop, color="#fdd49e", alpha=0.35, lw=0)
    for _name, x in column.items():
        ax.plot([x, x], [0, end], color="#444444", lw=1.2, zorder=1)
    for node, start, stop in down_windows(events, end):
        for name in (node, copy_name(node)):  # a node's copies go down together
            if name not in column:
                continue
            ax.plot([column[name]] * 2, [start, stop], color="#d62728", lw=5, alpha=0.6,
                    solid_capstyle="butt", zorder=2)
            ax.text(column[name] + 0.04, start, "crash", color="#d62728", fontsize=7,
                    va="bottom")

    labels = LabelPlacer(y_per_line=end / height * 0.16)
    for trace in shown:
        x0, x1 = column[trace.src], column[trace.dst]
        color = colors.get(trace.kind, PALETTE[0])
        style = "--" if trace.copy_of is not None else "-"
        if trace.delivered is not None:
            ax.annotate("", xy=(x1, trace.delivered), xytext=(x0, trace.sent),
                        arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.3,
                                    "linestyle": style, "shrinkA": 0, "shrinkB": 0}, zorder=3)
            x_end, y_end = x1, trace.delivered
        else:
            y_end = trace.sent + 0.4 * (end / 40)
            x_end = x0 + 0.4 * (x1 - x0)
            ax.plot([x0, x_end], [trace.sent, y_end], color=color, lw=1.3, ls=style)
            ax.plot([x_end], [y_end], marker="x", color="#d62728", ms=9, mew=2, zorder=4)
        text = message_text(protocol, trace.kind, trace.msg, fmt)
        if trace.dropped is not None:
            text += f" [dropped: {trace.why}]"
        spot = labels.place(x0, trace.sent, x_end, y_end, len(text))
        if spot is not None:
            ax.text(spot[0], spot[1], text, fontsize=7.5, ha="center", va="center",
                    color=color, zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.85})
    for event in events:
        kind = marked.get(event["ev"])
        where = event.get("copy", event.get("node"))
        if kind is None or kind.mark_style == "fault" or where not in column:
            continue
        x = column[where]
        if kind.mark_style == "decision":
            ax.plot([x], [event["t"]], marker="*", ms=14, color="#ff7f0e", zorder=6)
        color = {"decision": "#b35806", "refusal": "#d62728"}.get(kind.mark_style, "#444444")
        ax.text(x + 0.06, event["t"], render(kind.mark, (), event, fmt), fontsize=8,
                color=color, va="center")

    violated: dict[float, set[str]] = {}
    for violation in violations:
        if violation["time"] <= end:
            violated.setdefault(violation["time"], set()).add(violation["invariant"])
    for index, (time, invariants) in enumerate(sorted(violated.items())):
        ax.axhline(time, color="#d62728", lw=1, ls=":", zorder=0)
        ax.text(-0.55, time, f"{', '.join(sorted(invariants))} violated", color="#d62728",
                fontsize=8, va="bottom" if index % 2 == 0 else "top", fontweight="bold")

    ax.set_xticks(range(len(nodes)))
    ax.set_xticklabels(nodes, fontsize=10, fontweight="bold")
    ax.xaxis.tick_top()
    ax.set_xlim(-0.6, len(nodes) - 0.1)
    ax.set_ylim(end, 0)
    ax.set_ylabel(f"simulated time ({unit})")
    for side in ("right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    title = f"{scenario['name']} — seed {header['seed']}"
    if scenario.get("variant", "correct") != "correct":
        title += f" — variant {scenario['variant']}"
    ax.set_title(title, fontsize=11, pad=28)
    total = max(len(all_traces), messages or 0)
    if total > len(shown):
        fig.text(0.01, 0.005, f"first {len(shown)} of {total} messages shown "
                 f"(up to t={time_label(end / 1.05)} {unit})",
                 fontsize=8)
    drawn = {trace.kind for trace in shown}
    handles = [plt.Line2D([], [], color=c, lw=2, label=k) for k, c in colors.items()
               if k in drawn]
    handles.append(plt.Line2D([], [], color="#d62728", marker="x", ls="", label="dropped"))
    handles.append(plt.Line2D([], [], color="#ff7f0e", marker="*", ls="", ms=10,
                              label="decided (learned)"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    temp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(temp)
    plt.close(fig)
    temp.replace(path)
    return path


class LabelPlacer:
    """Puts message labels where they do not cover each other.

    A label tries a few points along its arrow and is left out if all of them
    would cover a label already placed (the arrow's colour still tells its type).
    """

    FRACTIONS = (0.5, 0.3, 0.7, 0.2, 0.8)
    CHAR_WIDTH = 0.055  # in lifeline spacings, at font size 7.5

    def __init__(self, y_per_line: float) -> None:
        self.y_per_line = y_per_line
        self.boxes: list[tuple[float, float, float]] = []  # x centre, y, half width

    def place(self, x0: float, y0: float, x1: float, y1: float,
              length: int) -> tuple[float, float] | None:
        half = length * self.CHAR_WIDTH / 2
        for fraction in self.FRACTIONS:
            x, y = x0 + fraction * (x1 - x0), y0 + fraction * (y1 - y0)
            if all(abs(y - by) >= self.y_per_line or abs(x - bx) >= half + bh
                   for bx, by, bh in self.boxes):
                self.boxes.append((x, y, half))
                return x, y
        return None


def _mermaid_text(text: str) -> str:
    """Mermaid ends a message at ';' or a line break and starts an entity code at
    '#': write those as codes or spaces, so that no value or name in a scenario can
    start a line of its own (a ``link`` or ``click`` to a script, say)."""
    return "".join(_MERMAID_CODES.get(char, " " if not char.isprintable() else char)
                   for char in text)


_MERMAID_CODES = {"#": "#35;", ";": "#59;"}
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")


def _mermaid_ids(names: list[str]) -> dict[str, str]:
    """The id each lifeline has in the diagram: its name when that is a plain word,
    else ``n<k>`` with the name shown through ``participant n<k> as <name>``."""
    return {name: name if _PLAIN_NAME.fullmatch(name) else f"n{index}"
            for index, name in enumerate(names)}


def mermaid(header: dict[str, Any], events: list[dict[str, Any]]) -> str:
    scenario = header["scenario"]
    fmt = scenario.get("ballot_format", "number")
    protocol = protocols.get(scenario["protocol"])
    marked = marks(protocol)
    lines = ["sequenceDiagram"]
    all_traces = traces(events)
    ids = _mermaid_ids(lifelines(scenario, all_traces))
    lines += [f"    participant {id_}" if id_ == name else
              f"    participant {id_} as {_mermaid_text(name)}" for name, id_ in ids.items()]
    steps: list[tuple[float, int, str]] = []
    for order, trace in enumerate(all_traces):
        label = _mermaid_text(message_text(protocol, trace.kind, trace.msg, fmt))
        src, dst = ids[trace.src], ids[trace.dst]
        if trace.delivered is not None:
            arrow = "-->>" if trace.copy_of is not None else "->>"
            steps.append((trace.delivered, order, f"    {src}{arrow}{dst}: {label}"))
        else:
            steps.append((trace.sent, order,
                          f"    {src}-x{dst}: {label} (dropped: {trace.why})"))
    notes = len(steps)
    for event in events:
        kind = marked.get(event["ev"])
        if kind is not None:
            note = f"{render(kind.mark, (), event, fmt)} at t={time_label(event['t'])}"
            notes += 1
            where = event.get("copy", event["node"])
            steps.append((event["t"], notes, f"    Note over {ids[where]}: "
                          f"{_mermaid_text(note)}"))
    ordered = [text for _, _, text in sorted(steps, key=lambda s: (s[0], s[1]))]
    lines += ordered[:MAX_MERMAID_STEPS]
    if len(ordered) > MAX_MERMAID_STEPS:
        names = list(ids.values())
        lines.append(f"    Note over {names[0]},{names[-1]}: ... "
                     "later steps in events.jsonl")
    return "\n".join(lines) + "\n"


def write_mermaid(header: dict[str, Any], events: list[dict[str, Any]], path: Path) -> Path:
    atomic_write(path, [mermaid(header, events).encode("utf-8")])
    return path
