"""A sweep folder's files: the run journal, the results and summary tables, the manifest.

Output folder: ``manifest.json`` (the spec's hash and everything ``paxossim
plot`` needs), ``journal.jsonl`` (one line per finished run, appended as runs
finish: what ``--resume`` reads), ``results.csv`` (one row per run, sorted by
point and replicate, rewritten atomically every few seconds and at the end),
``timings.csv`` (wall time and worker memory per run: kept apart because they
differ from one execution to the next, while ``results.csv`` is byte-identical),
``summary.csv`` (per grid point aggregates) and ``charts/``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from paxossim import __version__, protocols
from paxossim.errors import UserError
from paxossim.experiments.sweep_spec import Point, PointScenario, SweepSpec, canonical
from paxossim.log.files import atomic_write

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
RESULTS = "results.csv"
TIMINGS = "timings.csv"
SUMMARY = "summary.csv"

RUN_COLUMNS = (
    "chosen", "chosen_value", "decided_at", "decision_latency", "learners_learned",
)
MESSAGE_COLUMNS = (
    "sent", "delivered", "dropped", "duplicated", "attempts", "retries", "crashes",
    "safe", "violations", "liveness",
)
REPLOG_COLUMNS = (
    "commands_committed", "commit_p50", "commit_p99", "throughput_per_s",
    "messages_per_command", "elections", "time_without_leader", "linearizable",
)
"""Replicated-log figures (multipaxos, p2p); empty for single-decree runs. Every
sweep has them, so that one grid may cross protocols (leader vs peer-to-peer)."""


def measure_columns(learners: list[str]) -> list[str]:
    return ["error", *RUN_COLUMNS, *(f"learn_latency_{n}" for n in learners), *MESSAGE_COLUMNS,
            *REPLOG_COLUMNS]


def cell(value: Any) -> str:
    """A CSV cell: empty for None, true/false, shortest round-trip floats, JSON otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return repr(value) if isinstance(value, float) else str(value)
    return canonical(value).decode()


def liveness_cell(liveness: Any) -> str:
    """Liveness as the summary gives it: a verdict's ``ok`` if it is a table."""
    if isinstance(liveness, dict) and "ok" in liveness:
        return cell(liveness["ok"])
    return cell(liveness)


def summary_cells(summary: dict[str, Any], learners: list[str]) -> list[str]:
    first_request = summary["first_request_at"]
    learned = summary["learned"]
    latencies = [
        learned[n]["t"] - first_request if n in learned and first_request is not None else None
        for n in learners
    ]
    messages = summary["messages"]
    safety = summary["safety"]
    return [cell(v) for v in (
        "", summary["chosen"] is not None, summary["chosen"], summary["decided_at"],
        summary["decision_latency"], len(learned), *latencies,
        messages["sent"], messages["delivered"], messages["dropped"], messages["duplicated"],
        summary.get("attempts"), summary.get("retries"), summary["crashes"], safety["ok"],
        len(safety["violations"]),
    )] + [liveness_cell(summary.get("liveness"))] + replog_cells(summary.get("replicated_log"))


def replog_cells(figures: dict[str, Any] | None) -> list[str]:
    if not figures:
        return [""] * len(REPLOG_COLUMNS)
    latency = figures["commit_latency"] or {}  # None when no command was answered
    return [cell(v) for v in (
        figures["commands_committed"], latency.get("p50"), latency.get("p99"),
        figures["throughput_per_s"], figures["messages_per_command"], figures["elections"],
        figures["time_without_leader"], figures["linearizability"]["verdict"] == "ok",
    )]


def error_cells(error: BaseException, learners: list[str]) -> list[str]:
    message = " ".join(f"{type(error).__name__}: {error}".split())
    return [message] + [""] * (len(measure_columns(learners)) - 1)


def learners_of(items: list[PointScenario]) -> list[str]:
    """Nodes that get a learn-latency column: those holding their protocol's
    declared learner role (``DecisionRule.learners``), in every point."""
    names: dict[str, None] = {}
    for item in items:
        role = protocols.get(item.raw.get("protocol", "paxos")).decision.learners
        for node, roles in item.raw.get("nodes", {}).items():
            if role is not None and role in roles:
                names[node] = None
    return list(names)


def columns_for(spec: SweepSpec, learners: list[str]) -> list[str]:
    return ["point", "replicate", *(a.name for a in spec.axes), "seed",
            *measure_columns(learners)]


