"""A node's sandboxed run, the template baseline for a tree, and how many nodes the lab runs at once."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

from sciswarm.agents.base import RoleContext
from sciswarm.agents.experimenter import describe_failure, template_key
from sciswarm.agents.ports import Lab
from sciswarm.agents.results import compact, read_results
from sciswarm.agents.seeds import read_info, run_seeds, seed_flags, takes_seed
from sciswarm.agents.tree.nodes import BUGGY, GOOD, Node
from sciswarm.agents.tree.objective import objective_value
from sciswarm.agents.tree.params import Objective
from sciswarm.errors import ExperimentError

_LOCKS: dict[str, asyncio.Lock] = {}


def lab_slots(lab: Lab) -> int | None:
    """The number of runs the lab's sandbox lets through at once (``sandbox.max_parallel_runs``, GPU slots or
    cores / cpus), when the lab can tell; None otherwise (e.g. a test's FakeLab)."""
    factory = getattr(lab, "_sandbox", None)
    if not callable(factory):
        return None
    try:
        limit = getattr(factory(), "limit", None)
    except Exception:  # the sandbox cannot be made yet: its first run will say why
        return None
    return limit if isinstance(limit, int) and limit >= 1 else None


async def run_node(
    ctx: RoleContext[Any], node: Node, folder: Path, *, run: int, seed: int, objective: Objective | None
) -> None:
    """One sandboxed run of the node's folder with ``SCISWARM_SEED=seed``; sets status, results, metric,
    error, timing and the GPUs the run held (``gpu_s``: GPUs x wall seconds). Good: it exited 0, wrote a valid
    final_info.json and (with an objective) its metric."""
    out = f"run_{run}"
    shutil.rmtree(folder / out, ignore_errors=True)  # a resumed node's interrupted run left partial outputs
    argv = ["python", "experiment.py", f"--out_dir={out}", *([f"--seed={seed}"] if takes_seed(folder) else [])]
    node.started = time.time()
    res = await ctx.lab.run(folder, argv, label=node.label, seed=seed)
    node.finished, node.wall_s = time.time(), res.wall_s
    node.gpus, node.slot = res.gpus or 0, ",".join(res.gpu_ids)
    node.gpu_s = node.gpus * res.wall_s
    if not res.ok:
        limits = ctx.lab.limits(["python"])
        node.status, node.error = BUGGY, describe_failure(res, limits.timeout_s, limits.memory_mb, 2000)
        return
    try:
        node.results = read_info(folder / out / "final_info.json")
    except ValueError as exc:
        node.status, node.error = BUGGY, f"the run exited 0 but {exc}"
        return
    if objective is not None:
        node.metric = objective_value(objective, node.results)
        if node.metric is None:
            node.status = BUGGY
            node.error = (
                f"the run did not produce a finite {objective.metric} for the objective ({objective.describe()})"
            )
            return
    node.status = GOOD


async def ensure_baseline(ctx: RoleContext[Any], seeds: int) -> None:
    """The template's run_0 in the workspace, with ``seeds`` seeds (the re-runs' count, so that the results table
    compares like with like), from the shared baseline cache (the experimenter's key format)."""
    ws = ctx.workspace
    if (ws / "run_0" / "final_info.json").exists() or ctx.template is None:
        return
    key = template_key(ctx.template) + (f"-seeds{seeds}" if seeds > 1 else "")
    cache = ctx.run_dir.parent / ".baselines" / key
    async with _LOCKS.setdefault(str(cache), asyncio.Lock()):
        if not (cache / "run_0" / "final_info.json").exists():
            from sciswarm.templates import copy_template

            shutil.rmtree(cache, ignore_errors=True)
            copy_template(ctx.template, cache)
            ctx.log(f"running the template baseline run_0 (cached in {cache})")
            done = await run_seeds(ctx.lab, cache, 0, seeds=seeds, label="run_0")
            if not done.result.ok or done.error:
                limits = ctx.lab.limits(["python"])
                why = done.error or describe_failure(done.result, limits.timeout_s, limits.memory_mb, 2000)
                raise ExperimentError("the template's baseline failed: " + why)
        else:
            ctx.log(f"reusing the cached baseline run_0 from {cache}")
    shutil.copytree(cache / "run_0", ws / "run_0", dirs_exist_ok=True)
    for flag in seed_flags(ws / "run_0"):
        ctx.folder.flag_run(0, flag)
    ctx.folder.add_notes(
        f"# Experiment notes\n\n## Run 0: baseline (unmodified template)\nResults: {compact(read_results(ws, 0))}\n\n"
    )
