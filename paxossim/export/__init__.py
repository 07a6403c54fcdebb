"""Export a run's log to tools people already use.

- ``perfetto``: Chrome trace event JSON, which ui.perfetto.dev and
  chrome://tracing open (:mod:`paxossim.export.perfetto`);
- ``shiviz``: ShiViz's log format, each event with a vector clock
  (:mod:`paxossim.export.shiviz`).

Both read the log as a stream (:func:`paxossim.log.files.iter_events`), keep
only what is still open (messages in flight, outages), and give the same bytes
for the same log; the output is written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from paxossim.errors import UserError
from paxossim.export import perfetto, shiviz
from paxossim.log.files import LogHead, atomic_write, iter_events, scan_log

Converter = Callable[[LogHead, Iterator[dict[str, Any]]], Iterator[bytes]]
FORMATS: dict[str, tuple[str, Converter]] = {
    "perfetto": (".perfetto.json", perfetto.trace),
    "shiviz": (".shiviz.log", shiviz.lines),
}
"""Format name -> (suffix of the default file name, converter)."""


def write_export(log: Path, fmt: str, out: Path | None = None) -> Path:
    """Write ``log`` in format ``fmt`` (default file: beside the log, named after it)."""
    if fmt not in FORMATS:
        raise UserError("--format", f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    suffix, convert = FORMATS[fmt]
    head = scan_log(log)
    target = out if out is not None else log.with_name(log.stem + suffix)
    atomic_write(target, list(convert(head, iter_events(log))))
    return target
