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


def event_block(lines: list[bytes]) -> bytes:
    """The event lines as they stand in the file: each followed by a newline."""
    return b"\n".join(lines) + b"\n" if lines else b""


def events_sha256(lines: list[bytes]) -> str:
    return hashlib.sha256(event_block(lines)).hexdigest()


def make_header(
    scenario: dict[str, Any], seed: int, schedule: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The header line; ``schedule`` is the executed input schedule's plain data
    (``Schedule.to_data()``), which replay runs again instead of drawing it."""
    return {
        "type": "header",
        "schema": SCHEMA,
        "paxossim": __version__,
        "seed": seed,
        "scenario": scenario,
    } | ({} if schedule is None else {"schedule": schedule})


def atomic_write(path: Path, chunks: list[bytes]) -> None:
    """Write a file whole or not at all: a temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.writelines(chunks)
        os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes files private; results are not
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_log(
    path: Path, header: dict[str, Any], block: bytes, summary: dict[str, Any]
) -> None:
    """Write a whole log at once from its event block (lines, each ending in a newline)."""
    footer = {"type": "footer", "summary": summary,
              "events_sha256": hashlib.sha256(block).hexdigest()}
    atomic_write(path, [orjson.dumps(header), b"\n", block, orjson.dumps(footer), b"\n"])


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
        self.out.write(orjson.dumps(header) + b"\n")

    def close(self, summary: dict[str, Any], sha256: str) -> None:
        footer = {"type": "footer", "summary": summary, "events_sha256": sha256}
        self.out.write(orjson.dumps(footer) + b"\n")
        self.out.close()
        os.chmod(self.temp, 0o666 & ~_UMASK)  # mkstemp makes files private; results are not
        os.replace(self.temp, self.path)

    def abort(self) -> None:
        self.out.close()
        self.temp.unlink(missing_ok=True)


@dataclass
class Log:
    path: str
    header: dict[str, Any]
    lines: list[bytes]
    events: list[dict[str, Any]]
    footer: dict[str, Any]


def read_log(path: str | Path, verify: bool = True) -> Log:
    """Read and validate a log; any defect is a UserError naming the line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(str(path), "no such file") from None
    except OSError as error:
        raise UserError(str(path), f"cannot read: {error.strerror}") from None
    if not raw:
        raise UserError(str(path), "empty file: not a paxossim log")
    if not raw.endswith(b"\n"):
        last = raw.count(b"\n") + 1
        raise UserError(f"{path}: line {last}", "truncated: the last line is incomplete")
    lines = raw[:-1].split(b"\n")
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise UserError(f"{path}: line {number}", "not valid JSON") from None
        if not isinstance(record, dict):
            raise UserError(f"{path}: line {number}", "expected a JSON object")
        records.append(record)
    if not records or records[0].get("type") != "header":
        raise UserError(f"{path}: line 1", "not a paxossim log: the header line is missing")
    header = records[0]
    if header.get("schema") != SCHEMA:
        raise UserError(f"{path}: line 1", f"log schema {header.get('schema')!r} is not "
                        f"{SCHEMA}, the one this paxossim reads")
    if len(records) < 2 or records[-1].get("type") != "footer":
        raise UserError(f"{path}: line {len(records)}",
                        "truncated: the footer line is missing")
    footer = records[-1]
    event_lines = lines[1:-1]
    if verify and footer.get("events_sha256") != events_sha256(event_lines):
        raise UserError(str(path), "corrupt: the event lines do not match the footer's sha256")
    for number, record in enumerate(records[1:-1], start=2):
        if "ev" not in record or "t" not in record:
            raise UserError(f"{path}: line {number}", "an event needs the keys 't' and 'ev'")
    return Log(str(path), header, event_lines, records[1:-1], footer)
