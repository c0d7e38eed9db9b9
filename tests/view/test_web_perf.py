"""A long night's run: 50 ideas and 100k transcript lines. The board paints and a live change reaches the page
within a second; requests read the index and the appended tail, never the whole transcript again."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline import STAGES, new_run, stage
from web_support import T0, append, chromium, expect, get_json

from sciswarm.view.web import ViewerServer

RUN = "20260401-000000-night"
IDEAS = 50
LINES = 100_000
# the page's own clock: when the 50th board row is in the DOM, in ms since navigation started
FIRST_PAINT = """
new MutationObserver((_, observer) => {
  if (document.querySelectorAll('.idea-row').length >= IDEAS) {
    window.__firstPaint = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
""".replace("IDEAS", str(IDEAS))
WATCH_STAGE = """([idea, want]) => {
  window.__changed = null;
  new MutationObserver(() => {
    const cell = document.querySelector(`.idea-row[data-idea="${idea}"] .stage-name`);
    if (!window.__changed && cell && cell.textContent === want) window.__changed = Date.now();
  }).observe(document.getElementById('board-rows'), { childList: true, subtree: true, characterData: true });
}"""


def generate(runs: Path) -> Path:
    """50 ideas spread over the stages, then experiment output and model calls up to 100k lines."""
    run_dir = new_run(runs, RUN, pid=os.getpid(), name="a long night")
    records: list[dict[str, Any]] = []
    for i in range(IDEAS):  # idea_00 has just been proposed, idea_04 is reviewed
        for name in STAGES[: 1 + i % len(STAGES)]:
            records += stage(run_dir, f"idea_{i:02d}", name, T0 + i)
    lines = [json.dumps(r) for r in records]
    rng = random.Random(13)
    while len(lines) < LINES - 2:
        idea = f"idea_{rng.randrange(IDEAS):02d}"
        if rng.random() < 0.7:
            text = f"step {len(lines)} loss {rng.random():.4f}"
            lines.append(
                json.dumps(
                    {
                        "kind": "output",
                        "run_id": RUN,
                        "idea_id": idea,
                        "sender": "experimenter",
                        "ts": T0 + 100,
                        "stream": "stdout",
                        "line": text,
                        "summary": text,
                    }
                )
            )
        else:
            lines.append(
                json.dumps(
                    {
                        "kind": "model_call",
                        "run_id": RUN,
                        "idea_id": idea,
                        "sender": "coder",
                        "ts": T0 + 100,
                        "model": "scripted",
                        "stage": "fix",
                        "prompt_tokens": 1200,
                        "completion_tokens": 300,
                        "cost_usd": 0.0075,
                        "ok": True,
                        "summary": "scripted fix: 1200+300 tok",
                    }
                )
            )
    with (run_dir / "transcript.jsonl").open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    return run_dir


@pytest.mark.browser
@pytest.mark.slow
def test_fifty_ideas_and_100k_lines_paint_and_update_within_a_second(runs: Path, shots: Path) -> None:
    run_dir = generate(runs)
    assert len((run_dir / "transcript.jsonl").read_bytes().splitlines()) == LINES
    figures: dict[str, float] = {}
    with ViewerServer(runs) as srv, chromium() as browser:
        assert srv.warmed.wait(30)  # the viewer read the newest runs when it started, as `sciswarm serve` does
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(srv.url + "static/viewer.css")  # the browser is up on the viewer's origin, as a researcher's is
        page.add_init_script(FIRST_PAINT)
        started = time.monotonic()
        page.goto(srv.url + f"#{RUN}")
        page.locator(".idea-row").nth(IDEAS - 1).wait_for(state="attached", timeout=20_000)
        figures["first_paint_wall_s"] = time.monotonic() - started
        expect(page.locator(".idea-row")).to_have_count(IDEAS)
        figures["first_paint_page_s"] = page.evaluate("window.__firstPaint") / 1000
        expect(page.locator("#st-ideas")).to_have_text(str(IDEAS))

        page.evaluate(WATCH_STAGE, ["idea_00", "novelty"])  # idea_00 is at its first stage
        appended = time.time()
        append(run_dir, *stage(run_dir, "idea_00", "novelty", T0 + 200))
        expect(page.locator('.idea-row[data-idea="idea_00"] .stage-name')).to_have_text("novelty")
        figures["live_update_s"] = page.evaluate("window.__changed") / 1000 - appended

        started = time.monotonic()
        page.reload()
        page.locator(".idea-row").nth(IDEAS - 1).wait_for(state="attached", timeout=20_000)
        figures["reload_wall_s"] = time.monotonic() - started
        figures["reload_page_s"] = page.evaluate("window.__firstPaint") / 1000

        started = time.monotonic()
        page.locator("#tab-log").click()
        page.locator("#log .row").nth(1999).wait_for(state="attached")  # the transcript's last 2000 lines
        figures["transcript_tab_s"] = time.monotonic() - started
        expect(page.locator("#earlier")).to_be_visible()
        page.locator("#tab-board").click()
        page.screenshot(path=str(shots / "night.png"))

        started = time.monotonic()
        for _ in range(20):  # requests while running read only what was appended
            get_json(srv.url + f"api/runs/{RUN}/board")
        figures["board_request_s"] = (time.monotonic() - started) / 20
        started = time.monotonic()
        tail = get_json(srv.url + f"api/runs/{RUN}/events?tail=200")
        figures["tail_request_s"] = time.monotonic() - started
        assert tail["first"] == LINES + len(stage(run_dir, "idea_00", "novelty")) - 200

        with ViewerServer(runs, warm=False) as cold:  # a viewer started this instant: its first request reads all
            fresh = browser.new_page(viewport={"width": 1400, "height": 900})
            fresh.add_init_script(FIRST_PAINT)
            fresh.goto(cold.url + f"#{RUN}")
            fresh.locator(".idea-row").nth(IDEAS - 1).wait_for(state="attached", timeout=20_000)
            figures["cold_first_paint_page_s"] = fresh.evaluate("window.__firstPaint") / 1000
    (shots / "performance.json").write_text(json.dumps(figures, indent=2))
    print("viewer performance:", json.dumps({k: round(v, 3) for k, v in figures.items()}))
    assert figures["first_paint_page_s"] < 1.0, figures
    assert figures["live_update_s"] < 1.0, figures
    assert figures["reload_page_s"] < 1.0 and figures["board_request_s"] < 0.1, figures
    assert figures["cold_first_paint_page_s"] < 2.0, figures  # one read of 100k lines (~0.25 s) first
