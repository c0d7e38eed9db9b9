"""Coder: plans the runs of a novel idea, then edits experiment.py / plot.py run by run."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sciswarm.agents.base import Role, RoleContext
from sciswarm.agents.edits import (
    EditError,
    apply_edits,
    digest,
    parse_edits,
    parse_whole_files,
    write_whole_files,
)
from sciswarm.agents.results import compact, finished_runs, read_results
from sciswarm.agents.tree.params import TreeParams
from sciswarm.errors import ExperimentError, SetupError
from sciswarm.events import (
    CodeChange,
    ExperimentPlan,
    ExperimentRun,
    ExperimentsDone,
    Idea,
    Message,
    NoveltyVerdict,
)
from sciswarm.llm import Conversation


class CoderParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_runs: int = Field(default=5, ge=1, le=20)
    max_attempts: int = Field(default=4, ge=1, le=10, description="tries per run (first + fixes)")
    editable: list[str] = Field(default_factory=lambda: ["experiment.py", "plot.py"])
    max_error_chars: int = Field(default=1500, ge=100)
    strategy: Literal["linear", "tree"] = Field(
        default="linear", description="linear: planned runs one by one (v1); tree: v2's experiment tree search"
    )
    tree: TreeParams = Field(default_factory=TreeParams, description="the tree search's counts (strategy: tree)")


class Plan(BaseModel):
    runs: list[str] = Field(min_length=1)


class Coder(Role[CoderParams]):
    name = "coder"
    description = "Plans the experiments of a novel idea and edits experiment.py / plot.py (search-replace)."
    subscribes = ("novelty", "experiment_run")
    publishes = ("plan", "code_change", "experiments_done", "tree_node")
    Params = CoderParams

    def __init__(self, ctx: RoleContext[CoderParams]) -> None:
        super().__init__(ctx)
        self.plan: list[str] = []
        self.idea: dict[str, str] = {}

    @property
    def allowed(self) -> set[str]:
        return set(self.params.editable)

    async def handle(self, message: Message) -> None:
        if isinstance(message, NoveltyVerdict):
            await self._start(message)
        elif isinstance(message, ExperimentRun):
            await self._after_run(message)

    def _load_idea(self) -> None:
        self.idea = self.ctx.folder.idea() or {}

    def _system(self) -> str:
        if not self.idea:
            self._load_idea()
        return self.ctx.prompts.render(
            "system",
            allowed=", ".join(sorted(self.allowed)),
            title=self.idea.get("Title", ""),
            experiment=self.idea.get("Experiment", ""),
        )

    async def _start(self, verdict: NoveltyVerdict) -> None:
        if not verdict.proceed:
            self.ctx.log(f"idea not pursued: novelty verdict '{verdict.verdict}'")
            return
        if self.ctx.template is None:
            raise SetupError("the coder needs a research template (set `template:` in the swarm YAML)")
        from sciswarm.templates import copy_template

        if not (self.ctx.workspace / "experiment.py").exists():
            copy_template(self.ctx.template, self.ctx.workspace)
        if self.params.strategy == "tree":
            from sciswarm.agents.tree.search import TreeSearch

            await TreeSearch(self).run(verdict)
            return
        conv = self.ctx.model.conversation(self._system())
        plan = await conv.say_json(
            self.ctx.prompts.render("plan", max_runs=self.params.max_runs, baseline=self._baseline()),
            Plan,
            stage="plan",
        )
        self.plan = plan.runs[: self.params.max_runs]
        self.ctx.folder.write_plan(self.plan)
        await self.ctx.publish(ExperimentPlan(runs=self.plan), parent=verdict)
        await self._implement(1, verdict)

    def _baseline(self) -> str:
        return compact(read_results(self.ctx.workspace, 0))

    async def _implement(self, run: int, parent: Message) -> None:
        if not self.plan:
            self.plan = self.ctx.folder.plan()
        if run > len(self.plan):
            await self._finish(parent)
            return
        conv = self.ctx.model.conversation(self._system())
        prev = read_results(self.ctx.workspace, run - 1) if run > 1 else None
        prompt = self.ctx.prompts.render(
            "implement",
            code=(self.ctx.workspace / "experiment.py").read_text(),
            baseline=self._baseline(),
            previous=compact(prev) if run > 1 else "",
            previous_plan=self.plan[run - 2] if run > 1 else "",
            run=run,
            total=len(self.plan),
            plan=self.plan[run - 1],
        )
        reply = await conv.say(prompt, stage=f"implement/run_{run}")
        note = _notes(reply)
        if "ALL_COMPLETED" in reply and not parse_edits(reply):
            if run == 1 and not self._runs_done():
                raise ExperimentError(
                    "the model replied ALL_COMPLETED to the first planned run, before any experiment ran: "
                    "nothing to write a paper about"
                )
            self.ctx.log(f"coder: experiments complete after run {run - 1}")
            await self._finish(parent, last_note=note)
            return
        await self._edit_and_publish(conv, reply, run=run, attempt=1, parent=parent, note=note)

    async def _edit_and_publish(
        self, conv: Conversation, reply: str, *, run: int, attempt: int, parent: Message, note: str = ""
    ) -> None:
        files, mode, changed = await self._apply(conv, reply, stage=f"edit/run_{run}", target="experiment.py")
        if not changed:
            self.ctx.log(f"run_{run} attempt {attempt}: the code did not change", "warning")
        await self.ctx.publish(
            CodeChange(run=run, attempt=attempt, files=files, changed=changed, mode=mode, note=note),
            parent=parent,
        )

    async def _apply(self, conv: Conversation, reply: str, *, stage: str, target: str) -> tuple[list[str], str, bool]:
        """Search-replace edits; after two failures, a whole-file rewrite of `target`."""
        ws = self.ctx.workspace
        before = digest(ws, self.allowed)
        for tries in range(2):
            try:
                done = apply_edits(ws, parse_edits(reply), self.allowed, default=target)
                for note in done.notes():  # a whitespace-tolerant match, a block's file taken from the one before
                    self.ctx.log(f"{stage}: {note}")
                return done.files, "edits", digest(ws, self.allowed) != before
            except EditError as exc:
                if tries == 0:
                    reply = await conv.say(
                        self.ctx.prompts.render("edit_failed", error=str(exc)), stage=f"{stage}/retry"
                    )
                else:
                    self.ctx.log(f"edits failed twice ({exc}); asking for the whole file", "warning")
        reply = await conv.say(self.ctx.prompts.render("whole_file", path=target), stage=f"{stage}/whole-file")
        try:
            files = write_whole_files(ws, parse_whole_files(reply, {target}))
        except EditError as exc:
            self.ctx.log(f"whole-file rewrite failed too: {exc}", "warning")
            return [], "none", False
        return files, "whole_file", digest(ws, self.allowed) != before

    async def _after_run(self, result: ExperimentRun) -> None:
        if result.ok:
            await self._implement(result.run + 1, result)
            return
        if result.attempt >= self.params.max_attempts:
            self.ctx.log(f"run_{result.run} failed {result.attempt} times; moving on", "warning")
            await self._implement(result.run + 1, result)
            return
        conv = self.ctx.model.conversation(self._system())
        error = result.error[-self.params.max_error_chars :]
        prompt = (
            "Current experiment.py:\n```python\n"
            + (self.ctx.workspace / "experiment.py").read_text()
            + "\n```\n"
            + self.ctx.prompts.render("fix", run=result.run, attempt=result.attempt, error=error)
        )
        reply = await conv.say(prompt, stage=f"fix/run_{result.run}")
        await self._edit_and_publish(conv, reply, run=result.run, attempt=result.attempt + 1, parent=result)

    def _runs_done(self) -> list[int]:
        """The planned runs that succeeded, from disk (so a resumed coder knows them too); the baseline aside."""
        return [r for r in finished_runs(self.ctx.workspace) if r > 0]

    async def _finish(self, parent: Message, last_note: str = "") -> None:
        runs = self._runs_done()
        if not runs:  # a stage contract: no write-up from nothing
            raise ExperimentError(
                f"no experiment run succeeded ({len(self.plan)} planned, each tried up to {self.params.max_attempts} "
                "times): nothing to write a paper about (the runs' errors are in the transcript and logs/)"
            )
        results = {f"run_{r}": compact(read_results(self.ctx.workspace, r)) for r in [0, *runs]}
        plot = self.ctx.workspace / "plot.py"
        if "plot.py" in self.allowed and plot.exists() and runs:
            conv = self.ctx.model.conversation(self._system())
            reply = await conv.say(
                self.ctx.prompts.render(
                    "finish",
                    results=json.dumps(results),
                    plot=plot.read_text(),
                    runs=", ".join(f"run_{r}" for r in [0, *runs]),
                ),
                stage="plot",
            )
            last_note = last_note or _notes(reply)
            await self._apply(conv, reply, stage="plot", target="plot.py")
        if last_note:
            self.ctx.folder.add_notes(f"Coder's notes on the last run: {last_note}\n")
        await self.ctx.publish(ExperimentsDone(runs=runs, notes_path="notes.txt"), parent=parent)


def _notes(reply: str) -> str:
    if "NOTES:" not in reply:
        return ""
    text = reply.split("NOTES:", 1)[1]
    for stop in ("<<<<<<< SEARCH", "ALL_COMPLETED", "\nexperiment.py", "\nplot.py", "\n\n"):
        text = text.split(stop, 1)[0]
    return text.strip()[:2000]


__all__ = ["Coder", "CoderParams", "Idea"]
