"""A one-line progress display for long single runs, on a terminal only.

Short runs (most) finish before it would show; output to a file or a pipe
never gets it, so logs and tests see exactly what they saw before.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from paxossim.sim.runtime import Simulation

SHOW_AFTER = 2.0
"""Seconds of wall time before the display appears."""


class SimulatedTime:
    """``simulated 1,234 / 10,000 ms (12%)``, redrawn in place on stderr."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, simulation: Simulation) -> None:
        if not self.stream.isatty() or time.monotonic() - self.started < SHOW_AFTER:
            return
        self.shown = True
        now, end = simulation.env.now, simulation.scenario.horizon
        self.stream.write(f"\r  simulated {now:,.0f} / {end:,.0f} "
                          f"{simulation.scenario.time_unit} ({now / end:.0%})")
        self.stream.flush()

    def close(self) -> None:
        """Erase the line, so the account starts on a clean one."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
