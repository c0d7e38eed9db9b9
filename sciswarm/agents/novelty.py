"""Novelty critic: searches the literature in rounds and decides novel / not novel / unknown."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sciswarm.agents.base import Role
from sciswarm.events import Idea, Message, NoveltyVerdict, PaperRef


class NoveltyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_rounds: int = Field(default=10, ge=1, le=30)
    results_per_query: int = Field(default=10, ge=1, le=50)
    abstract_chars: int = Field(default=300, ge=0, description="abstract length shown to the model")


class Step(BaseModel):
    # first, so a server that enforces the schema (and so drops the THOUGHT before the JSON) still gets reasoning
    Thought: str = Field(default="", description="your reasoning before the decision or the query")
    Decision: Literal["undecided", "novel", "not novel"] = "undecided"
    Query: str | None = None


class NoveltyCritic(Role[NoveltyParams]):
    name = "novelty_critic"
    description = "Checks each idea against the literature (Semantic Scholar) and gives a verdict."
    subscribes = ("idea",)
    publishes = ("novelty",)
    Params = NoveltyParams

    async def handle(self, message: Message) -> None:
        assert isinstance(message, Idea)
        verdict, reason, compared = await self._decide(message)
        proceed = verdict == "novel" or (verdict == "unknown" and self.ctx.flow.proceed_on_unknown_novelty)
        out = NoveltyVerdict(verdict=verdict, reason=reason, compared=compared, proceed=proceed)
        self.ctx.folder.write_novelty(out.model_dump(mode="json", include={"verdict", "reason", "compared", "proceed"}))
        await self.ctx.publish(out, parent=message)

    async def _decide(self, idea: Idea) -> tuple[Literal["novel", "not novel", "unknown"], str, list[PaperRef]]:
        from_literature = self.ctx.literature
        if from_literature is None:
            return "unknown", "literature search is disabled in this swarm", []
        rounds = self.params.max_rounds
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system", rounds=rounds))
        idea_json = json.dumps({"Name": idea.name, "Title": idea.title, "Experiment": idea.experiment}, indent=2)
        prompt = self.ctx.prompts.render("first", task=self.ctx.flow.goal, idea=idea_json, rounds=rounds)
        seen: dict[str, PaperRef] = {}
        for rnd in range(1, rounds + 1):
            step = await conv.say_json(prompt, Step, stage="novelty")
            thought = conv.messages[-1].content
            if step.Decision != "undecided":
                return step.Decision, step.Thought.strip()[:1500] or _reason(thought), list(seen.values())
            if not step.Query:
                prompt = "You neither decided nor gave a query. Give a search query or a decision."
                continue
            try:
                papers = await from_literature.search(step.Query, limit=self.params.results_per_query)
            except Exception as exc:  # LiteratureUnavailable after bounded retries, or anything else
                reason = getattr(exc, "reason", str(exc))
                self.ctx.log(f"literature search unavailable: {reason}", "warning")
                return "unknown", f"literature search unavailable: {reason}", list(seen.values())
            for p in papers:
                seen.setdefault(p.paper_id or p.title, p.to_ref())
            from sciswarm.literature import format_for_prompt

            results = format_for_prompt(papers, abstract_chars=self.params.abstract_chars) or "(no papers found)"
            prompt = self.ctx.prompts.render("round", round=rnd + 1, rounds=rounds, query=step.Query, results=results)
        return "not novel", f"no decision after {rounds} rounds (treated as not novel)", list(seen.values())


def _reason(thought: object) -> str:
    text = thought if isinstance(thought, str) else ""
    if "THOUGHT:" in text:
        text = text.split("THOUGHT:", 1)[1]
    return text.split("RESPONSE:", 1)[0].strip()[:1500]
