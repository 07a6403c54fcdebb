"""Shared fixtures, and the ``--slow-scale`` switch for the exhaustive (``slow``) tests.

``pytest`` alone skips tests marked ``slow``; ``pytest --slow-scale 1`` runs
them at full size, ``--slow-scale 0.05`` at 5% (what CI does). Tests read the
scale from ``PAXOSSIM_SLOW_SCALE`` through :func:`slow_scale`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow-scale", type=float, default=None,
                     help="run the tests marked slow, at this fraction of their full size")


def pytest_configure(config: pytest.Config) -> None:
    scale = config.getoption("--slow-scale")
    if scale is not None:
        os.environ["PAXOSSIM_SLOW_SCALE"] = str(scale)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow-scale") is not None:
        return
    skip = pytest.mark.skip(reason="exhaustive: run with --slow-scale 1 (or a fraction)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def post_scenario() -> Path:
    return ROOT / "scenarios" / "late_arriving_proposal.toml"


def slow_scale() -> float:
    """How big the slow tests run (1.0 = full size)."""
    return float(os.environ.get("PAXOSSIM_SLOW_SCALE", "1.0"))
