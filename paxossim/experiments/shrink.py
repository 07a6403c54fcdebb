"""Shrink a failing run to a smaller one that fails the same way.

Why: a failing seed from ``explore`` has dozens of random crashes, a long
horizon and hundreds of events, most of which have nothing to do with the
violation. A person reads a counterexample with three items much faster.

How. The run's inputs are data (:mod:`paxossim.scenario.schedule`): the
scenario is rewritten with its drawn schedule made explicit
(:func:`paxossim.experiments.origin.explicit`), then reduced in passes, each
keeping a change only if the run still fails with the same *signature* (the
first violation's invariant, or ``liveness``):

- the horizon, cut to just after the violation (items after it go too);
- the schedule's items (requests, crashes, recoveries, partitions, heals,
  the heal phase) and per-message overrides, by delta debugging (Zeller's
  ddmin, removing complements of ever smaller chunks);
- scripted per-message delays and per-link settings, the same way;
- the network's randomness: loss and duplication set to zero, latency made
  constant at its mean, fifo ordering made free, each kept if it still fails;
  remaining random losses made explicit as per-message drops (then reduced);
- nodes, one at a time, where the scenario still validates without them;
- the liveness phase, for a safety violation.

Passes repeat until a whole round changes nothing. Every candidate is run
with the original seed, so the shrink is deterministic: the same run and the
same budget of re-runs give the same result. The budget in seconds is a
guard for the impatient; a shrink it stops depends on the machine's speed
(the report says which limit stopped it).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from paxossim import protocols
from paxossim.errors import UserError
from paxossim.experiments.origin import Origin, explicit, load_origin, signature
from paxossim.runs import RunResult, execute, save
from paxossim.scenario.model import Scenario, load_scenario, scenario_from_dict
from paxossim.scenario.toml_out import dumps

Raw = dict[str, Any]


@dataclass(frozen=True)
class Budget:
    """At most ``runs`` re-runs and about ``seconds`` of wall time (checked between runs)."""

    runs: int = 400
    seconds: float = 300.0


class _OutOfBudget(Exception):
    """Raised by a trial when the budget is spent; the shrink keeps what it has."""


class Trials:
    """Runs candidate scenarios with the original seed and says which still fail the
    target way; remembers each verdict, so a candidate seen before costs nothing."""

    def __init__(self, seed: int, target: str, budget: Budget,
                 note: Callable[[str], None]) -> None:
        self.seed = seed
        self.target = target
        self.budget = budget
        self.note = note
        self.runs = 0
        self.started = time.monotonic()
        self._seen: dict[bytes, dict[str, Any] | None] = {}

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _spend(self) -> None:
        if self.runs >= self.budget.runs or self.elapsed() > self.budget.seconds:
            raise _OutOfBudget
        self.runs += 1

    def lost(self, raw: Raw) -> list[int]:
        """The ids of the messages the network lost at random in ``raw``'s run."""
        self._spend()
        result = execute(scenario_from_dict(raw, "<shrink>"), self.seed, keep=True)
        return [e["m"] for e in result.iter_events() if e["ev"] == "drop" and e["why"] == "loss"]

    def summary(self, raw: Raw) -> dict[str, Any] | None:
        """The candidate's summary; None if it is not a valid scenario or run."""
        key = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
        if key in self._seen:
            return self._seen[key]
        self._spend()
        try:
            summary: dict[str, Any] | None = execute(
                scenario_from_dict(raw, "<shrink candidate>"), self.seed, keep=False).summary
        except UserError:  # e.g. a node still named by a protocol option
            summary = None
        except Exception as error:  # the simulator failed otherwise: not the same failure
            self.note(f"a candidate made the simulator raise {type(error).__name__}: {error}")
            summary = None
        self._seen[key] = summary
        if self.runs % 25 == 0:
            self.note(f"run {self.runs}/{self.budget.runs}, {self.elapsed():.1f} s")
        return summary

    def fails(self, raw: Raw) -> bool:
        summary = self.summary(raw)
        return summary is not None and signature(summary) == self.target


# -- reductions -----------------------------------------------------------------------


