"""Experimenter: runs experiment.py in the sandbox, validates results, keeps notes, makes figures."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sciswarm.agents.base import Role
from sciswarm.agents.edits import EditError, apply_edits, parse_edits
from sciswarm.agents.results import compact, read_results
from sciswarm.errors import ExperimentError
from sciswarm.events import CodeChange, ExperimentRun, ExperimentsDone, Figures, Message
from sciswarm.sandboxes.base import RunResult

_BASELINE_LOCKS: dict[str, asyncio.Lock] = {}


class ExperimenterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plot_fix_attempts: int = Field(default=3, ge=0, le=10)
    error_tail_chars: int = Field(default=2000, ge=200)
    reuse_baseline: bool = Field(default=True, description="run the template's run_0 once and reuse it")


class FigureNotes(BaseModel):
    descriptions: dict[str, str]


def template_key(template: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(template.rglob("*")):
        rel = p.relative_to(template)
        if p.is_file() and not rel.parts[0].startswith("run_") and "__pycache__" not in rel.parts:
            h.update(str(rel).encode() + b"\0" + p.read_bytes())
    return f"{template.name}-{h.hexdigest()[:12]}"


def describe_failure(res: RunResult, timeout_s: float, memory_mb: int, tail: int) -> str:
    if res.error:
        return f"sandbox error: {res.error}"
    if res.timed_out:
        return f"timed out after {timeout_s:g} s (the limit is enforced by the sandbox)\n{res.stderr_tail[-tail:]}"
    if res.oom_killed:
        return f"killed: out of memory (limit {memory_mb} MB)\n{res.stderr_tail[-tail:]}"
    return f"exit code {res.exit_code}; stderr tail:\n{res.stderr_tail[-tail:]}"


class Experimenter(Role[ExperimenterParams]):
    name = "experimenter"
    description = "Runs each experiment in the sandbox, validates final_info.json, writes notes, makes figures."
    subscribes = ("code_change", "experiments_done")
    publishes = ("experiment_run", "figures")
    Params = ExperimenterParams

    async def handle(self, message: Message) -> None:
        if isinstance(message, CodeChange):
            await self._ensure_baseline()
            await self._run(message)
        elif isinstance(message, ExperimentsDone):
            await self._figures(message)

    async def _execute(self, folder: Path, argv: list[str], label: str) -> tuple[RunResult, float, int]:
        res = await self.ctx.lab.run(folder, argv, label=label)
        limits = self.ctx.lab.limits(argv)
        return res, limits.timeout_s, limits.memory_mb

    def _validate(self, folder: Path, run: int) -> dict[str, dict[str, float]]:
        from sciswarm.templates import validate_final_info

        f = folder / f"run_{run}" / "final_info.json"
        if not f.exists():
            raise ValueError(f"run_{run}/final_info.json was not written")
        try:
            data = json.loads(f.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"run_{run}/final_info.json is not valid JSON: {exc}") from exc
        return validate_final_info(data)

    async def _ensure_baseline(self) -> None:
        ws = self.ctx.workspace
        if (ws / "run_0" / "final_info.json").exists() or self.ctx.template is None:
            return
        key = template_key(self.ctx.template)
        cache = self.ctx.run_dir.parent / ".baselines" / key
        lock = _BASELINE_LOCKS.setdefault(str(cache), asyncio.Lock())
        async with lock:
            if not (self.params.reuse_baseline and (cache / "run_0" / "final_info.json").exists()):
                from sciswarm.templates import copy_template

                shutil.rmtree(cache, ignore_errors=True)
                copy_template(self.ctx.template, cache)
                self.ctx.log(f"running the template baseline run_0 (cached in {cache})")
                res, timeout_s, mem = await self._execute(
                    cache, ["python", "experiment.py", "--out_dir=run_0"], "run_0"
                )
                if not res.ok:
                    raise ExperimentError(
                        "the template's baseline failed: " + describe_failure(res, timeout_s, mem, 2000)
                    )
                self._validate(cache, 0)
            else:
                self.ctx.log(f"reusing the cached baseline run_0 from {cache}")
        shutil.copytree(cache / "run_0", ws / "run_0", dirs_exist_ok=True)
        baseline = compact(read_results(ws, 0))
        self._note(f"# Experiment notes\n\n## Run 0: baseline (unmodified template)\nResults: {baseline}\n")

    def _note(self, text: str) -> None:
        self.ctx.folder.add_notes(text + "\n")

    async def _run(self, change: CodeChange) -> None:
        ws, run = self.ctx.workspace, change.run
        if change.note and change.attempt == 1 and run > 1:
            self._note(f"Coder's notes on run {run - 1}: {change.note}\n")
        out_dir = ws / f"run_{run}"
        if out_dir.exists():
            shutil.rmtree(out_dir)  # a retry starts from a clean output folder
        res, timeout_s, mem = await self._execute(
            ws, ["python", "experiment.py", f"--out_dir=run_{run}"], f"run_{run}_attempt_{change.attempt}"
        )
        msg = ExperimentRun(
            run=run,
            attempt=change.attempt,
            ok=False,
            exit_code=res.exit_code,
            timed_out=res.timed_out,
            oom_killed=res.oom_killed,
            wall_s=res.wall_s,
        )
        if res.ok:
            try:
                msg.results = self._validate(ws, run)
                msg.ok = True
            except ValueError as exc:
                msg.error = f"the run exited 0 but {exc}"
        else:
            msg.error = describe_failure(res, timeout_s, mem, self.params.error_tail_chars)
        plan = self.ctx.folder.plan()
        what = plan[run - 1] if 0 < run <= len(plan) else ""
        flag = "" if change.changed else " [WARNING: the code did not change for this run]"
        if msg.ok:
            self._note(f"## Run {run}: {what}{flag}\nResults: {compact(msg.results)}\n")
        else:
            lines = [x for x in msg.error.splitlines() if x.strip()]
            gist = lines[0] if len(lines) < 2 else f"{lines[0].split(';')[0]}: {lines[-1].strip()}"
            self._note(f"## Run {run} attempt {change.attempt} FAILED: {gist[:300]}\n")
        await self.ctx.publish(msg, parent=change)

    async def _figures(self, done: ExperimentsDone) -> None:
        ws = self.ctx.workspace
        before = {p.name: p.stat().st_mtime for p in ws.glob("*.png")}
        error = ""
        for attempt in range(self.params.plot_fix_attempts + 1):
            res, timeout_s, mem = await self._execute(ws, ["python", "plot.py"], f"plot_attempt_{attempt + 1}")
            if res.ok:
                error = ""
                break
            error = describe_failure(res, timeout_s, mem, self.params.error_tail_chars)
            if attempt < self.params.plot_fix_attempts:
                await self._fix_plot(error)
        if error:
            self.ctx.log(f"plot.py still fails after {self.params.plot_fix_attempts} fixes: {error[:300]}", "error")
        figures = sorted(p.name for p in ws.glob("*.png") if before.get(p.name) != p.stat().st_mtime)
        descriptions: dict[str, str] = {}
        if figures:
            results = {f"run_{r}": compact(read_results(ws, r)) for r in [0, *done.runs]}
            conv = self.ctx.model.conversation(self.ctx.prompts.render("system", title=self._title()))
            notes = await conv.say_json(
                self.ctx.prompts.render(
                    "describe",
                    files=", ".join(figures),
                    plot=(ws / "plot.py").read_text(),
                    results=json.dumps(results),
                ),
                FigureNotes,
                stage="describe_figures",
            )
            descriptions = {k: v for k, v in notes.descriptions.items() if k in figures}
            self._note("## Figures\n" + "\n".join(f"- {k}: {v}" for k, v in descriptions.items()) + "\n")
        await self.ctx.publish(Figures(files=figures, descriptions=descriptions), parent=done)

    def _title(self) -> str:
        return str((self.ctx.folder.idea() or {}).get("Title", ""))

    async def _fix_plot(self, error: str) -> None:
        ws = self.ctx.workspace
        conv = self.ctx.model.conversation(self.ctx.prompts.render("system", title=self._title()))
        reply = await conv.say(
            self.ctx.prompts.render("plot_fix", error=error, plot=(ws / "plot.py").read_text()),
            stage="plot_fix",
        )
        try:
            apply_edits(ws, parse_edits(reply), {"plot.py"})
        except EditError as exc:
            self.ctx.log(f"plot fix could not be applied: {exc}", "warning")
