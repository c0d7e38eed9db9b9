"""Ideator: proposes research ideas from the template's prompt, seed ideas and the archive."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sciswarm.agents.base import Role
from sciswarm.events import Idea, Message, MetaReview
from sciswarm.llm import Conversation, ModelOutputError


class IdeatorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_ideas: int = Field(default=2, ge=1, le=100)
    num_reflections: int = Field(default=3, ge=1, le=10)
    generations: int = Field(default=1, ge=1, le=10, description="later generations follow up on reviews")
    include_seeds: bool = Field(default=False, description="also publish the template's seed ideas")
    archive: list[str] = Field(default_factory=list, description="earlier run dirs whose ideas/reviews to avoid")
    max_code_chars: int = Field(default=6000, ge=0)


class IdeaSpec(BaseModel):
    Name: str = Field(min_length=1, max_length=80)
    Title: str = Field(min_length=1)
    Experiment: str = Field(min_length=1)
    Interestingness: int = Field(ge=1, le=10)
    Feasibility: int = Field(ge=1, le=10)
    Novelty: int = Field(ge=1, le=10)


def slug(name: str, default: str = "idea") -> str:
    """A name as an idea_id: lowercase, [a-z0-9_], at most 60 characters."""
    s = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    return s[:60] or default


def read_archive(run_dirs: list[Path]) -> list[dict[str, object]]:
    """Ideas (and meta-review scores when present) from earlier runs."""
    out: list[dict[str, object]] = []
    for run_dir in run_dirs:
        for idea_file in sorted(run_dir.glob("ideas/*/idea.json")):
            try:
                idea = json.loads(idea_file.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            reviews = idea_file.parent / "reviews.json"
            if reviews.exists():
                try:
                    meta = json.loads(reviews.read_text()).get("meta_review", {})
                    idea["review"] = {"Overall": meta.get("Overall"), "Decision": meta.get("Decision")}
                except (OSError, json.JSONDecodeError, AttributeError):
                    pass
            out.append(idea)
    return out


class Ideator(Role[IdeatorParams]):
    name = "ideator"
    description = "Proposes research ideas from the template, its seed ideas and the archive."
    subscribes = ("start", "meta_review")
    publishes = ("idea",)
    Params = IdeatorParams

    def _template_files(self) -> tuple[dict[str, str], list[dict[str, object]], str]:
        tpl = self.ctx.template
        if tpl is None:
            goal = self.ctx.flow.goal or "Propose a small, testable machine-learning idea."
            return {"system": "", "task_description": str(goal)}, [], ""
        prompt = json.loads((tpl / "prompt.json").read_text())
        seeds_file = tpl / "seed_ideas.json"
        seeds = json.loads(seeds_file.read_text()) if seeds_file.exists() else []
        code_file = tpl / "experiment.py"
        code = code_file.read_text()[: self.params.max_code_chars] if code_file.exists() else ""
        return prompt, seeds, code

    def _first_generation_count(self) -> int:
        return sum((folder.idea() or {}).get("generation") == 1 for folder in self.ctx.folder.ideas())

    def _known_names(self) -> set[str]:
        return {folder.idea_id for folder in self.ctx.folder.ideas()}

    async def handle(self, message: Message) -> None:
        if isinstance(message, MetaReview):
            await self._follow_up(message)
            return
        prompt, seeds, code = self._template_files()
        archive = seeds + read_archive([Path(p) for p in self.params.archive])
        if self.params.include_seeds:
            for seed in seeds:
                await self._publish(IdeaSpec.model_validate(seed), message, generation=0)
        limit = self.ctx.flow.max_ideas
        done = self._first_generation_count()  # > 0 only when a resumed run re-delivers Start
        for _ in range(max(0, min(self.params.num_ideas, limit) - done)):
            listing = "\n".join(f"- {a.get('Name')}: {a.get('Title')}" for a in archive) or "(none yet)"
            conv = self.ctx.model.conversation(self.ctx.prompts.render("system", system=prompt.get("system", "")))
            first = self.ctx.prompts.render(
                "first",
                task_description=prompt.get("task_description", ""),
                code=code,
                archive=listing,
                rounds=self.params.num_reflections,
            )
            idea = await self._refine(conv, first)
            if await self._publish(idea, message, generation=1):
                archive.append(idea.model_dump())

    async def _refine(self, conv: Conversation, first: str) -> IdeaSpec:
        idea = await conv.say_json(first, IdeaSpec, stage="idea")
        for rnd in range(2, self.params.num_reflections + 1):
            reply_prompt = self.ctx.prompts.render("reflect", round=rnd, rounds=self.params.num_reflections)
            try:
                idea = await conv.say_json(reply_prompt, IdeaSpec, stage="idea/reflect")
            except ModelOutputError as exc:
                self.ctx.log(f"reflection round {rnd} unusable, keeping the previous idea: {exc}", "warning")
                break
            last = conv.messages[-1].content
            if isinstance(last, str) and "i am done" in last.lower():
                break
        return idea

    async def _follow_up(self, meta: MetaReview) -> None:
        prior = self.ctx.folder.idea() or {}
        generation = int(prior.get("generation", 1))
        if generation >= self.params.generations:
            return
        prompt, _seeds, _code = self._template_files()
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system", system=prompt.get("system", "")))
        text = self.ctx.prompts.render(
            "follow_up",
            name=prior.get("Name", self.ctx.idea_id),
            title=prior.get("Title", ""),
            overall=meta.review.Overall,
            decision=meta.review.Decision,
            weaknesses="; ".join(meta.review.Weaknesses[:5]),
        )
        idea = await self._refine(conv, text)
        await self._publish(idea, meta, generation=generation + 1)

    async def _publish(self, idea: IdeaSpec, parent: Message, *, generation: int) -> bool:
        idea_id = slug(idea.Name)
        if idea_id in self._known_names():
            self.ctx.log(f"duplicate idea name '{idea.Name}' rejected", "warning")
            return False
        self.ctx.folder.sibling(idea_id).write_idea({**idea.model_dump(), "generation": generation})
        await self.ctx.publish(
            Idea(
                idea_id=idea_id,
                name=idea.Name,
                title=idea.Title,
                experiment=idea.Experiment,
                interestingness=idea.Interestingness,
                feasibility=idea.Feasibility,
                novelty=idea.Novelty,
            ),
            parent=parent,
        )
        return True
