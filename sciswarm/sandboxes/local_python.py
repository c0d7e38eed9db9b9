"""What `python`/`python3` mean in a LocalSandbox run: the interpreter the swarm runs with (its venv, with
numpy/torch/...), through small wrapper scripts first on PATH.

When that interpreter lives under a directory the run's uid cannot traverse (a venv built from /root/.pyenv,
/root being 0700), the run gets a private mount namespace in which a read-only tmpfs covers that directory and
only the interpreter's trees are bind-mounted back, read-only: the host's permissions are not touched and nothing
else under /root becomes visible. If that is impossible (no mount namespaces), run_as="auto" falls back to
running as the invoking user — as root that is NO isolation at all, and the sandbox's
`runs_as_root`/`fallback_reason` say so (the factory warns loudly); run_as="unprivileged" keeps the uid drop and
gives the run the system python instead.
"""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import dataclass, field

from sciswarm.sandboxes import namespaces as ns
from sciswarm.sandboxes.local_uids import claim_uid, release_uid

log = logging.getLogger(__name__)

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"  # a run's PATH, after the wrappers and the interpreter's own bin/


@dataclass
class PythonAccess:
    """What a root sandbox's runs get: whether they still drop to a fresh uid, the interpreter behind `python`
    (None: the system python3), the trees shown to them in a private mount namespace, and, when they do not
    drop, why."""

    drops_privileges: bool
    interpreter: str | None
    exposure: ns.Exposure = field(default_factory=list)
    fallback_reason: str | None = None


def _probe_prefix(python: str, uid: int | None, plan: ns.Exposure) -> str | None:
    """sys.prefix as seen by `python` started like a run (as `uid`, with `plan` exposed); None if it fails."""
    import subprocess

    def setup() -> None:
        if plan:
            ns.expose(plan)
        if uid is not None:
            ns.become(uid)

    code = "import sys; print(sys.prefix)"
    try:
        proc = subprocess.run(
            [python, "-I", "-c", code],
            env={"PATH": BASE_PATH, "LANG": "C.UTF-8"},
            cwd="/",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            preexec_fn=setup if (plan or uid is not None) else None,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("local sandbox: probing %s failed: %s", python, exc)
        return None
    if proc.returncode != 0:
        log.debug("local sandbox: %s exited %s: %s", python, proc.returncode, proc.stderr[-500:])
        return None
    return proc.stdout.strip()


def make_usable(python: str, *, strict: bool) -> PythonAccess:
    """Make `python` (with its venv) usable by the run's uid. `strict` keeps the uid drop when that fails (the
    runs get the system python3); otherwise the runs keep `python` and run as this user."""
    expected = sys.prefix if ns.is_running_interpreter(python) else _probe_prefix(python, None, [])
    if expected is None:
        log.warning("local sandbox: %s does not start; runs get the system python3", python)
        return PythonAccess(True, None)
    plan = ns.exposure_plan(python)
    uid = claim_uid()
    try:
        seen = _probe_prefix(python, uid, plan)
    finally:
        release_uid(uid)
    if seen == expected:
        if plan:
            exposed = [tree for _, trees in plan for tree in trees]
            log.info("local sandbox: %s shown read-only to the run uid (private mount namespace)", exposed)
        return PythonAccess(True, python, plan)
    if plan:
        why = (
            f"an unprivileged uid cannot traverse {', '.join(c for c, _ in plan)} to reach {python} (and its "
            "venv), and exposing it through a private mount namespace failed"
        )
    else:
        why = f"an unprivileged uid cannot start {python} with its venv (files not readable by others?)"
    if strict:
        log.warning("local sandbox: %s; runs get the system python3 (without the venv's packages)", why)
        return PythonAccess(True, None)
    return PythonAccess(False, python, fallback_reason=why)


def shim(target: str) -> str:
    """A wrapper, not a symlink: a venv is found from the path the interpreter is *invoked* by (its pyvenv.cfg
    sits next to that path's bin/), so a symlink elsewhere to .venv/bin/python starts the bare base python."""
    return f'#!/bin/sh\nexec {shlex.quote(target)} "$@"\n'
