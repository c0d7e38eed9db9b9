"""GPU-slot utilization of a 10-idea run on 4 simulated GPUs, beside The AI Scientist's one-process-per-GPU design.

    .venv/bin/python benchmarks/gpu_slots.py [--ideas 10] [--runs 2] [--seconds 2.0] [--writing-seconds 4.0]

The GPUs are simulated: they exist only as slots. The swarm YAML names ``sandbox.gpu_devices: ["0", "1", "2",
"3"]`` with ``gpus_per_run: 1``, and a stand-in ``nvidia-smi`` on PATH lists indices 0-3, so the local sandbox
provider (which refuses GPU runs on a host without GPUs) takes them and sets each run's CUDA_VISIBLE_DEVICES
to the slot's device. The stand-in experiment (benchmarks/stand_in_swarm.py) sleeps ``--seconds``, ignores that
variable and records it, so the script checks that no two runs that overlapped in time had the same device.

**sciswarm** (measured): a real swarm (SwarmRunner on the real bus; scripted model) of ``--ideas`` ideas, each
``--runs`` stand-in runs and the template's plot.py, then a stand-in writer role that waits
``--writing-seconds`` for writing and review, holding no slot. Each run holds a slot (GpuSlots, behind the
parallel bound of 4) only while it runs. A one-idea warm-up swarm first runs the template's baseline, which
every idea then reuses (The AI Scientist too runs a template's baseline once, before its ideas).

**The AI Scientist's design** (a SIMULATION, not its code): one process per GPU, each taking the next idea and
holding its GPU for the idea's whole life: the same stand-in runs and plot.py one after the other, through the
same local sandbox with that GPU, then the same ``--writing-seconds`` of writing and review with the GPU still
held. All ideas are ready at the start, as the swarm's are (the ideator answers at once).

Figures, for both, over the moments when some run is queued (its idea has asked for it, with the coder's
``code_change`` or the ``experiments_done`` before plot.py, and it has not started; in the simulation, from
the idea's start or its previous run's end): **slot-time busy**, where a run holds a slot from its sandbox
start to its exit (``sandbox_exec``: ``[ts - wall_s, ts]``), goal >= 90 %; the same share counting only the
stand-in experiment's own running time (its clock); the wall time of all the ideas; and runs at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from stand_in_swarm import (
    SlotUse,
    Swarm,
    SwarmRun,
    busy_while_queued,
    most_at_once,
    shared_devices,
    stand_in_template,
    work_folder,
)

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.factory import make_sandbox

DEVICES = ["0", "1", "2", "3"]
OUT_DIR = re.compile(r"--out_dir=run_(\d+)$")


def fake_gpus(root: Path) -> None:
    """A stand-in nvidia-smi on this process's PATH that lists the simulated devices."""
    bin_dir = root / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\nprintf '" + "\\n".join(DEVICES) + "\\n'\n")
    smi.chmod(0o755)
    os.environ["PATH"] = f"{bin_dir}:{os.environ['PATH']}"


def slot_uses(run: SwarmRun) -> list[SlotUse]:
    """Each sandboxed run of the swarm: when its idea asked for it, when it started, when it ended."""
    asked: dict[tuple[str, str], float] = {}
    for r in run.records:
        if r["kind"] == "code_change":
            asked[(r["idea_id"], f"run_{r['run']}")] = r["ts"]
        elif r["kind"] == "experiments_done":
            asked[(r["idea_id"], "plot")] = r["ts"]
    uses = []
    for r in run.records:
        if r["kind"] != "sandbox_exec":
            continue
        match = OUT_DIR.search(" ".join(r["command"]))
        what = f"run_{match.group(1)}" if match else "plot" if "plot.py" in r["command"] else "?"
        if (r["idea_id"], what) not in asked:
            raise SystemExit(f"a run nobody asked for: {r['idea_id']} {r['command']}")
        uses.append(SlotUse(asked[(r["idea_id"], what)], r["ts"] - r["wall_s"], r["ts"]))
    return uses


async def sciswarm(root: Path, template: Path, args: argparse.Namespace) -> dict[str, Any]:
    gpus = {"gpu_devices": DEVICES, "gpus_per_run": 1}
    await Swarm(root / "warm-up", template, 1, 1, sandbox=gpus).run(["warm_up"])
    run = await Swarm(root / "swarm", template, args.ideas, args.runs, sandbox=gpus, writing_s=args.writing_s).run()
    experiments = run.experiments()
    if len(experiments) != args.ideas * args.runs:
        raise SystemExit(f"{len(experiments)} stand-in runs, not {args.ideas * args.runs} ({run.run_dir})")
    return figures(slot_uses(run), experiments, run.wall_s)


