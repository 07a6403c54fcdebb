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


def message_label(kind: str, msg: dict[str, Any], ballot_format: str = "number") -> str:
    """A message as the diagrams show it, e.g. ``accept 5:31PM, "data1"``."""
    ballot = ballot_label(msg.get("ballot"), ballot_format) if "ballot" in msg else ""
    match kind:
        case "promise":
            text = f"promise {ballot}"
            if msg.get("accepted_ballot") is not None:
                text += (f" (accepted {ballot_label(msg['accepted_ballot'], ballot_format)}, "
                         f"{value_label(msg.get('accepted_value'))})")
            return text
        case "nack":
            return f"nack {ballot} (promised {ballot_label(msg['promised'], ballot_format)})"
        case "accept" | "accepted" if "value" in msg:
            return f"{kind} {ballot}, {value_label(msg['value'])}"
    return f"{kind} {ballot}".strip()
