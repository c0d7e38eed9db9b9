"""The experiment tree search (``coder.params.strategy: tree``), AI-Scientist-v2's mechanics on sciswarm's lab.

Stages (implementation -> tuning -> research -> ablations, configurable) each start from the previous stage's
best node. A stage runs in steps: each step picks up to ``workers`` nodes by the policy (policy.py), asks the
model for each node's change one after the other (so scripted models stay deterministic), runs the nodes
concurrently in their own folders through the lab (whose sandbox bounds them further: parallel runs, GPU
slots), then asks for each node's analysis. The stage's best node (objective: code; else the judge) is re-run
with fresh seeds into ``workspace/run_<k>``. Everything is kept in ``tree.json`` after every proposal, run start
(status ``running``, also a TreeNode message), run and analysis, so a resumed coder continues the tree where it
stopped: the interrupted step goes on with the nodes it had picked (a node already proposed is not asked for
again, a node whose run finished is not run again, a ``running`` one runs again) and no finished node is re-run.
The tree also keeps how many model calls it had made; a resumed tree on a scripted model skips that many replies,
so that the replies line up with the calls still to make (the calls of a tree are in a deterministic order:
picks, proposals and analyses in node order; the judge's picks are kept in tree.json).
A spent budget (``max_wall_s``, ``max_gpu_hours``: GPUs held x wall time of the node runs) starts no new node;
the running ones finish, the best so far is re-run and goes on to writing. At the end the coder edits plot.py and
publishes ExperimentsDone, as the linear strategy does.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sciswarm.agents.results import compact, finished_runs, read_results
from sciswarm.agents.tree.journal import journal
from sciswarm.agents.tree.lab import ensure_baseline, lab_slots, run_node
from sciswarm.agents.tree.nodes import PENDING, RUNNING, Node, StageRecord, Tree, node_message
from sciswarm.agents.tree.objective import resolve_objective
from sciswarm.agents.tree.operators import Brief, analyse, propose
from sciswarm.agents.tree.policy import choose, rng_for
from sciswarm.agents.tree.rerun import repeat_previous, rerun, selection_line
from sciswarm.agents.tree.selection import Selector
from sciswarm.errors import ExperimentError
from sciswarm.events import ExperimentPlan, Message
from sciswarm.ledger import HANDLER_CALLS
from sciswarm.llm import ScriptedClient

if TYPE_CHECKING:
    from sciswarm.agents.coder import Coder


class TreeSearch:
    def __init__(self, coder: Coder) -> None:
        self.coder, self.ctx = coder, coder.ctx
        self.params = coder.params.tree
        self.files = [f for f in coder.params.editable if f != "plot.py"] or ["experiment.py"]
        self.path = self.ctx.folder.path / "tree.json"
        self.objective = resolve_objective(self.params.objective, self.ctx.template)
        self.system = coder._system()
        self.selector = Selector(self.ctx, self.system, self.objective, {})
        self.workers = 1
        self._calls_before = self._counted = 0  # the tree's model calls before this process; the handler's count
        self.deadline = time.monotonic() + self.params.max_wall_s if self.params.max_wall_s else None

    def _folder(self, node: Node) -> Path:
        return self.ctx.folder.path / "tree" / node.id

    def _save(self, tree: Tree) -> None:
        tree.calls = self._calls_before + self._handler_calls() - self._counted
        tree.save(self.path)

    @staticmethod
    def _handler_calls() -> int:
        """The model calls of the running handler so far (the runner counts them for its ``handled`` record)."""
        counter = HANDLER_CALLS.get()
        return counter[0] if counter is not None else 0

    def _skip_consumed(self, tree: Tree) -> None:
        """A resumed tree on a scripted model: skip the replies its earlier process consumed (``tree.calls``; the
        run's resume skips only those of handlers that finished), and count them for this handler, so that a
        second resume skips them too."""
        client = self.ctx.model.client
        if tree.calls and isinstance(client, ScriptedClient):
            client.advance(self.ctx.model.role, tree.calls)
            counter = HANDLER_CALLS.get()
            if counter is not None:
                counter[0] += tree.calls
            self.ctx.log(f"tree search: skipping the {tree.calls} scripted replies the tree consumed before")
        self._calls_before, self._counted = tree.calls, self._handler_calls()

    def _spent(self, tree: Tree) -> str:
        """Why no new node may start (a budget of the tree is spent), or "" while they may."""
        tp = self.params
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return f"the wall-clock budget ({tp.max_wall_s:g} s) is spent"
        if tp.max_gpu_hours is not None and (used := tree.gpu_s() / 3600) >= tp.max_gpu_hours:
            return f"the GPU-hour budget ({tp.max_gpu_hours:g} GPU-h) is spent: the node runs used {used:.3g} GPU-h"
        return ""

    async def run(self, parent: Message) -> None:
        ctx, tp = self.ctx, self.params
        await ensure_baseline(ctx, tp.seeds_for_rerun)
        objective = self.objective.model_dump() if self.objective else None
        tree = Tree.load(self.path) or Tree(objective=objective, search_seed=tp.seeds_for_rerun)
        self.selector.picks = tree.picks
        self._skip_consumed(tree)
        self._resume(tree)
        if tree.stopped and not self._spent(tree):  # resumed with budget again (a fresh wall clock): it goes on
            tree.stopped = ""
        slots = lab_slots(ctx.lab)
        self.workers = tp.workers or slots or 1
        source = "configured" if tp.workers else ("the lab's slots" if slots else "default")
        what = self.objective.describe() if self.objective else "none: the judge decides"
        budgets = [f"{tp.max_wall_s:g} s wall clock"] if tp.max_wall_s else []
        budgets += [f"{tp.max_gpu_hours:g} GPU-h of node runs"] if tp.max_gpu_hours else []
        ctx.log(
            f"tree search: stages {', '.join(tp.stages)}; {self.workers} worker(s) ({source}); objective: {what}"
            + (f"; budget: {', '.join(budgets)}" if budgets else "")
        )
        if not ctx.folder.plan():
            plan = [f"tree search, stage {s}: {ctx.prompts.render(f'tree_goal_{s}')}" for s in tp.stages]
            ctx.folder.write_plan(plan)
            await ctx.publish(ExperimentPlan(runs=plan), parent=parent)
        previous: StageRecord | None = None
        for k, name in enumerate(tp.stages, 1):
            rec = tree.stage(name)
            if rec is None:
                rec = StageRecord(name=name, run=k, root=previous.best if previous else None)
                tree.stages.append(rec)
                self._save(tree)
            if not rec.done:
                await self._search(tree, rec, parent)
                await self._select(tree, rec, previous)
            previous = rec
            if rec.best is None:
                ctx.log(f"tree search: stage {name} has no good node; the later stages are skipped", "warning")
                break
            if k < len(tp.stages) and (why := self._spent(tree)):
                tree.stopped = f"{tree.stopped or why}; stages not run: {', '.join(tp.stages[k:])}"
                self._save(tree)
                ctx.log(f"tree search: {why} after stage {name}; the best so far goes on to writing", "warning")
                break
        await self._wrap_up(tree, parent)

    def _resume(self, tree: Tree) -> None:
        """The nodes of the step that was interrupted (not yet published) stay picked: one not proposed yet is
        proposed again from a fresh copy; one proposed is not asked for again (its run, if unfinished, is run
        again); one whose run finished only waits for its analysis. Finished nodes are left alone."""
        finished = [n for n in tree.nodes if n.published and n.done]
        step = [n for n in tree.nodes if not (n.published and n.done)]
        for node in step:
            node.published = False
            if node.status == RUNNING:  # its run was cut off with the process that ran it: it runs again
                node.status = PENDING
            if not node.proposed:
                shutil.rmtree(self._folder(node), ignore_errors=True)
        if step:
            state = ", ".join(f"{n.id} " + ("ran" if n.done else "proposed" if n.proposed else "picked") for n in step)
            what = f"; the interrupted step continues ({state})"
        else:
            what = ""
        if finished or step:
            self.ctx.log(f"tree search: resuming with {len(finished)} finished node(s){what}")
            self._save(tree)

    def _brief(self, name: str) -> Brief:
        return Brief(
            system=self.system,
            stage=name,
            goal=self.ctx.prompts.render(f"tree_goal_{name}"),
            baseline=compact(read_results(self.ctx.workspace, 0)),
            objective=self.objective.describe() if self.objective else "",
            files=self.files,
        )

    def _candidates(self, tree: Tree, rec: StageRecord) -> list[Node]:
        root = tree.node(rec.root)
        return ([root] if root else []) + tree.of_stage(rec.name)

    async def _search(self, tree: Tree, rec: StageRecord, parent: Message) -> None:
        budget = self.params.budget(rec.name)
        interrupted = [n for n in tree.of_stage(rec.name) if not n.published]
        if interrupted:  # a resumed tree: the step the coder was in when it stopped
            await self._step(tree, rec, interrupted, parent)
        while len(tree.of_stage(rec.name)) < budget:
            if why := self._spent(tree):
                tree.stopped = f"{why}; stage {rec.name} stopped after {len(tree.of_stage(rec.name))} of {budget} nodes"
                self._save(tree)
                self.ctx.log(f"tree {rec.name}: {why}; no new nodes start, the best so far is re-run", "warning")
                return
            batch = await self._pick(tree, rec, min(self.workers, budget - len(tree.of_stage(rec.name))))
            await self._step(tree, rec, batch, parent)

    async def _pick(self, tree: Tree, rec: StageRecord, count: int) -> list[Node]:
        batch: list[Node] = []
        for worker in range(1, count + 1):
            stage_nodes = tree.of_stage(rec.name)
            best = await self.selector.best(self._candidates(tree, rec), stage=rec.name, final=False)
            pick = choose(
                stage_nodes,
                parents=tree.parents(),
                best=best.node if best else None,
                drafting=rec.root is None,
                params=self.params,
                rng=rng_for(self.params, rec.name, len(stage_nodes)),
            )
            up = tree.node(pick.parent)
            node_id = tree.next_id()
            node = Node(
                id=node_id,
                stage=rec.name,
                operator=pick.operator,
                parent=pick.parent,
                label=f"tree_{node_id}",
                worker=worker,
                debug_depth=up.debug_depth + 1 if up is not None and pick.operator == "debug" else 0,
            )
            tree.nodes.append(node)
            batch.append(node)
        self._save(tree)
        return batch

    async def _step(self, tree: Tree, rec: StageRecord, batch: list[Node], parent: Message) -> None:
        brief = self._brief(rec.name)
        for node in batch:  # the model calls one after the other
            if node.proposed:  # a resumed step: this node's change is in its folder already
                continue
            up = tree.node(node.parent)
            drafts = [n for n in tree.of_stage(rec.name) if n.operator == "draft" and n.plan and n is not node]
            others = "\n".join(f"- {n.id}: {n.plan[:300]}" for n in drafts) if node.operator == "draft" else ""
            source = self._folder(up) if up is not None else self.ctx.workspace
            await propose(self.ctx, brief, node, up, source, self._folder(node), others)
            node.proposed = True
            self._save(tree)

        async def one(node: Node) -> None:
            node.status, node.started = RUNNING, time.time()  # in flight: tree.json and the transcript say so
            self._save(tree)
            await self.ctx.publish(node_message(node), parent=parent)
            await run_node(
                self.ctx, node, self._folder(node), run=rec.run, seed=tree.search_seed, objective=self.objective
            )
            self._save(tree)

        await asyncio.gather(*(one(n) for n in batch if not n.done))  # the runs at once; the lab bounds them
        for node in batch:
            if self.params.analyse and not node.analysis:
                await analyse(self.ctx, brief, node)
                self._save(tree)
            await self.ctx.publish(node_message(node), parent=parent)
            node.published = True
            self._save(tree)

    async def _select(self, tree: Tree, rec: StageRecord, previous: StageRecord | None) -> None:
        ctx, seeds = self.ctx, self.params.seeds_for_rerun
        rec.nodes_tried = len(tree.of_stage(rec.name))
        choice = await self.selector.best(self._candidates(tree, rec), stage=rec.name, final=True)
        if choice is None:
            rec.done = True
            self._save(tree)
            return
        best = choice.node
        rec.best, rec.chosen_by, rec.reason, rec.search_value = best.id, choice.by, choice.reason, best.metric
        if previous is not None and best.id == rec.root:
            repeat_previous(ctx, rec, previous)
        else:
            await rerun(ctx, rec, best, self._folder(best), seeds=seeds, objective=self.objective)
        rec.done = True
        self._save(tree)
        results = compact(read_results(ctx.workspace, rec.run))
        line = selection_line(rec, best, self.objective, results)
        ctx.log(f"tree search: {line}")
        mean = f" (mean over {rec.rerun_seeds} seeds)" if rec.rerun_seeds > 1 else ""
        ctx.folder.add_notes(
            f"## Run {rec.run}: tree search, stage {rec.name}: {best.plan}\nResults{mean}: {results}\n{line}\n\n"
        )

    async def _wrap_up(self, tree: Tree, parent: Message) -> None:
        ctx = self.ctx
        done = [r for r in tree.stages if r.best and not r.rerun_error]
        last = tree.node(done[-1].best) if done else None
        if last is not None:
            for name in self.files:  # the workspace keeps the final best code (plot.py, the audit read it)
                if (self._folder(last) / name).exists():
                    shutil.copy2(self._folder(last) / name, ctx.workspace / name)
        plan = [
            f"tree search, stage {r.name}: " + (best.plan if (best := tree.node(r.best)) else "no working node")
            for r in tree.stages
        ]
        ctx.folder.write_plan(plan)
        ctx.folder.add_notes(journal(tree))
        if not [r for r in finished_runs(ctx.workspace) if r > 0]:
            raise ExperimentError(
                f"no node of the tree search gave a usable re-run ({len(tree.nodes)} nodes tried): nothing to write "
                "a paper about (tree.json and the transcript have every node's error)"
            )
        await self.coder._finish(parent)
