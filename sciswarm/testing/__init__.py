"""The test kit shipped with sciswarm, for its own tests and for plug-in authors.

- ``make_context(RoleClass, tmp_path, model=[...replies], lab=FakeLab(...))``: a role's context without a
  swarm; what the role publishes, traces and logs lands in the returned ``Recorder``.
- ``FakeLab``: experiment runs played by a Python function; ``result()`` builds a RunResult.
- ``ScriptedClient`` / ``FunctionClient``: models that are not models (labelled so in every record).
- ``sciswarm.testing.guard``: a pytest plugin failing any real provider call a test did not opt into.
"""

from __future__ import annotations

from sciswarm.llm import FunctionClient, ScriptedClient
from sciswarm.testing.context import Recorder, make_context
from sciswarm.testing.lab import FakeLab, result

__all__ = ["FakeLab", "FunctionClient", "Recorder", "ScriptedClient", "make_context", "result"]
