"""The viewer beside a real swarm: the scripted pipeline (ideator to reviewer panel, real sandbox runs, real
LaTeX) runs while Chromium watches the board; then the idea page shows what the swarm made."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import chromium, expect

from sciswarm.view.web import ViewerServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agents"))  # agent_support, as the role tests use it

from agent_support import (
    TINY_TEMPLATE,
    Swarm,
    edit,
    idea_reply,
    needs_latex,
    plan_reply,
    review_json,
    section_replies,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.latex, needs_latex]
IDEA = "divisor_doubling"
ROLES: list[dict[str, Any]] = [
    {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
    {"name": "novelty_critic"},
    {"name": "coder", "params": {"max_runs": 1, "max_attempts": 2, "editable": ["experiment.py"]}},
    {"name": "experimenter"},
    {"name": "writer", "params": {"refine": False, "citation_rounds": 0, "fix_rounds": 1, "audit": False}},
    {"name": "reviewer_panel", "params": {"num_reviewers": 2, "num_reflections": 1, "parallel": False}},
]
VISION = (
    '{"description": "Bar chart of the score of each run.", "readable": true, "matches_intent": true, "problems": []}'
)
REPLIES = {
    "ideator": [idea_reply(IDEA, "Doubling the Divisor Halves the Score")],
    "coder": [plan_reply("Double the divisor."), edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 4.0")],
    "experimenter": [VISION],
    "writer": section_replies("Doubling the Divisor Halves the Score"),
    "reviewer_panel": [
        review_json(5, summary="Reviewer one: a toy, clearly told."),
        review_json(6, summary="Reviewer two: small but sound.", decision="Accept"),
        review_json(6, summary="Area chair: a clear toy study.", decision="Accept"),
    ],
}
# every stage name the board's row of the idea shows, in order (the page's own record of its DOM)
WATCH = """
window.__stages = [];
new MutationObserver(() => {
  const cell = document.querySelector('.idea-row .stage-name');
  const last = window.__stages[window.__stages.length - 1];
  if (cell && cell.textContent !== last) window.__stages.push(cell.textContent);
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


@pytest.fixture
def work() -> Iterator[Path]:
    """A 0755 folder under /tmp: the local sandbox's unprivileged uid must traverse it (see tests/agents)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-viewer-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_board_follows_a_real_scripted_swarm(work: Path, shots: Path) -> None:
    template = work / "tiny_template"
    shutil.copytree(TINY_TEMPLATE, template)
    code = (template / "experiment.py").read_text()  # each run takes a moment, as real ones do
    (template / "experiment.py").write_text(
        code.replace("def main():\n", "def main():\n    __import__('time').sleep(1.5)\n")
    )
    swarm = Swarm(work, template)
    swarm.runs.mkdir()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["outcome"] = asyncio.run(swarm.run(ROLES, replies=REPLIES))
        except BaseException as exc:  # reported by the test below
            result["error"] = exc

    with ViewerServer(swarm.runs, poll_s=0.05) as srv, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        page.add_init_script(WATCH)
        page.goto(srv.url)
        expect(page.locator("#runs")).to_contain_text("No runs yet")
        swarm_thread = threading.Thread(target=run, name="swarm", daemon=True)
        swarm_thread.start()
        deadline = time.monotonic() + 30
        while not any(swarm.runs.glob("*/transcript.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.05)
        page.reload()  # the run has started: open it at once rather than at the list's next poll
        page.evaluate("window.__marker = 'no reload'")
        expect(page.locator(".idea-row")).to_have_count(1, timeout=15_000)
        row = page.locator(f'.idea-row[data-idea="{IDEA}"]')
        expect(row.locator(".stage-name")).to_have_text("review", timeout=120_000)
        expect(row.locator(".outcome")).to_have_text("done", timeout=30_000)
        expect(page.locator("#run-status")).to_have_text("completed", timeout=30_000)
        swarm_thread.join(timeout=60)
        assert "error" not in result, result.get("error")
        out = result["outcome"]
        assert out.status == "completed", out.meta.get("reason")
        seen: list[str] = page.evaluate("window.__stages")
        order = ["idea", "novelty", "experiments", "writing", "review"]
        assert seen == sorted(seen, key=order.index) and len(seen) >= 2 and seen[-1] == "review", seen
        assert page.evaluate("window.__marker") == "no reload"  # it advanced on the page that was open
        expect(row.locator(".runs")).to_contain_text("✓ 1 ✗ 0")
        expect(row.locator(".best")).to_contain_text("score ↑")
        expect(row.locator(".best")).to_contain_text("0.25 vs 0.5")  # DIVISOR 4.0 against the baseline's 2.0
        expect(row.locator(".review")).to_have_text("6/10 · Accept")
        expect(row.locator(".novelty")).to_have_text("unknown")  # no literature engine in this swarm
        page.screenshot(path=str(shots / "swarm-board.png"))

        row.locator(".idea-link").click()
        expect(page.locator("#idea-title")).to_have_text("Doubling the Divisor Halves the Score")
        table = page.locator("#runs-table")
        expect(table.locator("tr.baseline")).to_contain_text("0.5")
        expect(table).to_contain_text("run_1")
        expect(table).to_contain_text("0.25 \u221250.0%")  # the page writes a minus sign
        figure = page.locator("#idea-figures img")
        expect(figure).to_have_count(1)
        expect(figure).not_to_have_js_property("naturalWidth", 0)
        expect(page.locator("#idea-figures")).to_contain_text("Bar chart of the score of each run.")
        frame = page.locator("#paper-frame")
        expect(frame).to_have_attribute("src", f"/api/runs/{out.run_dir.name}/files/ideas/{IDEA}/paper/paper_rev0.pdf")
        pdf = page.request.get(srv.url.rstrip("/") + frame.get_attribute("src"))
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
        reviews = page.locator("#idea-reviews")
        expect(reviews.locator(".reviews-table tbody tr")).to_have_count(3)  # two reviewers and the meta-review
        expect(page.locator("#meta-review")).to_contain_text("Area chair: a clear toy study.")
        time.sleep(1.5)  # the PDF viewer renders its first page
        page.screenshot(path=str(shots / "swarm-idea.png"))
