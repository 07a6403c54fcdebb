"""Strict, path-aware reading of nested dicts loaded from TOML.

A :class:`Table` wraps one TOML table and remembers which keys were read, so
that :meth:`Table.finish` can reject unknown keys (a typo such as ``los =
0.1`` must never be silently ignored). Every error names the file and the
dotted key path, e.g. ``x.toml: network.links."a->b".loss: must be ...``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from paxossim.errors import UserError

_MISSING = object()
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def safe_name(text: str) -> str:
    """``text`` made a plain name (see :meth:`Table.file_name`), for default names."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:100]
    return cleaned if SAFE_NAME.fullmatch(cleaned) else f"x{cleaned}"[:100]


def join_key(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    part = key if key.replace("_", "").replace("-", "").isalnum() else f'"{key}"'
    return f"{path}.{part}" if path else part


class Table:
    """A TOML table being validated: typed getters plus unknown-key detection."""

    def __init__(self, data: Any, source: str, path: str = "") -> None:
        self.source = source
        self.path = path
        if not isinstance(data, dict):
            self.fail(f"must be a table, got {type_name(data)}")
        self.data: dict[str, Any] = data
        self._read: set[str] = set()

    # -- errors -------------------------------------------------------------
    def where(self, key: str | int | None = None) -> str:
        path = self.path if key is None else join_key(self.path, key)
        return f"{self.source}: {path}" if path else self.source

    def fail(self, what: str, key: str | int | None = None) -> None:
        raise UserError(self.where(key), what)

    # -- access -------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> list[str]:
        return list(self.data)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._read.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self.fail("is required", key)
        return default

    def table(self, key: str, default_empty: bool = True) -> Table:
        value = self.raw(key, {} if default_empty else _MISSING)
        return Table(value, self.source, join_key(self.path, key))

    def tables(self, key: str) -> list[Table]:
        value = self.raw(key, [])
        if not isinstance(value, list):
            self.fail(f"must be an array of tables, got {type_name(value)}", key)
        base = join_key(self.path, key)
        return [Table(item, self.source, join_key(base, i)) for i, item in enumerate(value)]

    def string(self, key: str, default: Any = _MISSING, choices: Sequence[str] = ()) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str):
            self.fail(f"must be a string, got {type_name(value)}", key)
        if choices and value not in choices:
            self.fail(f"must be one of {', '.join(choices)}; got {value!r}", key)
        return value

    def file_name(self, key: str, default: str) -> str:
        """A name that becomes a folder under ``results/``: one plain path component,
        so that no name can write outside where the user asked (``../x``, ``/etc``)."""
        value = self.string(key, default)
        if not SAFE_NAME.fullmatch(value):
            self.fail(f"must be a plain name (letters, digits, '.', '_', '-', starting "
                      f"with a letter or digit, at most 100), got {value!r}", key)
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            self.fail(f"must be true or false, got {type_name(value)}", key)
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = None,
                maximum: int | None = None) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"must be an integer, got {type_name(value)}", key)
        if minimum is not None and value < minimum:
            self.fail(f"must be at least {minimum}, got {value}", key)
        if maximum is not None and value > maximum:
            self.fail(f"must be at most {maximum}, got {value}", key)
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float:
        value = self.raw(key, default)
        return check_number(
            value, self.where(key), minimum=minimum, maximum=maximum, positive=positive
        )

    def probability(self, key: str, default: float = 0.0) -> float:
        value = self.raw(key, default)
        number = check_number(value, self.where(key))
        if not 0.0 <= number <= 1.0:
            self.fail(f"is a probability and must be within [0, 1], got {number}", key)
        return number

    def string_list(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self.raw(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail("must be a list of strings", key)
        return list(value)

    def finish(self) -> None:
        """Reject any key that no getter asked for."""
        unknown = [k for k in self.data if k not in self._read]
        if unknown:
            known = ", ".join(sorted(self._read)) or "none"
            self.fail(f"unknown key (known keys here: {known})", unknown[0])

    def child_path(self, key: str) -> str:
        return join_key(self.path, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)


def check_number(
    value: Any,
    where: str,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(where, f"must be a number, got {type_name(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise UserError(where, f"must be a finite number, got {number}")
    if positive and number <= 0:
        raise UserError(where, f"must be greater than 0, got {format_number(number)}")
    if minimum is not None and number < minimum:
        what = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        raise UserError(where, f"{what}, got {format_number(number)}")
    if maximum is not None and number > maximum:
        raise UserError(where, f"must be at most {maximum}, got {format_number(number)}")
    return number


def format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def type_name(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)
