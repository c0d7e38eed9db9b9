"""Redo a stage of a finished (or crashed) run, and everything after it, on the artifacts it kept.

``sciswarm rerun RUN_DIR --from writer`` makes a new run folder beside the old one (the old one is left as it
was), copies each idea's artifacts up to that stage, and publishes the message that starts the stage: the
coder's novelty verdict (``experiments``), experiments done (``plot``), the figures (``writer``), or the paper
(``reviewer``). The message comes from the old transcript; a crashed run that never sent it gets one rebuilt
from the idea's folder. The config is the old run's (or a new YAML file), with overrides on top: another model,
more citation rounds, more reviewers.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sciswarm.events import ExperimentsDone, Figures, Message, NoveltyVerdict, Paper, new_id
from sciswarm.run.config import ConfigError, SwarmConfig, load_config
from sciswarm.run.resume import load_run, parse_message
from sciswarm.run.store import Listener

if TYPE_CHECKING:
    from sciswarm.run.runner import SwarmRunner

STAGES = {"experiments": "novelty", "plot": "experiments_done", "writer": "figures", "reviewer": "paper"}
# what each stage starts from in an idea's folder (everything else is made again)
# (tree.json: the tree search's nodes, search values and re-runs, which the writer, the audit and the viewer read)
KEEP = {
    "experiments": ("idea.json", "novelty.json"),
    "plot": ("idea.json", "novelty.json", "plan.json", "run_flags.json", "notes.txt", "workspace", "tree.json"),
    "writer": ("idea.json", "novelty.json", "plan.json", "run_flags.json", "notes.txt", "workspace", "tree.json"),
    "reviewer": ("idea.json", "novelty.json", "plan.json", "run_flags.json", "notes.txt", "workspace", "tree.json",
                 "paper", "claims.json"),
}  # fmt: skip
FIGURE_NOTES = "\n## Figures"


def _last_messages(records: list[dict[str, Any]], kind: str) -> dict[str, Message]:
    found: dict[str, Message] = {}
    for record in records:
        if record.get("kind") == kind:
            message = parse_message(record)
            if message is not None:
                found[message.idea_id] = message
    return found


def _ideas(run_dir: Path) -> list[str]:
    root = run_dir / "ideas"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _rebuilt(stage: str, idea: str, folder: Path, run_dir: Path) -> Message | None:
    """The stage's starting message from the idea's folder, for a run that crashed before sending it."""
    ws = folder / "workspace"
    if stage == "plot":
        runs = sorted(int(p.parent.name[4:]) for p in ws.glob("run_*/final_info.json") if p.parent.name[4:].isdigit())
        return ExperimentsDone(idea_id=idea, runs=[r for r in runs if r > 0]) if any(r > 0 for r in runs) else None
    if stage == "writer":
        pngs = sorted(p.name for p in ws.glob("*.png"))
        return Figures(idea_id=idea, files=pngs) if pngs else None
    if stage == "reviewer":
        papers = sorted((folder / "paper").glob("paper_rev*.pdf"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if papers:
            return Paper(idea_id=idea, pdf=str(papers[-1].relative_to(run_dir)), pages=0)
    return None  # the experiments start from a novelty verdict, which only the novelty critic gives


def _copy_idea(src: Path, dst: Path, stage: str) -> None:
    dst.mkdir(parents=True)
    for name in KEEP[stage]:
        item = src / name
        if item.is_dir():
            shutil.copytree(item, dst / name, symlinks=True)
        elif item.is_file():
            shutil.copy2(item, dst / name)
    notes = dst / "notes.txt"
    if stage == "plot" and notes.exists():  # the figure stage writes its notes again
        notes.write_text(notes.read_text().split(FIGURE_NOTES, 1)[0].rstrip("\n") + "\n")


def rerun(
    run_dir: Path,
    stage: str,
    *,
    ideas: list[str] | None = None,
    config: Path | None = None,
    overrides: list[str] | None = None,
    listeners: list[Listener] | None = None,
) -> tuple[SwarmRunner, list[Message]]:
    """A runner for a new run beside ``run_dir`` and the messages that start ``stage`` in it (one per idea)."""
    from sciswarm.run.runner import SwarmRunner

    if stage not in STAGES:
        raise ConfigError(f"--from must be one of {', '.join(STAGES)}, not '{stage}'")
    old_cfg, _meta, records = load_run(run_dir, [] if config else overrides or [])
    cfg: SwarmConfig = load_config(config, overrides or []) if config else old_cfg
    cfg = cfg.model_copy(update={"runs_dir": str(run_dir.parent)})
    known = _ideas(run_dir)
    chosen = ideas or known
    missing = [i for i in chosen if i not in known]
    if missing:
        raise ConfigError(f"{run_dir}: no idea named {', '.join(missing)} (ideas: {', '.join(known) or 'none'})")
    sent = _last_messages(records, STAGES[stage])
    starts: list[Message] = []
    for idea in chosen:
        message = sent.get(idea) or _rebuilt(stage, idea, run_dir / "ideas" / idea, run_dir)
        if isinstance(message, NoveltyVerdict) and not message.proceed:
            message = None  # the idea was dropped: there are no experiments to redo
        if message is not None:
            starts.append(message)
    if not starts:
        raise ConfigError(
            f"{run_dir}: no idea got as far as the {stage} stage ({STAGES[stage]} message or artifacts); "
            f"ideas: {', '.join(chosen) or 'none'}"
        )
    runner = SwarmRunner(cfg, config_path=str(config or run_dir / "run.json"), listeners=listeners,
                         run_id=f"{run_dir.name}-{stage}-{_next(run_dir, stage)}")  # fmt: skip
    runner.rerun_of = {"run": run_dir.name, "from": stage, "ideas": [m.idea_id for m in starts]}
    for message in starts:
        _copy_idea(run_dir / "ideas" / message.idea_id, runner.store.run_dir / "ideas" / message.idea_id, stage)
        message.id, message.parent_id, message.sender = new_id(), None, "rerun"
    return runner, starts


def _next(run_dir: Path, stage: str) -> int:
    n = 1
    while (run_dir.parent / f"{run_dir.name}-{stage}-{n}").exists():
        n += 1
    return n
