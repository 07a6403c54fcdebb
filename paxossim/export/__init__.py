"""Export a run's log to tools people already use.

- ``perfetto``: Chrome trace event JSON, which ui.perfetto.dev and
  chrome://tracing open (:mod:`paxossim.export.perfetto`);
- ``shiviz``: ShiViz's log format, each event with a vector clock
  (:mod:`paxossim.export.shiviz`).

Both stream the log (:func:`paxossim.log.files.iter_events`) and write the
same bytes for the same log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from paxossim.errors import UserError
from paxossim.log.files import LogHead, atomic_write, iter_events, scan_log


def _formats() -> dict[str, tuple[str, Callable[[LogHead, Iterator[dict[str, Any]]],
                                                 Iterator[bytes]]]]:
    from paxossim.export import perfetto, shiviz

    return {"perfetto": (".perfetto.json", perfetto.trace),
            "shiviz": (".shiviz.log", shiviz.lines)}


FORMATS = ("perfetto", "shiviz")


def write_export(log: Path, fmt: str, out: Path | None = None) -> Path:
    """Write ``log`` in format ``fmt`` (default file: beside the log, named after it)."""
    formats = _formats()
    if fmt not in formats:
        raise UserError("--format", f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    suffix, convert = formats[fmt]
    head = scan_log(log)
    target = out if out is not None else log.with_name(log.stem + suffix)
    atomic_write(target, list(convert(head, iter_events(log))))
    return target