def ddmin(elements: list[Any], fails: Callable[[list[Any]], bool]) -> list[Any]:
    """A smallest-found sublist of ``elements`` for which ``fails`` holds (``fails`` holds
    for ``elements``): remove chunks, halving them until single elements are tried."""
    if elements and fails([]):
        return []
    chunks = 2
    while elements:
        size = math.ceil(len(elements) / chunks)
        parts = [elements[i:i + size] for i in range(0, len(elements), size)]
        for index in range(len(parts)):
            rest = [e for j, part in enumerate(parts) if j != index for e in part]
            if len(rest) < len(elements) and fails(rest):
                elements = rest
                chunks = max(chunks - 1, 2)
                break
        else:
            if size == 1:
                break
            chunks = min(chunks * 2, len(elements))
    return elements


def _get(raw: Raw, path: tuple[str, ...]) -> Any:
    node: Any = raw
    for key in path:
        node = node[key]
    return node


def _put(raw: Raw, path: tuple[str, ...], value: Any) -> Raw:
    new = copy.deepcopy(raw)
    _get(new, path[:-1])[path[-1]] = value
    return new


def reduce_list(raw: Raw, path: tuple[str, ...], trials: Trials) -> Raw:
    """ddmin over the list at ``path`` (schedule items, overrides, scripted delays)."""
    elements = list(_get(raw, path))
    kept = ddmin(elements, lambda subset: trials.fails(_put(raw, path, subset)))
    return _put(raw, path, kept) if len(kept) < len(elements) else raw


def reduce_links(raw: Raw, trials: Trials) -> Raw:
    """ddmin over the per-link settings (a link without one uses the default)."""
    links = list(raw["network"]["links"].items())
    kept = ddmin(links, lambda subset: trials.fails(_put(raw, ("network", "links"),
                                                          dict(subset))))
    return _put(raw, ("network", "links"), dict(kept)) if len(kept) < len(links) else raw


def shorten_horizon(raw: Raw, trials: Trials) -> Raw:
    """End the run just after its first violation (a safety signature only: a liveness
    failure needs the whole bound), dropping the items that would come later."""
    summary = trials.summary(raw)
    if trials.target == "liveness" or summary is None:
        return raw
    end = float(math.floor(summary["safety"]["violations"][0]["time"]) + 1)
    if end >= raw["horizon"]:
        return raw
    candidate = _put(raw, ("horizon",), end)
    candidate.pop("liveness", None)  # heal_at and its bound may lie after the new end
    schedule = candidate["schedule"]
    schedule["items"] = [item for item in schedule["items"] if item["at"] < end]
    return candidate if trials.fails(candidate) else raw


def drop_liveness(raw: Raw, trials: Trials) -> Raw:
    """A safety violation needs no liveness bound (the heal phase is an item anyway)."""
    if trials.target == "liveness" or "liveness" not in raw:
        return raw
    candidate = copy.deepcopy(raw)
    del candidate["liveness"]
    return candidate if trials.fails(candidate) else raw


def _link_tables(raw: Raw) -> list[tuple[str, ...]]:
    """Paths of the default link settings and of each per-link table."""
    return [("network",), *(("network", "links", key) for key in raw["network"]["links"])]


def calm_network(raw: Raw, trials: Trials) -> Raw:
    """Take randomness out of the network, one knob at a time, where it still fails:
    no loss, no duplicates, free ordering on every link setting, and the default
    latency made constant at its mean."""
    for table in _link_tables(raw):
        knobs: list[tuple[str, Any]] = [("loss", 0.0), ("duplicate", 0.0),
                                        ("ordering", "free")]
        if table == ("network",) and raw["network"]["latency"].get("model") != "constant":
            mean = scenario_from_dict(raw, "<shrink>").network.default.latency.mean()
            if math.isfinite(mean):
                knobs.append(("latency", {"model": "constant", "value": round(mean, 6)}))
        for key, value in knobs:
            if _get(raw, table).get(key, value) == value:
                continue
            candidate = _put(raw, (*table, key), value)
            if trials.fails(candidate):
                raw = candidate
    return raw


