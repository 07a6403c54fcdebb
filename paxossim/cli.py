"""The ``paxossim`` command line: parse, call the library, print. Nothing else.

Exit codes: 0 all good; 1 the simulation found a problem (a safety
violation, a replay that differs); 2 a user error (bad file, key or flag),
reported as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from paxossim import __version__
from paxossim.errors import UserError

SCENARIO_DIRS = (Path("scenarios"), Path(__file__).resolve().parent.parent / "scenarios")


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a UserError into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)

    return wrapper


def resolve_scenario(name: str) -> Path:
    """A scenario file path, or the name of a bundled scenario (``late_arriving_proposal``)."""
    path = Path(name)
    if path.exists() or path.suffix == ".toml" or "/" in name:
        return path
    for folder in SCENARIO_DIRS:
        candidate = folder / f"{name}.toml"
        if candidate.exists():
            return candidate
    raise UserError(name, "no such scenario file or bundled scenario (see: paxossim scenarios)")


def bundled_scenarios() -> list[Path]:
    for folder in SCENARIO_DIRS:
        if folder.is_dir():
            found = sorted(p for p in folder.glob("*.toml") if not p.name.startswith("sweep_"))
            if found:
                return found
    return []


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paxossim")
def main() -> None:
    """Simulate Paxos deterministically: watch consensus work, and fail.

    Start with the post's scenario:

        paxossim run scenarios/late_arriving_proposal.toml
    """


@main.command()
@click.argument("scenario")
@click.option("--seed", type=int, help="Run seed (default: the scenario's `seed`).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: results/<scenario>/seed-<N>/).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key, e.g. --set network.loss=0.1 "
                   "--set 'network.latency={model=\"uniform\",low=5,high=20}'. Repeatable.")
@click.option("--variant", help="Run a broken protocol variant (see: paxossim variants).")
@click.option("--no-plots", is_flag=True, help="Skip sequence.png and sequence.mmd.")
@user_errors
def run(scenario: str, seed: int | None, out_dir: Path | None, overrides: tuple[str, ...],
        variant: str | None, no_plots: bool) -> None:
    """Run one simulation of SCENARIO (a .toml file or a bundled scenario's name).

    Prints what happened, checks safety, and writes events.jsonl, summary.json,
    sequence.png and sequence.mmd. Exits 1 if a safety invariant was violated,
    or if the scenario sets a liveness bound and nothing was chosen within it.
    """
    from paxossim.report import account
    from paxossim.runs import default_out_dir, execute, save
    from paxossim.scenario import load_scenario

    path = resolve_scenario(scenario)
    if variant is not None:
        overrides = (*overrides, f'variant="{variant}"')
    loaded = load_scenario(path, overrides)
    result = execute(loaded, seed)
    target = out_dir or default_out_dir(loaded.name, result.header["seed"])
    written = save(result, target, render=not no_plots)
    for line in account(result.summary, result.header, result.events):
        click.echo(line)
    liveness = result.summary["liveness"]
    if liveness["required"]:
        click.echo(liveness_line(liveness, loaded.time_unit))
    click.echo(f"wrote: {', '.join(str(p) for p in written)}")
    if not result.safe or liveness["verdict"] == "failed":
        click.echo(f"reproduce: {reproduce_command(path, result.header['seed'], overrides)}")
        sys.exit(1)


def liveness_line(liveness: dict[str, Any], unit: str) -> str:
    if liveness["verdict"] == "ok":
        return (f"liveness: OK (chosen {liveness['took']:g} {unit} after the heal at "
                f"t={liveness['heal_at']:g}, required by t={liveness['required_by']:g})")
    return (f"liveness: FAILED (nothing chosen by t={liveness['required_by']:g} {unit}, "
            f"healed at t={liveness['heal_at']:g})")


def reproduce_command(path: Path, seed: int, overrides: tuple[str, ...]) -> str:
    sets = "".join(f" --set '{o}'" for o in overrides)
    return f"paxossim run {path} --seed {seed}{sets}"


@main.command()
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--render", is_flag=True,
              help="Only re-draw sequence.png and sequence.mmd from the log, without "
                   "re-simulating.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where --render writes (default: the log's folder).")
@user_errors
def replay(log: Path, render: bool, out_dir: Path | None) -> None:
    """Re-simulate LOG from its header and prove the event stream identical.

    Exits 0 if every event line matches, 1 naming the first line that differs.
    """
    from paxossim.eventlog import read_log
    from paxossim.replay import first_difference, resimulate, version_note
    from paxossim.runs import render_diagrams

    loaded = read_log(log)
    if render:
        written = render_diagrams(loaded.header, loaded.events, out_dir or log.parent)
        click.echo(f"wrote: {', '.join(str(p) for p in written)}")
        return
    fresh = resimulate(loaded)
    difference = first_difference(loaded.lines, fresh)
    if difference is None:
        click.echo(f"identical: {len(fresh)} events re-simulated from {log} match, "
                   f"sha256 {loaded.footer['events_sha256'][:16]}...")
        return
    click.echo(difference.describe(str(log)) + version_note(loaded))
    sys.exit(1)


@main.command()
def scenarios() -> None:
    """List the bundled scenarios, one line each."""
    from paxossim.scenario import load_raw

    for path in bundled_scenarios():
        description = str(load_raw(path).get("description", ""))
        click.echo(f"{path.stem:<28} {description}")


@main.command()
@click.argument("scenario")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key before validating. Repeatable.")
@user_errors
def validate(scenario: str, overrides: tuple[str, ...]) -> None:
    """Check SCENARIO without running it."""
    from paxossim.scenario import load_scenario

    path = resolve_scenario(scenario)
    loaded = load_scenario(path, overrides)
    click.echo(f"{path}: OK ({loaded.protocol}, {len(loaded.nodes)} nodes, "
               f"{len(loaded.requests)} requests, horizon {loaded.horizon:g} "
               f"{loaded.time_unit})")


@main.command()
@click.option("--protocol", default="paxos", show_default=True)
@user_errors
def variants(protocol: str) -> None:
    """List a protocol's deliberately broken variants (for --variant)."""
    from paxossim import protocols

    if protocol not in protocols.names():
        raise UserError("--protocol", f"unknown protocol {protocol!r} "
                        f"(protocols: {', '.join(protocols.names())})")
    for name, description in protocols.get(protocol).variants().items():
        click.echo(f"{name:<28} {description}")


@main.command()
@click.argument("scenario")
@click.option("--seeds", "seed_range", default="1..100", show_default=True, metavar="A..B",
              help="Seeds to run, both ends included.")
@click.option("--swarm", is_flag=True,
              help="Also draw the fault knobs (which faults are on, how strong) from each seed.")
@click.option("--variant", help="Explore a broken protocol variant (see: paxossim variants).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes to run seeds in; results do not depend on it.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key for every seed. Repeatable.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where failing seeds' logs go (default: results/explore/<scenario>/).")
@user_errors
def explore(scenario: str, seed_range: str, swarm: bool, variant: str | None, workers: int,
            overrides: tuple[str, ...], out_dir: Path | None) -> None:
    """Run SCENARIO under many seeds and report every seed that fails.

    A seed fails if it violates safety, or (when the scenario sets a liveness
    bound) chooses nothing within the bound after the heal. For each failing
    seed this prints the `paxossim run` command that reproduces it and keeps
    its log. Exits 1 if any seed failed, 0 otherwise.
    """
    from paxossim.explore import parse_seeds, plan, run_jobs

    path = resolve_scenario(scenario)
    seeds = parse_seeds(seed_range)
    if variant is not None:
        overrides = (*overrides, f'variant="{variant}"')
    jobs = plan(path, seeds, overrides, swarm, out_dir)
    failures = []
    with click.progressbar(length=len(seeds), label="exploring", file=sys.stderr) as bar:
        def advance(outcome: Any) -> None:
            bar.update(1)
            if outcome.failed:
                failures.append(outcome)

        run_jobs(jobs, workers, advance)
    for outcome in failures:
        click.echo(f"seed {outcome.seed} FAILED: {outcome.problem}")
        # The scenario as the user named it: `paxossim run` resolves it the same way.
        command = reproduce_command(Path(scenario), outcome.seed, outcome.overrides)
        click.echo(f"  reproduce: {command}")
        click.echo(f"  log: {outcome.log_dir}")
    click.echo(f"{len(seeds) - len(failures)} of {len(seeds)} seeds passed, "
               f"{len(failures)} failed")
    if failures:
        sys.exit(1)
