"""Each reviewer of the panel can use its own model (names from the swarm's `models:`)."""

from __future__ import annotations

import json
from pathlib import Path

from support.fake_openai import FakeOpenAI
from support.tiny_pdf import write_pdf

from sciswarm.cli.review import paper_message
from sciswarm.paper import extract_text
from sciswarm.run.config import load_config
from sciswarm.run.runner import SwarmRunner

REVIEW = {
    "Summary": "s",
    "Strengths": ["a"],
    "Weaknesses": ["b"],
    "Originality": 3,
    "Quality": 3,
    "Clarity": 3,
    "Significance": 3,
    "Soundness": 3,
    "Presentation": 3,
    "Contribution": 3,
    "Overall": 6,
    "Confidence": 3,
    "Decision": "Accept",
}


async def test_reviewers_cycle_through_their_models(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "paper.pdf", ["A Study of Tiny Things", "We find that tiny things are small."])
    assert "tiny things are small" in extract_text(pdf)
    with FakeOpenAI() as a, FakeOpenAI() as b:
        for server in (a, b):
            server.add(*[{"content": json.dumps({**REVIEW, "Overall": 6 if server is a else 3})}] * 3)
        cfg = tmp_path / "swarm.yaml"
        cfg.write_text(
            f"runs_dir: {tmp_path / 'runs'}\n"
            "models:\n"
            f"  default: {{model: openai/gpt-4o-mini, api_base: '{a.api_base}'}}\n"
            f"  second: {{model: openai/gpt-4o, api_base: '{b.api_base}'}}\n"
            "roles: [{name: reviewer_panel, params: {num_reviewers: 3, num_reflections: 1, "
            "models: [default, second]}}]\n"
        )
        runner = SwarmRunner(load_config(cfg))
        message = paper_message(pdf)
        assert await runner.run(handle_signals=False, initial=[message]) == "completed"
        # reviewers 1 and 3 on model A, reviewer 2 on model B, the area chair on the role's own model A
        assert len(a.requests) == 3 and len(b.requests) == 1
        assert "tiny things are small" in json.dumps(b.requests[0]["messages"])
    reviews = json.loads((runner.store.run_dir / "ideas" / message.idea_id / "reviews.json").read_text())
    assert [r["Overall"] for r in reviews["reviews"]] == [6, 3, 6]
    assert reviews["meta_review"]["Overall"] == 5  # round(15 / 3)
    by_model = json.loads((runner.store.run_dir / "run.json").read_text())["totals"]["by_role"]
    assert by_model["reviewer_panel"]["calls"] == 4
