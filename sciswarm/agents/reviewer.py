"""Reviewer panel: N independent NeurIPS-form reviews with reflection, then an area-chair meta-review."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sciswarm.agents.base import Role
from sciswarm.events import Message, MetaReview, Paper, Review, ReviewScores, Revision, RoleFailed
from sciswarm.events.review_form import SCALES
from sciswarm.ledger import BudgetExceeded
from sciswarm.llm import ModelOutputError

NUMERIC = list(SCALES)
DEFAULT_PERSONAS = [
    "",
    "You focus on the soundness of the experiments and whether the claims follow from them.",
    "You focus on clarity and on whether the work could be reproduced from the paper.",
    "You focus on novelty and significance compared with prior work.",
    "You focus on limitations, baselines and statistical rigour.",
]


class ReviewerPanelParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_reviewers: int = Field(default=5, ge=1, le=20)
    num_reflections: int = Field(default=2, ge=1, le=10)
    personas: list[str] = Field(default_factory=lambda: list(DEFAULT_PERSONAS))
    temperatures: list[float] = Field(default_factory=list, description="per reviewer; needs a real model")
    models: list[str] = Field(default_factory=list, description="per reviewer, cycled: names from `models:`")
    max_paper_chars: int = Field(default=60000, ge=1000)
    improvement_rounds: int = Field(default=0, ge=0, le=5, description="writer revisions driven by reviews")
    parallel: bool = True


def meta_scores(reviews: list[ReviewScores], text: ReviewScores) -> ReviewScores:
    """The area chair's text and decision with the rounded means of the reviewers' numeric scores."""
    data = text.model_dump()
    data["Normalised"] = [n for n in text.Normalised if n.split(":", 1)[0] not in NUMERIC]  # those scores go
    for key in NUMERIC:
        data[key] = round(sum(getattr(r, key) for r in reviews) / len(reviews))
    return ReviewScores.model_validate(data)


def _paper_text(pdf: Path, limit: int) -> str:
    from sciswarm.paper import extract_text, without_urls

    return without_urls(extract_text(pdf, max_chars=limit))


class ReviewerPanel(Role[ReviewerPanelParams]):
    name = "reviewer_panel"
    description = "Reviews the PDF with N independent NeurIPS-form reviewers and an area-chair meta-review."
    subscribes = ("paper",)
    publishes = ("review", "meta_review", "revision", "role_failed")
    Params = ReviewerPanelParams
    model_params = ("models",)

    async def handle(self, message: Message) -> None:
        assert isinstance(message, Paper)
        pdf = Path(message.pdf)
        pdf = pdf if pdf.is_absolute() else self.ctx.run_dir / pdf
        text = _paper_text(pdf, self.params.max_paper_chars)
        audit = self._audit(message.revision)
        n = self.params.num_reviewers
        jobs = [self._review(i, text, audit, message) for i in range(n)]
        if self.params.parallel:
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        else:
            outcomes = []
            for job in jobs:
                try:
                    outcomes.append(await job)
                except Exception as exc:
                    outcomes.append(exc)
        reviews: list[ReviewScores] = []
        for i, out in enumerate(outcomes):
            if isinstance(out, ReviewScores):
                reviews.append(out)
            elif isinstance(out, BudgetExceeded) or not isinstance(out, Exception):
                raise out  # budgets and cancellation stop the whole panel
            else:  # unusable JSON after retries, or the model call failed for good: this reviewer only
                error = f"{type(out).__name__}: {out}"
                await self.ctx.publish(
                    RoleFailed(role=f"{self.ctx.role}/reviewer_{i + 1}", error=error, on_kind="paper"),
                    parent=message,
                )
        if not reviews:
            raise ModelOutputError(f"none of the {n} reviewers produced a valid review")
        meta = await self._meta(reviews, message)
        self._save(reviews, meta, message.revision)
        if message.revision < self.params.improvement_rounds:
            await self.ctx.publish(
                Revision(revision=message.revision + 1, requests=meta.Weaknesses + meta.Questions),
                parent=message,
            )

    def _audit(self, revision: int) -> str:
        """The claims audit of this revision, for the reviewers' soundness judgement."""
        from sciswarm.evidence import AuditReport, summary_for_reviewers

        data = self.ctx.folder.claims()
        if not data or data.get("revision") != revision:
            return "(no claims audit was made for this paper)"
        return summary_for_reviewers(AuditReport.model_validate(data))

    async def _review(self, i: int, text: str, audit: str, paper: Paper) -> ReviewScores:
        personas = self.params.personas or [""]
        handle = self.ctx.model
        if self.params.models:
            handle = self.ctx.model_named(self.params.models[i % len(self.params.models)])
        if self.params.temperatures:
            temp = self.params.temperatures[i % len(self.params.temperatures)]
            handle = handle.with_temperature(temp)  # the scripted model ignores it
        conv = handle.conversation(self.ctx.prompts.render("system", persona=personas[i % len(personas)]))
        stage = f"review/r{i + 1}"
        task = len(conv.messages) + 1  # the system prompt and the form with the paper
        review = await conv.say_json(
            self.ctx.prompts.render("form", paper=text, audit=audit), ReviewScores, stage=stage
        )
        for rnd in range(2, self.params.num_reflections + 1):
            conv.keep(head=task, tail=1)  # each round reconsiders the latest review only, not every draft
            try:
                review = await conv.say_json(
                    self.ctx.prompts.render("reflect", round=rnd, rounds=self.params.num_reflections),
                    ReviewScores,
                    stage=f"{stage}/reflect",
                )
            except ModelOutputError as exc:
                self.ctx.log(
                    f"reviewer {i + 1}: reflection {rnd} unusable, keeping the previous review: {exc}",
                    "warning",
                )
                break
            last = conv.messages[-1].content
            if isinstance(last, str) and "i am done" in last.lower():
                break
        await self.ctx.publish(
            Review(reviewer=f"reviewer_{i + 1}", revision=paper.revision, review=review), parent=paper
        )
        return review

    async def _meta(self, reviews: list[ReviewScores], paper: Paper) -> ReviewScores:
        listing = "\n\n".join(
            f"Review {i + 1}:\n{json.dumps(r.model_dump(exclude={'Normalised'}), indent=1)}"
            for i, r in enumerate(reviews)
        )
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system", persona="You are the area chair."))
        text = await conv.say_json(
            self.ctx.prompts.render("meta", n=len(reviews), reviews=listing),
            ReviewScores,
            stage="meta_review",
        )
        meta = meta_scores(reviews, text)
        await self.ctx.publish(MetaReview(revision=paper.revision, review=meta, n_reviews=len(reviews)), parent=paper)
        return meta

    def _save(self, reviews: list[ReviewScores], meta: ReviewScores, revision: int) -> None:
        history = (self.ctx.folder.reviews() or {}).get("history", [])
        record = {
            "revision": revision,
            "reviews": [r.model_dump() for r in reviews],
            "meta_review": meta.model_dump(),
        }
        history = [h for h in history if h.get("revision") != revision] + [record]
        self.ctx.folder.write_reviews({**record, "history": history})
