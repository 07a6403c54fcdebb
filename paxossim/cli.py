"""The ``paxossim`` command line: parse, call the library, print. Nothing else.

Exit codes: 0 all good; 1 the simulation found a problem (a safety
violation, a replay that differs); 2 a user error (bad file, key or flag),
reported as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from paxossim import __version__
from paxossim.errors import UserError
from paxossim.labels import time_label
from paxossim.scenario import bundled
from paxossim.scenario.model import MAX_SEED


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paxossim")
@click.option("--allow-outside-files", is_flag=True,
              help="Let scenarios read latency sample files outside their own folder.")
def main(allow_outside_files: bool) -> None:
    """Simulate Paxos deterministically: watch consensus work, and fail.

    Start with the post's scenario:

        paxossim run scenarios/late_arriving_proposal.toml
    """
    if allow_outside_files:  # in the environment, so worker processes see it too
        from paxossim.scenario.latency import ALLOW_OUTSIDE_ENV

        os.environ[ALLOW_OUTSIDE_ENV] = "1"


@main.command()
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED),
              help="Run seed, a non-negative 64-bit integer (default: the scenario's `seed`).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: results/<scenario>/seed-<N>/; with --set or "
                   "--variant, results/<scenario>/<variant>+set-<hash>/seed-<N>/).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key, e.g. --set network.loss=0.1 "
                   "--set 'network.latency={model=\"uniform\",low=5,high=20}'. Repeatable.")
@click.option("--variant", help="Run a broken protocol variant (see: paxossim variants).")
@click.option("--no-plots", is_flag=True, help="Skip sequence.png and sequence.mmd.")
@click.option("--no-view", is_flag=True, help="Skip view.html (the run viewer).")
@user_errors
def run(scenario: str, seed: int | None, out_dir: Path | None, overrides: tuple[str, ...],
        variant: str | None, no_plots: bool, no_view: bool) -> None:
    """Run one simulation of SCENARIO (a .toml file or a bundled scenario's name).

    Prints what happened, checks safety, and writes events.jsonl, summary.json,
    sequence.png, sequence.mmd and view.html. Exits 1 if a safety invariant was violated,
    or if the scenario sets a liveness bound and nothing was chosen within it.
    """
    from paxossim.analysis.account import account
    from paxossim.progress import SimulatedTime
    from paxossim.runs import default_out_dir, execute, save
    from paxossim.scenario.model import load_scenario

    path = bundled.resolve(scenario)
    if variant is not None:
        overrides = (*overrides, f'variant="{variant}"')
    loaded = load_scenario(path, overrides)
    target = out_dir or default_out_dir(loaded.name, loaded.seed if seed is None else seed,
                                        overrides)
    progress = SimulatedTime()
    try:
        result = execute(loaded, seed, keep=False, log_path=target / "events.jsonl",
                         progress=progress, settings=overrides)
    finally:
        progress.close()
    written = save(result, target, render=not no_plots)
    skipped = None
    if not no_view:
        from paxossim.view.page import view_beside

        page, skipped = view_beside(target / "events.jsonl")
        written += [page] if page else []
    for line in account(result.summary, result.header, result.iter_events()):
        click.echo(line)
    liveness = result.summary["liveness"]
    if liveness["required"]:
        click.echo(liveness_line(liveness, loaded.time_unit))
    click.echo(f"wrote: {files_written(written)}")
    if skipped:
        click.echo(skipped)
    stopped = result.summary.get("stopped")
    if stopped is not None:
        raise UserError(str(path), f"the run was stopped at t={time_label(stopped['t'])}: "
                        f"its {stopped['limit']} limit ({stopped['value']}) was reached; "
                        f"raise it with --set limits.{stopped['limit']}=N (the log is kept)")
    if not result.safe or liveness["verdict"] == "failed":
        click.echo(f"reproduce: {reproduce_command(path, result.header['seed'], overrides)}")
        sys.exit(1)


def liveness_line(liveness: dict[str, Any], unit: str) -> str:
    if liveness["verdict"] == "ok":
        if liveness["chosen_at"] < liveness["heal_at"]:
            when = (f"chosen at t={time_label(liveness['chosen_at'])} {unit}, in the faulty "
                    f"phase, before the heal at t={time_label(liveness['heal_at'])} {unit}")
        else:
            when = (f"chosen {time_label(liveness['took'])} {unit} after the heal at "
                    f"t={time_label(liveness['heal_at'])} {unit}, required by "
                    f"t={time_label(liveness['required_by'])} {unit}")
        return f"liveness: OK ({when})"
    return (f"liveness: FAILED (nothing chosen by t={time_label(liveness['required_by'])} "
            f"{unit}, healed at t={time_label(liveness['heal_at'])} {unit})")


def files_written(paths: list[Path]) -> str:
    """``folder/ (a, b, c)`` when the files share a folder, else their paths."""
    folders = {path.parent for path in paths}
    if len(folders) != 1:
        return ", ".join(str(path) for path in paths)
    return f"{folders.pop()}/ ({', '.join(path.name for path in paths)})"


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
    from paxossim.log.files import iter_events, scan_log
    from paxossim.log.replay import resimulate, version_note
    from paxossim.runs import render_diagrams

    head = scan_log(log)
    if render:
        written = render_diagrams(head.header, iter_events(log), head.footer["summary"],
                                  out_dir or log.parent)
        click.echo(f"wrote: {files_written(written)}")
        return
    comparison = resimulate(head)
    if comparison.difference is None:
        click.echo(f"identical: {comparison.count} events re-simulated from {log} match, "
                   f"sha256 {head.footer['events_sha256'][:16]}...")
        return
    click.echo(comparison.difference.describe(str(log)) + version_note(head))
    sys.exit(1)


@main.command()
def scenarios() -> None:
    """List the bundled scenarios, one line each."""
    from paxossim.scenario.model import load_raw

    for path in bundled.bundled_scenarios():
        description = str(load_raw(path).get("description", ""))
        click.echo(f"{path.stem:<28} {description}")


@main.command()
@click.argument("scenario")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key before validating. Repeatable.")
@user_errors
def validate(scenario: str, overrides: tuple[str, ...]) -> None:
    """Check SCENARIO (or a sweep spec) without running it."""
    from paxossim.scenario.model import is_sweep_spec, load_raw, load_scenario

    path = bundled.resolve(scenario)
    if is_sweep_spec(load_raw(path)):
        click.echo(validate_spec(path, overrides))
        return
    loaded = load_scenario(path, overrides)
    click.echo(f"{path}: OK ({loaded.protocol}, {len(loaded.nodes)} nodes, "
               f"{len(loaded.requests)} requests, horizon {loaded.horizon:g} "
               f"{loaded.time_unit})")


def validate_spec(path: Path, overrides: tuple[str, ...]) -> str:
    """Check a sweep spec and every grid point's scenario; the line that says so."""
    from paxossim.experiments.sweep import prepare_points
    from paxossim.experiments.sweep_spec import load_spec

    if overrides:
        raise UserError("--set", "applies to scenarios; a sweep spec sets keys in its [grid]")
    spec = load_spec(path)
    points, _, _ = prepare_points(spec)
    return (f"{path}: OK (sweep spec: {len(points)} grid points x {spec.seeds_per_point} "
            f"seeds, base scenario {spec.scenario_path.name})")


@main.command()
@click.option("--protocol", default="paxos", show_default=True)
@user_errors
def variants(protocol: str) -> None:
    """List a protocol's deliberately broken variants (for --variant)."""
    from paxossim import protocols

    if protocol not in protocols.names():
        raise UserError("--protocol", f"unknown protocol {protocol!r} "
                        f"(protocols: {', '.join(protocols.names())})")
    for name, variant in protocols.get(protocol).variants.items():
        click.echo(f"{name:<28} {variant.description}")


@main.command()
@click.argument("spec")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local worker processes (the table is the same for any count).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Results folder (default: results/<sweep name>/).")
@click.option("--resume", is_flag=True,
              help="Finish an interrupted sweep in --out: run only the missing runs.")
@click.option("--seeds-per-point", type=int, help="Override the spec's seeds_per_point.")
@click.option("--keep-logs", is_flag=True, help="Keep every run's event log in logs/.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on a dask.distributed cluster (needs the dask extra).")
@click.option("--show-run", metavar="POINT:REPLICATE",
              help="Print the `paxossim run` command that regenerates one row; run nothing.")
@click.option("--no-charts", is_flag=True, help="Skip the charts (make them later: plot DIR).")
@user_errors
def sweep(spec: str, workers: int, out_dir: Path | None, resume: bool,
          seeds_per_point: int | None, keep_logs: bool, scheduler: str | None,
          show_run: str | None, no_charts: bool) -> None:
    """Run the parameter sweep SPEC (a .toml sweep spec, or a bundled one's name such as
    sweep_loss): many seeded runs per grid point.

    Writes results.csv (one row per run), summary.csv (per grid point) and charts/
    into the results folder. Ctrl-C keeps every finished run; --resume goes on.
    """
    from paxossim.experiments import sweep as sweeps
    from paxossim.experiments import sweep_spec, sweep_table

    path = bundled.resolve(spec)
    loaded = sweep_spec.load_spec(path, seeds_per_point)
    target = out_dir or sweeps.default_out_dir(loaded)
    if resume and seeds_per_point is None:
        previous = sweep_table.resumed_seeds_per_point(target)
        if previous is not None and previous != loaded.seeds_per_point:
            loaded = sweep_spec.load_spec(path, previous)
    if show_run is not None:
        click.echo(sweep_spec.show_run(loaded, show_run))
        return
    finish = None
    if not no_charts:
        from paxossim.plots.charts import write_charts

        finish = write_charts
    sweeps.interrupt_on_sigterm()
    try:
        result = sweeps.run_sweep(loaded, target, workers=workers, resume=resume,
                                  keep_logs=keep_logs, scheduler=scheduler,
                                  progress=sys.stderr, finish=finish)
    except sweeps.SweepInterrupted as stop:
        click.echo(f"interrupted: {stop.result.done} of {stop.result.total} runs kept in "
                   f"{target}/results.csv; finish with: paxossim sweep {spec} --out {target} "
                   "--resume", err=True)
        sys.exit(130)
    if result.damaged:
        lines = ", ".join(str(n) for n in result.damaged[:10])
        click.echo(f"journal: {len(result.damaged)} damaged line(s) skipped (line {lines}"
                   f"{', ...' if len(result.damaged) > 10 else ''}); their runs were made again")
    click.echo(f"{result.done} runs ({result.ran} now, {result.failed} failed) in {target}: "
               f"results.csv, summary.csv{', charts/' if finish else ''}")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@user_errors
def plot(directory: Path) -> None:
    """Rebuild a sweep folder's tables from its journal and draw its charts."""
    from paxossim.experiments.sweep import finalize
    from paxossim.plots.charts import write_charts

    finalize(directory)
    written = write_charts(directory)
    click.echo(f"wrote: {files_written(written)}")


@main.command()
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PNG (default: timeline.png next to the log).")
@user_errors
def timeline(log: Path, out_path: Path | None) -> None:
    """Draw per-command latency over time from a replicated-log run's LOG.

    Crash and partition windows are shaded and elections marked; a lower strip
    shows answers per second. For multipaxos and p2p runs.
    """
    from paxossim.log.files import read_log
    from paxossim.plots.timeline import write_timeline

    loaded = read_log(log)
    invoke = f"{loaded.header['scenario']['protocol']}.invoke"
    if not any(e["ev"] == invoke for e in loaded.events):
        raise UserError(str(log), "no client commands in this log (a timeline needs a "
                        "multipaxos or p2p run with client nodes)")
    written = write_timeline(loaded.header, loaded.events, out_path or log.parent /
                             "timeline.png", loaded.footer["summary"]["safety"]["violations"])
    click.echo(f"wrote: {written}")


@main.command("flp-chart")
@click.option("--scenario", "scenario_name", default="flp_livelock", show_default=True,
              help="A p2p dueling-proposers scenario; its p2p.timeout_jitter is varied.")
@click.option("--seeds", type=click.IntRange(min=1), default=100, show_default=True,
              help="Runs (seeds 1..N) per width.")
@click.option("--widths", default=",".join(f"{w:g}" for w in (0, 0.5, 1, 2, 5, 10, 20, 40)),
              show_default=True, help="Widths of the randomized timeout range, comma-separated.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes to run seeds in; the chart does not depend on it.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/flp"), show_default=True)
