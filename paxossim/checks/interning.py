"""One object per distinct string that the checks keep.

Every event a check reads is decoded from its own line, so the same value
(a command, a node's name) arrives as a new string object each time; a
long run's checks keep a few of them per command (the decision, what each
node learned, the client history), and holding one shared copy instead of
one per event is most of what they cost in memory.
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

T = TypeVar("T")


def shared(value: T) -> T:
    """``value``, or the one interned copy of it when it is a string."""
    if type(value) is str:
        result: Any = sys.intern(value)
        return result  # type: ignore[no-any-return]
    return value
