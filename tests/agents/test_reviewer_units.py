"""The reviewer panel as a unit (the test kit, no swarm): what each reflection round resends."""

from __future__ import annotations

from pathlib import Path

from agent_support import review_json, tiny_pdf

from sciswarm.agents.reviewer import ReviewerPanel
from sciswarm.events import Paper
from sciswarm.llm import ChatMessage
from sciswarm.paper import without_urls
from sciswarm.testing import make_context

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
