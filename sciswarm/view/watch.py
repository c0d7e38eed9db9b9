"""`sciswarm watch RUN_DIR`: follow a running run live; print a finished one and exit."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console

from sciswarm.procs import pid_alive
from sciswarm.run.store import FINAL_STATUSES
from sciswarm.view.follow import Follower
from sciswarm.view.tally import Tally
from sciswarm.view.terminal import LineFormatter


def _status(run_dir: Path) -> tuple[str, int | None]:
    try:
        meta = json.loads((run_dir / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        return "unknown", None
    return str(meta.get("status", "unknown")), meta.get("pid")


def watch(run_dir: Path, console: Console | None = None, *, follow: bool = True, poll_s: float = 0.3) -> Tally:
    console = console or Console()
    path = run_dir / "transcript.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a sciswarm run (no transcript.jsonl)")
    fmt, tally, follower = LineFormatter(), Tally(), Follower(path)
    while True:
        batch = follower.read_all()
        for _, rec in batch:
            tally.add(rec)
            text = fmt.format(rec)
            if text is not None:
                console.print(text, soft_wrap=True)
        if batch:
            continue
        status, pid = _status(run_dir)
        if status in FINAL_STATUSES or not follow:
            break
        if pid is None or not pid_alive(pid):
            console.print(
                f"[bold red]run process {pid} is gone but run.json says '{status}': it crashed; "
                f"continue it with: sciswarm resume {run_dir}[/]"
            )
            break
        time.sleep(poll_s)
    console.print(tally.footer())
    return tally
