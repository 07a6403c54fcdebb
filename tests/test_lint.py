"""The code stays ruff-clean: a lint finding fails the suite, in CI too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_ruff_finds_nothing(root: Path) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    folders = [name for name in ("paxossim", "tests", "benchmarks", "notebooks")
               if (root / name).is_dir()]
    result = subprocess.run([ruff, "check", *folders], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
