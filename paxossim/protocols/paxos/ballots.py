"""Ballot numbers as a scenario may write them: an integer, or a clock time as the post does."""

from __future__ import annotations

from typing import Any

from paxossim.errors import UserError


def parse_ballot(value: Any, where: str) -> int | None:
    """A ballot number, or a clock time "HH:MM" as minutes after midnight ("17:31" -> 1051).

    Scenarios that write clock times set ``ballot_format = "clock"`` so that
    diagrams and the account write them back the same way.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise UserError(where, "must be an integer or a clock time like \"17:31\"")
    if isinstance(value, int):
        if value < 0:
            raise UserError(where, f"must not be negative, got {value}")
        return value
    if isinstance(value, str):
        hours, sep, minutes = value.partition(":")
        if sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
            h, m = int(hours), int(minutes)
            if h < 24 and m < 60:
                return h * 60 + m
    raise UserError(where, f"must be an integer or a clock time like \"17:31\", got {value!r}")
