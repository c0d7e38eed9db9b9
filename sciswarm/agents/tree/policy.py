"""Which node to expand next, by AI-Scientist-v2's rules (code, no model):

1. in the first stage, while there are fewer than ``drafts`` roots: draft a new root;
2. else, with probability ``debug_prob``, debug a buggy leaf whose debug depth is below ``max_debug_depth``;
3. else improve the best good node (no good node yet: debug a buggy leaf if there is one, else draft).

The random draw comes from a generator seeded by (rng_seed, stage, pick number), so a tree (and a resumed one)
makes the same choices given the same results.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sciswarm.agents.tree.nodes import BUGGY, Node
from sciswarm.agents.tree.params import TreeParams


@dataclass(frozen=True)
class Pick:
    operator: str  # draft | debug | improve
    parent: str | None = None


def rng_for(params: TreeParams, stage: str, index: int) -> random.Random:
    return random.Random(f"{params.rng_seed}:{stage}:{index}")


def buggy_leaves(stage_nodes: list[Node], parents: set[str], max_depth: int) -> list[Node]:
    return [n for n in stage_nodes if n.status == BUGGY and n.id not in parents and n.debug_depth < max_depth]


def choose(
    stage_nodes: list[Node],
    *,
    parents: set[str],
    best: Node | None,
    drafting: bool,
    params: TreeParams,
    rng: random.Random,
) -> Pick:
    """The operator for one worker. ``stage_nodes`` includes the picks already made in this step (pending), so
    drafts are counted and a buggy leaf is debugged once; ``parents``: every node id that has a child."""
    drafts = sum(1 for n in stage_nodes if n.operator == "draft")
    if drafting and drafts < params.drafts:
        return Pick("draft")
    leaves = buggy_leaves(stage_nodes, parents, params.max_debug_depth)
    draw = rng.random()
    if leaves and draw < params.debug_prob:
        return Pick("debug", rng.choice(leaves).id)
    if best is not None:
        return Pick("improve", best.id)
    if leaves:
        return Pick("debug", rng.choice(leaves).id)
    return Pick("draft")
