"""How ballots, values and times are written for people (account, diagrams)."""

from __future__ import annotations

from typing import Any


def clock_label(minutes: int) -> str:
    """Minutes after midnight as the post writes times: 1051 -> "5:31PM"."""
    hours, minute = divmod(minutes % (24 * 60), 60)
    suffix = "AM" if hours < 12 else "PM"
    return f"{(hours % 12) or 12}:{minute:02d}{suffix}"


def ballot_label(ballot: Any, ballot_format: str = "number") -> str:
    if ballot is None:
        return "none"
    number, proposer = (ballot, None) if isinstance(ballot, int) else ballot
    if ballot_format == "clock":
        return clock_label(int(number))
    return str(number) if proposer is None else f"({number},{proposer})"


def value_label(value: Any) -> str:
    return "no value" if value is None else f'"{value}"'


def time_label(time: float) -> str:
    return f"{time:.6g}"