def explicit_losses(raw: Raw, trials: Trials) -> Raw:
    """Random losses become per-message drops (``overrides``), which the override pass
    can then remove one by one: set every loss to zero and drop, by message id, each
    message the current run lost. Kept only if the run still fails."""
    tables = [t for t in _link_tables(raw) if _get(raw, t).get("loss", 0.0) > 0]
    if not tables:
        return raw
    taken = {o["m"] for o in raw["schedule"]["overrides"]}
    lost = [{"m": m, "drop": True} for m in trials.lost(raw) if m not in taken]
    candidate = copy.deepcopy(raw)
    for table in tables:
        _get(candidate, table)["loss"] = 0.0
    candidate["schedule"]["overrides"] = sorted(
        [*candidate["schedule"]["overrides"], *lost], key=lambda o: o["m"])
    return candidate if trials.fails(candidate) else raw


def without_node(raw: Raw, node: str, default_quorums: bool) -> Raw:
    """``raw`` with ``node`` gone from the nodes, links, delays, clocks, variants, the
    Byzantine list and every schedule item that names it."""
    new = copy.deepcopy(raw)
    del new["nodes"][node]
    network = new["network"]
    network["links"] = {k: v for k, v in network["links"].items()
                        if node not in k.split("->")}
    network["delays"] = [d for d in network["delays"] if node not in (d["from"], d["to"])]
    for key in ("clocks", "variants"):
        new.get(key, {}).pop(node, None)
    if "byzantine" in new:
        new["byzantine"] = [n for n in new["byzantine"] if n != node]
    if default_quorums:
        new.pop("quorums", None)  # the defaults again, over the voters left
    items = []
    for item in new["schedule"]["items"]:
        if item.get("node") == node:
            continue
        if "groups" in item:
            groups = [[n for n in group if n != node] for group in item["groups"]]
            if len([g for g in groups if g]) < 2 or not groups[0]:
                continue
            item["groups"] = [g for g in groups if g]
        items.append(item)
    new["schedule"]["items"] = items
    return new


def remove_nodes(raw: Raw, trials: Trials) -> Raw:
    """Try each node's removal in turn (where the protocol still validates without it)."""
    for node in list(raw["nodes"]):
        if node not in raw["nodes"] or len(raw["nodes"]) == 1:
            continue
        scenario = scenario_from_dict(raw, "<shrink>")
        family = protocols.get(scenario.protocol)
        voters = len(scenario.nodes_with(family.decision.voters))
        default = tuple(scenario.quorum_sizes) == tuple(family.default_quorums(voters))
        candidate = without_node(raw, node, default)
        if trials.fails(candidate):
            raw = candidate
    return raw


PASSES: tuple[tuple[str, Callable[[Raw, Trials], Raw]], ...] = (
    ("horizon", shorten_horizon),
    ("schedule items", lambda raw, t: reduce_list(raw, ("schedule", "items"), t)),
    ("network", calm_network),
    ("losses made explicit", explicit_losses),
    ("message overrides", lambda raw, t: reduce_list(raw, ("schedule", "overrides"), t)),
    ("scripted delays", lambda raw, t: reduce_list(raw, ("network", "delays"), t)),
    ("per-link settings", reduce_links),
    ("nodes", remove_nodes),
    ("liveness phase", drop_liveness),
)


# -- counting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """The size of a run: its inputs and what happened."""

    nodes: int
    items: dict[str, int]
    """Schedule items by kind."""
    overrides: int
    delays: int
    losses: int
    """Messages the network lost at random in the run (inputs drawn from the seed,
    which the shrink may turn into explicit drops)."""
    duplicates: int
    """Copies the network made at random in the run."""
    links: int
    horizon: float
    events: int
    messages: int

    @property
    def inputs(self) -> int:
        """Input items: schedule items, message overrides, scripted delays, and the
        network's random losses and duplicates in the run."""
        return (sum(self.items.values()) + self.overrides + self.delays + self.losses
                + self.duplicates)

    def rows(self) -> list[tuple[str, str]]:
        kinds = ("request", "crash", "recover", "partition", "heal", "heal_phase")
        return [("nodes", str(self.nodes)),
                *((f"{kind} items", str(self.items.get(kind, 0))) for kind in kinds),
                ("message overrides", str(self.overrides)),
                ("scripted delays", str(self.delays)),
                ("random losses", str(self.losses)),
                ("random duplicates", str(self.duplicates)),
                ("input items (total)", str(self.inputs)),
                ("per-link settings", str(self.links)),
                ("horizon", f"{self.horizon:g}"),
                ("messages sent", str(self.messages)),
                ("events", str(self.events))]


