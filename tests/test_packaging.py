"""A built wheel carries the bundled scenarios and runs from any folder.

The wheel is built from a copy of the sources, so that a build never leaves
``build/`` behind in the checkout (where stale modules would end up in the
next wheel), and installed with ``--target`` into a folder that is put first
on ``PYTHONPATH``; the test proves that the installed copy is the one used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOURCES = ("pyproject.toml", "README.md", "paxossim", "scenarios")


def python(args: list[str], cwd: Path, site: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(site), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding paxossim installed from a freshly built wheel."""
    root = Path(__file__).resolve().parent.parent
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (root / name).is_dir():
            shutil.copytree(root / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(root / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(base / "dist"), str(source)],
                   check=True, capture_output=True)
    wheels = list((base / "dist").glob("paxossim-*.whl"))
    assert len(wheels) == 1
    site = base / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site),
                    str(wheels[0])], check=True, capture_output=True)
    return site


def test_the_installed_copy_is_the_one_imported(installed: Path, tmp_path: Path) -> None:
    where = python(["-c", "import paxossim; print(paxossim.__file__)"], tmp_path, installed)
    assert Path(where.strip()).is_relative_to(installed)
    assert not (installed / "paxossim" / "scenarios").is_symlink()
    assert python(["-m", "paxossim", "--version"], tmp_path, installed).strip() \
        .endswith("version 0.1.0")


def test_the_wheel_lists_and_runs_the_post_s_scenario(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = python(["-m", "paxossim", "scenarios"], elsewhere, installed)
    assert listed.splitlines()[0].startswith("late_arriving_proposal ")
    assert "sweep_" not in listed
    out = tmp_path / "out"
    ran = python(["-m", "paxossim", "run", "late_arriving_proposal", "--out", str(out),
                  "--no-plots"], elsewhere, installed)
    assert "Acceptor refuses ballot 4:06PM (prepare): it promised 5:31PM" in ran
    assert "safety: OK" in ran
    assert (out / "events.jsonl").is_file()
    page = (out / "view.html").read_text()  # the viewer's assets ship in the wheel
    assert "<script>" in page and "paxosview" in page
    shown = python(["-m", "paxossim", "sweep", "sweep_loss", "--show-run", "0:0"], elsewhere,
                   installed)
    assert str(installed / "paxossim" / "scenarios" / "lossy_cluster.toml") in shown


def test_the_api_finds_bundled_scenarios_when_installed(installed: Path, tmp_path: Path) -> None:
    code = ("import paxossim; run = paxossim.run('late_arriving_proposal'); "
            "print(run.verdict, run.summary['chosen'], run.scenario.source)")
    verdict, chosen, source = python(["-c", code], tmp_path, installed).split()
    assert (verdict, chosen) == ("ok", "data1")
    assert Path(source).is_relative_to(installed)
