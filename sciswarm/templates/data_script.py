"""Running one of a template's data scripts (``data/<name>/prepare.py``) on the host, and wording its failure.

The script runs where the network is, outside the sandbox, in its own folder (AI-Scientist prepare scripts write
beside themselves), with the host's environment minus anything that looks like a secret, under a timeout that
kills its whole process group. Its output goes to a log file.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from sciswarm import procs
from sciswarm.errors import one_line
from sciswarm.templates.errors import TemplateError

_SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
_NETWORK = re.compile(
    r"URLError|urlopen error|ConnectionError|ConnectTimeout|MaxRetryError|NewConnectionError|gaierror|"
    r"Name or service not known|Temporary failure in name resolution|Network is unreachable|No route to host|"
    r"Connection refused|Connection reset|timed out|getaddrinfo|Could not resolve host|Failed to connect",
    re.IGNORECASE,
)


class DataPrepError(TemplateError):
    """A template's data step failed (its prepare script, or the network it needs); one line says what to do."""


def host_env(data_root: Path) -> dict[str, str]:
    """The host's environment without secrets (API keys, tokens), plus where the data is being prepared."""
    env = {k: v for k, v in os.environ.items() if not _SECRET.search(k)}
    env.update({"PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "SCISWARM_DATA": str(data_root)})
    return env


def script_argv(script: Path, python: str) -> list[str]:
    return ["bash", script.name] if script.suffix == ".sh" else [python, script.name]


def run_script(script: Path, rel: str, *, data_root: Path, python: str, timeout_s: float, log_path: Path) -> float:
    """Run ``script`` in its folder; its wall time in seconds. Raises DataPrepError when it fails."""
    t0 = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            script_argv(script, python),
            cwd=script.parent,
            env=host_env(data_root),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            procs.kill_group(proc.pid)  # whatever it left running (a downloader in the background)
            proc.wait()
    if code == 0:
        return time.monotonic() - t0
    tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-30:]
    raise DataPrepError(describe_failure(rel, code, tail, timeout_s, log_path))


def describe_failure(rel: str, code: int | None, tail: list[str], timeout_s: float, log_path: Path) -> str:
    """One line: which script, why (no network, a timeout, its last error line), what to do, where the log is."""
    last = one_line(next((line for line in reversed(tail) if line.strip()), ""), 200)
    where = f"(log: {log_path})"
    if code is None:
        return f"template data: {rel} did not finish within {timeout_s:g} s and was stopped {where}"
    if code < 0:
        last = last or f"killed by {signal.Signals(-code).name}"
    if any(_NETWORK.search(line) for line in tail):
        return (
            f"template data: {rel} could not download its data, this host seems to be offline ({last}). The data "
            f"step runs once per template on this host, before any model call: connect the host to the network and "
            f"run again, or put the files it downloads beside it in the template {where}"
        )
    return f"template data: {rel} failed with exit code {code}: {last} {where}"
