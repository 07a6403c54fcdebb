"""Sequence diagrams of one run, drawn from its log's events alone.

- :func:`write_space_time`: a space-time diagram (PNG): a lifeline per node,
  time flowing down, one arrow per message from its send time to its delivery
  time, so a slow message visibly slants further; drops end in a red cross,
  crashed stretches of a lifeline are red, partitions are shaded.
- :func:`write_mermaid`: a Mermaid ``sequenceDiagram`` in the post's style,
  messages ordered by when they arrive (what each receiver saw, in order).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paxossim import protocols
from paxossim.labels import render, time_label
from paxossim.log.files import atomic_write
from paxossim.protocols.contract import EventKind, Protocol
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
        if kind == "send":
            by_id[event["m"]] = Trace(event["m"], event["src"], event["dst"], event["type"],
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
    a lifeline at both ends."""
    names = dict.fromkeys(scenario["nodes"])
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


def diagram_title(header: dict[str, Any], protocol: Protocol, shown: int, total: int,
                  end: float, unit: str, columns: int = 110) -> str:
    """Name and seed; the variant and what it breaks; the ``--set`` overrides; and,
    for a long run, how much of it is drawn: a figure pasted into a paper or a
    slide must say which run it is."""
    scenario = header["scenario"]
    lines = [f"{scenario['name']} — seed {header['seed']}"]
    variant = scenario.get("variant", "correct")
    if variant != "correct":
        described = protocol.variants.get(variant)
        lines.append(f"variant {variant}" + (f": {described.description}" if described else ""))
    settings = [s for s in header.get("set", []) if not s.startswith("variant=")]
    if settings:
        lines.append("set " + ", ".join(settings))
    if total > shown:
        lines.append(f"first {shown} of {total} messages shown (up to t={time_label(end)} "
                     f"{unit})")
    return "\n".join(textwrap.fill(line, columns) for line in lines)


def write_space_time(header: dict[str, Any], events: list[dict[str, Any]], path: Path,
                     violations: list[dict[str, Any]], messages: int | None = None) -> Path:
    """Draw the diagram (:func:`draw_space_time`) into ``path``, whole or not at all."""
    import matplotlib.pyplot as plt

    fig, _ = draw_space_time(header, events, violations, messages)
    temp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(temp)
    plt.close(fig)
    temp.replace(path)
    return path


def draw_space_time(header: dict[str, Any], events: list[dict[str, Any]],
                    violations: list[dict[str, Any]],
                    messages: int | None = None) -> tuple[Any, LabelPlacer]:
    """The diagram's figure, and where its labels went. ``violations`` are the
    summary's (the log footer's), so every check the run made is marked, the
    protocol's own (linearizability...) included.

    ``events`` may be the run's :func:`opening` only; ``messages`` is then the
    run's total (sent and duplicated), for the title.

    The frame (axes, title, legend) is laid out first and message labels placed
    last, measured as drawn, so that none covers another label, a mark or an
    arrowhead (:class:`LabelPlacer`).
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
    drawn_until = end
    end *= 1.05

    width = max(6.0, 1.9 * len(nodes) + 2)
    height = min(26.0, max(5.0, 0.32 * len(shown) + 2.5))
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    ax.set_xticks(range(len(nodes)))
    ax.set_xticklabels(nodes, fontsize=10, fontweight="bold")
    ax.xaxis.tick_top()
    ax.set_xlim(-0.6, len(nodes) - 0.1)
    ax.set_ylim(end, 0)
    ax.set_ylabel(f"simulated time ({unit})")
    for side in ("right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    total = max(len(all_traces), messages or 0)
    # About 11 characters of a 10 pt title per inch: wrap to the figure, however narrow.
    ax.set_title(diagram_title(header, protocol, len(shown), total, drawn_until, unit,
                               columns=int(width * 11)), fontsize=10, pad=28)
    drawn = {trace.kind for trace in shown}
    handles = [plt.Line2D([], [], color=c, lw=2, label=k) for k, c in colors.items()
               if k in drawn]
    if any(trace.copy_of is not None for trace in shown):
        handles.append(plt.Line2D([], [], color="#444444", lw=1.3, ls="--",
                                  label="duplicate copy"))
    handles.append(plt.Line2D([], [], color="#d62728", marker="x", ls="", label="dropped"))
    handles.append(plt.Line2D([], [], color="#ff7f0e", marker="*", ls="", ms=10,
                              label="decided (learned)"))
    per_row = max(1, min(len(handles), 8, int(width / 1.3)))  # an entry is about 1.2 in
    fig.legend(handles=handles, loc="lower center", ncol=per_row, fontsize=8, frameon=False)
    rows = math.ceil(len(handles) / per_row)
    fig.tight_layout(rect=(0, (0.12 + 0.22 * rows) / height, 1, 1))

    for start, stop in partition_windows(events, end):
        ax.axhspan(start, stop, color="#fdd49e", alpha=0.35, lw=0)
    for _name, x in column.items():
        ax.plot([x, x], [0, end], color="#444444", lw=1.2, zorder=1)
    placer = LabelPlacer(fig, ax)
    for node, start, stop in down_windows(events, end):
        ax.plot([column[node]] * 2, [start, stop], color="#d62728", lw=5, alpha=0.6,
                solid_capstyle="butt", zorder=2)
        placer.keep(ax.text(column[node] + 0.04, start, "crash", color="#d62728", fontsize=7,
                            va="bottom"))

    ends: list[tuple[Trace, float, float]] = []
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
        placer.avoid(x0, trace.sent, x_end, y_end)
        ends.append((trace, x_end, y_end))
    for event in events:
        kind = marked.get(event["ev"])
        if kind is None or kind.mark_style == "fault" or event.get("node") not in column:
            continue
        x = column[event["node"]]
        if kind.mark_style == "decision":
            ax.plot([x], [event["t"]], marker="*", ms=14, color="#ff7f0e", zorder=6)
        color = {"decision": "#b35806", "refusal": "#d62728"}.get(kind.mark_style, "#444444")
        placer.keep_if_free(ax.text(x + 0.06, event["t"], render(kind.mark, (), event, fmt),
                                    fontsize=8, color=color, va="center"))

    violated: dict[float, set[str]] = {}
    for violation in violations:
        if violation["time"] <= end:
            violated.setdefault(violation["time"], set()).add(violation["invariant"])
    for index, (time, invariants) in enumerate(sorted(violated.items())):
        ax.axhline(time, color="#d62728", lw=1, ls=":", zorder=0)
        placer.keep(ax.text(-0.55, time, f"{', '.join(sorted(invariants))} violated",
                            color="#d62728", fontsize=8, fontweight="bold",
                            va="bottom" if index % 2 == 0 else "top"))

    for trace, x_end, y_end in ends:
        text = message_text(protocol, trace.kind, trace.msg, fmt)
        if trace.dropped is not None:
            text += f" [dropped: {trace.why}]"
        placer.place(column[trace.src], trace.sent, x_end, y_end, text,
                     colors.get(trace.kind, PALETTE[0]))
    return fig, placer


def extent(text: Any, renderer: Any) -> Any:
    """A text's box on the figure, its white background included."""
    from matplotlib.transforms import Bbox

    box = text.get_window_extent(renderer)
    patch = text.get_bbox_patch()
    if patch is None:
        return box
    text.update_bbox_position_size(renderer)
    return Bbox.union([box, patch.get_window_extent(renderer)])


