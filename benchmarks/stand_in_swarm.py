"""Shared by the scale-out benchmarks: a stand-in template whose experiment takes a fixed time, a scripted swarm
that runs ideas on it, what its runs did, and slot-time arithmetic.

The stand-in experiment sleeps ``SECONDS`` and writes ``final_info.json``. It ignores ``CUDA_VISIBLE_DEVICES``
but records it, with when it ran (wall clock) and where, in ``<out_dir>/stand_in.json``. The swarm is the real
one (SwarmRunner on the real bus, the real sandbox and executor); only the model is scripted, with replies that
fit any idea in any order (so ideas running at once cannot take each other's replies): the coder's one reply is
both the plan and the edit of every run.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from sciswarm.agents.base import Role
from sciswarm.events import Message
from sciswarm.run.config import load_config
from sciswarm.run.runner import SwarmRunner
from sciswarm.run.store import read_transcript

TINY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny_template"

EXPERIMENT = '''"""A stand-in experiment: it sleeps SECONDS, then writes final_info.json and stand_in.json."""

import argparse
import json
import os
import socket
import time

STEP = 1.0
SECONDS = {seconds!r}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", type=str, default="run_0")
    args = parser.parse_args()
    start = time.time()
    time.sleep(SECONDS)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as fh:
        json.dump({{"toy": {{"means": {{"score": STEP / 2}}}}}}, fh)
    record = {{
        "start": start,
        "end": time.time(),
        "device": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }}
    with open(os.path.join(args.out_dir, "stand_in.json"), "w") as fh:
        json.dump(record, fh)


if __name__ == "__main__":
    main()
'''
CODER_REPLY = (
    '{"runs": ["Run the stand-in again.", "Run it once more.", "And again.", "And again.", "And again."]}\n\n'
    "experiment.py\n<<<<<<< SEARCH\nSTEP = 1.0\n=======\nSTEP = 1.0  # once more\n>>>>>>> REPLACE\n"
)
VISION = '{"description": "A bar chart of the scores.", "readable": true, "matches_intent": true, "problems": []}'


def work_folder(prefix: str) -> Path:
    """A 0755 folder under /tmp: the local sandbox's unprivileged uid must traverse it."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def stand_in_template(dest: Path, seconds: float) -> Path:
    """The tests' tiny template with its experiment.py replaced by the fixed-duration stand-in."""
    shutil.copytree(TINY, dest)
    (dest / "experiment.py").write_text(EXPERIMENT.format(seconds=float(seconds)))
    return dest


def idea_reply(name: str) -> str:
    spec = {
        "Name": name,
        "Title": f"Stand-in idea {name}",
        "Experiment": "Run the stand-in experiment.",
        "Interestingness": 5,
        "Feasibility": 9,
        "Novelty": 4,
    }
    return f"THOUGHT:\nA stand-in idea. I am done\n\nNEW IDEA JSON:\n```json\n{json.dumps(spec)}\n```"


class StandInWriterParams(BaseModel):
    seconds: float = Field(default=0.0, ge=0, description="how long writing and review take")


class StandInWriter(Role[StandInWriterParams]):
    """Stands for writing and review: on an idea's figures it waits ``seconds``, holding no GPU slot."""

    name = "stand_in_writer"
    description = "Takes a fixed time per idea, as writing and review would."
    subscribes = ("figures",)
    publishes = ()
    Params = StandInWriterParams

    async def handle(self, message: Message) -> None:
        import asyncio

        await asyncio.sleep(self.params.seconds)
        self.ctx.log(f"stand-in writing and review done ({self.params.seconds:g} s)")