@user_errors
def flp_chart(scenario_name: str, seeds: int, widths: str, workers: int,
              out_dir: Path) -> None:
    """Chart time to decision against the width of the randomized timeout range.

    Writes flp_chart.png and flp_chart.json (every run's time to decision).
    The README's chart is `--out results/curated/flp --workers 2`.
    """
    from paxossim.experiments.flp import decision_times
    from paxossim.plots.flp import write_flp_chart, write_flp_data
    from paxossim.scenario.model import load_raw, scenario_from_dict

    path = bundled.resolve(scenario_name)
    raw = load_raw(path)
    base = scenario_from_dict(raw, str(path), base_dir=path.parent)
    if base.protocol != "p2p":
        raise UserError(str(path), f"protocol is {base.protocol!r}; the FLP chart needs p2p")
    try:
        chosen = tuple(sorted({float(w) for w in widths.split(",")}))
    except ValueError:
        raise UserError("--widths",
                        f"expected numbers separated by commas, got {widths!r}") from None
    if any(w < 0 for w in chosen):
        raise UserError("--widths", "widths must not be negative")
    with click.progressbar(length=len(chosen) * seeds, label="runs",
                           file=sys.stderr) as bar:
        times = decision_times(raw, chosen, seeds, str(path), workers,
                               on_result=lambda _: bar.update(1))
    data = write_flp_data(times, out_dir / "flp_chart.json")
    chart = write_flp_chart(times, base.options.attempt_timeout, base.horizon,
                            out_dir / "flp_chart.png", base.time_unit)
    for width, values in times.items():
        decided = sorted(v for v in values if v is not None)
        median = f"{decided[len(decided) // 2]:.1f}" if decided else "-"
        click.echo(f"width {width:>6g}: {len(decided):>4}/{len(values)} decided, "
                   f"median of decided {median} {base.time_unit}")
    click.echo(f"wrote: {chart}, {data}")


