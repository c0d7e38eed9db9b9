"""Slot utilization of the experiment tree search, and the speedup of 2 workers over 1.

    .venv/bin/python benchmarks/tree_slots.py [--nodes 6] [--seconds 1.0]

The coder's tree search (strategy: tree, two stages of ``--nodes`` nodes each, 2 drafts, no debugging) runs on
the tiny test template whose experiment.py is a fixed-duration stand-in: it sleeps ``--seconds`` and writes
final_info.json. The model is a function (instant replies: each node changes DIVISOR), so the figures are the
tree's own scheduling: picks, proposals, folder copies, tree.json saves, analyses and the step barrier.

Each run is a real ``python experiment.py`` subprocess in the node's folder, let through by a lab with ``slots``
places (an asyncio semaphore, as the sandbox's parallel bound does). A run's busy interval is from just before
its process is spawned to just after it exits. Figures, measured side by side with 1 worker / 1 slot and with
2 workers / 2 slots:

- **utilization**: the nodes' busy slot-time / (slots x the search window), where the search window is the
  union over stages of [first node run starts, last node run ends] (the time while nodes remain; the baseline
  and the re-runs of each stage's best are outside it). Goal >= 90 %.
- **speedup**: the search window of 1 worker / that of 2 workers (goal >= 1.6x on 2 cores), and the same for
  the whole tree (with the baseline and the re-runs, which are serial).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sciswarm.agents.coder import Coder
from sciswarm.events import NoveltyVerdict
from sciswarm.llm import ChatMessage
from sciswarm.sandboxes.base import RunResult
from sciswarm.testing import FakeLab, make_context, result

TINY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_template"


@dataclass
class SlotLab:
    """Runs ``python experiment.py ...`` for real in the workspace, at most ``slots`` at once."""

    slots: int
    spans: list[tuple[str, float, float]] = field(default_factory=list)  # (label, start, end), perf_counter
    most: int = 0
    _in_flight: int = 0

    def __post_init__(self) -> None:
        self._gate = asyncio.Semaphore(self.slots)

    async def __call__(self, workspace: Path, argv: list[str], label: str) -> RunResult:
        async with self._gate:
            self._in_flight += 1
            self.most = max(self.most, self._in_flight)
            start = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, *argv[1:], cwd=workspace, stdout=asyncio.subprocess.DEVNULL
            )
            code = await proc.wait()
            self.spans.append((label, start, time.perf_counter()))
            self._in_flight -= 1
        return result(code)


class Lab(FakeLab):
    def __init__(self, slot_lab: SlotLab) -> None:
        super().__init__()
        self.slot_lab = slot_lab

    async def run(self, workspace: Path, argv: list[str], *, label: str, seed: int | None = None) -> RunResult:
        self.runs.append((list(argv), label))
        return await self.slot_lab(workspace, argv, label)


def model(messages: list[ChatMessage]) -> str:
    """Node n<k> adds k to its parent's DIVISOR (no ties: the judge is never asked); analyses are one sentence."""
    prompt = messages[-1].content
    if "Pick the best node" in prompt:  # not reached (no ties); the first candidate
        first = re.findall(r"^- (n\d+)", prompt, flags=re.MULTILINE)[0]
        return json.dumps({"best": first, "reason": "first"})
    current = re.findall(r"DIVISOR = (\S+)", prompt)
    number = re.findall(r"(?:drafting node|Node) n(\d+)", prompt)
    if not current or not number or "Analyse node" in prompt:
        return "It did what it planned."
    new = float(current[0]) + int(number[0])
    block = f"experiment.py\n<<<<<<< SEARCH\nDIVISOR = {current[0]}\n=======\nDIVISOR = {new}\n>>>>>>> REPLACE\n"
    return f"PLAN: divide by {new}.\n\n{block}"


def stand_in(template: Path, seconds: float) -> None:
    exp = template / "experiment.py"
    text = exp.read_text().replace("import os\n", "import os\nimport time\n")
    exp.write_text(text.replace("    score = score_of", f"    time.sleep({seconds})\n    score = score_of"))


def window(spans: list[tuple[str, float, float]], stages: list[list[str]]) -> float:
    total = 0.0
    for labels in stages:
        mine = [(s, e) for label, s, e in spans if label in labels]
        total += max(e for _, e in mine) - min(s for s, _ in mine)
    return total


async def tree_once(work: Path, template: Path, workers: int, nodes: int) -> dict[str, float]:
    slot_lab = SlotLab(workers)
    params = {
        "strategy": "tree",
        "editable": ["experiment.py"],
        "tree": {
            "stages": ["implementation", "tuning"],
            "nodes": {"implementation": nodes, "tuning": nodes},
            "drafts": 2,
            "debug_prob": 0.0,
            "workers": workers,
            "seeds_for_rerun": 1,
            "objective": {"metric": "score", "direction": "min"},
        },
    }
    ctx, _ = make_context(Coder, work, params=params, model=model, lab=Lab(slot_lab), template=template)
    start = time.perf_counter()
    await Coder(ctx).handle(NoveltyVerdict(verdict="novel"))
    whole = time.perf_counter() - start
    ids = [[f"tree_n{i}" for i in range(1, nodes + 1)], [f"tree_n{i}" for i in range(nodes + 1, 2 * nodes + 1)]]
    node_spans = [sp for sp in slot_lab.spans if sp[0].startswith("tree_n")]
    assert len(node_spans) == 2 * nodes, [sp[0] for sp in slot_lab.spans]
    busy = sum(e - s for _, s, e in node_spans)
    search = window(slot_lab.spans, ids)
    return {"whole": whole, "search": search, "util": busy / (workers * search), "most": slot_lab.most}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=6, help="nodes per stage (two stages)")
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of each stand-in experiment")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sciswarm-tree-slots-"))
    try:
        template = root / "template"
        shutil.copytree(TINY, template)
        stand_in(template, args.seconds)
        figures = {}
        for workers in (1, 2):
            figures[workers] = await tree_once(root / f"w{workers}" / "run", template, workers, args.nodes)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    one, two = figures[1], figures[2]
    print(f"tree search: 2 stages x {args.nodes} nodes, stand-in experiments of {args.seconds:g} s, function model")
    print(f"  {'':<36} {'1 worker':>10} {'2 workers':>10}")
    print(f"  {'runs in flight at most':<36} {one['most']:>10.0f} {two['most']:>10.0f}")
    print(f"  {'search window (s)':<36} {one['search']:>10.2f} {two['search']:>10.2f}")
    print(f"  {'whole tree incl. baseline, re-runs (s)':<36} {one['whole']:>10.2f} {two['whole']:>10.2f}")
    print(f"  {'slot utilization while nodes remain':<36} {one['util']:>10.1%} {two['util']:>10.1%}   (goal >= 90 %)")
    print(
        f"  speedup of 2 workers over 1: search {one['search'] / two['search']:.2f}x (goal >= 1.6x), "
        f"whole tree {one['whole'] / two['whole']:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
