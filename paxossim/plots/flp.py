"""The FLP chart: time to decision against the width of the randomized timeout range.

The shape of the Raft paper's election-time figure (Ongaro & Ousterhout 2014,
fig. 16), for the dueling proposers of ``scenarios/flp_livelock.toml``: with
a range of width 0 (fixed timeouts) nothing is ever decided; a little
randomness lets the duel last a long while; a wider range breaks it within
a round or two. Each width is run with many seeds (:mod:`paxossim.experiments.flp`); a run's
time to decision is its first ``learned`` event after its first ``request``,
and a run that decides nothing within the horizon counts as undecided
(censored).

Left panel: the cumulative share of runs decided by a given time, one line
per width (the Raft figure itself). Right panel: median and 10th-90th
percentile time to decision per width, with the share of undecided runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from paxossim.log.files import atomic_write
from paxossim.plots.timeline import save_png


def write_flp_data(times: dict[float, list[float | None]], path: Path) -> Path:
    rows = [{"width": width, "times": values} for width, values in times.items()]
    atomic_write(path, [orjson.dumps(rows, option=orjson.OPT_INDENT_2), b"\n"])
    return path


def write_flp_chart(
    times: dict[float, list[float | None]], base_timeout: float, horizon: float, path: Path,
    unit: str = "ms",
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.2), dpi=110)
    colors = plt.cm.viridis(np.linspace(0.0, 0.9, len(times)))
    for (width, values), color in zip(times.items(), colors, strict=True):
        decided = np.sort([v for v in values if v is not None])
        label = f"{base_timeout:g}-{base_timeout + width:g} {unit}"
        if len(decided) == 0:
            left.plot([], [], color=color, label=f"{label}: never decides")
            continue
        share = np.arange(1, len(decided) + 1) / len(values) * 100
        left.step(np.concatenate([[decided[0]], decided, [horizon]]),
                  np.concatenate([[0], share, [share[-1]]]), where="post", color=color,
                  label=label, lw=1.6)
    left.set_xscale("log")
    left.set_xlim(right=horizon)
    left.set_ylim(0, 102)
    left.set_xlabel(f"time to decision ({unit}, log scale)")
    left.set_ylabel("runs decided (%)")
    left.set_title("Share of runs decided by a given time,\nper attempt-timeout range",
                   fontsize=10)
    left.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5),
                title="timeout range", title_fontsize=8)
    left.grid(alpha=0.3)

    widths = list(times)
    medians, lows, highs, undecided = [], [], [], []
    for values in times.values():
        # Undecided runs count as "at least the horizon", so percentiles stay honest.
        filled = np.array([horizon if v is None else v for v in values])
        medians.append(np.percentile(filled, 50))
        lows.append(np.percentile(filled, 10))
        highs.append(np.percentile(filled, 90))
        undecided.append(100.0 * sum(v is None for v in values) / len(values))
    right.fill_between(widths, lows, highs, color="#1f77b4", alpha=0.2,
                       label="10th-90th percentile")
    right.plot(widths, medians, "o-", color="#1f77b4", label="median")
    right.axhline(horizon, color="#d62728", ls=":", lw=1)
    right.text(widths[-1], horizon * 0.9, "horizon: undecided runs count as this",
               color="#d62728", fontsize=8, ha="right", va="top")
    right.set_xscale("symlog", linthresh=1.0)
    right.set_yscale("log")
    right.set_ylim(top=horizon * 2.5)
    right.set_xticks(widths)
    # The share of undecided runs goes under each width, where nothing overlaps.
    right.set_xticklabels(
        [f"{w:g}" + (f"\n{share:.0f}%" if share else "")
         for w, share in zip(widths, undecided, strict=True)], fontsize=8)
    for label, share in zip(right.get_xticklabels(), undecided, strict=True):
        if share:
            label.set_color("#d62728")
    right.set_xlim(-0.3, widths[-1] * 1.25 if widths[-1] > 0 else 1.0)
    right.set_xlabel(f"width of the randomized timeout range ({unit})\n"
                     "in red under a width: the share of runs undecided at the horizon")
    right.set_ylabel(f"time to decision ({unit}, log scale)")
    right.set_title(f"Dueling proposers, {len(next(iter(times.values())))} seeds per width",
                    fontsize=10)
    right.legend(fontsize=8, loc="lower left")
    right.grid(alpha=0.3)
    fig.suptitle("FLP, shown: fixed timeouts never decide; randomized ones do", fontsize=11)
    fig.tight_layout()
    return save_png(fig, path)
