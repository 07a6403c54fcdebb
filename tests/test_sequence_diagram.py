"""The space-time diagram as a reader sees it: labels clear of each other and of
arrowheads, and a title that says which run it is."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from paxossim.api import run as run_named
from paxossim.plots.sequence import draw_space_time, extent


def drawn(name: str, **options: Any) -> tuple[Any, Any]:
    result = run_named(name, **options)
    events = list(result.events())
    return draw_space_time(result.header, events, result.summary["safety"]["violations"])


@pytest.mark.parametrize(("name", "options"), [
    ("late_arriving_proposal", {}),
    ("late_arriving_proposal", {"seed": 3, "set": {"network.loss": 0.2}}),
    ("dueling_proposers", {}),
    ("lossy_cluster", {}),
])
def test_labels_cover_no_other_label_and_no_arrowhead(name: str, options: dict) -> None:
    fig, placer = drawn(name, **options)
    try:
        renderer = fig.canvas.get_renderer()
        boxes = [extent(label, renderer) for label in placer.placed]
        assert boxes, "no label was placed at all"
        for first, second in combinations(boxes, 2):
            assert not first.overlaps(second)
        for box in boxes:
            clear = box.padded(placer.CLEARANCE - 0.5)
            assert not any(clear.contains(x, y) for x, y in placer.tips)
    finally:
        plt.close(fig)


def test_the_post_keeps_every_label() -> None:
    fig, placer = drawn("late_arriving_proposal")
    plt.close(fig)
    texts = [label.get_text() for label in placer.placed]
    assert len(texts) == 7
    assert "nack 4:06PM (promised 5:31PM)" in texts


def test_the_title_names_the_variant_its_effect_and_the_overrides() -> None:
    from paxossim.log.files import make_header
    from paxossim.plots.sequence import diagram_title
    from paxossim.protocols import get

    result = run_named("late_arriving_proposal", variant="forget-promise-on-restart")
    header = make_header(result.header["scenario"], 7, None,
                         ('variant="forget-promise-on-restart"', "network.loss=0.2"))
    title = diagram_title(header, get("paxos"), 200, 950, 123.0, "ms")
    assert "variant forget-promise-on-restart: " in title
    assert get("paxos").variants["forget-promise-on-restart"].description[:30] in \
        title.replace("\n", " ")
    assert "set network.loss=0.2" in title and 'variant="' not in title
    assert "first 200 of 950 messages shown (up to t=123 ms)" in title
