"""``paxossim check SCENARIO --exhaustive``: search, print the figures, write and replay the trace.

Kept out of ``cli.py`` so the command there is only its flags. The figures
printed are the search's own (states generated and distinct, depth, time);
a violation's trace is written as a scenario and run at once, and the line
``replayed:`` says whether the run reports the same invariant broken.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from paxossim.experiments.exhaustive import Bounds, Search, SearchResult
from paxossim.experiments.exhaustive_por import ReducedSearch
from paxossim.experiments.exhaustive_replay import Untimeable, describe, write_replay
from paxossim.scenario.model import load_scenario


def bounds_line(bounds: Bounds) -> str:
    extra = f", timer firings <= {bounds.timers}" if bounds.timers is not None else ""
    extra += f", at most {bounds.max_states} states" if bounds.max_states else ""
    extra += ("; partial-order reduction (depth first)" if bounds.reduction
              else "; breadth first, no reduction")
    return (f"depth <= {bounds.max_depth}, drops <= {bounds.drops}, crashes <= "
            f"{bounds.crashes}, duplicates <= {bounds.duplicates}{extra}")


def figures_line(result: SearchResult) -> str:
    return (f"states: {result.generated} generated, {result.distinct} distinct; depth "
            f"{result.depth}; {result.seconds:.2f} s ({result.rate:,.0f} states/s)")


def check_exhaustive(scenario_path: Path, overrides: tuple[str, ...], bounds: Bounds,
                     out: Path | None, echo: Callable[[str], None],
                     note: Callable[[str], None] | None = None) -> int:
    """Run the search and report it; the exit code (1: a violation, 0: none).

    ``note`` gets a line per depth searched (a long search shows it is alive).
    """
    scenario = load_scenario(scenario_path, overrides)
    searcher = ReducedSearch(scenario, bounds) if bounds.reduction else Search(scenario, bounds)
    searcher.initial()  # refuses nodes that cannot be snapshotted, before any output
    echo(f"{scenario.name} (protocol {scenario.protocol}, variant {scenario.variant}): "
         f"exhaustive search, {bounds_line(bounds)}")
    progress = None if note is None else (
        lambda done: note(f"depth {done.depth}: {done.distinct} distinct states, "
                          f"{done.seconds:.0f} s"))
    result = searcher.run(progress)
    echo(figures_line(result))
    if not result.found:
        if result.limited:
            echo(f"no violation in the {result.distinct} states generated before the state "
                 f"limit, part way through depth {result.depth}")
        elif result.complete:
            echo("no violation: every reachable state was checked (the search ended "
                 "before the depth bound)")
        elif bounds.reduction:
            echo(f"no violation in the orders searched (paths were cut at depth "
                 f"{result.depth}: under the reduction that proves less than a breadth-first "
                 "search to that depth)")
        else:
            echo(f"no violation within the bounds (states at depth {result.depth} "
                 "were not expanded further)")
        return 0
    first = result.violations[0]
    echo(f"VIOLATION ({first['invariant']}): {first['detail']}")
    echo(f"a trace, {len(result.trace)} steps (depth first: maybe not the shortest):"
         if bounds.reduction else f"shortest trace, {len(result.trace)} steps:")
    for index, step in enumerate(result.trace, start=1):
        echo(f"  {index}. {describe(step)}")
    target = out or Path("results") / "check" / f"{scenario.name}-{scenario.variant}.toml"
    try:
        replayed = write_replay(scenario, result, target)
    except Untimeable as error:
        echo(f"not written: the trace cannot be replayed in real time ({error})")
        return 1
    same = any(v["invariant"] == first["invariant"] for v in replayed)
    echo(f"wrote: {target}")
    verdict = "the same invariant broken" if same else (
        "NOT reproduced: " + (", ".join(sorted({v["invariant"] for v in replayed}))
                              or "no violation"))
    echo(f"replayed: paxossim run {target} -> {verdict}")
    return 1
