"""The Python API: load a scenario, run it, look at the result.

A thin layer over what ``paxossim run`` does (:mod:`paxossim.runs`), for
notebooks and scripts::

    import paxossim

    run = paxossim.run("late_arriving_proposal", seed=7, set={"network.loss": 0.1})
    print(run.verdict, run.summary["chosen"])
    refusals = [e for e in run.events() if e["ev"] == "refused"]
    run.diagrams("out")            # out/sequence.png, out/sequence.mmd

Mistakes (an unknown bundled name, a bad key or value) raise
:class:`paxossim.UserError` with the same one-line message the command line
prints. Heavy modules (numpy, simpy, matplotlib) are imported only when a
function is called, so that ``import paxossim`` stays quick.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paxossim.errors import UserError
from paxossim.scenario import bundled

if TYPE_CHECKING:
    from paxossim.runs import RunResult
    from paxossim.scenario.model import Scenario

Overrides = Mapping[str, Any] | Iterable[str] | str | None
"""Scenario keys to change: ``{"network.loss": 0.1}`` (Python values), or
``["network.loss=0.1"]`` (``KEY=VALUE`` with a TOML value, as ``--set`` takes)."""


def load_scenario(name_or_path: str | Path, set: Overrides = None) -> Scenario:
    """Read and validate a scenario: a bundled name or a ``.toml`` path.

    ``set`` changes keys before validation, as ``paxossim run --set`` does::

        scenario = paxossim.load_scenario("lossy_cluster", set={"network.loss": 0.3})
        scenario.nodes          # {'P1': ('proposer',), ...}
    """
    return _prepare(name_or_path, set, None)


def run(
    scenario: str | Path | Scenario,
    seed: int | None = None,
    set: Overrides = None,
    variant: str | None = None,
    out: str | Path | None = None,
    render: bool = False,
) -> Run:
    """Simulate one run and check it; same seed, same result.

    ``scenario`` is a bundled name, a ``.toml`` path or a loaded
    :class:`~paxossim.scenario.model.Scenario`; ``seed`` defaults to the scenario's.
    ``variant`` picks a deliberately broken protocol variant. With ``out`` the
    log and summary are written there (``events.jsonl``, ``summary.json``, and
    with ``render`` the diagrams), as ``paxossim run --out`` writes them::

        bad = paxossim.run("forgetful_acceptor", variant="forget-promise-on-restart")
        bad.safe              # False
        bad.violations[0]     # {'invariant': 'agreement', 'time': 90.0, ...}
    """
    from paxossim.runs import execute, save

    if render and out is None:
        raise UserError("render", "needs out=FOLDER to draw into (or call Run.diagrams(FOLDER))")
    loaded = _prepare(scenario, set, variant)
    result = execute(loaded, seed, settings=_settings(set, variant))
    files = save(result, Path(out), render=render) if out is not None else []
    return Run(loaded, result, tuple(files))


class Run:
    """One simulated run: its summary, its events, its verdict.

    Everything here comes from the run's encoded event lines, exactly what
    ``events.jsonl`` holds, so a saved run and an unsaved one read the same.
    """

    def __init__(self, scenario: Scenario, result: RunResult, files: tuple[Path, ...] = ()):
        self.scenario = scenario
        self.files = files
        """What was written into ``out`` (empty when nothing was saved)."""
        self._result = result

    @property
    def seed(self) -> int:
        return int(self._result.header["seed"])

    @property
    def header(self) -> dict[str, Any]:
        """The log's header: schema, paxossim version, resolved scenario, seed."""
        return self._result.header

    @property
    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds: chosen value, timings, messages, safety, liveness."""
        return self._result.summary

    @property
    def safe(self) -> bool:
        """True when agreement, validity and integrity all held."""
        return self._result.safe

    @property
    def violations(self) -> list[dict[str, Any]]:
        """The safety violations found: each names the invariant, the time and what broke."""
        return list(self.summary["safety"]["violations"])

    @property
    def verdict(self) -> str:
        """``"ok"``, ``"unsafe"``, or ``"not-live"`` (the scenario's liveness bound
        was missed): the cases in which ``paxossim run`` exits 0, 1, 1."""
        if not self.safe:
            return "unsafe"
        if self.summary["liveness"]["verdict"] == "failed":
            return "not-live"
        return "ok"

    @property
    def log_path(self) -> Path | None:
        """Where ``events.jsonl`` was written, if the run was saved with ``out``."""
        return next((p for p in self.files if p.name == "events.jsonl"), None)

    def __repr__(self) -> str:
        return (f"<Run {self.scenario.name} seed={self.seed} {self.verdict} "
                f"chosen={self.summary.get('chosen')!r}>")

    def events(self) -> Iterator[dict[str, Any]]:
        """The event lines, decoded afresh on each call (changing them changes nothing)."""
        import orjson

        return (orjson.loads(line) for line in self._result.lines)

    def account(self) -> str:
        """What happened, in words: the text ``paxossim run`` prints."""
        from paxossim.analysis.account import account

        return "\n".join(account(self.summary, self.header, self._result.events))

    def diagrams(self, out_dir: str | Path) -> list[Path]:
        """Draw ``sequence.png`` (space-time) and ``sequence.mmd`` (Mermaid) into ``out_dir``."""
        from paxossim.runs import render_diagrams

        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return render_diagrams(self.header, self._result.events, self.summary, folder)


def _prepare(scenario: str | Path | Scenario, overrides: Overrides,
             variant: str | None) -> Scenario:
    """The scenario to run, with keys changed and validated as ``--set`` does it.

    A given :class:`Scenario` is changed through its resolved form, the one the
    log's header stores, so it validates exactly as a replayed run would.
    """
    from paxossim.scenario.model import (
        Scenario,
        load_raw,
        scenario_from_dict,
        scenario_to_dict,
        set_key,
    )

    if isinstance(scenario, Scenario):
        if overrides is None and variant is None:
            return scenario
        raw, source, base_dir = scenario_to_dict(scenario), scenario.source, None
    else:
        path = bundled.resolve(scenario)
        raw, source, base_dir = load_raw(path), str(path), path.parent
    _apply(raw, overrides)
    if variant is not None:
        set_key(raw, "variant", variant)
    return scenario_from_dict(raw, source, base_dir=base_dir)


def _settings(overrides: Overrides, variant: str | None) -> tuple[str, ...]:
    """The overrides as ``--set`` would have been typed, for the log header: a run
    made here and the same run made on the command line write the same log."""
    from paxossim.experiments.sweep_spec import toml_value

    if overrides is None:
        typed: list[str] = []
    elif isinstance(overrides, str):
        typed = [overrides]
    elif isinstance(overrides, Mapping):
        typed = [f"{key}={toml_value(value)}" for key, value in overrides.items()]
    else:
        typed = list(overrides)
    if variant is not None:
        typed.append(f'variant="{variant}"')
    return tuple(typed)


def _apply(raw: dict[str, Any], overrides: Overrides) -> None:
    """Change scenario keys in ``raw``; a bad key is a UserError naming it."""
    from paxossim.scenario.model import apply_override, set_key

    if overrides is None:
        return
    if isinstance(overrides, str):
        overrides = [overrides]
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            set_key(raw, key, value, origin=f"set {key}={value!r}")
        return
    for assignment in overrides:
        apply_override(raw, assignment)
