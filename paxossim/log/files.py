"""Write, read and verify the JSON Lines event log.

Layout: a header line (``"type": "header"``: log schema, paxossim version,
fully resolved scenario, seed, input schedule), one line per event, and a footer line
(``"type": "footer"``: summary, ``events_sha256`` over the event lines, each
followed by a newline). Everything downstream (checks, metrics, plots,
replay) works from this file alone.

A run writes its log as it goes (:class:`LogFile`: a temp file renamed into
place when the run ends, so a reader never sees half a log), and readers
stream it (:func:`iter_events`), so neither side holds every event.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from paxossim import __version__
from paxossim.errors import UserError

SCHEMA = 2
"""2: protocol events are namespaced (``paxos.accepted``) and carry ``cause``."""
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def events_sha256(lines: list[bytes]) -> str:
    """The footer's checksum of event lines (each followed by a newline in the file)."""
    return hashlib.sha256(b"".join(line + b"\n" for line in lines)).hexdigest()


def seal(header_line: bytes, events_sha256: str, summary: Any) -> str:
    """The footer's checksum of the whole log: the header line as written, the
    event lines' sha256 and the summary, so that editing any of them shows."""
    digest = hashlib.sha256(header_line)
    digest.update(b"\n" + events_sha256.encode() + b"\n")
    digest.update(orjson.dumps(summary, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def footer_line(header_line: bytes, events_sha256: str, summary: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "footer", "summary": summary, "events_sha256": events_sha256,
                         "sha256": seal(header_line, events_sha256, summary)}) + b"\n"


def make_header(
    scenario: dict[str, Any], seed: int, schedule: dict[str, Any] | None = None,
    settings: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The header line; ``schedule`` is the executed input schedule's plain data
    (``Schedule.to_data()``), which replay runs again instead of drawing it;
    ``settings`` the ``--set`` assignments as typed, kept only when there are any
    (so a plain run's log is what it always was)."""
    return {
        "type": "header",
        "schema": SCHEMA,
        "paxossim": __version__,
        "seed": seed,
        "scenario": scenario,
    } | ({} if schedule is None else {"schedule": schedule}) | (
        {"set": list(settings)} if settings else {})


def move_into_place(temp: Path, path: Path) -> None:
    """Rename a finished ``temp`` file to ``path``, removing an older ``path`` first.

    Why not only ``os.replace``: on ext4 (its default ``auto_da_alloc``), a
    rename over an existing file forces the new file's data to disk, which
    measured 240-280 us against 28 us for unlink and rename; a rerun or a
    benchmark overwrites its log every time. A reader still never sees half a
    file: it sees the old one, none, or the new one.
    """
    path.unlink(missing_ok=True)
    os.replace(temp, path)


def atomic_write(path: Path, chunks: list[bytes]) -> None:
    """Write a file whole or not at all: a temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.writelines(chunks)
        os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes files private; results are not
        move_into_place(Path(temp), path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_log(
    path: Path, header: dict[str, Any], block: bytes, summary: dict[str, Any]
) -> None:
    """Write a whole log at once from its event block (lines, each ending in a newline)."""
    header_line = orjson.dumps(header)
    atomic_write(path, [header_line, b"\n", block,
                        footer_line(header_line, hashlib.sha256(block).hexdigest(), summary)])


class LogFile:
    """A log being written while its run goes: header first, footer last.

    The events go to ``out`` (buffered); :meth:`close` appends the footer and
    renames the temp file into place, :meth:`abort` removes it.
    """

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=".tmp")
        self.temp = Path(temp)
        self.out = os.fdopen(handle, "wb", buffering=1 << 16)
        self.header_line = orjson.dumps(header)
        self.out.write(self.header_line + b"\n")

    def close(self, summary: dict[str, Any], sha256: str) -> None:
        self.out.write(footer_line(self.header_line, sha256, summary))
        self.out.close()
        os.chmod(self.temp, 0o666 & ~_UMASK)  # mkstemp makes files private; results are not
        move_into_place(self.temp, self.path)

    def abort(self) -> None:
        self.out.close()
        self.temp.unlink(missing_ok=True)


@dataclass
class LogHead:
    """What a validated log says about itself, without its events."""

    path: str
    header: dict[str, Any]
    footer: dict[str, Any]
    events: int
    """How many event lines it holds."""


def _record(line: bytes, where: str) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise UserError(where, "not valid JSON") from None
    if not isinstance(record, dict):
        raise UserError(where, "expected a JSON object")
    return record


def scan_log(path: str | Path, verify: bool = True) -> LogHead:
    """Validate a log in one streaming pass (memory does not grow with its length);
    any defect is a UserError naming the line."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UserError(str(path), "no such file") from None
    except OSError as error:
        raise UserError(str(path), f"cannot read: {error.strerror}") from None
    sha = hashlib.sha256()
    header: dict[str, Any] | None = None
    header_line = b""
    last: dict[str, Any] | None = None
    last_block = b""
    number = 0
    with handle:
        for number, block in enumerate(handle, start=1):
            where = f"{path}: line {number}"
            if not block.endswith(b"\n"):
                raise UserError(where, "truncated: the last line is incomplete")
            record = _record(block[:-1], where)
            if header is None:
                if record.get("type") != "header":
                    raise UserError(where, "not a paxossim log: the header line is missing")
                if record.get("schema") != SCHEMA:
                    raise UserError(where, f"log schema {record.get('schema')!r} is not "
                                    f"{SCHEMA}, the one this paxossim reads")
                header, header_line = record, block[:-1]
                continue
            if last is not None:
                if "ev" not in last or "t" not in last:
                    raise UserError(f"{path}: line {number - 1}",
                                    "an event needs the keys 't' and 'ev'")
                sha.update(last_block)
            last, last_block = record, block
    if header is None:
        raise UserError(str(path), "empty file: not a paxossim log")
    if last is None or last.get("type") != "footer":
        raise UserError(f"{path}: line {number}", "truncated: the footer line is missing")
    if verify and last.get("events_sha256") != sha.hexdigest():
        raise UserError(str(path), "corrupt: the event lines do not match the footer's sha256")
    if verify and last.get("sha256") != seal(header_line, sha.hexdigest(), last.get("summary")):
        raise UserError(str(path), "corrupt: the header or the summary does not match the "
                        "footer's sha256")
    check_header(header, f"{path}: line 1")
    return LogHead(str(path), header, last, number - 2)


def check_header(header: dict[str, Any], where: str) -> None:
    """The header fields a replay trusts have the types it needs."""
    seed = header.get("seed")
    if type(seed) is not int or seed < 0:
        raise UserError(where, f"header seed must be a non-negative integer, got {seed!r}")
    for key in ("scenario",) + (("schedule",) if "schedule" in header else ()):
        if not isinstance(header.get(key), dict):
            raise UserError(where, f"header {key} must be a table, got "
                            f"{type(header.get(key)).__name__}")


def event_lines(path: str | Path) -> Iterator[bytes]:
    """A log's event lines (without newlines), streamed: for a log :func:`scan_log`
    validated, or one this process wrote."""
    with Path(path).open("rb") as lines:
        next(lines, None)
        pending: bytes | None = None
        for line in lines:
            if pending is not None:
                yield pending[:-1]
            pending = line


def iter_events(path: Path) -> Iterator[dict[str, Any]]:
    """A log's events, decoded one at a time (see :func:`event_lines`)."""
    for line in event_lines(path):
        yield orjson.loads(line)


@dataclass
class Log:
    path: str
    header: dict[str, Any]
    lines: list[bytes]
    events: list[dict[str, Any]]
    footer: dict[str, Any]


def read_log(path: str | Path, verify: bool = True) -> Log:
    """Read and validate a whole log into memory (short logs: tests, the timeline,
    re-rendering); any defect is a UserError naming the line."""
    head = scan_log(path, verify)
    lines = list(event_lines(path))
    return Log(head.path, head.header, lines, [orjson.loads(line) for line in lines],
               head.footer)
