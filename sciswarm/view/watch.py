"""`sciswarm watch RUN_DIR`: follow a running run live; print a finished one and exit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from sciswarm.run.store import FINAL_STATUSES
from sciswarm.sandboxes.procs import pid_alive
from sciswarm.view.terminal import LineFormatter, Tally


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
    fmt, tally = LineFormatter(), Tally()
    buf = ""
    with path.open(encoding="utf-8") as fh:
        while True:
            chunk = fh.read()
            if chunk:
                buf += chunk
                *lines, buf = buf.split("\n")
                for line in lines:
                    _emit(line, fmt, tally, console)
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
    if buf.strip():
        _emit(buf, fmt, tally, console)
    console.print(tally.footer())
    return tally


def _emit(line: str, fmt: LineFormatter, tally: Tally, console: Console) -> None:
    if not line.strip():
        return
    try:
        rec: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError:
        return
    tally.add(rec)
    text = fmt.format(rec)
    if text is not None:
        console.print(text, soft_wrap=True)