@dataclass
class Swarm:
    """One scripted swarm on the stand-in template; ``runs`` runs per idea (after the template's baseline)."""

    work: Path
    template: Path
    ideas: int
    runs: int
    sandbox: dict[str, Any]
    executor: dict[str, Any] | None = None
    writing_s: float | None = None  # with a value: the stand-in writer role

    def write(self, names: list[str]) -> Path:
        self.work.mkdir(parents=True, exist_ok=True)
        replies = {
            "ideator": [idea_reply(n) for n in names],
            "coder": [CODER_REPLY] * (len(names) * (1 + self.runs)),
            "experimenter": [VISION] * len(names),
        }
        (self.work / "replies.yaml").write_text(yaml.safe_dump(replies, sort_keys=False, width=1000))
        roles: list[dict[str, Any]] = [
            {"name": "ideator", "params": {"num_ideas": len(names), "num_reflections": 1}},
            {"name": "novelty_critic"},
            {"name": "coder", "params": {"max_runs": self.runs, "max_attempts": 1, "editable": ["experiment.py"]}},
            {"name": "experimenter"},
        ]
        if self.writing_s is not None:
            roles.append(
                {"name": "stand_in_writer", "use": f"{__name__}:StandInWriter", "params": {"seconds": self.writing_s}}
            )
        data: dict[str, Any] = {
            "name": "bench",
            "description": "Run the stand-in experiment.",
            "template": str(self.template),
            "runs_dir": str(self.work.parent / "runs"),  # shared by every swarm of a benchmark: one cached baseline
            "models": {"default": {"model": "scripted", "script": "replies.yaml"}},
            "roles": roles,
            "flow": {"max_ideas": len(names), "timeout_s": 900, "max_messages": 100_000},
            "sandbox": {"provider": "local", "timeout_s": 300, "memory_mb": 1024, "cpus": 1, **self.sandbox},
            "literature": {"engine": "none", "cache_path": None},
        }
        if self.executor:
            data["executor"] = self.executor
        path = self.work / "swarm.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    async def run(self, names: list[str] | None = None) -> SwarmRun:
        """Run it to the end; the wall time covers building the runner (run folder, models, services) too."""
        names = names or [f"idea_{i}" for i in range(1, self.ideas + 1)]
        cfg = load_config(self.write(names))
        t0 = time.perf_counter()
        runner = SwarmRunner(cfg, run_id=f"bench-{uuid.uuid4().hex[:8]}")
        status = await runner.run(handle_signals=False)
        wall = time.perf_counter() - t0
        run = SwarmRun(status, runner.store.run_dir, wall, list(read_transcript(runner.store.transcript_path)))
        if status != "completed":
            raise SystemExit(f"the stand-in swarm ended {status}: {run.meta.get('reason')} (see {run.run_dir})")
        return run


@dataclass
class SwarmRun:
    status: str
    run_dir: Path
    wall_s: float
    records: list[dict[str, Any]]

    @property
    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / "run.json").read_text())
        return data

    def experiments(self) -> list[dict[str, Any]]:
        """Every stand-in run of the ideas (their stand_in.json, with idea and run), by start; not the baseline
        run_0, which ran once for the whole run (in ``<runs_dir>/.baselines``) and was copied into each idea."""
        out = []
        for path in sorted((self.run_dir / "ideas").glob("*/workspace/run_*/stand_in.json")):
            if path.parent.name == "run_0":
                continue
            record = json.loads(path.read_text())
            out.append({**record, "idea": path.parents[2].name, "run": path.parent.name})
        return sorted(out, key=lambda r: r["start"])


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most intervals open at one moment."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def shared_devices(runs: list[dict[str, Any]]) -> list[str]:
    """Pairs of runs that overlapped in time on the same device (should be none)."""
    clashes = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            if a["device"] == b["device"] and a["start"] < b["end"] and b["start"] < a["end"]:
                clashes.append(f"{a['idea']}/{a['run']} and {b['idea']}/{b['run']} on device {a['device']}")
    return clashes


@dataclass(frozen=True)
class SlotUse:
    requested: float  # when the idea wanted the run
    start: float  # when it got a slot and began
    end: float  # when it gave the slot back


def busy_while_queued(
    uses: list[SlotUse], slots: int, busy: list[tuple[float, float]] | None = None
) -> tuple[float, float]:
    """(share of slot-time busy, seconds) over the moments when some run is queued: asked for, not yet started.

    A slot is busy over each ``busy`` interval (default: each run's ``start`` to ``end``). Between two
    breakpoints every count is constant, so each stretch is judged at its middle."""
    spans = busy if busy is not None else [(u.start, u.end) for u in uses]
    points = sorted({t for u in uses for t in (u.requested, u.start, u.end)} | {t for s in spans for t in s})
    window = held = 0.0
    for a, b in itertools.pairwise(points):
        mid = (a + b) / 2
        if any(u.requested <= mid < u.start for u in uses):
            window += b - a
            held += (b - a) * min(slots, sum(1 for s, e in spans if s <= mid < e))
    return (held / (slots * window) if window else float("nan")), window
