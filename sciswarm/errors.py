"""The failure classes the swarm expects, as opposed to bugs.

A role that raises an ``ExpectedFailure`` (the model's output stayed unusable, a model call failed for good,
the paper did not compile, the sandbox could not run, the literature was unreachable, ...) failed for a
reason a user can act on: the terminal shows one line saying what failed and why, and the traceback goes to
the run folder (``errors.log`` and the transcript). Any other exception is a bug in sciswarm or in a plug-in
role, and is shown with its traceback. A leaf module: it imports nothing from sciswarm.
"""

from __future__ import annotations

ERRORS_LOG = "errors.log"


class ExpectedFailure(Exception):
    """Base of the failures a user can act on; shown as one line, never as a traceback."""


class PaperBuildError(ExpectedFailure, RuntimeError):
    """The paper could not be compiled into any PDF (not even with parts reverted)."""


class ExperimentError(ExpectedFailure, RuntimeError):
    """An experiment the pipeline cannot do without (the template's baseline) failed."""


def one_line(text: str, limit: int = 300) -> str:
    """Whitespace (newlines included) collapsed, cut at ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """What a RoleFailed records: the message alone for an expected failure, class and message for a bug."""
    if isinstance(exc, ExpectedFailure):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


class SetupError(ExpectedFailure, RuntimeError):
    """The swarm lacks something a role needs (a research template, a sandbox)."""
