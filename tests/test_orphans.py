"""Pool workers end when their parent is killed (issue 13 item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sweep_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    """Runs of simulated hours: a worker would be busy for minutes without the watch."""
    spec = tmp_path / "long.toml"
    spec.write_text(f'name = "long"\nscenario = "{ROOT / "scenarios" / "leader_failover.toml"}"\n'
                    'seeds_per_point = 4\n[grid]\nhorizon = [3600000.0]\n')
    command = [sys.executable, "-m", "paxossim", "sweep", str(spec), "--workers", "2",
               "--out", str(tmp_path / "out")]
    parent = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = {pid for pid in children(parent.pid)
                       if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()}
        assert len(workers) >= 2, "the sweep never started its workers"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.2)
        assert not [pid for pid in workers if alive(pid)], "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