class LabelPlacer:
    """Puts message labels where they cover no other label, mark or arrowhead.

    Measured as drawn (each candidate's extent on the laid-out figure), not
    guessed from its length: a label tries points along its arrow, nearest the
    middle first, and is left out if every one would cover something (the
    arrow's colour still tells its type).
    """

    FRACTIONS = (0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85)
    CLEARANCE = 6.0
    """Pixels a label keeps clear of an arrowhead or a drop's cross."""
    HEAD = 12.0
    """Pixels an arrowhead reaches back from its tip along the arrow."""

    def __init__(self, fig: Any, ax: Any) -> None:
        self.ax = ax
        self.renderer = fig.canvas.get_renderer()
        self.taken: list[Any] = []  # display-space boxes of placed texts
        self.tips: list[tuple[float, float]] = []  # display-space points
        self.placed: list[Any] = []  # the message labels kept, for tests

    def avoid(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Keep labels off the head of the arrow from (x0, y0) to its tip (x1, y1)."""
        (sx, sy), (tx, ty) = self.ax.transData.transform([(x0, y0), (x1, y1)])
        length = math.hypot(tx - sx, ty - sy) or 1.0
        dx, dy = (tx - sx) / length, (ty - sy) / length
        for back in (0.0, self.HEAD / 3, 2 * self.HEAD / 3, self.HEAD):
            self.tips.append((float(tx - back * dx), float(ty - back * dy)))

    def keep(self, text: Any) -> None:
        """A text drawn where it must be (a mark): labels go around it."""
        self.taken.append(extent(text, self.renderer))

    def keep_if_free(self, text: Any) -> bool:
        """A mark beside a lifeline, left out where it would cover an earlier one
        (two refusals a moment apart at one acceptor, say)."""
        box = extent(text, self.renderer)
        if any(box.overlaps(other) for other in self.taken):
            text.remove()
            return False
        self.taken.append(box)
        return True

    def place(self, x0: float, y0: float, x1: float, y1: float, text: str,
              color: str) -> Any | None:
        for fraction in self.FRACTIONS:
            x, y = x0 + fraction * (x1 - x0), y0 + fraction * (y1 - y0)
            label = self.ax.text(x, y, text, fontsize=7.5, ha="center", va="center",
                                 color=color, zorder=5,
                                 bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                       "ec": "none", "alpha": 0.85})
            box = extent(label, self.renderer)
            if self.free(box):
                self.taken.append(box)
                self.placed.append(label)
                return label
            label.remove()
        return None

    def free(self, box: Any) -> bool:
        grown = box.padded(self.CLEARANCE)
        return (not any(box.overlaps(other) for other in self.taken)
                and not any(grown.contains(x, y) for x, y in self.tips))


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
            steps.append((event["t"], notes, f"    Note over {ids[event['node']]}: "
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
