"""The reviewer panel as a unit (the test kit, no swarm): what each reflection round resends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent_support import review_json, tiny_pdf

from sciswarm.agents.reviewer import ReviewerPanel
from sciswarm.events import Paper, ReviewScores
from sciswarm.llm import ChatMessage
from sciswarm.paper import without_urls
from sciswarm.testing import Recorder, make_context

REFERENCES = (
    "References\n"
    "Jonathan Ho, Ajay Jain, and Pieter Abbeel. Denoising diffusion probabilistic models. In Advances in Neural\n"
    "Information Processing Systems, 2020. URL https://example.org/paper/ho2020.\n"
    "Jun Huang and Sofia Ho. Revisiting noise scheduling, 2016. URL https://\n"
    "example.org/paper/bench1900.\n"
    "Mei Ermon. Residual networks. JMLR, 2014.\n"
)


def test_reviewers_read_the_reference_list_without_its_link_urls() -> None:
    text = without_urls("The body cites Ho et al. (2020). See https://kept.example/in-body.\n\n" + REFERENCES)
    assert "URL" not in text and "example.org" not in text  # a wrapped URL goes too
    assert "Information Processing Systems, 2020.\nJun Huang" in text
    assert "Revisiting noise scheduling, 2016.\nMei Ermon. Residual networks. JMLR, 2014." in text
    assert "https://kept.example/in-body." in text  # only the reference list's "URL ..." form is dropped


async def test_each_reflection_resends_the_paper_and_only_the_latest_review(tmp_path: Path) -> None:
    pdf = tiny_pdf(tmp_path / "paper.pdf", "Divisor study. The score falls with the divisor.")
    seen: list[list[ChatMessage]] = []
    drafts = iter(review_json(overall=o, summary=f"draft {o}") for o in (3, 4, 5, 6, 6))

    def model(messages: list[ChatMessage]) -> str:
        seen.append(list(messages))
        return next(drafts)

    ctx, rec = make_context(
        ReviewerPanel,
        tmp_path,
        params={"num_reviewers": 1, "num_reflections": 4, "parallel": False},
        model=model,
        idea_id="divisor",
    )
    await ReviewerPanel(ctx).handle(Paper(pdf=str(pdf), pages=1))
    reflections = seen[1:4]
    assert len(reflections) == 3 and len(seen) == 5  # 1 review + 3 reflections + the meta-review
    for rnd, messages in enumerate(reflections, start=2):
        roles = [m.role for m in messages]
        assert roles == ["system", "user", "assistant", "user"]  # paper, latest draft, this round's prompt
        assert messages[1].content == seen[0][1].content  # the form with the paper, as first sent
        assert f"draft {rnd + 1}" in messages[2].content  # the previous round's review, not the first draft
        assert f"Round {rnd}/4" in messages[3].content
    (review,) = rec.of("review")
    assert review.review.Overall == 6  # type: ignore[attr-defined]


# A review in AI-Scientist's own form as GPT-4o writes it: "Ethical Concerns" with a space, Limitations as one
# text, a half-point score and a score above its 1-4 scale
AI_SCIENTIST_REVIEW = """THOUGHT:
The paper studies a divisor; the experiments are small but the claims follow from them.

