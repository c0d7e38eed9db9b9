"""Experimenter: runs experiment.py in the sandbox, validates results, keeps notes, makes figures."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sciswarm.agents.base import Role
from sciswarm.agents.figures import FigureStage
from sciswarm.agents.results import compact, read_results
from sciswarm.agents.seeds import read_info, run_seeds, seed_flags
from sciswarm.errors import ExperimentError
from sciswarm.events import CodeChange, ExperimentRun, ExperimentsDone, Message
from sciswarm.sandboxes.base import RunResult

_BASELINE_LOCKS: dict[str, asyncio.Lock] = {}


class ExperimenterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plot_fix_attempts: int = Field(
        default=3, ge=0, le=10, description="fixes of plot.py in all: for crashes and for figure problems"
    )
    error_tail_chars: int = Field(default=2000, ge=200)
    reuse_baseline: bool = Field(default=True, description="run the template's run_0 once and reuse it")


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
            await FigureStage(self.ctx).run(message)

    async def _ensure_baseline(self) -> None:
        ws = self.ctx.workspace
        if (ws / "run_0" / "final_info.json").exists() or self.ctx.template is None:
            return
        seeds = self.ctx.flow.seeds
        key = template_key(self.ctx.template) + (f"-seeds{seeds}" if seeds > 1 else "")
        cache = self.ctx.run_dir.parent / ".baselines" / key
        lock = _BASELINE_LOCKS.setdefault(str(cache), asyncio.Lock())
        async with lock:
            if not (self.params.reuse_baseline and (cache / "run_0" / "final_info.json").exists()):
                from sciswarm.templates import copy_template

                shutil.rmtree(cache, ignore_errors=True)
                copy_template(self.ctx.template, cache)
                self.ctx.log(f"running the template baseline run_0 (cached in {cache})")
                done = await run_seeds(self.ctx.lab, cache, 0, seeds=self.ctx.flow.seeds, label="run_0")
                if not done.result.ok or done.error:
                    limits = self.ctx.lab.limits(["python"])
                    why = done.error or describe_failure(done.result, limits.timeout_s, limits.memory_mb, 2000)
                    raise ExperimentError("the template's baseline failed: " + why)
            else:
                self.ctx.log(f"reusing the cached baseline run_0 from {cache}")
        shutil.copytree(cache / "run_0", ws / "run_0", dirs_exist_ok=True)
        for flag in seed_flags(ws / "run_0"):
            self.ctx.folder.flag_run(0, flag)
            self.ctx.log(f"run_0 (baseline): {flag}", "warning")
        baseline = compact(read_results(ws, 0))
        self._note(f"# Experiment notes\n\n## Run 0: baseline (unmodified template)\nResults: {baseline}\n")

    def _flag(self, run: int, change: CodeChange, msg: ExperimentRun, flags: list[str]) -> None:
        """What the claims audit must know about this run: unchanged code, non-finite metrics, seeds ignored."""
        from sciswarm.templates.final_info import has_nonfinite

        self.ctx.folder.clear_run_flags(run)
        if not change.changed:
            flags = ["the code did not change for this run", *flags]
        bad = has_nonfinite(msg.results) if msg.ok else []
        if bad:
            flags.append(f"non-finite metrics (NaN or infinite): {', '.join(bad)}")
        for flag in flags:
            self.ctx.folder.flag_run(run, flag)
            if flag != "the code did not change for this run":
                self.ctx.log(f"run_{run}: {flag}", "warning")

    def _note(self, text: str) -> None:
        self.ctx.folder.add_notes(text + "\n")

    async def _run(self, change: CodeChange) -> None:
        ws, run = self.ctx.workspace, change.run
        if change.note and change.attempt == 1 and run > 1:
            self._note(f"Coder's notes on run {run - 1}: {change.note}\n")
        seeds = self.ctx.flow.seeds
        done = await run_seeds(self.ctx.lab, ws, run, seeds=seeds, label=f"run_{run}_attempt_{change.attempt}")
        res = done.result
        limits = self.ctx.lab.limits(["python"])
        msg = ExperimentRun(
            run=run,
            attempt=change.attempt,
            ok=False,
            exit_code=res.exit_code,
            timed_out=res.timed_out,
            oom_killed=res.oom_killed,
            wall_s=res.wall_s,
        )
        which = f"seed {done.failed_seed} of {seeds}: " if done.failed_seed is not None and seeds > 1 else ""
        if done.error:
            msg.error = f"the run exited 0 but {done.error}"
        elif not res.ok:
            tail = self.params.error_tail_chars
            msg.error = which + describe_failure(res, limits.timeout_s, limits.memory_mb, tail)
        else:
            msg.results = read_info(ws / f"run_{run}" / "final_info.json")
            msg.ok = True
        self._flag(run, change, msg, done.flags)
        plan = self.ctx.folder.plan()
        what = plan[run - 1] if 0 < run <= len(plan) else ""
        flags = "".join(f" [WARNING: {f}]" for f in self.ctx.folder.run_flags().get(f"run_{run}", []))
        if msg.ok:
            mean = f" (mean over {seeds} seeds)" if seeds > 1 else ""
            self._note(f"## Run {run}: {what}{flags}\nResults{mean}: {compact(msg.results)}\n")
        else:
            lines = [x for x in msg.error.splitlines() if x.strip()]
            gist = lines[0] if len(lines) < 2 else f"{lines[0].split(';')[0]}: {lines[-1].strip()}"
            self._note(f"## Run {run} attempt {change.attempt} FAILED: {gist[:300]}\n")
        await self.ctx.publish(msg, parent=change)
