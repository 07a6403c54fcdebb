"""Charts: every chart is drawn, labelled with units, and drawn the same way twice."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sweep_helpers import SCENARIOS, write_protocols_spec, write_spec

from paxossim.cli import main
from paxossim.experiments.sweep import run_sweep
from paxossim.experiments.sweep_spec import load_spec
from paxossim.plots.charts import write_charts

NAMES = ("latency_cdf", "latency_quantiles", "messages_per_decision", "decision_rate_heatmap")


def test_a_sweep_draws_every_chart_as_png_and_svg(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "spec"))
    run_sweep(spec, tmp_path / "out", finish=write_charts)
    charts = tmp_path / "out" / "charts"
    for name in NAMES:
        assert (charts / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        svg = (charts / f"{name}.svg").read_text()
        assert "sweep tiny" in svg  # the footer
    cdf = (charts / "latency_cdf.svg").read_text()
    assert "decision latency (ms" in cdf
    assert "message loss" in cdf and "probability" in cdf  # the legend title, in words
    assert "acceptors: 3" in cdf
    assert "decision latency (ms)" in (charts / "latency_quantiles.svg").read_text()


def test_plot_redraws_identical_files_from_the_folder(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "spec"))
    run_sweep(spec, tmp_path / "out", finish=write_charts)
    charts = tmp_path / "out" / "charts"
    before = {p.name: p.read_bytes() for p in charts.iterdir()}
    result = CliRunner().invoke(main, ["plot", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in charts.iterdir()} == before


def test_a_one_axis_sweep_skips_the_heatmap(tmp_path: Path) -> None:
    spec_path = tmp_path / "one.toml"
    spec_path.write_text(f'scenario = "{(SCENARIOS / "lossy_cluster.toml").as_posix()}"\n'
                         'seeds_per_point = 3\n[grid]\n"network.loss" = [0.0, 0.2]\n')
    run_sweep(load_spec(spec_path), tmp_path / "out")
    written = {p.name for p in write_charts(tmp_path / "out")}
    assert "latency_cdf.png" in written
    assert "decision_rate_heatmap.png" not in written


def test_plot_of_a_folder_that_is_not_a_sweep_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a sweep folder" in result.output


def test_a_folder_shipped_with_a_gzipped_table_and_no_journal_still_plots(
    tmp_path: Path,
) -> None:
    import gzip

    from paxossim.experiments.sweep_table import JOURNAL, RESULTS, SUMMARY, TIMINGS

    spec = load_spec(write_spec(tmp_path / "spec"))
    out = tmp_path / "out"
    run_sweep(spec, out)
    summary = (out / SUMMARY).read_bytes()
    (out / "results.csv.gz").write_bytes(gzip.compress((out / RESULTS).read_bytes()))
    for name in (RESULTS, JOURNAL, TIMINGS, SUMMARY):
        (out / name).unlink()
    result = CliRunner().invoke(main, ["plot", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / SUMMARY).read_bytes() == summary
    assert (out / "charts" / "latency_cdf.png").exists()
    assert not (out / RESULTS).exists()


def test_a_categorical_sweep_with_an_undecided_point_draws(tmp_path: Path) -> None:
    spec_path = tmp_path / "variants.toml"
    spec_path.write_text(f'scenario = "{(SCENARIOS / "crash_cluster.toml").as_posix()}"\n'
                         'seeds_per_point = 3\n[grid]\n'
                         'variant = ["correct", "quorum-one-short"]\n')
    run_sweep(load_spec(spec_path), tmp_path / "out", finish=write_charts)
    charts = tmp_path / "out" / "charts"
    assert "quorum-one-short (none decided)" in (charts / "latency_cdf.svg").read_text()
    assert "quorum-one-short" in (charts / "latency_quantiles.svg").read_text()


def test_a_replicated_log_sweep_draws_per_command_figures(tmp_path: Path) -> None:
    spec_path = write_protocols_spec(tmp_path, seeds=1,
                                     grid='"network.loss" = [0.0, 0.1]\nhorizon = [1000.0]')
    run_sweep(load_spec(spec_path), tmp_path / "out", finish=write_charts)
    charts = tmp_path / "out" / "charts"
    assert sorted(p.name for p in charts.iterdir()) == ["replicated_log.png",
                                                        "replicated_log.svg"]
    svg = (charts / "replicated_log.svg").read_text()
    for text in ("commit latency p99 (ms)", "messages per committed command", "multipaxos",
                 "p2p"):
        assert text in svg
    assert "no intervals" in svg and "95% intervals" not in svg


def copy_curated(root: Path, name: str, into: Path) -> Path:
    """A curated sweep's tables (not its charts), to redraw in a scratch folder."""
    import shutil

    folder = into / name
    shutil.copytree(root / "results" / "curated" / name, folder,
                    ignore=shutil.ignore_patterns("charts"))
    return folder


def test_the_cdf_legend_speaks_for_every_panel(root: Path, tmp_path: Path) -> None:
    # sweep_crash: with 3 acceptors crashed nothing is decided at 1 or 2 attempts,
    # but runs with 4 or 6 attempts decide; the legend once said "none decided".
    folder = copy_curated(root, "sweep_crash", tmp_path)
    write_charts(folder)
    svg = (folder / "charts" / "latency_cdf.svg").read_text()
    assert "(none decided)" not in svg
    assert svg.count("none decided: acceptors crashed 3") == 2


def test_axes_are_named_in_words_with_units_and_the_heatmap_is_colour_blind_safe(
    root: Path, tmp_path: Path
) -> None:
    folder = copy_curated(root, "sweep_partitions", tmp_path)
    write_charts(folder)
    heatmap = (folder / "charts" / "decision_rate_heatmap.svg").read_text()
    assert "mean partition length (ms)" in heatmap
    assert "faults.random_partitions" not in heatmap
    quantiles = (folder / "charts" / "latency_quantiles.svg").read_text()
    assert "hollow: fewer than 100 decided runs" in quantiles and "per point)" in quantiles
