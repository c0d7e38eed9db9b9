"""What run.json says about a run: identity, status and reason, timing, totals, per-idea outcomes, roles, and
the resolved config (what `resume` starts from). Written at the start, every second while messages flow,
and at the end."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sciswarm.run.runner import SwarmRunner


def run_meta(runner: SwarmRunner, reason: str = "") -> dict[str, Any]:
    return {
        "run_id": runner.run_id,
        "name": runner.cfg.name,
        "status": runner.status,
        "reason": reason,
        "pid": os.getpid(),
        "started_at": runner.started_at,
        "ended_at": time.time() if runner.status != "running" else None,
        "wall_s": round(time.time() - runner.started_at, 2),
        "messages": runner.bus.published,
        "resumes": runner.resumes,
        **({"rerun_of": runner.rerun_of} if runner.rerun_of else {}),
        "totals": runner.ledger.snapshot(),
        "outcomes": {i: o.model_dump() for i, o in runner.outcomes.ideas().items()},
        "roles": {r.spec.name: {"class": r.class_path, "subscribes": r.subscribes} for r in runner.roles},
        "config": runner.cfg.model_dump(mode="json"),
    }
