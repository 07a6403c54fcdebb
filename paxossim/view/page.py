"""Write the viewer page: the template, its script and style, and the run's data inline.

The same log always gives the same bytes (the data is encoded with sorted keys
and nothing reads the clock), so a page can be committed next to its log and
compared.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from string import Template

import orjson

from paxossim import protocols
from paxossim.errors import UserError
from paxossim.log.files import LogHead, atomic_write, scan_log
from paxossim.view.data import view_data
from paxossim.view.states import record_states


def _asset(name: str) -> str:
    return resources.files("paxossim.view").joinpath(name).read_text(encoding="utf-8")


def page(head: LogHead) -> tuple[str, str | None]:
    """The HTML of ``head``'s log, and why node states are left out (None: they are in)."""
    protocol_name = head.header["scenario"].get("protocol")
    if protocol_name not in protocols.names():
        raise UserError(f"{head.path}: line 1", f"unknown protocol {protocol_name!r}")
    states = record_states(head, protocols.get(protocol_name))
    data = view_data(head, states)
    # "</" cannot end the script element early once written as "<\/" (same JSON).
    encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode().replace("</", "<\\/")
    text = Template(_asset("viewer.html")).substitute(
        title=html.escape(data["title"]), css=_asset("viewer.css"), js=_asset("viewer.js"),
        data=encoded)
    return text, states.problem


def write_view(log: Path, out: Path | None = None) -> tuple[Path, str | None]:
    """Validate ``log``, write its viewer (default: ``view.html`` beside it); return the
    path and the note on node states (None when they are shown)."""
    return _write(scan_log(log), out)


def _write(head: LogHead, out: Path | None) -> tuple[Path, str | None]:
    target = out if out is not None else Path(head.path).parent / "view.html"
    text, problem = page(head)
    atomic_write(target, [text.encode()])
    return target, problem


AUTO_LIMIT = 300_000
"""Events above which ``run`` and ``explore`` do not write the viewer unasked: building
it re-simulates the run and holds its events (6-10 s and 7 MB of page per 100,000
events on a 2-core machine: benchmarks/bench_view.py), which a long run should not
pay by default."""


def view_beside(log: Path) -> tuple[Path | None, str | None]:
    """The viewer ``run`` and ``explore`` write beside a log they wrote: the page, or
    None and why not when the log is longer than :data:`AUTO_LIMIT` events."""
    head = scan_log(log)
    if head.events > AUTO_LIMIT:
        return None, (f"view.html not written: {head.events:,} events (more than "
                      f"{AUTO_LIMIT:,}); paxossim view {log} writes it")
    return _write(head, None)
