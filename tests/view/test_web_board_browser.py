"""The research board and an idea's page in headless Chromium, fed live: records in the real transcript format
are appended while the page is open (a real scripted swarm drives it in test_web_swarm.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline import new_run, revised, stage, status, tree_search, written
from web_support import T0, append, chromium, expect

from sciswarm.agents.tree.nodes import RUNNING, Node, Tree
from sciswarm.events import TreeNode
from sciswarm.view.web import ViewerServer

pytestmark = pytest.mark.browser
RUN = "20260301-000000-board"


def row(page: Any, idea: str) -> Any:
    return page.locator(f'.idea-row[data-idea="{idea}"]')


def test_the_board_advances_live_without_a_reload(runs: Path, shots: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid(), name="mlp-regularizers", started=time.time() - 9000)
    with ViewerServer(runs, poll_s=0.05) as srv, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 760})
        page.goto(srv.url + f"#{RUN}")
        expect(page.locator("#board-empty")).to_be_visible()
        page.evaluate("window.__marker = 'no reload'")
        ideas = ["label_smoothing", "mixup_for_mlps", "cosine_warmup", "tiny_dropout", "weight_noise"]
        for i, idea in enumerate(ideas):
            append(run_dir, *stage(run_dir, idea, "idea", T0 + i))
        expect(page.locator(".idea-row")).to_have_count(5)
        expect(row(page, "label_smoothing").locator(".stage-name")).to_have_text("idea")
        expect(row(page, "label_smoothing").locator(".outcome")).to_have_text("running")
        t = T0 + 10
        for name in ("novelty", "experiments", "writing", "review"):
            append(run_dir, *stage(run_dir, "label_smoothing", name, t, overall=7))
            expect(row(page, "label_smoothing").locator(".stage-name")).to_have_text(name)
            t += 1
        ls = row(page, "label_smoothing")
        expect(ls.locator(".runs")).to_contain_text("✓ 2 ✗ 1")
        expect(ls.locator(".best")).to_contain_text("0.62 vs 0.5 +24.0%")
        expect(ls.locator(".review")).to_have_text("7/10 · Accept")
        expect(ls.locator(".novelty")).to_have_text("novel")

        for idea in ideas[1:4]:
            append(run_dir, *stage(run_dir, idea, "novelty", t))
            change = {"kind": "code_change", "run_id": RUN, "idea_id": idea, "sender": "coder", "ts": t, "run": 1}
            append(run_dir, {**change, "attempt": 1, "files": ["experiment.py"], "summary": "run_1 attempt 1"})
            expect(row(page, idea).locator(".stage-name")).to_have_text("experiments")
        expect(page.locator("#slots")).to_have_text("experiment slots: 2 busy · 0 free · 1 queued")
        expect(row(page, "mixup_for_mlps").locator(".runs")).to_contain_text("⟳ 1")
        dropped = {"kind": "novelty", "run_id": RUN, "idea_id": "weight_noise", "sender": "novelty_critic", "ts": t}
        append(run_dir, {**dropped, "verdict": "not novel", "reason": "done before", "proceed": False})
        expect(row(page, "weight_noise").locator(".outcome")).to_have_text("dropped")
        expect(page.locator("#st-ideas")).to_have_text("5")
        expect(page.locator("#stage-counts")).to_contain_text("review 1")
        page.screenshot(path=str(shots / "board.png"))
        assert page.evaluate("window.__marker") == "no reload"

        outcomes = {"label_smoothing": {"outcome": "done"}, "mixup_for_mlps": {"outcome": "unfinished"}}
        append(run_dir, status(RUN, "stopped", t + 5, outcomes))
        expect(page.locator("#run-status")).to_have_text("stopped")
        expect(row(page, "mixup_for_mlps").locator(".outcome")).to_have_text("unfinished")
        expect(row(page, "label_smoothing").locator(".outcome")).to_have_text("done")
        page.locator("#board-sort").select_option("review")
        expect(page.locator(".idea-row").first).to_have_attribute("data-idea", "label_smoothing")


def test_the_idea_page_fills_in_live(runs: Path, shots: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid(), name="mlp-regularizers", started=time.time() - 9000)
    idea = "label_smoothing"
    append(run_dir, *stage(run_dir, idea, "idea", T0), *stage(run_dir, idea, "novelty", T0 + 1))
    with ViewerServer(runs, poll_s=0.05) as srv, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(srv.url + f"#{RUN}")
        row(page, idea).locator(".idea-link").click()
        expect(page.locator("#idea-title")).to_have_text("Label Smoothing Helps Small MLPs Generalize")
        expect(page.locator("#idea-novelty")).to_contain_text("When Does Label Smoothing Help?")
        expect(page.locator("#idea-stage")).to_have_text("novelty")
        page.evaluate("window.__marker = 'no reload'")

        append(run_dir, *stage(run_dir, idea, "experiments", T0 + 2))
        table = page.locator("#runs-table")
        expect(table).to_contain_text("run_0 (baseline)")
        expect(table.locator("tr.baseline")).to_contain_text("0.5 ± 0.02 (n=3)")
        expect(table).to_contain_text("0.62 ± 0.01 (n=3) +24.0%")
        expect(table.locator("tr.failed")).to_contain_text("IndexError: index 9 is out of bounds")
        figure = page.locator("#idea-figures img")
        expect(figure).to_have_js_property("naturalWidth", 400)
        expect(page.locator("#idea-figures")).to_contain_text("both smoothing runs beat the baseline")

        append(run_dir, *stage(run_dir, idea, "writing", T0 + 3))
        frame = page.locator("#paper-frame")
        src = f"/api/runs/{RUN}/files/ideas/{idea}/paper/paper_rev0.pdf"
        expect(frame).to_have_attribute("src", src)
        pdf = page.request.get(srv.url.rstrip("/") + src)
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
        expect(page.locator("#audit-flagged")).to_contain_text("halving beats doubling")
        expect(page.locator("#audit-untraced")).to_contain_text("0.99")

        append(run_dir, *stage(run_dir, idea, "review", T0 + 4, overall=7))
        reviews = page.locator("#idea-reviews")
        expect(reviews.locator(".reviews-table tbody tr")).to_have_count(4)  # three reviewers and the meta-review
        expect(reviews).to_contain_text("reviewer_3")
        expect(page.locator("#meta-review .chip")).to_have_text("Overall 7/10 · Accept")
        expect(page.locator("#idea-stage")).to_have_text("review")
        expect(page.locator("#idea-outcome")).to_have_text("done")
        assert page.evaluate("window.__marker") == "no reload"
        page.set_viewport_size({"width": 1400, "height": 1500})
        page.locator("#idea-runs").scroll_into_view_if_needed()
        page.wait_for_timeout(1000)  # the PDF viewer draws its first page
        page.screenshot(path=str(shots / "idea.png"))
        page.set_viewport_size({"width": 1400, "height": 1000})

        append(run_dir, *revised(run_dir, idea, T0 + 5))  # a revision: the newest is shown, the older kept
        expect(page.locator("#paper-revision option")).to_have_count(2)
        expect(frame).to_have_attribute("src", src.replace("rev0", "rev1"))
        expect(page.locator("#idea-paper")).to_contain_text("Add a second dataset.")
        page.locator("#paper-revision").select_option("0")
        expect(frame).to_have_attribute("src", src)
        expect(page.locator("#idea-stage")).to_have_text("writing")  # back with the writer


def test_the_experiment_tree_on_an_idea_page(runs: Path, shots: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid())
    idea = "label_smoothing"
    append(run_dir, *stage(run_dir, idea, "idea", T0), *stage(run_dir, idea, "novelty", T0 + 1))
    with ViewerServer(runs, poll_s=0.05) as srv, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(srv.url + f"#{RUN}/idea/{idea}")
        expect(page.locator("#idea-stage")).to_have_text("novelty")
        expect(page.locator("#idea-tree")).to_have_count(1)
        expect(page.locator("#tree")).to_have_count(0)  # no tree yet
        # the first node's run starts: tree.json and a running TreeNode say so, and the page draws it in flight
        (run_dir / "ideas" / idea).mkdir(parents=True, exist_ok=True)
        Tree(nodes=[Node("n1", "implementation", "draft", status=RUNNING, worker=1)]).save(
            run_dir / "ideas" / idea / "tree.json"
        )
        start = TreeNode(node="n1", stage="implementation", operator="draft", status="running", worker=1)
        append(run_dir, written(start, RUN, idea, "coder", T0 + 1.5))
        expect(page.locator('#tree .node.st-running[data-node="n1"]')).to_contain_text("running")
        append(run_dir, *tree_search(run_dir, idea, T0 + 2))  # the search's nodes arrive while the page is open
        nodes = page.locator("#tree .node")
        expect(nodes).to_have_count(3)
        expect(page.locator('#tree .node.st-buggy[data-node="n1"]')).to_contain_text("draft")
        expect(page.locator('#tree .node.st-good[data-node="n3"]')).to_contain_text("0.66")
        expect(page.locator("#idea-tree")).to_contain_text("objective: maximise accuracy (mean over datasets)")
        stages = page.locator("#tree-stages")
        expect(stages).to_contain_text("n3")
        expect(stages).to_contain_text("0.63 ± 0.01 (n=3)")  # the re-run beside the search value 0.66
        page.locator('#tree .node[data-node="n1"]').click()
        detail = page.locator("#node-detail")
        expect(detail).to_contain_text("+loss = ce(smooth(y))")
        expect(detail).to_contain_text("KeyError: 'smooth'")  # stderr of the node's run, from logs/tree_n1/
        expect(page.locator("#runs-table")).to_contain_text("run_1 · implementation: n3 re-run")
        page.locator("#idea-tree").screenshot(path=str(shots / "idea-tree.png"))
        page.locator("#tab-board").click()
        row_ = row(page, idea)
        expect(row_.locator(".runs")).to_contain_text("tree: 2 good · 1 buggy")
        expect(row_.locator(".best")).to_contain_text("0.63 vs 0.5 +26.0%")


def test_a_reload_mid_run_resumes_the_stream(runs: Path) -> None:
    run_dir = new_run(runs, RUN, pid=os.getpid())
    append(run_dir, *stage(run_dir, "a", "idea", T0))
    with ViewerServer(runs, poll_s=0.05) as srv, chromium() as browser:
        page = browser.new_page()
        page.goto(srv.url + f"#{RUN}/log")
        note = {"kind": "note", "run_id": RUN, "idea_id": "a", "sender": "writer", "ts": T0 + 1}
        append(run_dir, {**note, "text": "before the reload"})
        expect(page.locator("#log")).to_contain_text("before the reload")
        page.reload()
        expect(page.locator("#log .row", has_text="before the reload")).to_have_count(1)
        append(run_dir, {**note, "text": "after the reload"}, *stage(run_dir, "a", "novelty", T0 + 2))
        expect(page.locator("#log")).to_contain_text("after the reload")
        lines = len((run_dir / "transcript.jsonl").read_text().splitlines())
        expect(page.locator("#log .row")).to_have_count(lines)  # nothing twice, nothing missing
        page.locator("#tab-board").click()
        expect(row(page, "a").locator(".stage-name")).to_have_text("novelty")

        port = srv.port
        srv.close()  # the viewer restarts: the page's EventSource reconnects with Last-Event-ID
        append(run_dir, {**note, "text": "while the viewer was away"})
        with ViewerServer(runs, port=port, poll_s=0.05):
            append(run_dir, *stage(run_dir, "a", "experiments", T0 + 3))
            expect(row(page, "a").locator(".stage-name")).to_have_text("experiments", timeout=15_000)
            page.locator("#tab-log").click()
            expect(page.locator("#log")).to_contain_text("while the viewer was away")
            lines = len((run_dir / "transcript.jsonl").read_text().splitlines())
            expect(page.locator("#log .row")).to_have_count(lines)


def test_compare_ideas_across_runs(runs: Path, shots: Path) -> None:
    one = new_run(runs, "20260301-000000-one", pid=os.getpid(), name="first")
    two = new_run(runs, "20260302-000000-two", pid=os.getpid(), name="second")
    for run_dir, idea, overall in ((one, "label_smoothing", 7), (one, "mixup", 4), (two, "cosine_warmup", 5)):
        append(
            run_dir,
            *[
                r
                for i, s in enumerate(("idea", "novelty", "experiments", "writing", "review"))
                for r in stage(run_dir, idea, s, T0 + i, overall=overall)
            ],
        )
    with ViewerServer(runs, poll_s=0.05) as srv, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(srv.url + f"#{one.name}")
        row(page, "label_smoothing").locator("input.pick").check()
        row(page, "mixup").locator("input.pick").check()
        page.locator(f'.run[data-run="{two.name}"]').click()
        row(page, "cosine_warmup").locator("input.pick").check()
        expect(page.locator("#compare-picked")).to_have_text("compare 3 selected")
        page.locator("#compare-picked").click()
        table = page.locator("#compare-table")
        expect(table.locator("th.col-head")).to_have_count(3)
        expect(table).to_contain_text("Cosine Warm-up Without Tuning")
        expect(table.locator("tr", has_text="review").locator("td.top")).to_have_text("7/10 · Accept")
        expect(table.locator("tr", has_text="cost")).to_contain_text("$0.0000")
        page.locator("#compare-run").select_option(two.name)
        page.locator("#compare-add").click()  # the whole second run
        expect(table.locator("th.col-head")).to_have_count(4)
        expect(table).to_contain_text("1: 1 done, 0 failed, 0 dropped")
        page.screenshot(path=str(shots / "compare.png"))
