"""The same scenario run in two processes with different PYTHONHASHSEED writes identical logs.

String hashing is salted per process; anything that leaked ``hash()`` or the
iteration order of a set of strings into the simulation would show up here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_faults import SCENARIOS

RUN = "import sys; from paxossim.cli import main; sys.argv[0] = 'paxossim'; main()"


def run_in_process(scenario: Path, out: Path, hashseed: str, *extra: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    subprocess.run(
        [sys.executable, "-c", RUN, "run", str(scenario), "--seed", "17", "--no-plots",
         "--out", str(out), *extra],
        env=env, check=False, capture_output=True,
    )
    return (out / "events.jsonl").read_bytes()


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("minority_partition", ()),
        ("acceptor_crash_recovery", ("--set", "faults.random_partitions.mean_interval=80.0")),
        ("lossy_network", ("--variant", "mixed-ballot-learner")),
    ],
)
def test_logs_are_identical_across_hash_seeds(
    tmp_path: Path, name: str, extra: tuple[str, ...]
) -> None:
    scenario = SCENARIOS / f"{name}.toml"
    first = run_in_process(scenario, tmp_path / "a", "1", *extra)
    second = run_in_process(scenario, tmp_path / "b", "98765", *extra)
    assert first.count(b"\n") > 50
    assert first == second
