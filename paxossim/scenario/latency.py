"""Latency models: their scenario form, validation, and batched samplers.

Each model is written in a scenario as an inline table, e.g.
``latency = { model = "exponential", mean = 10.0, min = 2.0 }``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paxossim.errors import UserError
from paxossim.rng import BatchedDraws
from paxossim.schema import Table

# model name -> (parameter names, required); "empirical" is handled apart.
MODELS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "uniform": ("low", "high"),
    "normal": ("mean", "std"),
    "exponential": ("mean", "min"),
    "lognormal": ("mean", "std"),
    "pareto": ("min", "alpha"),
    "empirical": ("samples",),
}
OPTIONAL_DEFAULTS = {("exponential", "min"): 0.0}


MAX_SAMPLES_FILE = 64 * 1024 * 1024
"""Bytes an empirical latency file may hold: a CSV of measured latencies is a few
MB at most, and a device or a runaway file must not hang the load."""
ALLOW_OUTSIDE_ENV = "PAXOSSIM_ALLOW_OUTSIDE_FILES"
"""Set (by ``paxossim --allow-outside-files``) to let a scenario read a samples file
outside its own folder; worker processes inherit it."""


@dataclass(frozen=True)
class LatencySpec:
    model: str
    params: tuple[tuple[str, float], ...] = ()
    samples: tuple[float, ...] = ()
    read_from: tuple[str, str] | None = None
    """An empirical model's samples file: its name as the scenario wrote it, and
    the sha256 of its bytes, so a shared log says which file it was."""

    def to_dict(self) -> dict[str, Any]:
        if self.model == "empirical":
            read = {} if self.read_from is None else {"file": self.read_from[0],
                                                      "file_sha256": self.read_from[1]}
            return {"model": "empirical", "samples": list(self.samples)} | read
        return {"model": self.model, **dict(self.params)}

    def mean(self) -> float:
        """The model's theoretical mean (used by tests and by the account)."""
        p = dict(self.params)
        match self.model:
            case "constant":
                return p["value"]
            case "uniform":
                return (p["low"] + p["high"]) / 2
            case "exponential" | "lognormal":
                return p["mean"]
            case "normal":
                return _cut_normal_mean(p["mean"], p["std"])
            case "pareto":
                return math.inf if p["alpha"] <= 1 else p["alpha"] * p["min"] / (p["alpha"] - 1)
            case _:
                return float(np.mean(self.samples))


def _cut_normal_mean(mean: float, std: float) -> float:
    """Mean of max(0, N(mean, std)): values below zero are cut to zero."""
    if std == 0:
        return max(mean, 0.0)
    z = mean / std
    pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    return mean * cdf + std * pdf