@main.command()
@click.argument("scenario")
@click.option("--seeds", "seed_range", default="1..100", show_default=True, metavar="A..B",
              help="Seeds to run, both ends included.")
@click.option("--swarm", is_flag=True,
              help="Also draw the fault knobs (which faults are on, how strong) from each seed.")
@click.option("--swarm-twins", "twins", type=click.IntRange(min=0), default=0, metavar="N",
              help="Also draw N twinned nodes and their phases from each seed (Twins).")
@click.option("--variant", help="Explore a broken protocol variant (see: paxossim variants).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes to run seeds in; results do not depend on it.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key for every seed. Repeatable.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where failing seeds' logs go (default: results/explore/<scenario>/, "
                   "in a subfolder named by --variant, --set and --swarm when given).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run the seeds on a dask.distributed cluster (needs the dask extra); "
                   "the same failures as a local run.")
@click.option("--shrink", "shrink_them", is_flag=True,
              help="Shrink the first failing seed of each signature (into its log's shrunk/).")
@click.option("--no-view", is_flag=True, help="Skip each failing seed's view.html.")
@user_errors
def explore(scenario: str, seed_range: str, swarm: bool, twins: int, variant: str | None,
            workers: int, overrides: tuple[str, ...], out_dir: Path | None,
            scheduler: str | None, shrink_them: bool, no_view: bool) -> None:
    """Run SCENARIO under many seeds and report every seed that fails.

    A seed fails if it violates safety, or (when the scenario sets a liveness
    bound) chooses nothing within the bound after the heal. For each failing
    seed this prints the `paxossim run` command that reproduces it and keeps
    its log. Exits 1 if any seed failed, 0 otherwise.
    """
    from paxossim.experiments.explore import iter_outcomes, parse_seeds, plan

    path = bundled.resolve(scenario)
    seeds = parse_seeds(seed_range)
    if variant is not None:
        overrides = (*overrides, f'variant="{variant}"')
    jobs = plan(path, seeds, overrides, swarm, out_dir, view=not no_view, twins=twins)
    failures = []
    with click.progressbar(length=len(seeds), label="exploring", file=sys.stderr) as bar:
        for outcome in iter_outcomes(jobs, workers, scheduler):
            bar.update(1)
            if outcome.failed:
                failures.append(outcome)
    for outcome in failures:
        click.echo(f"seed {outcome.seed} FAILED: {outcome.problem}")
        # The scenario as the user named it: `paxossim run` resolves it the same way.
        command = reproduce_command(Path(scenario), outcome.seed, outcome.overrides)
        click.echo(f"  reproduce: {command}")
        if outcome.log_dir is not None:
            click.echo(f"  log: {outcome.log_dir}")
    click.echo(f"{len(seeds) - len(failures)} of {len(seeds)} seeds passed, "
               f"{len(failures)} failed")
    if shrink_them:
        from paxossim.experiments.shrink import Budget, shrink_failures

        click.echo("\n".join(shrink_failures(failures, Budget(), sys.stderr)))
    if failures:
        sys.exit(1)


