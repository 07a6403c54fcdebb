from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def post_scenario() -> Path:
    return ROOT / "scenarios" / "late_arriving_proposal.toml"


def slow_scale() -> float:
    """How big the slow tests run: CI sets PAXOSSIM_SLOW_SCALE small."""
    return float(os.environ.get("PAXOSSIM_SLOW_SCALE", "1.0"))
