"""The run viewer on a large log: how long it takes to build, and to open in a browser.

Makes a run (``--preset large``: ``leader_failover`` for 15 s of simulated time
with 2 % loss, 1 % duplicates, the leader's crash and a partition, about
105,000 events; ``--preset post``: the post's ``late_arriving_proposal``), writes
its ``view.html`` (timed), then opens the page from disk in Debian's chromium
through Playwright ``--opens`` times, each in a fresh page, and reports the
median time from navigation to the page's ready mark (data parsed, first frame
drawn), and the time of one full redraw with the whole run on screen and with
a zoomed window. With ``--shot`` it also saves a screenshot: the post's run
stepped to the acceptor's nack with its tooltip; the large run stepped to the
leader's crash, zoomed around it.

    python benchmarks/bench_view.py --preset large [--opens 5] [--shot FILE.png]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import paxossim
from paxossim.view.page import write_view

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "post": ("late_arriving_proposal", {}),
    "large": ("leader_failover", {
        "horizon": 15000.0, "network.loss": 0.02, "network.duplicate": 0.01,
        "faults.partitions": [{"at": 5000.0, "heal": 6000.0,
                               "groups": [["r4"], ["r1", "r2", "r3", "r5", "c1", "c2", "c3"]]}],
    }),
}


def redraw_ms(page: Any) -> float:
    return page.evaluate("(() => { const a = performance.now(); paxosview.redraw();"
                         " return performance.now() - a; })()")


def pose_post(page: Any) -> None:
    nack = page.evaluate("paxosview.findMessage('nack')")
    while page.evaluate("paxosview.data.ev.m[paxosview.index()]") != nack:
        page.click("#next-message")
    point = page.evaluate(f"paxosview.messagePoint({nack})")
    page.mouse.move(point["x"], point["y"])


def pose_large(page: Any) -> None:
    while "[crash" not in page.inner_text("#current"):
        page.click("#next-fault")
    at = page.evaluate("paxosview.data.ev.t[paxosview.index()]")
    page.evaluate(f"paxosview.setWindow({at - 120}, {at + 330})")
    page.evaluate("paxosview.redraw()")
    message = page.evaluate(f"paxosview.data.msg.ts.findIndex(t => t > {at + 160})")
    point = page.evaluate(f"paxosview.messagePoint({message})")
    page.mouse.move(point["x"], point["y"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="large")
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--shot", type=Path)
    parser.add_argument("--out", type=Path, help="where the run goes (default: a temp folder)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as temp:
        out = args.out or Path(temp)
        scenario, overrides = PRESETS[args.preset]
        run = paxossim.run(scenario, set=overrides, out=out)
        events = sum(1 for _ in run.events())
        start = time.perf_counter()
        path, note = write_view(out / "events.jsonl")
        built = time.perf_counter() - start
        print(f"{args.preset}: {events} events; view.html {path.stat().st_size / 1e6:.2f} MB "
              f"built in {built:.2f} s{f' ({note})' if note else ''}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox"])
            opens = []
            for _ in range(args.opens):
                page = browser.new_page(viewport={"width": 1400, "height": 800})
                start = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_selector("body[data-ready='1']", timeout=120_000)
                opens.append(time.perf_counter() - start)
                page.close()
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            whole = statistics.median(redraw_ms(page) for _ in range(5))
            (pose_post if args.preset == "post" else pose_large)(page)
            zoomed = statistics.median(redraw_ms(page) for _ in range(5))
            if args.shot is not None:
                args.shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.shot))
            browser.close()
        print(f"open (navigation to first frame drawn), median of {len(opens)}: "
              f"{statistics.median(opens):.2f} s (min {min(opens):.2f}, max {max(opens):.2f})")
        print(f"one redraw: whole run {whole:.1f} ms, zoomed {zoomed:.1f} ms")
        if args.shot is not None:
            print(f"wrote: {args.shot}")


if __name__ == "__main__":
    main()