def count(raw: Raw, result: RunResult) -> Counts:
    """``raw``'s inputs and what its run ``result`` did (its events streamed once)."""
    kinds: dict[str, int] = {}
    for item in raw["schedule"]["items"]:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    events = losses = 0
    for event in result.iter_events():
        events += 1
        losses += event["ev"] == "drop" and event["why"] == "loss"
    messages = result.summary["messages"]
    return Counts(len(raw["nodes"]), kinds, len(raw["schedule"]["overrides"]),
                  len(raw["network"]["delays"]), losses, int(messages["duplicated"]),
                  len(raw["network"]["links"]), float(raw["horizon"]), events,
                  int(messages["sent"]))


# -- the shrink -----------------------------------------------------------------------------


@dataclass
class ShrinkResult:
    target: str
    before: Counts
    after: Counts
    runs: int
    seconds: float
    """Time spent searching (the re-runs)."""
    total: float
    """Wall time of the whole shrink: the first run, the search, writing and drawing."""
    stopped: str
    """Why it ended: ``fixpoint`` (a round changed nothing) or the budget limit hit."""
    scenario_path: Path
    written: list[Path] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    """The passes that changed something, in order (for the report)."""
    settings: list[str] = field(default_factory=list)
    """Removed nodes and changed scenario settings, one phrase each (for the report)."""


def shrink(origin: Origin, out_dir: Path, budget: Budget = Budget(),
           note: Callable[[str], None] = lambda line: None, render: bool = True) -> ShrinkResult:
    """Shrink ``origin``'s run; write ``shrunk.toml``, its log, summary and diagrams
    into ``out_dir``. A UserError if the run does not fail."""
    started = time.monotonic()
    raw = explicit(origin.scenario, origin.schedule, origin.seed)
    first = execute(scenario_from_dict(raw, "<shrink>"), origin.seed, keep=True)
    target = signature(first.summary)
    if target is None:
        raise UserError(origin.where, "this run does not fail (no violation, liveness "
                        "not failed): nothing to shrink")
    trials = Trials(origin.seed, target, budget, note)
    original = raw
    before = count(raw, first)
    note(f"shrinking a run that fails {target!r}: {before.inputs} input items, "
         f"{before.events} events (budget {budget.runs} runs, {budget.seconds:g} s)")
    changes: list[str] = []
    stopped = "fixpoint"
    try:
        changed = True
        while changed:
            changed = False
            for name, step in PASSES:
                new = step(raw, trials)
                if new != raw:
                    changed = True
                    raw = new
                    changes.append(name)
                    note(f"{name}: now {_sizes(raw)} ({trials.runs} runs, "
                         f"{trials.elapsed():.1f} s)")
    except _OutOfBudget:
        stopped = (f"run budget ({budget.runs})" if trials.runs >= budget.runs
                   else f"time budget ({budget.seconds:g} s)")
        note(f"stopped by the {stopped}; keeping the smallest failing run found")
    result = _finish(origin, raw, target, before, trials, stopped, changes, out_dir, render)
    result.total = time.monotonic() - started
    result.settings = settings_changed(original, raw)
    return result


def settings_changed(before: Raw, after: Raw) -> list[str]:
    """What the shrink changed besides counts: nodes gone, network knobs, liveness."""
    phrases = [f"node {node} removed" for node in before["nodes"] if node not in after["nodes"]]
    for key in ("loss", "duplicate", "ordering", "latency"):
        old, new = before["network"].get(key), after["network"].get(key)
        if old != new:
            phrases.append(f"network.{key} {_setting(old)} -> {_setting(new)}")
    for link in before["network"]["links"]:
        if link not in after["network"]["links"]:
            phrases.append(f"network.links.{link} removed")
    if "liveness" in before and "liveness" not in after:
        phrases.append("liveness bound removed")
    return phrases


