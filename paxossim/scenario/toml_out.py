"""Write a scenario dict as TOML (the standard library reads TOML but does not write it).

Why our own: a shrunk or forked scenario must be a file that ``paxossim run``
reads back into the same dict, and the values a scenario holds are few
(tables, lists, strings, numbers, booleans). Tables become ``[sections]``;
lists are written inline, one element per line when they hold tables.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(data: dict[str, Any]) -> str:
    """``data`` as TOML text that :func:`tomllib.loads` reads back equal."""
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(data: dict[str, Any], path: list[str], lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if path and (plain or not tables):
        lines += ["", f"[{'.'.join(_key(p) for p in path)}]"]
    for key, value in plain.items():
        lines.append(f"{_key(key)} = {_value(value, top=True)}")
    for key, value in tables.items():
        _table(value, [*path, key], lines)


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def inline_value(value: Any) -> str:
    """``value`` as one line of TOML (what ``--set KEY=VALUE`` takes); TypeError if
    TOML cannot hold it."""
    return _value(value)


def _value(value: Any, top: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        parts = [_value(v) for v in value]
        if top and any(isinstance(v, dict) for v in value):
            return "[\n" + "".join(f"  {part},\n" for part in parts) + "]"
        return "[" + ", ".join(parts) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