REVIEW JSON:
```json
{
    "Summary": "The paper shows that the toy score falls as the divisor grows.",
    "Strengths": ["Clear set-up.", "Results traced to the runs."],
    "Weaknesses": ["One toy metric only."],
    "Originality": 2,
    "Quality": 3,
    "Clarity": 3.5,
    "Significance": 2,
    "Questions": ["Does the effect hold for other datasets?"],
    "Limitations": "The paper does not discuss how the divisor interacts with the learning rate.",
    "Ethical Concerns": true,
    "Soundness": 5,
    "Presentation": 3,
    "Contribution": 2,
    "Overall": 5,
    "Confidence": 4,
    "Decision": "Reject"
}
```"""


def _panel(tmp_path: Path, model: Any) -> tuple[ReviewerPanel, Recorder, Path]:
    pdf = tiny_pdf(tmp_path / "paper.pdf", "Divisor study. The score falls with the divisor.")
    ctx, rec = make_context(
        ReviewerPanel,
        tmp_path,
        params={"num_reviewers": 1, "num_reflections": 1, "parallel": False},
        model=model,
        idea_id="divisor",
    )
    return ReviewerPanel(ctx), rec, pdf


async def test_a_review_in_ai_scientists_spelling_is_read_and_each_change_recorded(tmp_path: Path) -> None:
    chair = AI_SCIENTIST_REVIEW.replace('"Ethical Concerns": true', '"ethical_concerns": false')
    panel, rec, pdf = _panel(tmp_path, [AI_SCIENTIST_REVIEW, chair])
    await panel.handle(Paper(pdf=str(pdf), pages=1))
    (review,) = [m.review for m in rec.of("review")]  # type: ignore[attr-defined]
    assert review.Ethical_Concerns is True  # not silently False
    assert review.Limitations == ["The paper does not discuss how the divisor interacts with the learning rate."]
    assert (review.Clarity, review.Soundness) == (4, 4)
    assert review.Normalised == [
        "Limitations: one text read as a list of 1",
        "Clarity: 3.5 rounded to 4",
        "Soundness: 5 is outside 1-4, clamped to 4",
    ]
    assert len(rec.calls) == 2  # read as written: no re-ask
    saved = panel.ctx.folder.reviews()
    assert saved is not None and saved["reviews"][0]["Normalised"] == review.Normalised  # visible in reviews.json
    assert saved["reviews"][0]["Ethical_Concerns"] is True and saved["meta_review"]["Ethical_Concerns"] is False
    assert saved["meta_review"]["Normalised"] == ["Limitations: one text read as a list of 1"]  # its scores are means
    assert "Normalised" not in ReviewScores.model_json_schema()["properties"]  # never asked of the model


async def test_what_cannot_be_read_is_asked_again_naming_the_field_and_what_it_expects(tmp_path: Path) -> None:
    unclear = (
        AI_SCIENTIST_REVIEW.replace('"Clarity": 3.5', '"Clarity": "good"')
        .replace('"Decision": "Reject"', '"Decision": "Borderline reject"')
        .replace('"Summary": "The paper shows that the toy score falls as the divisor grows.",\n', "")
    )
    replies = iter([unclear, AI_SCIENTIST_REVIEW, AI_SCIENTIST_REVIEW])
    seen: list[list[ChatMessage]] = []

    def model(messages: list[ChatMessage]) -> str:
        seen.append(list(messages))
        return next(replies)

    panel, rec, pdf = _panel(tmp_path, model)
    await panel.handle(Paper(pdf=str(pdf), pages=1))
    reask = str(seen[1][-1].content)
    assert reask.startswith("Your reply could not be used: ")
    assert "Clarity: Value error, expected a whole number from 1 to 4, got 'good'" in reask
    assert "Decision: Input should be 'Accept' or 'Reject'" in reask
    assert "Summary: Field required" in reask
    (review,) = [m.review for m in rec.of("review")]  # type: ignore[attr-defined]
    assert review.Clarity == 4 and review.Summary.startswith("The paper shows")


def test_scores_are_rounded_half_up_and_clamped_to_their_own_scale() -> None:
    data = json.loads(AI_SCIENTIST_REVIEW.split("```json", 1)[1].split("```", 1)[0])
    data.update({"Overall": 11, "Confidence": "4.5", "Quality": 2.5, "Originality": 0, "Decision": "accept"})
    review = ReviewScores.model_validate(data)
    assert (review.Overall, review.Confidence, review.Quality, review.Originality) == (10, 5, 3, 1)
    assert review.Decision == "Accept"
    assert "Overall: 11 is outside 1-10, clamped to 10" in review.Normalised
    assert "Originality: 0 is outside 1-4, clamped to 1" in review.Normalised
    again = ReviewScores.model_validate(review.model_dump())  # read back (transcript, meta-review): unchanged
    assert again == review
