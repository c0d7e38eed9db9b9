"""The transcript view in a real browser (headless Chromium): live rows, filters, artifacts, the token URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_support import local
from web_support import T0, append, chromium, expect, make_run, rec, records

from sciswarm.view.web import ViewerServer

pytestmark = pytest.mark.browser


def test_viewer_in_chromium_updates_live(runs: Path, shots: Path) -> None:
    live = make_run(runs, "20260101-000000-live", status="running", started=T0, final=None)
    make_run(runs, "20260102-000000-done", started=T0 + 100)
    with ViewerServer(runs, poll_s=0.05) as srv, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(srv.url)
        expect(page.locator(".run")).to_have_count(2)
        page.locator('.run[data-run="20260101-000000-live"]').click()
        expect(page.locator("#run-name")).to_have_text("demo 20260101-000000-live")
        page.locator("#tab-log").click()  # the board is a run's first view; the transcript is a tab
        rows = page.locator("#log .row")
        expect(rows).to_have_count(len(records("x", None)))
        expect(page.locator("#log")).to_contain_text("Label Smoothing for Small MLPs")
        expect(page.locator("#run-status")).to_have_text("running")
        expect(page.locator("#st-messages")).to_have_text("6")
        expect(page.locator(".row.k-meta_review .chip.accept")).to_have_text("Overall 6/10 · Accept")
        expect(page.locator(".row.k-paper a.chip.pdf")).to_have_attribute(
            "href", "/api/runs/20260101-000000-live/files/ideas/label_smoothing/paper/paper_rev0.pdf"
        )
        thumb = page.locator(".row.k-figures .thumb img")
        expect(thumb).to_have_count(1)
        expect(thumb).to_have_js_property("naturalWidth", 64)  # polled by the driver: no eval under the CSP

        page.evaluate("window.__marker = 'no reload'")
        append(live, rec("note", 60, "label_smoothing", "writer", text="a live note from the writer"))
        expect(page.locator("#log")).to_contain_text("a live note from the writer")
        expect(page.locator("#st-messages")).to_have_text("7")
        assert page.evaluate("window.__marker") == "no reload"

        page.locator("#show-traces").uncheck()
        expect(page.locator(".row.k-model_call")).to_be_hidden()
        expect(page.locator(".row.k-idea")).to_be_visible()
        page.locator("#show-traces").check()
        expect(page.locator(".row.k-output")).to_be_visible()
        page.locator("#idea-filter").select_option("label_smoothing")
        expect(page.locator(".row.k-run_status")).to_be_hidden()
        expect(page.locator("#count")).to_contain_text("shown of 12")
        page.locator("#idea-filter").select_option("")

        append(live, rec("run_status", 61, status="completed", reason="the bus is idle"))
        expect(page.locator("#run-status")).to_have_text("completed")
        expect(page.locator("#live")).to_have_text("finished")
        shot = shots / "transcript.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000


def test_viewer_in_chromium_works_from_the_token_url(runs: Path) -> None:
    make_run(runs, "r1")
    live = make_run(runs, "20260101-000000-live", status="running", started=T0 + 200, final=None)
    with ViewerServer(runs, host="0.0.0.0", poll_s=0.05) as srv, chromium() as browser:
        stranger = browser.new_page()
        response = stranger.goto(local(srv))
        assert response is not None and response.status == 401
        assert "label_smoothing" not in stranger.content()

        context = browser.new_context()  # its own cookie jar
        page = context.new_page()
        page.goto(local(srv) + f"?token={srv.token}#20260101-000000-live/log")
        expect(page.locator(".run")).to_have_count(2)  # fetch() with the cookie
        expect(page.locator("#run-name")).to_have_text("demo 20260101-000000-live")
        expect(page.locator("#log .row")).to_have_count(len(records("x", None)))
        expect(page.locator(".row.k-figures .thumb img")).to_have_js_property("naturalWidth", 64)
        append(live, rec("note", 60, "label_smoothing", "writer", text="a live note through the cookie"))
        expect(page.locator("#log")).to_contain_text("a live note through the cookie")  # EventSource
        assert page.evaluate("document.cookie") == ""  # HttpOnly: the page's scripts cannot read it

        again = context.new_page()  # the same cookie jar, no ?token=
        response = again.goto(local(srv))
        assert response is not None and response.status == 200
        expect(again.locator(".run")).to_have_count(2)
