"""The run viewer in a real headless browser: Debian's chromium, driven by Playwright.

The page is opened from disk (file://) as a user would; the test steps the slider
with the page's own buttons to the acceptor's nack, hovers the nack's arrow and
reads the tooltip, checks the node panel, and saves a screenshot.

CI installs chromium (.ci/run); elsewhere the test is skipped when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paxossim
from paxossim.view.page import write_view

CHROMIUM = Path("/usr/bin/chromium")


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is missing (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {missing}")
        pytest.skip(f"no browser to test the viewer in: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def post_page(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    paxossim.run("late_arriving_proposal", out=tmp_path)
    path, _ = write_view(tmp_path / "events.jsonl")
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    yield page, errors
    page.close()


def test_step_to_the_nack_read_its_tooltip_and_the_acceptors_state(
        post_page: tuple[Any, list[str]], tmp_path: Path) -> None:
    page, errors = post_page
    nack = page.evaluate("paxosview.findMessage('nack', 'Acceptor', 'Proposer2')")
    assert nack >= 0
    for _ in range(20):  # "message >" until the slider stands on the nack's send
        page.click("#next-message")
        if page.evaluate("paxosview.data.ev.m[paxosview.index()]") == nack:
            break
    else:
        pytest.fail("the message steps never reached the nack")
    current = page.inner_text("#current")
    assert "t=25 ms" in current and "Acceptor sends nack 4:06PM (promised 5:31PM)" in current
    assert int(page.input_value("#slider")) == page.evaluate("paxosview.index()")

    point = page.evaluate(f"paxosview.messagePoint({nack})")
    page.mouse.move(point["x"], point["y"])
    tooltip = page.inner_text("#tooltip")
    assert page.is_visible("#tooltip")
    assert tooltip.startswith("nack 4:06PM (promised 5:31PM)\n")
    assert "nack Acceptor -> Proposer2" in tooltip
    assert "sent t=25 ms" in tooltip and "delivered t=35 ms (took 10)" in tooltip

    acceptor = page.inner_text("#nodes [data-node='Acceptor']")
    assert 'promised: "5:31PM"' in acceptor
    proposer2 = page.inner_text("#nodes [data-node='Proposer2']")
    assert 'phase: "prepare"' in proposer2  # the nack has not arrived yet
    arrival = page.evaluate(f"paxosview.data.msg.ee[{nack}]")
    while page.evaluate("paxosview.index()") < arrival:
        page.click("#next-message")
    assert page.evaluate("paxosview.index()") == arrival
    assert "Proposer2 receives nack" in page.inner_text("#current")
    for _ in range(5):  # then event by event to what the nack made Proposer2 do
        page.click("#next-event")
        if "gives up" in page.inner_text("#current"):
            break
    assert 'phase: "gave-up"' in page.inner_text("#nodes [data-node='Proposer2']")

    shot = tmp_path / "viewer.png"
    page.mouse.move(point["x"], point["y"])
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert errors == []


def test_filters_and_zoom(post_page: tuple[Any, list[str]]) -> None:
    page, errors = post_page
    nack = page.evaluate("paxosview.findMessage('nack')")
    assert page.evaluate(f"paxosview.messagePoint({nack})") is not None
    page.locator("#type-filters label", has_text="nack").locator("input").uncheck()
    page.evaluate("paxosview.redraw()")
    assert page.evaluate(f"paxosview.messagePoint({nack})") is None
    page.locator("#node-filters label", has_text="Learner").locator("input").uncheck()
    assert page.locator("#nodes [data-node='Learner']").count() == 0
    before = page.evaluate("paxosview.messagePoint(0)")
    page.click("#zoom-in")
    page.evaluate("paxosview.redraw()")
    after = page.evaluate("paxosview.messagePoint(0)")
    assert after is None or after != before
    assert errors == []


def test_a_violation_jumps_to_its_culprit(browser: Any, tmp_path: Path) -> None:
    paxossim.run("forgetful_acceptor", variant="forget-promise-on-restart", out=tmp_path)
    path, _ = write_view(tmp_path / "events.jsonl")
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    listed = page.inner_text("#violations")
    assert "agreement at t=90 ms: 'y' was chosen" in listed
    explanation = paxossim.run("forgetful_acceptor", variant="forget-promise-on-restart"
                               ).violations[0]["explanation"]
    assert f"why ({explanation['rule']}): {explanation['sentence']}" in listed
    page.locator("#violations button").first.click()
    culprit = page.evaluate("paxosview.data.violations[0].event")
    assert culprit == explanation["culprit"]["pos"]  # the rule's breach, not the decision
    assert page.evaluate("paxosview.index()") == culprit > 0
    assert explanation["culprit"]["node"] in page.inner_text("#current")
    page.close()
