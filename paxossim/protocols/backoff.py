"""Randomized exponential backoff, shared by every protocol that retries.

A scenario writes it as flat keys in the protocol's table (``backoff_base``,
``backoff_multiplier``, ``backoff_max``, ``backoff_jitter``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from paxossim.schema import Table


@dataclass(frozen=True)
class Backoff:
    """Backoff k is min(max, base * multiplier**(k-1)), scaled by a uniform factor
    in [1 - jitter, 1 + jitter]; jitter 0 gives fixed backoffs (and livelock, see FLP)."""

    base: float = 20.0
    multiplier: float = 2.0
    max: float = 1000.0
    jitter: float = 0.5

    def delay(self, attempt: int, uniform: float) -> float:
        """The wait before attempt ``attempt + 1``, given a uniform draw in [0, 1).

        Past about a thousand attempts ``multiplier ** attempt`` overflows a
        float; the wait has long been capped at ``max`` by then.
        """
        try:
            grown = self.base * self.multiplier ** (attempt - 1)
        except OverflowError:
            grown = math.inf
        delay = min(self.max, grown)
        return delay * (1.0 - self.jitter + 2.0 * self.jitter * uniform)


def parse_backoff(table: Table, defaults: Backoff) -> Backoff:
    return Backoff(
        base=table.number("backoff_base", defaults.base, minimum=0),
        multiplier=table.number("backoff_multiplier", defaults.multiplier, minimum=1),
        max=table.number("backoff_max", defaults.max, minimum=0),
        jitter=table.number("backoff_jitter", defaults.jitter, minimum=0, maximum=1),
    )


def backoff_to_dict(backoff: Backoff) -> dict[str, Any]:
    return {
        "backoff_base": backoff.base,
        "backoff_multiplier": backoff.multiplier,
        "backoff_max": backoff.max,
        "backoff_jitter": backoff.jitter,
    }
