"""The experimenter's figure stage: run plot.py, show every new figure to a vision model, fix plot.py.

plot.py runs in the lab. When it crashes, or when the vision model (``ctx.models.vision()``: the swarm's
``vision_model``, else the role's own model) finds a figure unreadable, not showing what it should, or with
other problems, the text model fixes plot.py with SEARCH/REPLACE edits and plot.py runs again; at most
``plot_fix_attempts`` fixes in all. The descriptions in the notes and in the ``Figures`` message are what the
vision model saw; a figure still failing at the end is kept, with its problems in the notes and a warning.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from sciswarm.agents.edits import EditError, apply_edits, parse_edits
from sciswarm.agents.results import compact, read_results
from sciswarm.events import ExperimentsDone, Figures
from sciswarm.llm import ModelCallError, ModelHandle, ModelOutputError

if TYPE_CHECKING:
    from sciswarm.agents.base import RoleContext
    from sciswarm.agents.experimenter import ExperimenterParams

PLOT = ["python", "plot.py"]


class FigureCheck(BaseModel):
    """What the vision model says about one figure."""

    description: str = Field(description="what the figure shows and what can be concluded, for the writer")
    readable: bool = Field(description="axes, tick labels, units, legend and titles are present and legible")
    matches_intent: bool = Field(description="it shows what plot.py and the plan say it should")
    problems: list[str] = Field(default_factory=list, description="concrete problems worth fixing in plot.py")

    @property
    def passed(self) -> bool:
        return self.readable and self.matches_intent and not self.problems

    def all_problems(self) -> list[str]:
        """The problems to fix, with the failed judgements said even when the list forgot them."""
        problems = list(self.problems)
        if not self.readable and not problems:
            problems.append("the axes, labels, legend or units are not readable")
        if not self.matches_intent and not problems:
            problems.append("it does not show what plot.py and the plan say it should")
        return problems


@dataclass(frozen=True)
class Verdict:
    """One figure's check: the vision model's answer, or why there is none (then plot.py is not blamed)."""

    check: FigureCheck | None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.check is not None and not self.check.passed

    @property
    def problems(self) -> list[str]:
        return self.check.all_problems() if self.check is not None else []


class FigureStage:
    """One experimenter's figure stage, working through its context (lab, models, prompts, folder)."""

    def __init__(self, ctx: RoleContext[ExperimenterParams]) -> None:
        self.ctx = ctx
        self.params = ctx.params
        self._seen: dict[str, Verdict] = {}  # sha256 of a PNG's bytes -> its verdict (unchanged: not re-asked)

    @property
    def vision(self) -> ModelHandle:
        handle = self.ctx.models.vision() if self.ctx.models is not None else None
        return handle or self.ctx.model

    async def run(self, done: ExperimentsDone) -> None:
        from sciswarm.agents.experimenter import describe_failure

        ws = self.ctx.workspace
        before = {p.name: p.stat().st_mtime for p in ws.glob("*.png")}
        results = json.dumps({f"run_{r}": compact(read_results(ws, r)) for r in [0, *done.runs]})
        crash, fixes = "", 0
        while True:
            res = await self.ctx.lab.run(ws, PLOT, label=f"plot_attempt_{fixes + 1}")
            if res.ok:
                crash = ""
                verdicts = await self._check_all(self._new_figures(before), results)
                failing = {f: v.problems for f, v in verdicts.items() if v.failed}
                if not failing:
                    break
                problem = self.ctx.prompts.render("figure_problems", figures=failing)
            else:
                limits = self.ctx.lab.limits(PLOT)
                crash = describe_failure(res, limits.timeout_s, limits.memory_mb, self.params.error_tail_chars)
                problem = self.ctx.prompts.render("plot_crashed", error=crash)
            if fixes >= self.params.plot_fix_attempts:
                break
            fixes += 1
            await self._fix_plot(problem)
        if crash:
            self.ctx.log(f"plot.py still fails after {fixes} fixes: {crash[:300]}", "error")
        figures = self._new_figures(before)
        verdicts = await self._check_all(figures, results)  # only figures not seen yet (e.g. after a crash)
        descriptions: dict[str, str] = {}
        notes: list[str] = []
        for f, v in verdicts.items():
            if v.check is None:
                notes.append(f"- {f}: (not checked: the vision model could not look at it: {v.error[:300]})")
                continue
            descriptions[f] = v.check.description
            notes.append(f"- {f}: {v.check.description}")
            if v.failed:
                problems = "; ".join(v.problems)
                self.ctx.log(f"{f} still has problems after {fixes} plot fixes; kept as it is: {problems}", "warning")
                descriptions[f] += f" (Known problems with this figure, not fixed: {problems})"
                notes.append(f"  PROBLEMS still present after {fixes} plot fixes: {problems}")
        if figures:
            self.ctx.folder.add_notes("## Figures (as seen by the vision model)\n" + "\n".join(notes) + "\n\n")
        await self.ctx.publish(Figures(files=figures, descriptions=descriptions), parent=done)

    def _new_figures(self, before: dict[str, float]) -> list[str]:
        ws = self.ctx.workspace
        return sorted(p.name for p in ws.glob("*.png") if before.get(p.name) != p.stat().st_mtime)

    async def _check_all(self, figures: list[str], results: str) -> dict[str, Verdict]:
        return {f: await self._check(self.ctx.workspace / f, results) for f in figures}

    async def _check(self, path: Path, results: str) -> Verdict:
        """Show one PNG to the vision model (once per distinct content)."""
        data = path.read_bytes()
        key = hashlib.sha256(data).hexdigest()
        if key in self._seen:
            return self._seen[key]
        ws = self.ctx.workspace
        plot = (ws / "plot.py").read_text() if (ws / "plot.py").exists() else ""
        prompt = self.ctx.prompts.render(
            "check_figure", file=path.name, plot=plot, plan=self.ctx.folder.plan(), results=results
        )
        conv = self.vision.conversation(self.ctx.prompts.render("system", title=self._title()))
        try:
            verdict = Verdict(await conv.say_json(prompt, FigureCheck, stage="check_figure", images=(data,)))
        except (ModelCallError, ModelOutputError) as exc:
            self.ctx.log(f"{path.name} could not be looked at by the vision model: {exc}", "warning")
            verdict = Verdict(None, str(exc))
        if verdict.check is not None:
            said = "has problems: " + "; ".join(verdict.problems) if verdict.failed else "looks right"
            self.ctx.log(f"vision check: {path.name} {said}"[:500])
        self._seen[key] = verdict
        return verdict

    def _title(self) -> str:
        return str((self.ctx.folder.idea() or {}).get("Title", ""))

    async def _fix_plot(self, problem: str) -> None:
        ws = self.ctx.workspace
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system", title=self._title()))
        reply = await conv.say(
            self.ctx.prompts.render("plot_fix", problem=problem, plot=(ws / "plot.py").read_text()),
            stage="plot_fix",
        )
        try:
            apply_edits(ws, parse_edits(reply), {"plot.py"})
        except EditError as exc:
            self.ctx.log(f"plot fix could not be applied: {exc}", "warning")