def parse_latency(
    value: Any, source: str, path: str, base_dir: Path | None = None
) -> LatencySpec:
    """Validate a latency table (or a bare number, meaning constant)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = {"model": "constant", "value": value}
    table = Table(value, source, path)
    model = table.string("model", choices=tuple(MODELS))
    if model == "empirical":
        spec = _parse_empirical(table, base_dir)
    else:
        params = []
        for name in MODELS[model]:
            default = OPTIONAL_DEFAULTS.get((model, name))
            positive = (model, name) in {("pareto", "min"), ("pareto", "alpha")}
            if default is None:
                number = table.number(name, minimum=0, positive=positive)
            else:
                number = table.number(name, default, minimum=0)
            params.append((name, number))
        spec = LatencySpec(model=model, params=tuple(params))
        _check_relations(spec, table)
    table.finish()
    return spec


def _check_relations(spec: LatencySpec, table: Table) -> None:
    p = dict(spec.params)
    if spec.model == "uniform" and p["high"] < p["low"]:
        table.fail(f"high ({p['high']}) must not be below low ({p['low']})", "high")
    if spec.model == "exponential" and p["mean"] < p["min"]:
        table.fail(f"mean ({p['mean']}) must not be below min ({p['min']})", "mean")
    if spec.model == "lognormal" and p["mean"] <= 0:
        table.fail("must be greater than 0 for a lognormal latency", "mean")


def _parse_empirical(table: Table, base_dir: Path | None) -> LatencySpec:
    if table.has("samples"):
        raw = table.raw("samples")
        if not isinstance(raw, list) or not raw:
            table.fail("must be a non-empty list of numbers", "samples")
        samples = [_sample(v, table.where("samples")) for v in raw]
        name, digest = table.raw("file", None), table.raw("file_sha256", None)
        read_from = (str(name), str(digest)) if name is not None and digest is not None \
            else None
        return LatencySpec(model="empirical", samples=tuple(samples), read_from=read_from)
    name = table.string("file")
    path = samples_path(name, base_dir, table.where("file"))
    samples, digest = read_samples_csv(path, table.where("file"))
    return LatencySpec(model="empirical", samples=tuple(samples), read_from=(name, digest))


def samples_path(name: str, base_dir: Path | None, where: str) -> Path:
    """Where a samples ``file`` is: relative to the scenario's folder (the working
    directory for a scenario built in code), and inside it unless the user said
    otherwise with ``--allow-outside-files``: a scenario someone sent must not
    read, and copy into a log that gets shared, any file it likes."""
    base = (base_dir or Path.cwd()).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base) and not os.environ.get(ALLOW_OUTSIDE_ENV):
        raise UserError(where, f"{name!r} is outside the scenario's folder {str(base)!r}; "
                        "to read it anyway: paxossim --allow-outside-files ...")
    return path


def _sample(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UserError(where, f"samples must be non-negative numbers, got {value!r}")
    return float(value)


def read_samples_csv(path: Path, where: str) -> tuple[list[float], str]:
    """Every number in a CSV file (header cells and blanks are skipped), and the
    sha256 of the file's bytes. Only a regular file of at most MAX_SAMPLES_FILE
    bytes is read (``/dev/zero`` used to hang the load)."""
    try:
        if not path.is_file():
            if not path.exists():
                raise UserError(where, f"latency samples file {str(path)!r} does not exist")
            raise UserError(where, f"{str(path)!r} is not a regular file")
        size = path.stat().st_size
        if size > MAX_SAMPLES_FILE:
            raise UserError(where, f"{str(path)!r} holds {size} bytes; a samples file may "
                            f"hold at most {MAX_SAMPLES_FILE}")
        data = path.read_bytes()[:MAX_SAMPLES_FILE + 1]
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(where, f"cannot read {str(path)!r}: {error}") from None
    cells = [cell.strip() for row in csv.reader(io.StringIO(text, newline=""))
             for cell in row]
    samples = []
    for cell in cells:
        try:
            number = float(cell)
        except ValueError:
            continue
        if math.isfinite(number) and number >= 0:
            samples.append(number)
    if not samples:
        raise UserError(where, f"{str(path)!r} holds no non-negative numbers")
    return samples, hashlib.sha256(data).hexdigest()


def sampler(spec: LatencySpec, gen: np.random.Generator) -> Callable[[], float]:
    """A zero-argument function returning the next latency drawn from ``gen``."""
    p = dict(spec.params)
    if spec.model == "constant":
        value = p["value"]
        return lambda: value
    draw: Callable[[np.random.Generator, int], np.ndarray]
    match spec.model:
        case "uniform":
            low, high = p["low"], p["high"]
            draw = lambda g, n: g.uniform(low, high, n)  # noqa: E731
        case "normal":
            mean, std = p["mean"], p["std"]
            draw = lambda g, n: np.maximum(g.normal(mean, std, n), 0.0)  # noqa: E731
        case "exponential":
            low, scale = p["min"], p["mean"] - p["min"]
            draw = lambda g, n: low + g.exponential(scale, n)  # noqa: E731
        case "lognormal":
            sigma2 = math.log(1 + (p["std"] / p["mean"]) ** 2)
            mu = math.log(p["mean"]) - sigma2 / 2
            draw = lambda g, n: g.lognormal(mu, math.sqrt(sigma2), n)  # noqa: E731
        case "pareto":
            xm, alpha = p["min"], p["alpha"]
            draw = lambda g, n: xm * (1.0 + g.pareto(alpha, n))  # noqa: E731
        case "empirical":
            samples = np.asarray(spec.samples, dtype=float)
            draw = lambda g, n: g.choice(samples, n)  # noqa: E731
        case _:  # pragma: no cover - parse_latency rejects other names
            raise ValueError(spec.model)
    return BatchedDraws(gen, draw).next