@main.command()
@click.argument("run_or_log")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: results/shrink/<scenario>-seed-<N>/).")
@click.option("--max-runs", type=click.IntRange(min=1), default=400, show_default=True,
              help="Re-runs at most; a shrink this stops is still deterministic.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=300.0,
              show_default=True, help="Stop after about this long, keeping the smallest "
              "failing run so far (what it keeps then depends on the machine's speed).")
@click.option("--no-plots", is_flag=True, help="Skip sequence.png and sequence.mmd.")
@user_errors
def shrink(run_or_log: str, out_dir: Path | None, max_runs: int, max_seconds: float,
           no_plots: bool) -> None:
    """Shrink a failing run to a smaller one that fails the same invariant.

    RUN_OR_LOG: a log (events.jsonl), a run folder, or the quoted command that
    `explore` or `run` prints ('paxossim run SCENARIO --seed N --set ...').
    Removes schedule items (requests, crashes, partitions, heals), message
    overrides and scripted delays, nodes, network randomness and horizon while
    the run still fails; writes shrunk.toml (replay it with `paxossim run`),
    its events.jsonl, summary.json and diagrams, and prints before/after counts.
    """
    from paxossim.experiments.shrink import Budget, shrink_command

    click.echo("\n".join(shrink_command(run_or_log, out_dir, Budget(max_runs, max_seconds),
                                        not no_plots, sys.stderr)))


