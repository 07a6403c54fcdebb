"""How ballots, values, times, events and messages are written for people.

Events and messages are told through templates that their protocol (or the
runtime) declares, e.g. ``"{node} promises ballot {ballot:ballot}"``: the
part after the colon names a notation (``ballot``, ``value``, ``groups``)
rather than a Python format spec, so one template serves the account, the
diagrams and a viewer.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
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


def plain_number(value: float, digits: int = 6) -> str:
    """``value`` to ``digits`` significant digits, never in exponent notation.

    Why: ``:g`` switches to ``1.318e+04`` past its precision, so one account
    printed times and latencies in two notations; a reader comparing
    ``t=9876 ms`` with ``1.318e+04 ms`` should not have to convert.
    """
    text = f"{value:.{digits}g}"
    if "e" not in text:
        return text
    if abs(value) >= 1:
        return f"{value:.0f}"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def time_label(time: float) -> str:
    return plain_number(time, 6)


def groups_label(groups: Any) -> str:
    return " | ".join(",".join(group) for group in groups)


class _Notation(string.Formatter):
    """``str.format`` whose format spec names a notation; missing fields read "?"."""

    def __init__(self, ballot_format: str) -> None:
        self.ballot_format = ballot_format

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get(str(key), "?")

    def format_field(self, value: Any, format_spec: str) -> str:
        match format_spec:
            case "ballot":
                return ballot_label(value, self.ballot_format)
            case "value":
                return value_label(value)
            case "groups":
                return groups_label(value)
            case "time":
                return time_label(value)
        return str(value)


def render(label: str, details: tuple[tuple[str, str], ...], fields: Mapping[str, Any],
           ballot_format: str = "number") -> str:
    """A declared template filled from ``fields``, with the details whose field is set."""
    notation = _Notation(ballot_format)
    text = notation.vformat(label, (), fields)
    for name, template in details:
        if fields.get(name) not in (None, False):
            text += notation.vformat(template, (), fields)
    return text