async def ai_scientist(root: Path, template: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The simulation: a GPU per idea, held from its first run to the end of its writing and review."""
    sandbox = make_sandbox("local", on_log=lambda level, text: None)
    free: asyncio.Queue[str] = asyncio.Queue()
    for device in DEVICES:
        free.put_nowait(device)
    uses: list[SlotUse] = []
    experiments: list[dict[str, Any]] = []

    async def one_idea(i: int) -> None:
        ws = root / "simulated" / f"idea_{i}"
        shutil.copytree(template, ws)
        for folder in (ws.parent, ws):
            folder.chmod(0o755)
        asked = time.time()
        device = await free.get()
        try:
            argvs = [["python", "experiment.py", f"--out_dir=run_{k}"] for k in range(1, args.runs + 1)]
            for argv in [*argvs, ["python", "plot.py"]]:
                spec = RunSpec(argv=argv, timeout_s=300, memory_mb=1024, cpus=1, gpus=[device])
                result = await sandbox.run(ws, spec, log_dir=root / "logs" / f"idea_{i}" / argv[-1])
                end = time.time()
                if not result.ok:
                    raise SystemExit(f"simulated idea {i}: {argv} failed: {result.error or result.stderr_tail}")
                uses.append(SlotUse(asked, end - result.wall_s, end))
                asked = end
            await asyncio.sleep(args.writing_s)  # writing and review, the GPU still held
        finally:
            free.put_nowait(device)
        for k in range(1, args.runs + 1):
            record = json.loads((ws / f"run_{k}" / "stand_in.json").read_text())
            experiments.append({**record, "idea": f"idea_{i}", "run": f"run_{k}"})

    t0 = time.perf_counter()
    await asyncio.gather(*(one_idea(i) for i in range(1, args.ideas + 1)))
    return figures(uses, experiments, time.perf_counter() - t0)


def figures(uses: list[SlotUse], experiments: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    held, window = busy_while_queued(uses, len(DEVICES))
    code, _ = busy_while_queued(uses, len(DEVICES), busy=[(r["start"], r["end"]) for r in experiments])
    return {
        "held": held,
        "code": code,
        "window": window,
        "wall": wall,
        "at_once": most_at_once([(u.start, u.end) for u in uses]),
        "devices": sorted({str(r["device"]) for r in experiments}),
        "clashes": shared_devices(experiments),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ideas", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2, help="stand-in runs per idea (1-5), then plot.py")
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each stand-in experiment")
    parser.add_argument("--writing-seconds", dest="writing_s", type=float, default=4.0, help="writing + review")
    args = parser.parse_args()
    if not 1 <= args.runs <= 5:
        parser.error("--runs must be 1 to 5 (the scripted plan has 5 runs)")
    root = work_folder("sciswarm-gpu-slots-")
    try:
        fake_gpus(root)
        template = stand_in_template(root / "template", args.seconds)
        ours = await sciswarm(root, template, args)
        theirs = await ai_scientist(root, template, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"{args.ideas} ideas x ({args.runs} runs of {args.seconds:g} s + plot.py), then {args.writing_s:g} s of "
        f"writing and review each, on {len(DEVICES)} simulated GPU slots"
    )
    print(f"  {'':<44} {'sciswarm':>10} {'AI Scientist design (simulated)':>32}")
    rows = [
        ("slot-time busy while runs are queued", f"{ours['held']:.1%}", f"{theirs['held']:.1%}", "   (goal >= 90 %)"),
        ("  counting only the experiments' own time", f"{ours['code']:.1%}", f"{theirs['code']:.1%}", ""),
        ("time with a run queued (s)", f"{ours['window']:.2f}", f"{theirs['window']:.2f}", ""),
        ("wall time of all the ideas (s)", f"{ours['wall']:.2f}", f"{theirs['wall']:.2f}", ""),
        ("runs at once at most", f"{ours['at_once']}", f"{theirs['at_once']}", ""),
        ("devices the experiments got", ",".join(ours["devices"]), ",".join(theirs["devices"]), ""),
        ("overlapping runs that shared a device", f"{len(ours['clashes'])}", f"{len(theirs['clashes'])}", ""),
    ]
    for label, a, b, note in rows:
        print(f"  {label:<44} {a:>10} {b:>32}{note}")
    print(f"  wall time, AI Scientist design / sciswarm: {theirs['wall'] / ours['wall']:.2f}x")
    for clash in ours["clashes"] + theirs["clashes"]:
        print(f"  SHARED: {clash}")


if __name__ == "__main__":
    asyncio.run(main())