@main.command()
@click.argument("run_or_log")
@click.option("--at", "at", type=click.IntRange(min=0), metavar="EVENT",
              help="An event of the run, counted from 0 (as `cause` counts): names the "
                   "message for --drop/--delay without MSG, the time for --crash NODE.")
@click.option("--drop", is_flag=False, flag_value="", default=None, metavar="MSG",
              help="Drop message MSG: its id N (the log's `m`), TYPE:SRC->DST or "
                   "TYPE:SRC->DST#K (the K-th such message sent), or none with --at.")
@click.option("--delay", metavar="MSG=T",
              help="Deliver MSG at time T, or MSG=+D: D later than it was (MSG as for --drop; "
                   "with --at just T or +D).")
@click.option("--crash", metavar="NODE@T",
              help="Crash NODE at time T (NODE@T..R: recover at R; NODE alone with --at).")
@click.option("--variant", help="Run the same inputs with this protocol variant.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: results/fork/<scenario>-seed-<N>/).")
@click.option("--no-plots", is_flag=True, help="Skip the side-by-side diagram.")
@user_errors
def fork(run_or_log: str, at: int | None, drop: str | None, delay: str | None,
         crash: str | None, variant: str | None, out_dir: Path | None, no_plots: bool) -> None:
    """Re-run RUN_OR_LOG's inputs with one change; print where the runs diverge.

    RUN_OR_LOG is a log, a run folder or a quoted `paxossim run ...` command.
    Prints the first event that differs (its index and time, both versions)
    and the two outcomes (chosen value, violations, liveness); writes fork.toml
    (which `paxossim run` replays), the fork's log and sequence-both.png.
    """
    from paxossim.experiments.fork import Change, fork_command

    change = Change(drop=drop, delay=delay, crash=crash, variant=variant, at=at)
    click.echo("\n".join(fork_command(run_or_log, change, out_dir, not no_plots)))


