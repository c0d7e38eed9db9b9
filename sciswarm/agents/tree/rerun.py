"""Honest selection: a stage's best node is re-run with fresh seeds in a folder of its own, and that re-run is
the idea's ``workspace/run_<k>`` (what the figures, the results table, the writer and the claims audit see).
The search value (one run, the best of many tries: optimistic) stays in tree.json beside the re-run value."""

from __future__ import annotations

import math
import shutil
import statistics
from pathlib import Path
from typing import Any

from sciswarm.agents.base import RoleContext
from sciswarm.agents.experimenter import describe_failure
from sciswarm.agents.results import compact, read_results
from sciswarm.agents.seeds import read_info, run_seeds
from sciswarm.agents.tree.nodes import Node, StageRecord, copy_code
from sciswarm.agents.tree.objective import objective_value
from sciswarm.agents.tree.params import Objective


def _seed_values(out: Path, objective: Objective) -> list[float]:
    """The objective's value of each seed of a finished re-run (one value without seed folders)."""
    infos = sorted(out.glob("seed_*/final_info.json")) or [out / "final_info.json"]
    values = []
    for f in infos:
        try:
            value = objective_value(objective, read_info(f))
        except ValueError:
            continue
        if value is not None:
            values.append(value)
    return values


async def rerun(
    ctx: RoleContext[Any], rec: StageRecord, best: Node, source: Path, *, seeds: int, objective: Objective | None
) -> None:
    """Re-run ``best`` (its code in ``source``) with seeds 0..seeds-1 into ``workspace/run_<rec.run>``."""
    ws, run = ctx.workspace, rec.run
    folder = ctx.folder.path / "tree" / f"rerun_{run}_{rec.name}"
    copy_code(source, folder)
    done = await run_seeds(ctx.lab, folder, run, seeds=seeds, label=f"tree_rerun_{rec.name}")
    rec.rerun_seeds = seeds
    if not done.result.ok or done.error:
        limits = ctx.lab.limits(["python"])
        rec.rerun_error = done.error or describe_failure(done.result, limits.timeout_s, limits.memory_mb, 1000)
        ctx.log(f"tree {rec.name}: the re-run of {best.id} failed: {rec.rerun_error.splitlines()[0]}", "warning")
        return
    target = ws / f"run_{run}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder / f"run_{run}", target)
    _flag(ctx, run, done.flags)
    if objective is not None:
        values = _seed_values(target, objective)
        if values:
            rec.rerun_value = math.fsum(values) / len(values)
            rec.rerun_std = statistics.stdev(values) if len(values) > 1 else None


def repeat_previous(ctx: RoleContext[Any], rec: StageRecord, previous: StageRecord) -> None:
    """The stage's best is the previous stage's best (nothing beat it): its re-run stands for this stage too."""
    src, target = ctx.workspace / f"run_{previous.run}", ctx.workspace / f"run_{rec.run}"
    rec.rerun_value, rec.rerun_std, rec.rerun_seeds = previous.rerun_value, previous.rerun_std, previous.rerun_seeds
    rec.rerun_error = previous.rerun_error
    if src.exists():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(src, target)
        _flag(ctx, rec.run, ["the code did not change for this run"])


def _flag(ctx: RoleContext[Any], run: int, flags: list[str]) -> None:
    from sciswarm.templates.final_info import has_nonfinite

    ctx.folder.clear_run_flags(run)
    info = read_results(ctx.workspace, run) or {}
    means = {ds: v.get("means", {}) for ds, v in info.items() if isinstance(v, dict)}
    bad = has_nonfinite(means)
    for flag in [*flags, *([f"non-finite metrics (NaN or infinite): {', '.join(bad)}"] if bad else [])]:
        ctx.folder.flag_run(run, flag)


def _value(value: float | None, std: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" + (f" ± {std:.2g}" if std is not None else "")


def selection_line(rec: StageRecord, best: Node, objective: Objective | None, results: str) -> str:
    """One line per stage for notes.txt (the writer reads it) with both values and the number of nodes tried."""
    head = f"stage {rec.name}: best node {best.describe()}"
    tried = f"selected from {rec.nodes_tried} nodes"
    if rec.root == best.id:
        head += ", the previous stage's best (no node of this stage beat it)"
    if rec.rerun_error:
        return f"{head}, search value {_value(best.metric, None)}; the re-run failed ({tried}): {rec.rerun_error[:200]}"
    seeds = f"re-run with {rec.rerun_seeds} seed{'s' if rec.rerun_seeds != 1 else ''}"
    if objective is None:
        return (
            f"{head}, chosen by the judge (no objective): {rec.reason[:200]}; search results "
            f"{compact(best.results)}, {seeds} {results} ({tried}; the search results are optimistic)"  # type: ignore[arg-type]
        )
    return (
        f"{head}, search value {_value(best.metric, None)}, {seeds} {_value(rec.rerun_value, rec.rerun_std)} "
        f"({tried}; the search value is optimistic)"
    )
