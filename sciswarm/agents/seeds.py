"""One experiment run done with N seeds: each seed in its own ``run_i/seed_<s>/`` (run concurrently, the lab
bounds them), ``SCISWARM_SEED=<s>`` in the environment and ``--seed=<s>`` when the script takes it; then the
aggregate ``run_i/final_info.json`` (means, stds, n, per-seed values) and seed 0's other outputs in ``run_i/``
for plot.py. With one seed, the run is the template's own ``--out_dir=run_i`` with seed 0."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sciswarm.agents.ports import Lab
from sciswarm.evidence import aggregate_seeds, seeds_ignored
from sciswarm.sandboxes.base import RunResult
from sciswarm.templates import validate_final_info


@dataclass
class SeededRun:
    result: RunResult  # the first failed seed's result, else seed 0's
    failed_seed: int | None = None
    error: str = ""  # the run exited 0 but its results are unusable
    flags: list[str] = field(default_factory=list)


def _code_copy(folder: Path, name: str) -> Path:
    """A copy of the workspace's code and data (no run outputs) beside it."""
    target = folder.parent / name
    shutil.rmtree(target, ignore_errors=True)

    def outputs(where: str, names: list[str]) -> list[str]:
        return [n for n in names if n.startswith("run_")] if Path(where) == folder else []

    shutil.copytree(folder, target, ignore=outputs, symlinks=True)
    return target


def takes_seed(workspace: Path) -> bool:
    """Whether experiment.py declares a ``--seed`` option (AI-Scientist templates do)."""
    try:
        return "--seed" in (workspace / "experiment.py").read_text()
    except OSError:
        return False


def read_info(path: Path) -> dict[str, dict[str, float]]:
    """A run's validated final_info.json means; ValueError saying what is wrong."""
    if not path.exists():
        raise ValueError(f"{path.parent.name}/final_info.json was not written")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.parent.name}/final_info.json is not valid JSON: {exc}") from exc
    return validate_final_info(data)


async def run_seeds(lab: Lab, folder: Path, run: int, *, seeds: int, label: str) -> SeededRun:
    out = folder / f"run_{run}"
    if out.exists():
        shutil.rmtree(out)  # a retry starts from a clean output folder
    base = ["python", "experiment.py"]
    if seeds <= 1:
        res = await lab.run(folder, [*base, f"--out_dir=run_{run}"], label=label, seed=0)
        done = SeededRun(res)
        if res.ok:
            try:
                read_info(out / "final_info.json")
            except ValueError as exc:
                done.error = str(exc)
        return done
    flag = takes_seed(folder)

    async def one(seed: int) -> RunResult:
        # seed 0 runs in the workspace; the others in copies of its code beside it, so that concurrent runs
        # never share a folder (a sandbox may lend the whole workspace to the run's uid)
        where = folder if seed == 0 else _code_copy(folder, f".{folder.name}_run_{run}_seed_{seed}")
        argv = [*base, f"--out_dir=run_{run}/seed_{seed}", *([f"--seed={seed}"] if flag else [])]
        try:
            res = await lab.run(where, argv, label=f"{label}_seed_{seed}", seed=seed)
            produced = where / f"run_{run}" / f"seed_{seed}"
            if where != folder and produced.exists():
                shutil.move(produced, out / f"seed_{seed}")
            return res
        finally:
            if where != folder:
                shutil.rmtree(where, ignore_errors=True)

    (out / "seed_0").mkdir(parents=True)  # before the workspace is lent to seed 0's run (the others move in)
    results = await asyncio.gather(*(one(s) for s in range(seeds)))
    for seed, res in enumerate(results):
        if not res.ok:
            return SeededRun(res, failed_seed=seed)
    infos = []
    for seed in range(seeds):
        try:
            read_info(out / f"seed_{seed}" / "final_info.json")
            infos.append(json.loads((out / f"seed_{seed}" / "final_info.json").read_text()))
        except ValueError as exc:
            return SeededRun(results[seed], failed_seed=seed, error=f"seed {seed}: {exc}")
    for item in (out / "seed_0").iterdir():  # seed 0's curves and arrays, where plot.py looks for them
        target = out / item.name
        if item.name != "final_info.json" and not target.exists():
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, target)
    (out / "final_info.json").write_text(json.dumps(aggregate_seeds(infos), indent=2))
    return SeededRun(results[0], flags=seed_flags(out))


def seed_flags(out: Path) -> list[str]:
    """``seeds ignored`` when the seeds of a finished run (``run_i/seed_*``) gave identical results."""
    infos = []
    for f in sorted(out.glob("seed_*/final_info.json")):
        try:
            infos.append(json.loads(f.read_text()))
        except (OSError, json.JSONDecodeError):
            return []
    if not seeds_ignored(infos):
        return []
    return [
        f"seeds ignored: the {len(infos)} seeds gave identical results (experiment.py does not use "
        "SCISWARM_SEED or --seed), so the spread over seeds says nothing"
    ]