def make_manifest(spec: SweepSpec, points: list[Point], learners: list[str],
                  time_unit: str) -> dict[str, Any]:
    return {
        "paxossim": __version__,
        "name": spec.name,
        "spec": str(spec.path),
        "scenario": str(spec.scenario_path),
        "spec_hash": spec.spec_hash,
        "seed": spec.seed,
        "seeds_per_point": spec.seeds_per_point,
        "bootstrap": spec.bootstrap,
        "time_unit": time_unit,
        "axes": [{"name": a.name, "values": list(a.values)} for a in spec.axes],
        "points": [[[k, v] for k, v in p.params] for p in points],
        "learners": learners,
        "columns": columns_for(spec, learners),
        "charts": {"x": spec.charts.x,
                   "heatmap": list(spec.charts.heatmap) if spec.charts.heatmap else None},
    }


def resumed_seeds_per_point(out_dir: Path) -> int | None:
    """The seeds per point a sweep folder was started with (so that a plain --resume of a
    ``--seeds-per-point 20`` sweep goes on with 20), or None if there is no sweep there."""
    if not (out_dir / MANIFEST).exists():
        return None
    value = read_manifest(out_dir).get("seeds_per_point")
    return value if isinstance(value, int) and value >= 1 else None


def read_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError(str(out_dir), f"not a sweep folder: no {MANIFEST}") from None
    except orjson.JSONDecodeError:
        raise UserError(str(path), "not valid JSON") from None


CHECK = "check"
"""The key of a journal line's own checksum (its first 16 hex digits of sha256)."""


def journal_line(record: dict[str, Any]) -> bytes:
    """``record`` as a journal line that can be verified on its own (issue 13 item 1:
    one flipped byte used to make ``plot`` drop every later run without a word)."""
    return orjson.dumps(record | {CHECK: _checksum(record)}) + b"\n"


def _checksum(record: dict[str, Any]) -> str:
    body = orjson.dumps({k: v for k, v in record.items() if k != CHECK},
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()[:16]


@dataclass
class Journal:
    """A journal as read: its good records, the numbers of its damaged lines, and
    whether it ends in a torn line (what a kill mid-write leaves)."""

    records: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    damaged: list[int] = field(default_factory=list)
    torn: bool = False
    good_lines: list[bytes] = field(default_factory=list)


def scan_journal(path: Path) -> Journal:
    """Every line is checked on its own: a damaged one is skipped, never the ones after it.
    Lines written before lines had checksums are taken as they are."""
    journal = Journal()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return journal
    lines = data.split(b"\n")
    journal.torn = lines[-1] != b""
    for number, line in enumerate(lines[:-1], start=1):
        try:
            record = orjson.loads(line)
            key = (int(record["point"]), int(record["replicate"]))
            record["cells"] = [str(c) for c in record["cells"]]
            if CHECK in record and record.pop(CHECK) != _checksum(record):
                raise ValueError("checksum")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            journal.damaged.append(number)
            continue
        journal.records.setdefault(key, record)
        journal.good_lines.append(line + b"\n")
    return journal


def read_journal(path: Path) -> dict[tuple[int, int], dict[str, Any]]:
    """The good records of a journal, by (point, replicate)."""
    return scan_journal(path).records


def repair_journal(path: Path, journal: Journal) -> None:
    """Keep only the good lines (byte for byte), so appending goes on from a clean end."""
    if journal.damaged or journal.torn:
        atomic_write(path, journal.good_lines)


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_tables(out_dir: Path, manifest: dict[str, Any],
                 records: dict[tuple[int, int], dict[str, Any]]) -> None:
    """results.csv and timings.csv from the journal's records, sorted, atomically."""
    seeds_per_point = manifest["seeds_per_point"]
    rows, timings = [], []
    for key in sorted(records):
        point, replicate = key
        if point >= len(manifest["points"]) or replicate >= seeds_per_point:
            continue
        record = records[key]
        params = [cell(v) for _, v in manifest["points"][point]]
        rows.append([str(point), str(replicate), *params, str(record["seed"]),
                     *record["cells"]])
        timings.append([str(point), str(replicate), str(record["seed"]),
                        f"{record['wall_s']:.6f}", f"{record['worker_rss_mib']:.1f}"])
    atomic_write(out_dir / RESULTS, [csv_bytes(manifest["columns"], rows)])
    atomic_write(out_dir / TIMINGS, [csv_bytes(
        ["point", "replicate", "seed", "wall_s", "worker_rss_mib"], timings)])


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """A CSV table, or its gzipped copy ``NAME.csv.gz`` (how curated results are shipped)."""
    packed = path.with_name(path.name + ".gz")
    try:
        if not path.exists() and packed.exists():
            with gzip.open(packed, "rt", newline="", encoding="utf-8") as handle:
                table = list(csv.reader(handle))
        else:
            with path.open(newline="", encoding="utf-8") as handle:
                table = list(csv.reader(handle))
    except FileNotFoundError:
        raise UserError(str(path), "no such file") from None
    if not table:
        raise UserError(str(path), "empty: the header line is missing")
    return table[0], table[1:]