@main.command()
@click.argument("scenario")
@click.option("--exhaustive", is_flag=True, required=True,
              help="Enumerate every order of events (the only mode there is, for now).")
@click.option("--max-depth", type=click.IntRange(min=1), default=30, show_default=True,
              help="Events on a path at most.")
@click.option("--drops", type=click.IntRange(min=0), default=0, show_default=True,
              help="Messages the network may lose, per path.")
@click.option("--crashes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Crashes per path (a crashed node may recover at any later point).")
@click.option("--duplicates", type=click.IntRange(min=0), default=0, show_default=True,
              help="Messages the network may duplicate, per path.")
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many states.")
@click.option("--timers", type=click.IntRange(min=0),
              help="Timer firings per path at most (default: no limit).")
@click.option("--reduction/--no-reduction", default=False, show_default=True,
              help="Dynamic partial-order reduction, depth first (see the README).")
@click.option("--variant", help="Search a broken protocol variant (see: paxossim variants).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key. Repeatable.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where a violation's trace goes (default: results/check/<scenario>-"
                   "<variant>.toml).")
@user_errors
def check(scenario: str, exhaustive: bool, max_depth: int, drops: int, crashes: int,
          duplicates: int, max_states: int | None, timers: int | None, reduction: bool,
          variant: str | None, overrides: tuple[str, ...], out: Path | None) -> None:
    """Search every order of SCENARIO's events, breadth first, for a safety violation.

    Prints the states generated and distinct, the depth reached and the time; a
    violation's shortest trace is written as a scenario that `paxossim run`
    replays. With --reduction the search goes depth first and skips orders that
    differ only by independent events; its trace is then not always a shortest
    one. Exits 1 on a violation, 0 if none within the bounds.
    """
    from paxossim.experiments.exhaustive import Bounds
    from paxossim.experiments.exhaustive_report import check_exhaustive

    if variant is not None:
        overrides = (*overrides, f'variant="{variant}"')
    sys.exit(check_exhaustive(bundled.resolve(scenario), overrides,
                              Bounds(max_depth, drops, crashes, duplicates, max_states, timers,
                                     reduction), out,
                              click.echo, functools.partial(click.echo, err=True)))


@main.command()
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the page (default: view.html next to the log).")
@user_errors
def view(log: Path, out_path: Path | None) -> None:
    """Write LOG's run viewer: one self-contained HTML page to open in a browser."""
    from paxossim.view.page import write_view

    written, note = write_view(log, out_path)
    click.echo(f"wrote: {written}" + (f" ({note})" if note else ""))


@main.command()
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", metavar="perfetto|shiviz",
              help="perfetto: Chrome trace event JSON; shiviz: ShiViz log with vector clocks. "
                   "Required.")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write (default: next to the log, named after the format).")
@user_errors
def export(log: Path, fmt: str, out_path: Path | None) -> None:
    """Export LOG to a tool people already use (Perfetto, ShiViz)."""
    from paxossim.export import write_export

    if fmt is None:  # checked here, not by click, for our one-line error
        raise UserError("--format", "is required: perfetto or shiviz")

    click.echo(f"wrote: {write_export(log, fmt, out_path)}")
