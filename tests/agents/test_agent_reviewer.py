"""Reviewer panel: unusable reviews, a panel with no usable review, meta-review scores, improvement rounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_support import Swarm, needs_latex, review_json, section_replies, tiny_pdf, writer_seed
from support.fake_openai import FakeOpenAI

from sciswarm.paper import extract_text

IDEA = "toy_paper"
PAPER_TEXT = ["The Divisor Decides", "We show that the toy score is the step over the divisor.", "MARKER-7731"]


def paper_seed(work: Path) -> dict[str, Any]:
    pdf = tiny_pdf(work / "toy_paper.pdf", PAPER_TEXT)
    return {
        "name": "seed",
        "use": "agent_support:Seed",
        "params": {"messages": [{"kind": "paper", "idea_id": IDEA, "pdf": str(pdf), "pages": 1}]},
    }


def panel(**params: Any) -> dict[str, Any]:
    return {"name": "reviewer_panel", "params": {"num_reflections": 1, **params}}


async def test_an_unusable_review_fails_that_reviewer_only(swarm: Swarm, work: Path) -> None:
    personas = ["PERSONA-ALPHA", "PERSONA-BETA", "PERSONA-GAMMA"]
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "PERSONA-ALPHA", "content": review_json(3)},
            *[{"match": "PERSONA-BETA", "content": "I liked it. 7/10."}] * 3,
            {"match": "PERSONA-GAMMA", "content": review_json(5)},
            {"match": "You are the area chair", "content": review_json(9, summary="Area chair summary.")},
        )
        out = await swarm.run(
            [paper_seed(work), panel(num_reviewers=3, personas=personas, parallel=True)],
            api_base=llm.api_base,
            template=False,
        )
        requests = list(llm.requests)
        left = list(llm.queue)
    assert out.status == "completed" and not left
    failed = out.of("role_failed")
    assert [(f["role"], f["on_kind"]) for f in failed] == [("reviewer_panel/reviewer_2", "paper")]
    assert "no valid ReviewScores JSON after 3 attempts" in failed[0]["error"]
    assert sorted(r["reviewer"] for r in out.of("review")) == ["reviewer_1", "reviewer_3"]
    (meta,) = out.of("meta_review")
    assert meta["n_reviews"] == 2 and meta["review"]["Summary"] == "Area chair summary."
    assert meta["review"]["Overall"] == 4  # (3 + 5) / 2, not the chair's 9
    # every reviewer read the PDF's text; the area chair saw the two valid reviews only
    reviews_asked = [r for r in requests if "Review the paper below" in json.dumps(r["messages"])]
    assert len(reviews_asked) == 5 and all("MARKER-7731" in json.dumps(r["messages"]) for r in reviews_asked)
    (chair,) = [r for r in requests if "You are the area chair" in json.dumps(r["messages"])]
    assert "Here are 2 reviews" in chair["messages"][-1]["content"]
    saved = json.loads((out.idea_dir(IDEA) / "reviews.json").read_text())
    assert [r["Overall"] for r in saved["reviews"]] == [3, 5] and saved["meta_review"]["Overall"] == 4


async def test_no_usable_review_fails_the_panel(swarm: Swarm, work: Path) -> None:
    out = await swarm.run(
        [paper_seed(work), panel(num_reviewers=2, parallel=False)],
        replies={"reviewer_panel": ["no json here"] * 6 + [review_json(5)]},
        template=False,
    )
    assert out.status == "failed"  # the one idea got no review: nothing came out
    assert "reviewer_panel: none of the 2 reviewers produced a valid review" in out.meta["reason"]
    roles = [(f["role"], f["sender"]) for f in out.of("role_failed")]
    assert roles == [
        ("reviewer_panel/reviewer_1", "reviewer_panel"),
        ("reviewer_panel/reviewer_2", "reviewer_panel"),
        ("reviewer_panel", "reviewer_panel"),
    ]
    assert "none of the 2 reviewers produced a valid review" in out.of("role_failed")[-1]["error"]
    assert not out.of("review") and not out.of("meta_review")
    assert len(out.calls("reviewer_panel")) == 6  # 2 reviewers x 3 attempts; the area chair is never asked
    assert not (out.idea_dir(IDEA) / "reviews.json").exists()


async def test_meta_review_scores_are_the_rounded_means_of_the_reviews(swarm: Swarm, work: Path) -> None:
    scores = [
        {"Originality": 1, "Quality": 4, "Clarity": 1, "Overall": 3, "Confidence": 2},
        {"Originality": 2, "Quality": 4, "Clarity": 2, "Overall": 4, "Confidence": 3},
        {"Originality": 2, "Quality": 3, "Clarity": 2, "Overall": 6, "Confidence": 5},
    ]
    chair = {
        "Originality": 4,
        "Quality": 1,
        "Clarity": 4,
        "Significance": 4,
        "Soundness": 4,
        "Presentation": 1,
        "Contribution": 4,
        "Overall": 10,
        "Confidence": 1,
    }
    out = await swarm.run(
        [paper_seed(work), panel(num_reviewers=3, parallel=False)],
        replies={
            "reviewer_panel": [
                *(review_json(s["Overall"], scores=s) for s in scores),
                review_json(10, scores=chair, summary="The chair's own words.", decision="Accept"),
            ]
        },
        template=False,
    )
    assert out.status == "completed" and not out.of("role_failed")
    (meta,) = out.of("meta_review")
    review = meta["review"]
    # means 1.67, 3.67, 1.67, 4.33, 3.33 -> rounded (not truncated); the rest are unanimous
    assert (review["Originality"], review["Quality"], review["Clarity"]) == (2, 4, 2)
    assert (review["Overall"], review["Confidence"]) == (4, 3)
    assert (review["Significance"], review["Soundness"], review["Presentation"], review["Contribution"]) == (2, 2, 3, 2)
    assert review["Summary"] == "The chair's own words."  # the text is the area chair's
    saved = json.loads((out.idea_dir(IDEA) / "reviews.json").read_text())
    assert saved["meta_review"] == review and len(saved["reviews"]) == 3


@pytest.mark.latex
@needs_latex
async def test_an_improvement_round_revises_the_paper_and_reviews_revision_1(swarm: Swarm) -> None:
    idea = "divisor_study"
    out = await swarm.run(
        [
            writer_seed(idea),
            {"name": "writer", "params": {"refine": False, "citation_rounds": 0, "fix_rounds": 1, "audit": False}},
            panel(num_reviewers=1, improvement_rounds=1, parallel=False),
        ],
        replies={
            "writer": [
                *section_replies(Conclusion="The divisor sets the score."),
                '{"parts": ["Conclusion"], "plan": "Discuss other divisors."}',
                "```latex\nThe divisor sets the score, and REVISEDCONCLUSION other divisors behave alike.\n```",
            ],
            "reviewer_panel": [
                review_json(3, weaknesses=["No discussion of other divisors."]),
                review_json(3, weaknesses=["No discussion of other divisors."], summary="Chair, round 0."),
                review_json(6, decision="Accept"),
                review_json(6, summary="Chair, round 1.", decision="Accept"),
            ],
        },
    )
    assert out.status == "completed" and not out.of("role_failed")
    (revision,) = out.of("revision")
    assert revision["revision"] == 1 and "No discussion of other divisors." in revision["requests"]
    rev0, rev1 = out.of("paper")
    assert (rev0["revision"], rev1["revision"]) == (0, 1) and rev1["compiled"] is True
    assert "REVISEDCONCLUSION" not in extract_text(out.run_dir / rev0["pdf"])
    assert "REVISEDCONCLUSION" in extract_text(out.run_dir / rev1["pdf"])
    assert [(m["revision"], m["review"]["Overall"]) for m in out.of("meta_review")] == [(0, 3), (1, 6)]
    saved = json.loads((out.idea_dir(idea) / "reviews.json").read_text())
    assert saved["revision"] == 1 and saved["meta_review"]["Summary"] == "Chair, round 1."
    assert [(h["revision"], h["meta_review"]["Overall"]) for h in saved["history"]] == [(0, 3), (1, 6)]
