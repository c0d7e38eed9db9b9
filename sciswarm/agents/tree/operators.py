"""The operators as model calls: draft, debug and improve write a PLAN and SEARCH/REPLACE edits (or a whole
file) into the node's own folder; after the run, a short analysis of what it showed. Prompts are data
(``prompts/coder.yaml``: ``tree_draft``, ``tree_debug``, ``tree_improve``, ``tree_analyse``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciswarm.agents.base import RoleContext
from sciswarm.agents.edits import EditError, apply_edits, digest, parse_edits, parse_whole_files, write_whole_files
from sciswarm.agents.results import compact
from sciswarm.agents.tree.nodes import BUGGY, GOOD, Node, code_diff, copy_code
from sciswarm.llm import Conversation

TARGET = "experiment.py"


@dataclass
class Brief:
    """What every operator prompt of a stage knows."""

    system: str
    stage: str
    goal: str
    baseline: str
    objective: str  # the objective described, or ""
    files: list[str]  # the files the search may edit (plot.py comes at the end)


def plan_of(reply: str) -> str:
    """The PLAN paragraph of a reply (else the text before the first edit block)."""
    text = reply.split("PLAN:", 1)[1] if "PLAN:" in reply else reply
    for stop in ("<<<<<<< SEARCH", "```", f"\n{TARGET}\n"):
        text = text.split(stop, 1)[0]
    return " ".join(text.split())[:1000]


def _prompt(ctx: RoleContext[Any], brief: Brief, node: Node, parent: Node | None, code: str, others: str) -> str:
    return ctx.prompts.render(
        f"tree_{node.operator}",
        node=node.id,
        parent=parent.id if parent else "",
        stage=brief.stage,
        goal=brief.goal,
        code=code,
        baseline=brief.baseline,
        objective=brief.objective,
        others=others,
        parent_plan=parent.plan if parent else "",
        results=compact(parent.results) if parent else "",  # type: ignore[arg-type]
        error=parent.error[-1500:] if parent else "",
    )


async def propose(
    ctx: RoleContext[Any], brief: Brief, node: Node, parent: Node | None, source: Path, folder: Path, others: str
) -> None:
    """Copy ``source`` (the parent's folder, or the template's workspace for a draft) into ``folder`` and let the
    model change it; sets the node's plan, edit mode and diff. Edits that cannot be applied make it buggy."""
    copy_code(source, folder)
    code = (folder / TARGET).read_text()
    conv = ctx.model.conversation(brief.system)
    where = f"tree/{brief.stage}/{node.id}"
    reply = await conv.say(_prompt(ctx, brief, node, parent, code, others), stage=f"{where}/{node.operator}")
    node.plan = plan_of(reply)
    node.edit_mode = await _apply(ctx, conv, reply, folder, set(brief.files), stage=where)
    node.diff = code_diff(source, folder, brief.files, old=parent.id if parent else "template", new=node.id)
    if node.edit_mode == "none":
        node.status, node.error = BUGGY, "the model's edits could not be applied (the node was not run)"


async def _apply(
    ctx: RoleContext[Any], conv: Conversation, reply: str, folder: Path, allowed: set[str], *, stage: str
) -> str:
    """SEARCH/REPLACE edits (one retry), a whole file when the reply has one instead, else a whole-file request."""
    before = digest(folder, allowed)
    for tries in range(2):
        edits = parse_edits(reply)
        whole = parse_whole_files(reply, {TARGET}) if not edits else {}
        try:
            if whole:
                write_whole_files(folder, whole)
                return "whole_file"
            apply_edits(folder, edits, allowed)
            return "edits" if digest(folder, allowed) != before else "none"
        except EditError as exc:
            if tries == 0:
                reply = await conv.say(ctx.prompts.render("edit_failed", error=str(exc)), stage=f"{stage}/retry")
            else:
                ctx.log(f"tree {stage}: edits failed twice ({exc}); asking for the whole file", "warning")
    reply = await conv.say(ctx.prompts.render("whole_file", path=TARGET), stage=f"{stage}/whole-file")
    try:
        write_whole_files(folder, parse_whole_files(reply, {TARGET}))
    except EditError as exc:
        ctx.log(f"tree {stage}: the whole-file rewrite failed too: {exc}", "warning")
        return "none"
    return "whole_file"


async def analyse(ctx: RoleContext[Any], brief: Brief, node: Node) -> None:
    """Two or three sentences from the model on what the node showed (for the judge and the journal)."""
    conv = ctx.model.conversation(brief.system)
    reply = await conv.say(
        ctx.prompts.render(
            "tree_analyse",
            node=node.id,
            stage=brief.stage,
            operator=node.describe(),
            plan=node.plan,
            ok=node.status == GOOD,
            results=compact(node.results),  # type: ignore[arg-type]
            error=node.error[-800:],
            baseline=brief.baseline,
        ),
        stage=f"tree/{brief.stage}/{node.id}/analyse",
    )
    node.analysis = " ".join(reply.split())[:1500]