def _setting(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    return str(value)


def _sizes(raw: Raw) -> str:
    schedule = raw["schedule"]
    return (f"{len(schedule['items'])} items, {len(schedule['overrides'])} overrides, "
            f"{len(raw['nodes'])} nodes, horizon {raw['horizon']:g}")


def _finish(origin: Origin, raw: Raw, target: str, before: Counts, trials: Trials,
            stopped: str, changes: list[str], out_dir: Path, render: bool) -> ShrinkResult:
    """Write the shrunk scenario, run it from the file as ``paxossim run`` would, and
    check it fails the same way (a bug of the shrinker if not)."""
    searched = trials.elapsed()
    raw = copy.deepcopy(raw)
    raw["name"] = f"{origin.scenario.name}-shrunk"[:64]
    raw["description"] = f"Shrunk from {origin.where}: fails {target}"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "shrunk.toml"
    path.write_text(f"# paxossim shrink: the run of {origin.where} (seed {origin.seed}),\n"
                    f"# reduced to a smaller one that still fails {target!r}.\n"
                    f"# Replay: paxossim run {path}\n\n" + dumps(raw), encoding="utf-8")
    scenario: Scenario = load_scenario(path)
    result = execute(scenario, keep=False, log_path=out_dir / "events.jsonl")
    if signature(result.summary) != target:
        raise AssertionError(f"{path} does not fail {target!r} when run from the file")
    written = [path, *save(result, out_dir, render=render)]
    after = count(raw, result)
    return ShrinkResult(target, before, after, trials.runs, searched, searched, stopped, path,
                        written, changes)


def report(result: ShrinkResult) -> list[str]:
    """The before/after table and what was removed, as lines to print."""
    lines = [f"shrunk: still fails {result.target!r} after {result.runs} re-runs in "
             f"{result.seconds:.1f} s ({result.total:.1f} s in all, with writing and "
             f"drawing; stopped: {result.stopped})",
             f"  {'':<22}{'before':>10}{'after':>10}"]
    for (name, old), (_, new) in zip(result.before.rows(), result.after.rows(), strict=True):
        mark = "" if old == new else "  <-"
        lines.append(f"  {name:<22}{old:>10}{new:>10}{mark}")
    passes = ", ".join(dict.fromkeys(result.changes)) or "nothing"
    lines.append(f"  reduced by: {passes}")
    if result.settings:
        lines.append(f"  changed: {'; '.join(result.settings)}")
    lines.append(f"  replay: paxossim run {result.scenario_path}")
    return lines


# -- explore --shrink -----------------------------------------------------------------------


def first_per_signature(failures: Iterable[Any]) -> list[Any]:
    """The first failing seed of each signature (an explore outcome's ``problem`` starts
    with the invariant, or ``liveness``); seeds the simulator crashed on are left out."""
    chosen: dict[str, Any] = {}
    for outcome in failures:
        if outcome.log_dir is None or outcome.liveness == "error":
            continue
        chosen.setdefault(outcome.problem.partition(":")[0], outcome)
    return list(chosen.values())


def note_to(stream: TextIO | None) -> Callable[[str], None]:
    """Progress lines for a stream (stderr), or none."""
    if stream is None:
        return lambda line: None
    return lambda line: print(f"shrink: {line}", file=stream, flush=True)


def default_out_dir(origin: Origin) -> Path:
    return Path("results") / "shrink" / f"{origin.scenario.name}-seed-{origin.seed}"


def shrink_command(spec: str, out_dir: Path | None, budget: Budget, render: bool,
                   progress: TextIO | None) -> list[str]:
    """``paxossim shrink``: the lines to print (the CLI only echoes them)."""
    origin = load_origin(spec)
    result = shrink(origin, out_dir or default_out_dir(origin), budget, note_to(progress),
                    render)
    names = ", ".join(path.name for path in result.written)
    return [*report(result), f"  wrote: {result.scenario_path.parent}/ ({names})"]


def shrink_failures(failures: Iterable[Any], budget: Budget,
                    progress: TextIO | None) -> list[str]:
    """``explore --shrink``: shrink the first failing seed of each signature, into
    ``shrunk/`` beside its log."""
    lines = []
    for outcome in first_per_signature(failures):
        signature_name = outcome.problem.partition(":")[0]
        lines.append(f"shrinking seed {outcome.seed} (first to fail {signature_name}):")
        origin = load_origin(outcome.log_dir)
        result = shrink(origin, Path(outcome.log_dir) / "shrunk", budget, note_to(progress),
                        render=True)
        lines += [f"  {line}" for line in report(result)]
    return lines
