"""The best node of a stage. With an objective the choice is code (the best value); the LLM judge only breaks an
exact tie at the end of a stage and says why. Without an objective the judge decides (one JSON call over the good
nodes' results and analyses), and the transcript says that the judge decided."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from sciswarm.agents.base import RoleContext
from sciswarm.agents.results import compact
from sciswarm.agents.tree.nodes import GOOD, Node
from sciswarm.agents.tree.objective import best_by_code
from sciswarm.agents.tree.params import Objective


class JudgePick(BaseModel):
    best: str = Field(description="the id of the best node, e.g. n7")
    reason: str = ""


@dataclass(frozen=True)
class Choice:
    node: Node
    by: str  # objective | objective, tie broken by the judge | judge (no objective)
    reason: str


class Selector:
    """Chooses the best node; remembers the judge's picks (in ``picks``, the tree's, so that a resumed tree
    remembers them too) so that the judge is asked once per set of good nodes."""

    def __init__(
        self, ctx: RoleContext[Any], system: str, objective: Objective | None, picks: dict[str, dict[str, str]]
    ) -> None:
        self.ctx, self.system, self.objective = ctx, system, objective
        self.picks = picks

    async def best(self, nodes: list[Node], *, stage: str, final: bool) -> Choice | None:
        """During the search (``final=False``) a tie goes to the earlier node without asking the judge."""
        good = [n for n in nodes if n.status == GOOD]
        if not good:
            return None
        if self.objective is not None:
            tied = best_by_code(self.objective, good)
            if not tied:
                return None
            value = f"{self.objective.metric} = {tied[0].metric:.6g} ({self.objective.describe()})"
            if len(tied) == 1 or not final:
                return Choice(tied[0], "objective", f"the best value by code: {value}")
            why = f"These nodes are exactly tied on the objective ({value}); break the tie and explain."
            picked = await self._judge(tied, stage=stage, why=why)
            return Choice(picked.node, "objective, tie broken by the judge", picked.reason)
        why = "There is no objective: judge the nodes by their results and analyses against the idea."
        picked = await self._judge(good, stage=stage, why=why)
        return Choice(picked.node, "judge (no objective)", picked.reason)

    async def _judge(self, nodes: list[Node], *, stage: str, why: str) -> Choice:
        key = tuple(n.id for n in nodes)
        kept = self.picks.get(",".join(key))
        known = next((n for n in nodes if kept and n.id == kept.get("node")), None)
        if kept and known is not None:
            return Choice(known, kept.get("by", "judge"), kept.get("reason", ""))
        listing = "\n".join(
            f"- {n.describe()}: plan: {n.plan[:300]}; results: {compact(n.results)}"  # type: ignore[arg-type]
            + (f"; analysis: {n.analysis[:400]}" if n.analysis else "")
            for n in nodes
        )
        conv = self.ctx.model.conversation(self.system)
        reply = await conv.say_json(
            self.ctx.prompts.render("tree_judge", stage=stage, why=why, candidates=listing),
            JudgePick,
            stage=f"tree/{stage}/judge",
        )
        node = next((n for n in nodes if n.id == reply.best.strip()), None)
        if node is None:
            self.ctx.log(
                f"tree {stage}: the judge named {reply.best!r}, not a candidate; taking {nodes[0].id}", "warning"
            )
            choice = Choice(nodes[0], "judge (no objective)", f"the judge's pick was not a candidate: {reply.reason}")
        else:
            choice = Choice(node, "judge", reply.reason)
        self.ctx.log(f"tree {stage}: the judge decided: {choice.node.id} of {', '.join(key)} ({choice.reason[:200]})")
        self.picks[",".join(key)] = {"node": choice.node.id, "by": choice.by, "reason": choice.reason}
        return choice
